"""Hits and search results: how a hit is cited and what its JSON carries."""

from __future__ import annotations

import pytest

from rag.retrieval.hits import Hit, QueryFeatures, SearchResult


@pytest.mark.parametrize(
    ("bid", "source", "page", "label"),
    [
        ("Q077", "corpus/question_bank/05-peft.md", None, "Q077"),
        (None, "data/uploads/paper.pdf", 3, "paper.pdf p.3"),
        (None, "data/uploads/notes.md", None, "notes.md"),
        (None, "notes.md", None, "notes.md"),
    ],
)
def test_label(bid: str | None, source: str, page: int | None, label: str) -> None:
    assert Hit(bid, None, None, source, page, 0.5, "t").label == label


@pytest.mark.parametrize(
    ("heading", "label"),
    [
        ("分布式训练 › DeepSpeed › ZeRO", "notes.md › ZeRO"),
        ("分布式训练 › 二、模型结构", "notes.md › 二 模型结构"),  # 、 would split the label in a citation
        ("notes", "notes.md"),  # a path that only names the file says nothing more
    ],
)
def test_a_document_chunk_is_cited_by_file_and_heading(heading: str, label: str) -> None:
    hit = Hit(None, None, None, "data/uploads/notes.md", None, 0.5, "t", heading=heading)
    assert hit.label == label
    assert Hit(None, None, None, "paper.pdf", 3, 0.5, "t", heading=heading).label == "paper.pdf p.3"


def test_json_rounds_scores_and_leaves_out_the_chunk_id() -> None:
    hit = Hit("Q077", "q", "s", "src", None, 0.123456, "t", 0.9876543, 0.5, 1 / 3, 2 / 3, "abc-123")
    assert hit.to_json() == {
        "id": "Q077",
        "question": "q",
        "section": "s",
        "source": "src",
        "page": None,
        "score": 0.1235,
        "text": "t",
        "dense": 0.9877,
        "lexical": 0.5,
        "coverage": 0.3333,
        "phrase": 0.6667,
        "heading": None,
    }
    assert hit.score == 0.123456  # the hit itself is not rounded


def test_a_result_reads_as_its_hits() -> None:
    hits = [Hit("Q001", "a", None, "s", None, 0.9, "t"), Hit("Q002", "b", None, "s", None, 0.8, "t")]
    result = SearchResult("lora 是啥", "lora 是啥", hits)
    assert len(result) == 2 and result[1].id == "Q002" and [h.id for h in result] == ["Q001", "Q002"]
    assert result.features == QueryFeatures()
    assert len(SearchResult("x", "x")) == 0 and not SearchResult("x", "x").hits
