"""Hybrid retrieval on the real bank index: finding entries, what a search returns, filters, related
questions, "nothing relevant", and clear errors for bad requests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from rag.errors import RagError
from rag.retrieval.query import query_vector, unit
from rag.retrieval.related import NEAR_DUPLICATE
from rag.retrieval.retriever import Retriever

# Entries in the same section as Q077 (LoRA) that its related questions should mostly come from.
PEFT_NEIGHBOURS = {"Q078", "Q079", "Q080", "Q081", "Q082", "Q083", "Q085", "Q086", "Q087"}
ROPE_NEIGHBOURS = {"Q142", "Q143", "Q145", "Q146", "Q147", "Q148", "Q149", "Q150"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("LoRA权重是否可以合入原模型?", "Q083"),  # verbatim
        ("lora 权重能合并回去吗", "Q083"),  # colloquial
        ("Can LoRA weights be merged into the base model?", "Q083"),  # English
        ("RMSNorm 公式", "Q160"),  # mixed, term spelt differently from the bank ("RMS Norm")
        ("deepnrom 代码", "Q163"),  # typo in an English term
        ("知识裤问答的核心技术", "Q042"),  # pinyin-input slip: 裤 for 库
        ("选转位置编码的思路", "Q145"),  # 选转 for 旋转
        ("模型老是一本正经地编造事实", "Q040"),  # symptom, met by the entry's 问法 line
        ("Q145", "Q145"),  # an id
    ],
)
def test_search_finds_the_entry(retriever: Retriever, query: str, expected: str) -> None:
    hits = retriever.search(query, k=5)
    assert expected in [h.id for h in hits], [(h.id, h.score) for h in hits]
    assert len({h.id for h in hits}) == len(hits), "one hit per bank entry"
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_a_search_result_keeps_the_typed_and_the_searched_query(retriever: Retriever) -> None:
    result = retriever.search("  知识裤问答的核心技术  ", k=3)
    assert result.query == "  知识裤问答的核心技术  "  # as typed, for display
    assert result.searched == "知识库问答的核心技术"  # what was searched: trimmed, typo repaired
    assert len(result) == 3 and list(result) == result.hits and result[0] is result.hits[0]


def test_hits_carry_metadata_and_a_note_snippet(retriever: Retriever) -> None:
    hit = retriever.search("旋转位置编码有什么优点", k=1)[0]
    assert hit.id == "Q146" and hit.label == "Q146"
    assert hit.section == "十二、大模型位置编码篇"
    assert hit.source.endswith("12-position-encoding.md")
    assert hit.page is None
    assert "RoPE" in hit.text and not hit.text.startswith(hit.question)
    assert hit.chunk_id in retriever.snapshot.row  # the chunk the snippet comes from
    assert retriever.full_text(hit) == retriever.catalogue.note("Q146")
    assert hit.text.rstrip("…")[:40] in " ".join(retriever.full_text(hit).split())
    shown = hit.to_json()
    assert "chunk_id" not in shown and shown["id"] == "Q146"  # an internal id, not for JSON output


def test_section_filter(retriever: Retriever) -> None:
    hits = retriever.search("优点", k=10, section="PEFT")
    assert hits and all(h.section == "五、大模型参数高效微调(PEFT) 面试题" for h in hits)
    with pytest.raises(RagError, match="unknown or ambiguous section"):
        retriever.search("优点", section="不存在的章节")


def test_source_filter(retriever: Retriever) -> None:
    src = "corpus/question_bank/14-layer-normalization.md"
    hits = retriever.search("公式", k=5, source=src)
    assert hits and all(h.source == src for h in hits)
    assert not retriever.search("公式", k=5, source="corpus/no-such-file.md").hits


def test_out_of_scope_is_nothing_relevant(retriever: Retriever) -> None:
    for q in ("红烧肉怎么做", "明天北京天气怎么样", "how do I bake sourdough bread"):
        assert not retriever.is_relevant(retriever.search(q)), q
    for q in ("LoRA 的思路", "what is RoPE"):
        assert retriever.is_relevant(retriever.search(q)), q


def _question_vec(retriever: Retriever, bid: str) -> np.ndarray:
    catalogue = retriever.catalogue
    return catalogue.question_vecs[catalogue.position[bid]]


def test_related_by_id(retriever: Retriever) -> None:
    related = retriever.related("Q077", k=5)
    ids = [h.id for h in related]
    assert "Q077" not in ids and len(set(ids)) == 5
    assert sum(i in PEFT_NEIGHBOURS for i in ids) >= 3
    # no two related questions are near-duplicates of each other
    vecs = np.array([_question_vec(retriever, i) for i in ids])
    sims = vecs @ vecs.T
    assert np.all(sims[~np.eye(len(ids), dtype=bool)] <= NEAR_DUPLICATE)


@pytest.mark.parametrize("anchor", ["Q006", "Q054"])
def test_related_skips_near_duplicates_of_the_anchor(retriever: Retriever, anchor: str) -> None:
    # Q006 什么是 LLMs 复读机问题? has close siblings (Q007-Q009); Q054 如何使用 LangChain ? has a
    # near-duplicate, Q058 LangChain 如何使用? (cosine 0.97), which must not be offered as related
    ids = [h.id for h in retriever.related(anchor, k=5)]
    assert len(ids) == 5 and anchor not in ids
    for i in ids:
        assert float(_question_vec(retriever, i) @ _question_vec(retriever, anchor)) <= NEAR_DUPLICATE
    if anchor == "Q054":
        assert "Q058" not in ids


def test_related_by_text_excludes_the_match(retriever: Retriever) -> None:
    top = retriever.search("旋转位置编码是什么思路", k=1)[0].id
    ids = [h.id for h in retriever.related("旋转位置编码是什么思路", k=4)]
    assert top not in ids and len(ids) == 4
    assert any(i in ROPE_NEIGHBOURS for i in ids)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: r.search("   "), "empty query"),
        (lambda r: r.search("x", k=0), "k must be between"),
        (lambda r: r.search("x", k=51), "k must be between"),
        (lambda r: r.related("Q999"), "unknown id Q999"),
        (lambda r: r.related("Q077", k=0), "k must be between"),
        (lambda r: r.search("Q200"), "unknown id Q200"),
    ],
)
def test_bad_requests_raise_clear_errors(
    retriever: Retriever, call: Callable[[Retriever], object], message: str
) -> None:
    with pytest.raises(RagError, match=message):
        call(retriever)


def test_bank_chunks_are_searched_exactly(retriever: Retriever) -> None:
    # far from every chunk, where Chroma's approximate HNSW search sometimes missed the nearest one
    query = "Adam 和 AdamW 到底差在哪,weight decay 为什么要解耦"
    result = retriever.search(query, k=5, bank_only=True)
    top = result[0]
    q = unit(query_vector(retriever.embeddings, result.searched))
    stored = retriever.collection.get(where={"kind": {"$ne": "doc"}}, include=["embeddings", "metadatas"])
    mine = np.array([v for v, m in zip(stored["embeddings"], stored["metadatas"], strict=True) if m["id"] == top.id])
    exact = (mine / np.linalg.norm(mine, axis=1, keepdims=True)) @ q
    assert top.dense == pytest.approx(float(exact.max()), abs=1e-5)
