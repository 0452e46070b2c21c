"""Fusion of dense and lexical evidence into ranked items: a pure function."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

DENSE_WEIGHT = 0.6  # tuned on the eval set's dev block
# Added to a user document chunk's fused score. USE scores a short question against a bank entry's
# question and 问法 chunks (short texts, like the query) higher than against any passage, and a document
# has passages only: on the documents dev set (tests/eval/docs_queries.tsv) a bank entry on the general
# topic outranked the file that answers the question in 15 of 22 first-rank misses. The value is the
# largest that keeps R@1 of the bank eval's questions, searched over the bank plus that corpus, within
# 0.01 of its value without it (docs/retrieval.md, "Documents beside the bank"). A bank-only index is
# unaffected.
DOC_PRIOR = 0.04


class Fused(NamedTuple):
    score: float  # DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) * lexical (+ prior(row))
    dense: float
    lexical: float
    row: int  # the item's best chunk: the one with the best fused score of its own


class _Item(NamedTuple):
    dense: float  # best of any of its chunks
    lexical: float
    row: int
    row_score: float  # the fused score of that chunk alone


def fuse(
    candidates: Iterable[int],
    dense: Mapping[int, float],
    lexical: Sequence[float],
    key: Callable[[int], str],
    k: int,
    dense_weight: float = DENSE_WEIGHT,
    prior: Callable[[int], float] | None = None,
) -> list[Fused]:
    """The k best items among candidate rows. key(row) names the item a row belongs to (a bank id for
    all of an entry's chunks); an item's score takes its best dense and best lexical evidence of any
    of its chunks, so an extra chunk (a paraphrase) only ever adds evidence. A row with no dense score
    gets the lowest dense score seen: an unseen chunk is at most that similar. prior(row), when given,
    is added to the score of an item whose rows it favours (the same value for all of an item's rows)."""
    floor = min(dense.values()) if dense else 0.0
    bonus = prior or (lambda row: 0.0)
    items: dict[str, _Item] = {}
    for i in candidates:
        d = dense.get(i, floor)
        lx = float(lexical[i])
        s = dense_weight * d + (1 - dense_weight) * lx + bonus(i)
        item = key(i)
        prev = items.get(item)
        if prev is None:
            items[item] = _Item(d, lx, i, s)
        else:  # ties keep the lower row, so the result does not depend on the candidates' order
            better = s > prev.row_score or (s == prev.row_score and i < prev.row)
            row, row_score = (i, s) if better else (prev.row, prev.row_score)
            items[item] = _Item(max(prev.dense, d), max(prev.lexical, lx), row, row_score)
    fused = [
        Fused(dense_weight * it.dense + (1 - dense_weight) * it.lexical + bonus(it.row), it.dense, it.lexical, it.row)
        for it in items.values()
    ]
    return sorted(fused, key=lambda t: -t.score)[:k]
