"""fuse(): dense and lexical evidence per row, merged per item, ranked and cut to k."""

from __future__ import annotations

import pytest

from rag.retrieval.fusion import Fused, fuse

# Five rows: 0 and 1 are chunks of one bank entry (its question and its note); row 2 is a document
# chunk that only BM25 found, so it has no dense score.
ITEM = {0: "Q001", 1: "Q001", 2: "doc-a", 3: "Q002", 4: "Q003"}
DENSE = {0: 0.8, 1: 0.5, 3: 0.7, 4: 0.3}
LEXICAL = [0.2, 0.9, 0.8, 0.1, 0.0]


def fused(dense: float, lexical: float) -> float:
    return 0.6 * dense + 0.4 * lexical


def test_items_take_the_best_evidence_of_their_chunks_and_are_ranked() -> None:
    ranked = fuse(range(5), DENSE, LEXICAL, ITEM.__getitem__, k=10)
    assert [ITEM[f.row] for f in ranked] == ["Q001", "doc-a", "Q002", "Q003"]
    entry, doc, q2, q3 = ranked
    # best dense (row 0) and best lexical (row 1) of the entry, though no single chunk has both
    assert (entry.dense, entry.lexical) == (0.8, 0.9)
    assert entry.score == pytest.approx(fused(0.8, 0.9))
    # the snippet comes from the chunk that scores best on its own: row 1 (0.66) over row 0 (0.56)
    assert entry.row == 1
    # no dense score: the floor, the lowest dense score seen (row 4's 0.3)
    assert doc == Fused(pytest.approx(fused(0.3, 0.8)), 0.3, 0.8, 2)
    assert q2 == Fused(pytest.approx(fused(0.7, 0.1)), 0.7, 0.1, 3)
    assert q3 == Fused(pytest.approx(fused(0.3, 0.0)), 0.3, 0.0, 4)
    scores = [f.score for f in ranked]
    assert scores == sorted(scores, reverse=True)


def test_k_keeps_the_best_items() -> None:
    ranked = fuse(range(5), DENSE, LEXICAL, ITEM.__getitem__, k=2)
    assert [f.row for f in ranked] == [1, 2]


def test_candidate_order_does_not_matter_for_two_chunks() -> None:
    forward = fuse([0, 1, 2, 3, 4], DENSE, LEXICAL, ITEM.__getitem__, k=10)
    backward = fuse([4, 3, 2, 1, 0], DENSE, LEXICAL, ITEM.__getitem__, k=10)
    assert forward == backward


def test_only_candidates_are_ranked() -> None:
    ranked = fuse([3, 4], DENSE, LEXICAL, ITEM.__getitem__, k=10)
    assert [f.row for f in ranked] == [3, 4]


def test_no_dense_scores_at_all_floor_at_zero() -> None:
    ranked = fuse([0, 1], {}, [0.5, 0.25], lambda r: f"doc-{r}", k=5)
    assert ranked == [Fused(pytest.approx(0.2), 0.0, 0.5, 0), Fused(pytest.approx(0.1), 0.0, 0.25, 1)]


def test_the_dense_weight_can_be_changed() -> None:
    (only,) = fuse([0], {0: 1.0}, [0.0], lambda r: "x", k=1, dense_weight=0.25)
    assert only.score == pytest.approx(0.25)


def test_the_row_kept_is_the_best_scoring_chunk_whatever_the_order() -> None:
    # own scores: row 0 0.54, row 1 0.36, row 2 0.60; merged evidence (0.9, 0.9) beats all of them
    dense, lexical = {0: 0.9, 1: 0.0, 2: 0.6}, [0.0, 0.9, 0.6]
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        (item,) = fuse(order, dense, lexical, lambda r: "Q001", k=1)
        assert item.row == 2, order


def test_a_prior_is_added_to_the_items_it_favours() -> None:
    # Q001 (0.84) leads doc-a (0.50, at the dense floor 0.3) on evidence; a prior of 0.4 puts doc-a first
    ranked = fuse(range(3), DENSE, LEXICAL, ITEM.__getitem__, k=2, prior=lambda r: 0.4 if r == 2 else 0.0)
    assert [ITEM[f.row] for f in ranked] == ["doc-a", "Q001"]
    doc, entry = ranked
    assert doc.score == pytest.approx(fused(0.3, 0.8) + 0.4)
    assert (doc.dense, doc.lexical) == (0.3, 0.8)  # the evidence is reported as it is
    assert entry.score == pytest.approx(fused(0.8, 0.9))
