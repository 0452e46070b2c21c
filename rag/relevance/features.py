"""The relevance features: one record per feature, used for the feature vector, JSON output, the
model's weights and the docs (docs/relevance.md lists FEATURES; a test keeps them in step).

    "LoRA 的思路"      -> dense 0.66, score 0.79, coverage 1.00, unknown 0.00, query_mass 0.65,
                          phrase 0.66, peripheral 0.00, example_gap -0.20   relevant (0.995)
    "红烧肉怎么做才软糯" -> 0.25, 0.25, 0.00, 0.67, 2.99, 0.29, 0.00, 0.46    nothing relevant (0.000)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from rag.retrieval.hits import SearchResult


@dataclass(frozen=True)
class Feature:
    name: str
    of: Literal["hits", "top hit", "query", "top document"]  # where its value comes from
    meaning: str
    range: str
    sign: Literal[1, -1]  # +1: a higher value means more likely in scope (the fitted weight's sign)


FEATURES: tuple[Feature, ...] = (
    Feature("dense", "hits", "best cosine between the query vector and any chunk of the top hits", "[0, 1]", 1),
    Feature("score", "top hit", "fused score: 0.6 dense + 0.4 lexical", "[0, 1]", 1),
    Feature(
        "coverage",
        "top hit",
        "share of the query's idf mass in topical terms the top item contains (a bank entry: its question "
        "and 问法, not its note)",
        "[0, 1]",
        1,
    ),
    Feature("unknown", "query", "share of the query's idf mass in topical terms the whole index lacks", "[0, 1]", -1),
    Feature(
        "query_mass",
        "query",
        "the query's idf mass in units of the rarest possible term: about how many rare words it has (a long "
        "scenario matches a smaller share of its words while being no less in scope)",
        "[0, ~20]",
        1,
    ),
    Feature(
        "phrase",
        "top hit",
        "best cosine between the query and one single phrasing of the top entry (its question or one 问法 line; "
        "a document chunk: its dense score)",
        "[0, 1]",
        1,
    ),
    Feature(
        "peripheral",
        "query",
        "share of the query's idf mass in topical terms the index has only in notes, never in what an entry or "
        "document is about",
        "[0, 1]",
        -1,
    ),
    Feature(
        "example_gap",
        "query",
        "cosine to the nearest out-of-scope scope example minus cosine to the nearest in-scope one or bank "
        "phrasing; for a document top hit at most 0 (the examples speak for the bank only)",
        "[-1, 1]",
        -1,
    ),
)
NAMES = tuple(f.name for f in FEATURES)
EMPTY = dict.fromkeys(NAMES, 0.0) | {"unknown": 1.0}  # no hits at all: nothing of the query is indexed


def feature_values(result: SearchResult) -> dict[str, float]:
    """The features of one search (its top hits, k=10), by name, in FEATURES order."""
    if not result.hits:
        return dict(EMPTY)
    top, q = result.hits[0], result.features
    values = {
        "dense": max(h.dense for h in result.hits),
        "score": top.score,
        "coverage": top.coverage,
        "unknown": q.unknown,
        "query_mass": q.query_mass,
        "phrase": top.phrase,
        "peripheral": q.peripheral,
        # a paper you indexed on speculative decoding must not be refused because the bank's examples
        # list that topic as out of scope
        "example_gap": q.example_gap if top.id else min(q.example_gap, 0.0),
    }
    return {name: float(values[name]) for name in NAMES}


def feature_vector(result: SearchResult) -> np.ndarray:
    """(n_features,) in FEATURES order."""
    return np.array(list(feature_values(result).values()), dtype=np.float64)
