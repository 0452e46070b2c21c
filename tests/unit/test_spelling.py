"""Query typo repair: real jieba, pypinyin and English word list over a small hand-made vocabulary."""

from __future__ import annotations

import pytest

from rag.retrieval.spelling import MIN_DF, SpellFixer
from rag.retrieval.text import tokenize

TEXTS = [
    "知识库问答的核心技术是检索",
    "知识库 与 向量库",
    "旋转位置编码 RoPE 的旋转矩阵",
    "LayerNorm 的计算公式与 RMSNorm 的公式",
    "DeepNorm 的 deepnorm 代码 与 post norm 的 norm",
    "LangChain 的 langchain 组件",
    "LoRA 用低秩矩阵近似权重更新；低质 数据",  # jieba splits 低秩 here, as in the bank's notes
    "低质 样本",
    "LLaMA 与 llama 模型",
    "demo 与 weather 示例",  # near neighbours of real English words
    "学完 再学 一遍",
    "前缀微调 与 全量微调",  # 调 reads tiao (微调) or diao (调用)
]


def build(texts: list[str], copies: int) -> SpellFixer:
    """A fixer whose every term is in `copies` chunks."""
    vocab: dict[str, int] = {}
    df: dict[str, int] = {}
    for text in texts * copies:
        for term in set(tokenize(text)):
            vocab.setdefault(term, len(vocab))
            df[term] = df.get(term, 0) + 1
    counts = [0] * len(vocab)
    for term, col in vocab.items():
        counts[col] = df[term]
    return SpellFixer(vocab, counts, texts)


@pytest.fixture(scope="module")
def fixer() -> SpellFixer:
    return build(TEXTS, MIN_DF)


@pytest.mark.parametrize(
    ("query", "fixed"),
    [
        ("知识裤问答的核心技术", "知识库问答的核心技术"),  # 裤/库: same pinyin
        ("选转位置编码", "旋转位置编码"),
        ("layer nrom 计算工式", "layer norm 计算公式"),  # 4-letter transposition, 工式/公式
        ("deepnrom 代码", "deepnorm 代码"),
        ("langchian 组件", "langchain 组件"),
        ("为啥要用前缀微跳", "为啥要用前缀微调"),  # 跳 tiao: 微调 under its other reading, not pypinyin's guess
    ],
)
def test_slips_are_repaired(fixer: SpellFixer, query: str, fixed: str) -> None:
    assert fixer.fix(query) == fixed


@pytest.mark.parametrize(
    "query",
    [
        "LoRA 低秩到底啥意思",  # 低秩 is in the texts even though jieba splits it: not a typo of 低质
        "mode collapse 怎么办",  # an English word, not a slip of a vocabulary term
        "whether the norm matters",
        "LLaVA 和 DeepFM",  # mixed case: a name written with care
        "SFT 在学什么",  # 在学 sounds like 再学, but a function character is never "corrected"
        "处理公事",  # 公事 sounds like 公式, but it is a real word the index lacks
        "知识库问答",  # already right
    ],
)
def test_real_words_are_left_alone(fixer: SpellFixer, query: str) -> None:
    assert fixer.fix(query) == query


def test_a_rare_term_is_never_a_correction() -> None:
    # each term in one chunk only, under MIN_DF: a slip of it could be a slip of anything
    once = build(TEXTS, 1)
    assert once.fix("deepnrom 代码") == "deepnrom 代码"
    assert once.fix("选转位置编码") == "选转位置编码"
    assert once.fix("知识裤问答") == "知识库问答"  # 知识库 is in two of the texts
