"""LexicalIndex: Okapi BM25 with Lucene idf, checked against the formula computed by hand."""

from __future__ import annotations

import math
import mmap
from pathlib import Path

import numpy as np
import pytest

from rag.index.lexical import K1, B, LexicalIndex

DOCS = [
    ["lora", "权重", "合并", "lora"],
    ["rope", "位置", "编码"],
    ["lora", "rope"],
    ["显存"],
    ["rope", "rope", "rope", "位置", "外推", "长度"],
]
N = len(DOCS)
AVGLEN = sum(map(len, DOCS)) / N


def idf(term: str) -> float:
    df = sum(term in d for d in DOCS)
    return math.log(1 + (N - df + 0.5) / (df + 0.5))


def bm25(terms: list[str], doc: list[str]) -> float:
    total = 0.0
    for t in dict.fromkeys(terms):
        tf = doc.count(t)
        if tf:
            total += idf(t) * tf * (K1 + 1) / (tf + K1 * (1 - B + B * len(doc) / AVGLEN))
    return total


def is_mapped(array: np.ndarray) -> bool:
    """Is this array a view of a memory-mapped file?"""
    base = array
    while base is not None:
        if isinstance(base, mmap.mmap):
            return True
        base = getattr(base, "base", None)
    return False


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex.build(DOCS)


def test_the_parameters() -> None:
    assert (K1, B) == (1.2, 0.75)


def test_vocab_df_and_idf(index: LexicalIndex) -> None:
    terms = {t for d in DOCS for t in d}
    assert set(index.vocab) == terms and index.n_docs == N
    for t in terms:
        col = index.vocab[t]
        assert index.df[col] == sum(t in d for d in DOCS), t
        assert index.idf[col] == pytest.approx(idf(t), rel=1e-6), t
        assert index.term_idf(t) == pytest.approx(idf(t), rel=1e-6), t


def test_an_unknown_term_gets_the_highest_idf(index: LexicalIndex) -> None:
    assert index.unknown_idf == pytest.approx(math.log(1 + (N + 0.5) / 0.5))
    assert index.term_idf("红烧肉") == index.unknown_idf
    assert index.unknown_idf > max(idf(t) for d in DOCS for t in d)


@pytest.mark.parametrize(
    "query", [["lora"], ["rope"], ["lora", "rope"], ["rope", "位置", "长度"], ["lora", "权重", "显存", "外推"]]
)
def test_scores_are_bm25_by_hand(index: LexicalIndex, query: list[str]) -> None:
    scores, mass = index.scores(query)
    assert scores.shape == (N,)
    assert scores == pytest.approx([bm25(query, d) for d in DOCS], rel=1e-5)
    assert mass == pytest.approx(sum(idf(t) for t in query), rel=1e-6)


def test_one_occurrence_in_an_average_chunk_scores_the_idf() -> None:
    # the (k1 + 1) factor put back: a chunk of average length matching each query term once scores
    # the query's idf mass, so score / mass reads "how much of the query matched"
    index = LexicalIndex.build([["a", "b"], ["c", "d"], ["a", "c"]])
    scores, _ = index.scores(["a", "d"])
    assert scores[0] == pytest.approx(index.term_idf("a"), rel=1e-5)


def test_unknown_and_repeated_terms(index: LexicalIndex) -> None:
    scores, mass = index.scores(["lora", "lora", "红烧肉"])
    assert scores == pytest.approx([bm25(["lora"], d) for d in DOCS], rel=1e-5)
    assert mass == pytest.approx(idf("lora") + index.unknown_idf)  # a repeat counts once
    none, mass = index.scores(["红烧肉", "软糯"])
    assert not none.any() and none.shape == (N,) and mass == pytest.approx(2 * index.unknown_idf)
    assert index.scores([])[1] == 0.0


def test_chunks_with(index: LexicalIndex) -> None:
    present = index.chunks_with(["lora", "位置"]).toarray() > 0
    assert present.tolist() == [[True, False], [False, True], [True, False], [False, False], [False, True]]


def test_a_saved_index_loads_memory_mapped_with_identical_scores(index: LexicalIndex, tmp_path: Path) -> None:
    index.save(tmp_path / "lexical")
    loaded = LexicalIndex.load(tmp_path / "lexical")
    assert is_mapped(loaded.weights.data) and not is_mapped(index.weights.data)  # not read into memory
    assert loaded.vocab == index.vocab and loaded.n_docs == N
    assert np.array_equal(loaded.df, index.df) and np.array_equal(loaded.idf, index.idf)
    for query in (["lora"], ["rope", "位置", "长度", "未知"], ["显存", "合并"]):
        a, mass_a = index.scores(query)
        b, mass_b = loaded.scores(query)
        assert np.array_equal(a, b) and mass_a == mass_b, query


def test_an_empty_chunk_has_length_zero() -> None:
    index = LexicalIndex.build([["a"], []])
    avglen = 0.5
    expected = math.log(1 + 1.5 / 1.5) * (K1 + 1) / (1 + K1 * (1 - B + B / avglen))
    assert index.scores(["a"])[0] == pytest.approx([expected, 0.0], rel=1e-5)
    assert "" not in index.vocab
