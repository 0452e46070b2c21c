"""Hybrid search over one snapshot: dense + BM25 candidates, fused per item, with relevance evidence."""

from __future__ import annotations

from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.errors import RagError
from rag.index.catalogue import ID_QUERY
from rag.index.snapshot import IndexSnapshot
from rag.index.store import StoreConnection
from rag.relevance.coverage import term_shares
from rag.relevance.examples import ScopeExamples
from rag.relevance.phrases import BankPhrases
from rag.retrieval.bm25 import lexical_scores, top_rows
from rag.retrieval.dense import dense_candidates
from rag.retrieval.fusion import DOC_PRIOR, fuse
from rag.retrieval.hits import Hit, QueryFeatures, SearchResult
from rag.retrieval.query import query_terms, query_vector, unit

MAX_K = 50
SNIPPET_CHARS = 240


class HybridSearch:
    """Everything one search reads, fixed at construction; a reload builds a new one."""

    def __init__(
        self,
        snapshot: IndexSnapshot,
        embeddings: Embeddings,
        store: StoreConnection,
        phrases: BankPhrases,
        examples: ScopeExamples,
    ) -> None:
        self.snapshot = snapshot
        self.embeddings = embeddings
        self.store = store  # Chroma, opened for documents' dense candidates only
        self.phrases = phrases
        self.examples = examples

    def search(
        self, query: str, k: int = 5, *, section: str | None = None, source: str | None = None, bank_only: bool = False
    ) -> SearchResult:
        snap, catalogue = self.snapshot, self.snapshot.catalogue
        typed = query
        query = query.strip()
        if not query:
            raise RagError("empty query: type a question")
        if not 1 <= k <= MAX_K:
            raise RagError(f"k must be between 1 and {MAX_K}, got {k}")
        if section is not None:
            section = catalogue.resolve_section(section)
        if (m := ID_QUERY.match(query)) and not section and not source:
            entry = catalogue[m.group(1)]
            hit = self.hit(entry.display_row, 1.0, 1.0, 1.0)
            hit.coverage = hit.phrase = 1.0
            return SearchResult(typed, query, [hit])
        if not len(snap):
            return SearchResult(typed, query)
        mask = np.ones(len(snap), dtype=bool)  # (n_chunks,) rows this search may return
        conds: list[dict[str, Any]] = [{"kind": "doc"}]  # the same filter for Chroma's document candidates
        if section:
            mask &= snap.section == section
            conds.append({"section": section})
        if source:
            mask &= snap.source == source
            conds.append({"source": source})
        if bank_only:
            mask &= ~snap.is_doc
        if not mask.any():
            return SearchResult(typed, query)

        query = snap.spelling.fix(query)
        terms = query_terms(query, snap.lexical.vocab)
        vector = query_vector(self.embeddings, query)
        q = unit(vector)
        n = max(60, 8 * k)
        where = {"$and": conds} if len(conds) > 1 else None
        dense = dense_candidates(snap, self.store, vector, q, mask, n, where)
        lexical, mass = lexical_scores(snap.lexical, terms, mask)
        candidates = set(dense) | top_rows(lexical, n)
        is_doc = snap.is_doc
        ranked = fuse(candidates, dense, lexical, snap.item_key, k, prior=lambda row: DOC_PRIOR if is_doc[row] else 0.0)
        hits = [self.hit(f.row, f.score, f.dense, f.lexical) for f in ranked]

        item_rows = [catalogue[h.id].central_rows if h.id else [f.row] for h, f in zip(hits, ranked, strict=True)]
        coverage, unknown, peripheral = term_shares(snap, terms, mass, item_rows)
        phrase_sims = self.phrases.similarities(q)
        for hit, cov in zip(hits, coverage, strict=True):
            hit.coverage = cov
            hit.phrase = self.phrases.best(phrase_sims, hit.id) if hit.id else hit.dense
        features = QueryFeatures(
            unknown=unknown,
            peripheral=peripheral,
            query_mass=mass / snap.lexical.unknown_idf,
            example_gap=self.examples.gap(q, phrase_sims),
        )
        return SearchResult(typed, query, hits, features)

    def hit(self, row: int, score: float, dense: float, lexical: float) -> Hit:
        snap = self.snapshot
        m = snap.meta(row)
        if m["kind"] in ("question", "alias"):  # show the note when the entry has one
            row = snap.catalogue[m["id"]].display_row
            m = snap.meta(row)
        return Hit(
            id=m["id"] or None,
            question=m["question"] or None,
            section=m["section"] or None,
            source=m["source"],
            page=m["page"] or None,
            score=float(score),
            text=snippet(snap.texts[row], m),
            dense=float(dense),
            lexical=float(lexical),
            chunk_id=snap.chunk_ids[row],
            heading=m["heading"] or None,
        )

    def full_text(self, hit: Hit) -> str:
        """The whole note of a bank hit (its note chunks joined); for a document hit, its chunk and the
        chunks that follow it in the same section, joined (an excerpt is then a passage, not a fragment)."""
        if hit.id:
            return self.snapshot.catalogue.note(hit.id)
        snap = self.snapshot
        rows = snap.section_from(snap.row[hit.chunk_id])
        return "\n\n".join(strip_heading(snap.texts[r], hit.heading or "") for r in rows)


def strip_heading(text: str, heading: str) -> str:
    """A document chunk's text without the heading path it starts with (ingest/chunking.py)."""
    return text[len(heading) :].lstrip("\n") if heading and text.startswith(heading) else text


def snippet(text: str, meta: dict[str, Any], limit: int = SNIPPET_CHARS) -> str:
    if meta["kind"] == "note" and text.startswith(meta["question"]):
        text = text[len(meta["question"]) :]
    elif meta["kind"] == "doc":
        text = strip_heading(text, meta["heading"])
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
