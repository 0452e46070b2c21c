"""The example gap: nearest out-of-scope example minus nearest in-scope example or bank phrasing."""

from __future__ import annotations

import numpy as np
import pytest

from rag.relevance.examples import ScopeExamples


def unit(*v: float) -> np.ndarray:
    a = np.array(v, dtype=np.float32)
    return a / np.linalg.norm(a)


# Two in-scope examples near the x axis, two out-of-scope ones near y; rows are unit vectors.
VECS = np.stack([unit(1, 0, 0), unit(1, 1, 0), unit(0, 1, 0), unit(0, 1, 1)])
INSIDE = np.array([True, True, False, False])
EXAMPLES = ScopeExamples(["lora 是什么", "lora 原理", "红烧肉", "红烧肉做法"], INSIDE, VECS)
NO_PHRASES = np.zeros(0, dtype=np.float32)


def cosines(q: np.ndarray) -> np.ndarray:
    return VECS @ q


def test_the_gap_of_a_query_near_an_out_of_scope_example() -> None:
    q = unit(0.1, 1, 0.2)
    sims = cosines(q)
    assert EXAMPLES.gap(q, NO_PHRASES) == pytest.approx(max(sims[2:]) - max(sims[:2]))
    assert EXAMPLES.gap(q, NO_PHRASES) > 0


def test_a_query_like_the_in_scope_examples_has_a_negative_gap() -> None:
    assert EXAMPLES.gap(unit(1, 0.1, 0), NO_PHRASES) < 0


def test_a_close_bank_phrasing_counts_as_in_scope() -> None:
    q = unit(0.1, 1, 0.2)
    without = EXAMPLES.gap(q, NO_PHRASES)
    with_phrase = EXAMPLES.gap(q, np.array([0.3, 0.99], dtype=np.float32))
    assert with_phrase == pytest.approx(max(cosines(q)[2:]) - 0.99)
    assert with_phrase < without
    assert EXAMPLES.gap(q, np.array([0.1], dtype=np.float32)) == pytest.approx(without)  # farther: no change


def test_excluded_rows_are_left_out_as_if_unwritten() -> None:
    q = unit(0, 1, 0)  # exactly example 2
    assert EXAMPLES.gap(q, NO_PHRASES) == pytest.approx(1 - max(cosines(q)[:2]))
    left_out = EXAMPLES.gap(q, NO_PHRASES, exclude=EXAMPLES.rows_of("红烧肉"))
    assert left_out == pytest.approx(cosines(q)[3] - max(cosines(q)[:2]))
    assert EXAMPLES.gap(q, NO_PHRASES, exclude=[]) == EXAMPLES.gap(q, NO_PHRASES)


def test_excluding_does_not_change_the_examples() -> None:
    before = EXAMPLES.vecs.copy()
    EXAMPLES.gap(unit(0, 1, 0), NO_PHRASES, exclude=[0, 2])
    assert np.array_equal(EXAMPLES.vecs, before)


def test_rows_of_a_text() -> None:
    examples = ScopeExamples(["a", "b", "a"], np.array([True, False, True]), VECS[:3])
    assert examples.rows_of("a") == [0, 2] and examples.rows_of("c") == []
    assert len(examples) == 3


def test_no_examples_no_gap() -> None:
    empty = ScopeExamples([], np.zeros(0, dtype=bool), np.zeros((0, 0), dtype=np.float32))
    assert empty.gap(unit(1, 0, 0), np.array([0.9], dtype=np.float32)) == 0.0
