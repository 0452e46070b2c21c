"""The relevance features: their records, their order, and their values for one search."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.relevance.features import FEATURES, NAMES, feature_values, feature_vector
from rag.retrieval.hits import Hit, QueryFeatures, SearchResult

REPO = Path(__file__).resolve().parents[2]


def bank_hit(bid: str, score: float, dense: float, coverage: float = 0.0, phrase: float = 0.0) -> Hit:
    return Hit(bid, "question", "section", "bank.md", None, score, "text", dense, 0.0, coverage, phrase)


def doc_hit(score: float, dense: float, coverage: float = 0.0) -> Hit:
    return Hit(None, None, None, "uploads/paper.pdf", 3, score, "text", dense, 0.0, coverage, dense)


QUERY = QueryFeatures(unknown=0.25, peripheral=0.125, query_mass=1.5, example_gap=0.4)


def test_every_feature_is_fully_described() -> None:
    assert len(FEATURES) == 8
    for f in FEATURES:
        assert re.fullmatch(r"[a-z_]+", f.name), f
        assert f.of in ("hits", "top hit", "query"), f
        assert len(f.meaning) > 20, f
        assert f.range.startswith("[") and f.range.endswith("]"), f
        assert f.sign in (1, -1), f
    assert len(set(NAMES)) == len(NAMES)


def test_names_follow_the_features_order() -> None:
    assert NAMES == ("dense", "score", "coverage", "unknown", "query_mass", "phrase", "peripheral", "example_gap")
    assert tuple(f.name for f in FEATURES) == NAMES


def test_values_of_a_bank_top_hit() -> None:
    hits = [bank_hit("Q077", 0.7, 0.6, coverage=0.8, phrase=0.75), bank_hit("Q078", 0.5, 0.65)]
    values = feature_values(SearchResult("q", "q", hits, QUERY))
    assert list(values) == list(NAMES)
    assert values == {
        "dense": 0.65,  # the best of the hits, not the top hit's
        "score": 0.7,
        "coverage": 0.8,
        "unknown": 0.25,
        "query_mass": 1.5,
        "phrase": 0.75,
        "peripheral": 0.125,
        "example_gap": 0.4,  # a bank top hit: as computed
    }
    assert feature_vector(SearchResult("q", "q", hits, QUERY)).tolist() == list(values.values())


def test_a_document_top_hit_clamps_the_example_gap_at_zero() -> None:
    hits = [doc_hit(0.6, 0.55, coverage=1.0), bank_hit("Q001", 0.4, 0.3)]
    values = feature_values(SearchResult("q", "q", hits, QUERY))
    assert values["example_gap"] == 0.0
    assert values["phrase"] == 0.55 and values["coverage"] == 1.0
    # a negative gap says "reads like the bank": kept as it is
    below = QueryFeatures(example_gap=-0.3)
    assert feature_values(SearchResult("q", "q", hits, below))["example_gap"] == -0.3


def test_an_empty_result_is_all_unknown() -> None:
    values = feature_values(SearchResult("q", "q", [], QUERY))
    assert values == dict.fromkeys(NAMES, 0.0) | {"unknown": 1.0}
    assert list(values) == list(NAMES)
    # the caller's copy must not change the next empty result's values
    values["dense"] = 9.0
    assert feature_values(SearchResult("q", "q"))["dense"] == 0.0


def test_values_are_plain_floats() -> None:
    values = feature_values(SearchResult("q", "q", [bank_hit("Q001", 1, 1)], QueryFeatures()))
    assert all(type(v) is float for v in values.values())


def test_the_docs_list_every_feature_with_its_meaning() -> None:
    # docs/relevance.md is the reference FEATURES points readers to; it must not drift from the code
    path = REPO / "docs" / "relevance.md"
    if not path.is_file():
        pytest.fail(f"{path} is missing: it must list every relevance feature")
    lines = path.read_text(encoding="utf-8").splitlines()
    for f in FEATURES:
        assert any(f.name in line for line in lines), f"{f.name} is not in {path}"
        # the meaning word for word, on a line that names the feature (its row of the table)
        assert any(f.name in line and f.meaning in line for line in lines), f"{f.name}: its meaning is not in {path}"
