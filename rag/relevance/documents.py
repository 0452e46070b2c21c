"""Evidence that one of the user's own documents answers a query, judged on the document's own match.

The bank's relevance model (model.py) is fitted on questions worded like the bank's and compares a query
with the bank's scope examples; a short question over a document scores low there however well the
document matches. A second logistic model over the best document hit among the top hits decides for
documents:

    doc relevance = sigmoid(bias + w · (doc_dense, doc_lexical, doc_coverage, unknown))

It is fitted by `python -m rag calibrate --docs` on the scope examples searched over an index where the
bank's notes are documents (one Markdown file per section, `## question` then the note) and nothing is
a bank entry: real user questions, labelled, over note-like documents, kept apart from any document
set the figures are reported on. A query is relevant when either model says so (combined() below).
"""

from __future__ import annotations

from rag.relevance.features import Feature
from rag.retrieval.hits import Hit, SearchResult

DOC_FEATURES: tuple[Feature, ...] = (
    Feature(
        "doc_dense", "top document", "cosine between the query and the best document chunk in the hits", "[0, 1]", 1
    ),
    Feature(
        "doc_lexical",
        "top document",
        "that chunk's BM25 score over the query's idf mass (its share of the query's rare words, weighted)",
        "[0, 1]",
        1,
    ),
    Feature(
        "doc_coverage",
        "top document",
        "share of the query's idf mass in topical terms that chunk contains",
        "[0, 1]",
        1,
    ),
)
DOC_NAMES = tuple(f.name for f in DOC_FEATURES)
# the model's inputs: the document's match, and how much of the query the whole index lacks
DOC_MODEL_FEATURES = (*DOC_NAMES, "unknown")


def best_document(result: SearchResult) -> Hit | None:
    """The highest-ranked document chunk among the hits, if any."""
    return next((h for h in result.hits if not h.id), None)


def doc_feature_values(result: SearchResult) -> dict[str, float]:
    doc = best_document(result)
    if doc is None:
        return dict.fromkeys(DOC_NAMES, 0.0)
    return {"doc_dense": doc.dense, "doc_lexical": doc.lexical, "doc_coverage": doc.coverage}


def doc_model_values(result: SearchResult) -> dict[str, float]:
    """The document model's inputs (DOC_MODEL_FEATURES) by name."""
    return doc_feature_values(result) | {"unknown": result.features.unknown}


def on_bank_scale(p_doc: float, doc_threshold: float, bank_threshold: float) -> float:
    """The document model's probability mapped monotonically onto the bank model's scale, so that its
    threshold lands on the bank's: one relevance number, one RAG_MIN_SCORE, either model can pass it."""
    if p_doc <= doc_threshold:
        return p_doc * bank_threshold / doc_threshold
    return bank_threshold + (p_doc - doc_threshold) * (1 - bank_threshold) / (1 - doc_threshold)


def combined(p_bank: float, p_doc: float, doc_threshold: float, bank_threshold: float) -> float:
    return max(p_bank, on_bank_scale(p_doc, doc_threshold, bank_threshold))
