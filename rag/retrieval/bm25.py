"""Lexical candidates: BM25 over every chunk, normalized by the query's idf mass."""

from __future__ import annotations

import numpy as np

from rag.index.lexical import LexicalIndex


def lexical_scores(index: LexicalIndex, terms: list[str], mask: np.ndarray) -> tuple[np.ndarray, float]:
    """(n_chunks,) how much of the query each chunk matched, in [0, 1] (0 outside mask); and the
    query's idf mass."""
    raw, mass = index.scores(terms)
    lexical = np.clip(raw / mass, 0.0, 1.0) if mass > 0 else np.zeros_like(raw)
    lexical[~mask] = 0.0
    return lexical, mass


def top_rows(lexical: np.ndarray, n: int) -> set[int]:
    """The rows of the n best lexical scores, those above 0."""
    n = min(len(lexical), n)
    top = np.argpartition(-lexical, n - 1)[:n] if n else []
    return {int(i) for i in top if lexical[i] > 0}
