"""Fusion of dense and lexical evidence into ranked items: a pure function."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

DENSE_WEIGHT = 0.6  # tuned on the eval set's dev block


class Fused(NamedTuple):
    score: float  # DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) * lexical
    dense: float
    lexical: float
    row: int  # the item's best chunk: the one with the best fused score of its own


def fuse(
    candidates: Iterable[int],
    dense: Mapping[int, float],
    lexical: Sequence[float],
    key: Callable[[int], str],
    k: int,
    dense_weight: float = DENSE_WEIGHT,
) -> list[Fused]:
    """The k best items among candidate rows. key(row) names the item a row belongs to (a bank id for
    all of an entry's chunks); an item's score takes its best dense and best lexical evidence of any
    of its chunks, so an extra chunk (a paraphrase) only ever adds evidence. A row with no dense score
    gets the lowest dense score seen: an unseen chunk is at most that similar."""
    floor = min(dense.values()) if dense else 0.0
    best: dict[str, Fused] = {}
    for i in candidates:
        d = dense.get(i, floor)
        lx = float(lexical[i])
        s = dense_weight * d + (1 - dense_weight) * lx
        item = key(i)
        prev = best.get(item)
        if prev is None:
            best[item] = Fused(s, d, lx, i)
        else:
            pd, pl = max(prev.dense, d), max(prev.lexical, lx)
            row = i if s > prev.score else prev.row
            best[item] = Fused(dense_weight * pd + (1 - dense_weight) * pl, pd, pl, row)
    return sorted(best.values(), key=lambda t: -t.score)[:k]
