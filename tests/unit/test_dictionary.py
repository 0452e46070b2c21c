"""jieba's word table read from SQLite segments exactly as jieba's own loaded dictionary."""

from __future__ import annotations

from pathlib import Path

import jieba
import pytest

from rag.retrieval import dictionary
from rag.retrieval.dictionary import LazyFreq, open_table, write_table
from rag.retrieval.text import _jieba

SENTENCES = [
    "LoRA 的权重可以合并回原模型吗",
    "大模型复读机问题怎么解决？灾难性遗忘又是什么",
    "旋转位置编码RoPE为什么能做长度外推",
    "知识裤问答系统的检索环节怎么优化",  # a typo: jieba's HMM pass meets an unknown word
    "为什么现在的大模型大部分是Decoder only结构",
    "多轮对话中让模型保持长期记忆的方法有哪些",
    "红烧肉怎么做才好吃",
]


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    full = _jieba().dt  # jieba's own, with the domain words added
    path = tmp_path_factory.mktemp("words") / "words.sqlite"
    write_table(path, full.FREQ, full.total)
    return path


def lazy_tokenizer(path: Path) -> jieba.Tokenizer:
    tok = jieba.Tokenizer()
    freq = open_table(path, on_full=lambda table: setattr(tok, "FREQ", table))
    assert freq is not None
    tok.FREQ, tok.total, tok.initialized = freq, freq.total, True
    return tok


@pytest.mark.parametrize("sentence", SENTENCES)
def test_segmentation_is_jiebas_own(table: Path, sentence: str) -> None:
    tok = lazy_tokenizer(table)
    assert tok.lcut(sentence) == _jieba().lcut(sentence)
    assert tok.lcut_for_search(sentence) == _jieba().lcut_for_search(sentence)


def test_many_lookups_switch_to_the_whole_table(table: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dictionary, "LOAD_ALL_AFTER", 20)
    tok = lazy_tokenizer(table)
    lazy = tok.FREQ
    cuts = [tok.lcut(s) for s in SENTENCES]
    assert isinstance(lazy, LazyFreq) and type(tok.FREQ) is dict and len(tok.FREQ) == len(_jieba().dt.FREQ)
    assert cuts == [_jieba().lcut(s) for s in SENTENCES]


def test_lookups_answer_like_a_dict(table: Path) -> None:
    freq = open_table(table)
    assert freq is not None
    full = _jieba().dt.FREQ
    assert freq["模型"] == full["模型"] > 0
    assert "复读机" in freq and freq.get("复读机") == full["复读机"]  # a domain word
    assert "知识裤" not in freq and freq.get("知识裤", 0) == 0
    with pytest.raises(KeyError):
        freq["知识裤"]


def test_a_torn_table_is_not_used(tmp_path: Path) -> None:
    path = tmp_path / "words.sqlite"
    path.write_bytes(b"not a database" * 100)
    assert open_table(path) is None
    assert open_table(tmp_path / "missing.sqlite") is None
