"""Tokenization for the lexical (BM25) side: jieba words, lowercased, English terms kept whole."""

from __future__ import annotations

import hashlib
import logging
import re
from functools import lru_cache
from pathlib import Path

# Function words that carry no topic; without them "红烧肉怎么做" would match every "怎么…" question.
# Interview framing ("面试问到…怎么答") is topic-free here too: every entry is an interview question;
# so are greetings ("你好，LoRA 是什么"), which notes use in example dialogues.
STOPWORDS = frozenset(
    """
    的 了 是 在 有 和 与 及 或 吗 呢 吧 啊 呀 么 嘛 哦 着 过 也 都 就 还 又 被 把 对 从 到 为 以 之 其 这 那 这个
    那个 这些 那些 哪些 哪个 什么 怎么 怎么样 怎样 如何 为什么 为啥 啥 咋 是否 是不是 能否 能不能 可以 可不可以
    需要 一下 一个 一些 下 请 请问 问 问题 介绍 介绍一下 说说 讲讲 谈谈 简单 简述 描述 解释 一般 通常 我 你 他 它
    我们 你们 他们 大家 自己 要 想 会 能 让 给 用 使用 如果 但是 但 而 并 并且 然后 因为 所以 多少 多 哪里 哪 呢 个
    中 上 里 时 时候 a an the of to in on for and or is are was were be been do does did what why how which who
    when where can could should would will with without about vs versus between difference differences i you we it
    this that these those me my your please tell explain 做 比 起来 怎么办 咋办 咋选 有没有 有何 是啥
    老是 总是 一直 好像 感觉 以后 之后 完 回事 咋回事 搞 怎么搞 怎么破 到底 真的 只是 太 啥意思 意思 通俗
    面试 面试官 面试题 面试中 怎么答 interview interviewer
    你好 您好 谢谢 感谢 请教 hello hi hey thanks thank
    """.split()
)

# Domain terms jieba would otherwise split; kept as one token so "复读机" does not match "机".
DOMAIN_WORDS = """
    大模型 复读机 灾难性遗忘 指令微调 全参数微调 增量预训练 位置编码 旋转位置编码 相对位置编码 绝对位置编码
    长度外推 数据集 训练集 评测集 词表 词表扩充 显存 向量库 知识库 提示学习 前缀微调 适配器 奖励模型 强化学习 分词
    激活函数 涌现 幻觉 量化 蒸馏
    """.split()

# ASCII technical terms ("P-tuning", "fp16", "C++") are taken whole before jieba sees the text.
_ASCII_TERM = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+#_-]*")
_HAS_WORD = re.compile(r"\w", re.UNICODE)


# Where jieba's word table is kept between processes (see dictionary.py); set by use_word_table().
_table_dir: Path | None = None
_table_file: Path | None = None  # a complete table this process wrote or reads, to copy to another folder
WORD_TABLE_VERSION = 1


def use_word_table(folder: Path) -> None:
    """Keep jieba's word table under folder, so a new process segments its first query without loading
    the whole dictionary (~1.1 s). Before the first tokenizing it says where to read (or, missing, write)
    the table; after it, in a process that meets another data dir, it gives that folder a table too."""
    global _table_dir
    if _jieba.cache_info().currsize == 0:
        _table_dir = folder
        return
    import jieba

    from rag.retrieval.dictionary import copy_table

    path = _table_path(folder, jieba.__version__)
    if path.is_file():
        return
    if _table_file is not None and _table_file.is_file():
        copy_table(_table_file, path)
    elif isinstance(jieba.dt.FREQ, dict):
        _save_table(path)


def _table_path(folder: Path, version: str) -> Path:
    key = hashlib.sha256(f"{WORD_TABLE_VERSION}|{version}|{' '.join(DOMAIN_WORDS)}".encode()).hexdigest()[:16]
    return folder / f"words-{key}.sqlite"


def _use_whole_table(table: dict[str, int]) -> None:
    import jieba

    jieba.dt.FREQ = table  # a plain dict from here on: tokenizing many texts reads it millions of times


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    from rag.retrieval.dictionary import open_table

    global _table_file
    jieba.setLogLevel(logging.WARNING)
    path = _table_path(_table_dir, jieba.__version__) if _table_dir is not None else None
    table = open_table(path, on_full=_use_whole_table) if path is not None else None
    if table is not None:
        jieba.dt.FREQ, jieba.dt.total, jieba.dt.initialized = table, table.total, True
        _table_file = path
        return jieba
    for w in DOMAIN_WORDS:
        jieba.add_word(w)
    jieba.initialize()
    if path is not None:
        _save_table(path)
    return jieba


def _save_table(path: Path) -> None:
    """Write the loaded dictionary as the word table at path; later folders get copies of it."""
    import jieba

    from rag.retrieval.dictionary import write_table

    global _table_file
    write_table(path, jieba.dt.FREQ, jieba.dt.total)
    _table_file = path


# A word jieba's dictionary counts this often is everyday Chinese ("问题" 55k, "模型" 2.9k); rarer
# words and English terms are topical ("微调" 50, "显存" 9, "lora").
COMMON_WORD_FREQ = 2000


def is_topical(token: str) -> bool:
    """Does this query token name a topic? 'lora', '显存', '红烧肉' yes; '问题', '公司', '模型' no."""
    return token.isascii() or _jieba().dt.FREQ.get(token, 0) < COMMON_WORD_FREQ


def cut(text: str) -> list[str]:
    """jieba's segmentation, unfiltered: '知识裤问答' -> ['知识', '裤', '问答']."""
    return _jieba().lcut(text)


def is_dictionary_word(text: str) -> bool:
    """A word in jieba's dictionary ('魔性' yes, '知识裤' no); its table also holds prefixes at 0."""
    return _jieba().dt.FREQ.get(text, 0) > 0


def subwords(word: str) -> list[str]:
    """The dictionary words inside a Chinese word, for a query word the index lacks:
    '词表扩充' -> ['词表', '扩充'], '在实践中' -> ['实践']; [] for ASCII or words under three characters."""
    if word.isascii() or len(word) < 3:
        return []
    return [p for p in _jieba().lcut_for_search(word) if p != word and p not in STOPWORDS and len(p) > 1]


def _ascii_tokens(term: str) -> list[str]:
    """'P-tuning' -> ['p-tuning', 'p', 'tuning']; 'LLMs' -> ['llm'] (so queries match either spelling)."""
    term = term.lower().rstrip(".-_")
    parts = [p for p in re.split(r"[-_]", term) if p] if ("-" in term or "_" in term) else []
    return [singular(t) for t in ([term, *parts] if parts else [term]) if t not in STOPWORDS]


def singular(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss") and word[-2].isalpha():
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """'LoRA 权重怎么合并?' -> ['lora', '权重', '合并']"""
    words, compounds = tokenize_parts(text)
    return words + compounds


def tokenize_parts(text: str) -> tuple[list[str], list[str]]:
    """(words, compounds): compounds join adjacent ASCII words, 'RMS Norm' / 'RMS-Norm' -> 'rmsnorm',
    so either spelling meets the other. A query's compound unknown to the index is noise, not a
    missed term: the retriever drops it instead of counting it against the match."""
    words: list[str] = []
    compounds: list[str] = []
    pos = 0
    prev: str | None = None  # the previous ASCII word, when only spaces separate it from this one
    for m in _ASCII_TERM.finditer(text):
        gap = text[pos : m.start()]
        words.extend(_cjk_tokens(gap))
        term = m.group()
        words.extend(t for t in _ascii_tokens(term) if t not in STOPWORDS)
        pieces = [p for p in re.split(r"[-_]", term.lower()) if p]
        if len(pieces) > 1:
            compounds.append(singular("".join(pieces)))
        if prev is not None and gap and not gap.strip():
            pair = (prev + pieces[0]) if pieces else ""
            if pair and prev not in STOPWORDS and pieces[0] not in STOPWORDS:
                compounds.append(singular(pair))
        prev = pieces[-1] if pieces else None
        pos = m.end()
    words.extend(_cjk_tokens(text[pos:]))
    return words, compounds


def _cjk_tokens(text: str) -> list[str]:
    if not text.strip():
        return []
    return [t for t in (w.strip() for w in _jieba().lcut(text)) if t and _HAS_WORD.search(t) and t not in STOPWORDS]
