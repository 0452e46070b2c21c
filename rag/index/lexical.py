"""The lexical index: Okapi BM25 (Lucene idf, k1=1.2, b=0.75) over token lists, built, saved and
memory-mapped by bm25s.

bm25s stores per (term, chunk) the score idf * tf / (tf + k1 * (1 - b + b * len / avglen)) as a sparse
matrix with terms as columns: data, indices (chunk rows), indptr (per term). It leaves out BM25's
constant (k1 + 1) factor, which scores() puts back, so "one occurrence of every query term in an
average-length chunk" still scores the query's idf mass.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
from scipy import sparse

K1 = 1.2
B = 0.75


EMPTY_MARK = "empty"  # a saved index of a store with no terms at all (bm25s cannot index that)


class LexicalIndex:
    def __init__(self, bm25) -> None:
        """bm25: a bm25s.BM25, or None for an index of no terms."""
        self._bm25 = bm25
        self.n_docs = int(bm25.scores["num_docs"]) if bm25 is not None else 0
        # bm25s adds an empty token "" (it scores chunks without tokens); it is never a query term
        self.vocab: dict[str, int] = {t: c for t, c in bm25.vocab_dict.items() if t} if bm25 is not None else {}
        indptr = np.asarray(bm25.scores["indptr"]) if bm25 is not None else np.zeros(1, dtype=np.int64)
        self.df = np.diff(indptr)  # (n_terms,) chunks per term column
        # Lucene idf: always positive, so a term in most chunks still counts a little.
        n = self.n_docs
        self.idf = np.log1p((n - self.df + 0.5) / (self.df + 0.5)).astype(np.float32)
        self.unknown_idf = float(np.log1p((n + 0.5) / 0.5))

    @classmethod
    def build(cls, docs: Sequence[Sequence[str]]) -> LexicalIndex:
        import bm25s

        if not any(docs):
            if docs:
                raise ValueError("chunks without a single term: nothing to index lexically")
            return cls(None)
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        bm25 = bm25s.BM25(k1=K1, b=B, method="lucene", idf_method="lucene")
        bm25.index([list(d) for d in docs], show_progress=False)
        return cls(bm25)

    def save(self, folder: Path) -> None:
        if self._bm25 is None:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / EMPTY_MARK).touch()
            return
        self._bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        import bm25s

        if (folder / EMPTY_MARK).is_file():
            return cls(None)
        return cls(bm25s.BM25.load(str(folder), mmap=True, show_progress=False, verbosity=0))

    @cached_property
    def weights(self) -> sparse.csc_matrix:
        """(n_chunks, n_terms) BM25 weights without the (k1 + 1) factor; a view of the mapped arrays."""
        if self._bm25 is None:
            return sparse.csc_matrix((0, 0), dtype=np.float32)
        s = self._bm25.scores
        shape = (self.n_docs, len(s["indptr"]) - 1)
        return sparse.csc_matrix((s["data"], s["indices"], s["indptr"]), shape=shape, copy=False)

    def term_idf(self, term: str) -> float:
        """A term's idf; a term no chunk has gets the highest possible."""
        col = self.vocab.get(term)
        return float(self.idf[col]) if col is not None else self.unknown_idf

    def scores(self, query: Sequence[str]) -> tuple[np.ndarray, float]:
        """Raw BM25 score per chunk, (n_chunks,), and the query's idf mass (sum of its terms' idf).

        score / mass is a length-independent "how much of the query matched" in [0, ~1.2]."""
        terms = list(dict.fromkeys(query))
        mass = sum(self.term_idf(t) for t in terms)
        cols = [self.vocab[t] for t in terms if t in self.vocab]
        if not cols:
            return np.zeros(self.n_docs, dtype=np.float32), mass
        return self._bm25.get_scores(cols) * np.float32(K1 + 1), mass

    def chunks_with(self, terms: Sequence[str]) -> sparse.csr_matrix:
        """(n_chunks, len(terms)) nonzero where the chunk has the term; every term must be in vocab."""
        return self.weights[:, [self.vocab[t] for t in terms]].tocsr()
