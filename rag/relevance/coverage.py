"""Lexical evidence for relevance: which of the query's topical terms the hits and the index have."""

from __future__ import annotations

from collections.abc import Sequence

from rag.index.snapshot import IndexSnapshot
from rag.retrieval.text import is_topical


def term_shares(
    snapshot: IndexSnapshot, terms: list[str], mass: float, item_rows: Sequence[Sequence[int]]
) -> tuple[list[float], float, float]:
    """(coverage per item, unknown, peripheral), each a share of the query's idf mass (as BM25 computed
    it) carried by topical terms (rag/retrieval/text.is_topical):
    coverage: the terms an item's rows contain (a bank entry: its question and 问法 chunks);
    unknown: the terms the whole index lacks; peripheral: the terms the index has only in notes, never
    in what an entry or document is about ("dropout": the bank mentions it in passing)."""
    lexical = snapshot.lexical
    topical = [t for t in dict.fromkeys(terms) if is_topical(t)]
    if not mass or not topical:
        return [0.0] * len(item_rows), 0.0, 0.0
    idf = lexical.term_idf
    unknown = sum(idf(t) for t in topical if t not in lexical.vocab) / mass
    known = [t for t in topical if t in lexical.vocab]
    peripheral = sum(idf(t) for t in known if not snapshot.central_term[lexical.vocab[t]]) / mass
    if not known:
        return [0.0] * len(item_rows), unknown, peripheral
    present = lexical.chunks_with(known)
    coverage = []
    for rows in item_rows:
        found = present[list(rows)].getnnz(axis=0) > 0  # per known topical term
        coverage.append(sum(idf(t) for t, f in zip(known, found, strict=True) if f) / mass)
    return coverage, unknown, peripheral
