"""Query processing before search: typo repair, BM25 terms, the query vector."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.retrieval.text import subwords, tokenize_parts


@dataclass(frozen=True)
class Query:
    text: str  # spell-fixed
    terms: list[str]  # BM25 terms
    vector: list[float]  # the query vector as Chroma takes it, unit length
    unit: np.ndarray  # (dim,) float32, the same vector for in-memory search


def content_words(text: str) -> str:
    """The text's content words alone, which a query's vector is averaged with (query_vector)."""
    return " ".join(tokenize_parts(text)[0])


def query_vector(embeddings: Embeddings, text: str) -> list[float]:
    """The query's embedding averaged with that of its content words alone: colloquial filler
    ("好像…咋回事") pulls USE vectors away from the bank's wording. With the 问法 chunks carrying
    colloquial phrasings it is neutral on ranking (eval R@1 0.922 with it, 0.920 without;
    docs/evaluation.md); it stays because the relevance model and the scope examples' vectors are
    fitted on query vectors made this way."""
    content = content_words(text)
    if not content or content == text:
        return embeddings.embed_query(text)
    both = np.asarray(embeddings.embed_documents([text, content]), dtype=np.float32)
    v = both.sum(axis=0)
    return (v / np.linalg.norm(v)).tolist()


def query_terms(text: str, vocab: dict[str, int]) -> list[str]:
    """BM25 terms of a spell-fixed query."""
    words, compounds = tokenize_parts(text)
    terms: list[str] = []
    for w in words:
        # a Chinese word the index lacks may still name its topic in parts ("在实践中" -> 实践,
        # "词表扩充" -> 词表 + 扩充) rather than count as a topic the index lacks. Calibration set,
        # in-scope refused with all out-of-scope refused: 5 -> 4 (measured before synonyms).
        parts = [] if w in vocab else [p for p in subwords(w) if p in vocab]
        terms.extend(parts or [w])
    # a compound the index has never seen is an artefact of joining words, not a missed term
    return terms + [c for c in compounds if c in vocab]


def unit(vector: list[float]) -> np.ndarray:
    q = np.asarray(vector, dtype=np.float32)
    return q / max(float(np.linalg.norm(q)), 1e-12)
