"""One vector per way the bank asks an entry (its question, each 问法 line).

Chunks hold three 问法 lines each, which retrieves best; one phrasing alone says more about "is this
exactly that question". With query_mass, calibration-set cross-validation: in-scope refused 5.6% -> 2.9%.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.index.catalogue import BankCatalogue
from rag.index.vector_cache import embed_cached


class BankPhrases:
    def __init__(self, catalogue: BankCatalogue, embeddings: Embeddings, embedder: str, cache: Path) -> None:
        phrases: list[str] = []
        self.span: dict[str, tuple[int, int]] = {}  # "Q077" -> (start, end) rows of vecs
        for bid in catalogue.ids:
            mine = [catalogue[bid].question, *catalogue.aliases(bid)]
            self.span[bid] = (len(phrases), len(phrases) + len(mine))
            phrases.extend(mine)
        # (n_phrases, dim), unit rows
        self.vecs = embed_cached(embeddings, embedder, phrases, cache) if phrases else np.zeros((0, 0), np.float32)

    def similarities(self, unit: np.ndarray) -> np.ndarray:
        """(n_phrases,) cosine of a unit query vector to every phrasing."""
        return self.vecs @ unit if self.vecs.size else np.zeros(0, dtype=np.float32)

    def best(self, sims: np.ndarray, bid: str) -> float:
        """The best of one entry's phrasings, given similarities()."""
        start, end = self.span[bid]
        return float(np.max(sims[start:end]))
