"""Okapi BM25 as a sparse matrix, so a query costs a few column sums instead of a Python loop.

rank_bm25's get_scores walks every document in Python for every query term; at 100k chunks that
alone is ~50 ms a term, above the whole search budget. Same formula (Lucene's idf, k1, b), vectorized.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse


class BM25Index:
    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        tfs: list[float] = []
        lengths = np.zeros(len(docs), dtype=np.float32)
        for i, toks in enumerate(docs):
            lengths[i] = len(toks)
            for term, tf in Counter(toks).items():
                rows.append(i)
                cols.append(self.vocab.setdefault(term, len(self.vocab)))
                tfs.append(tf)
        n = len(docs)
        self.n_docs = n
        tf = sparse.csr_matrix((np.asarray(tfs, np.float32), (rows, cols)), shape=(n, len(self.vocab)))
        df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=len(self.vocab))
        self.df = df  # documents per term, by column
        # Lucene idf: always positive, so a term in most documents still counts a little.
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        self.unknown_idf = float(np.log1p((n + 0.5) / 0.5))
        avgdl = float(lengths.mean()) if n else 1.0
        norm = k1 * (1 - b + b * lengths / max(avgdl, 1e-9))  # per document
        coo = tf.tocoo()
        w = coo.data * (k1 + 1) / (coo.data + norm[coo.row]) * self.idf[coo.col]
        self.weights = sparse.csc_matrix((w, (coo.row, coo.col)), shape=tf.shape)

    def term_idf(self, term: str) -> float:
        """A term's idf; a term no document has gets the highest possible."""
        col = self.vocab.get(term)
        return float(self.idf[col]) if col is not None else self.unknown_idf

    def scores(self, query: Sequence[str]) -> tuple[np.ndarray, float]:
        """Raw BM25 score per document, and the query's idf mass (sum of its terms' idf).

        score / mass is a length-independent "how much of the query matched" in [0, ~1.2]:
        one occurrence of every query term in an average-length document gives 1.0.
        """
        terms = list(dict.fromkeys(query))
        cols = [self.vocab[t] for t in terms if t in self.vocab]
        mass = sum(self.term_idf(t) for t in terms)
        if not cols:
            return np.zeros(self.n_docs, dtype=np.float32), mass
        s = np.asarray(self.weights[:, cols].sum(axis=1)).ravel()
        return s, mass
