"""Tokenizing for the lexical side, topical words, subwords, and a query's BM25 terms."""

from __future__ import annotations

import pytest

from rag.retrieval.query import content_words, query_terms, unit
from rag.retrieval.text import STOPWORDS, is_topical, singular, subwords, tokenize, tokenize_parts


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("LoRA 权重怎么合并?", ["lora", "权重", "合并"]),
        ("LLMs 复读机问题", ["llm", "复读机"]),  # plural folded; a domain word kept whole
        ("红烧肉怎么做", ["红烧肉"]),
        ("what is the difference between LoRA and QLoRA", ["lora", "qlora"]),
        ("面试官问：你好，请介绍一下", []),  # interview framing and greetings carry no topic
        ("fp16 和 x86", ["fp16", "x86"]),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def test_hyphenated_terms_are_kept_whole_and_in_parts() -> None:
    assert tokenize_parts("P-tuning") == (["p-tuning", "p", "tuning"], ["ptuning"])
    assert tokenize_parts("LoRA_adapter") == (["lora_adapter", "lora", "adapter"], ["loraadapter"])


@pytest.mark.parametrize("text", ["RMS Norm", "RMS-Norm", "RMSNorm", "rmsnorm"])
def test_every_spelling_of_a_compound_meets_the_joined_form(text: str) -> None:
    assert "rmsnorm" in tokenize(text)


def test_compounds_come_after_the_words() -> None:
    words, compounds = tokenize_parts("KV Cache 显存")
    assert (words, compounds) == (["kv", "cache", "显存"], ["kvcache"])
    assert tokenize("KV Cache 显存") == ["kv", "cache", "显存", "kvcache"]


def test_no_compound_across_a_stopword_or_punctuation() -> None:
    assert tokenize_parts("LoRA and QLoRA")[1] == []
    assert tokenize_parts("LoRA, QLoRA")[1] == []


def test_no_token_is_a_stopword_or_punctuation() -> None:
    tokens = tokenize("请问：大模型的 what/why 是什么？！——（LoRA）……")
    assert tokens == ["大模型", "lora"]
    assert not set(tokens) & STOPWORDS


@pytest.mark.parametrize(
    ("word", "singular_form"),
    [("llms", "llm"), ("norms", "norm"), ("loss", "loss"), ("bus", "bus"), ("gpt4s", "gpt4s"), ("is", "is")],
)
def test_singular(word: str, singular_form: str) -> None:
    assert singular(word) == singular_form


@pytest.mark.parametrize(
    ("token", "topical"),
    [
        ("lora", True),
        ("显存", True),
        ("红烧肉", True),
        ("微调", True),
        ("问题", False),
        ("公司", False),
        ("模型", False),
    ],
)
def test_is_topical(token: str, topical: bool) -> None:
    assert is_topical(token) is topical


@pytest.mark.parametrize(
    ("word", "parts"),
    [("词表扩充", ["词表", "扩充"]), ("在实践中", ["实践"]), ("lora", []), ("显存", [])],
)
def test_subwords(word: str, parts: list[str]) -> None:
    assert subwords(word) == parts


def test_query_terms_fall_back_to_known_parts_of_an_unknown_word() -> None:
    vocab = {"rlhf": 0, "实践": 1, "不足": 2}
    assert query_terms("RLHF 在实践中的不足", vocab) == ["rlhf", "实践", "不足"]
    # no known part: the word stays, to count as a topic the index lacks
    assert query_terms("红烧肉", vocab) == ["红烧肉"]


def test_query_terms_keep_only_compounds_the_index_has() -> None:
    assert query_terms("RMS Norm 公式", {"rmsnorm": 0}) == ["rms", "norm", "公式", "rmsnorm"]
    assert query_terms("RMS Norm 公式", {}) == ["rms", "norm", "公式"]


def test_content_words_and_unit() -> None:
    assert content_words("LoRA 到底是啥意思") == "lora"
    v = unit([3.0, 4.0])
    assert v.tolist() == pytest.approx([0.6, 0.8]) and v.dtype.name == "float32"
    assert unit([0.0, 0.0]).tolist() == [0.0, 0.0]  # no division by zero
