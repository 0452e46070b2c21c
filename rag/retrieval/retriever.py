"""The retriever a process keeps: the current HybridSearch over an immutable snapshot, swapped whole.

search = Retriever(settings).search("LoRA 的思路?")   # SearchResult: hits + the query's features
A reload builds a new snapshot and searcher beside the old one and replaces the reference in one
assignment, so a search running meanwhile reads one consistent index, old or new, never a mix.
"""

from __future__ import annotations

import threading

from langchain_core.embeddings import Embeddings

from rag.index.catalogue import BankCatalogue
from rag.index.embeddings import embedder_name, make_embeddings
from rag.index.snapshot import IndexSnapshot, current_fingerprint, load_snapshot
from rag.index.store import StoreConnection
from rag.relevance.documents import combined
from rag.relevance.examples import load_examples
from rag.relevance.model import RelevanceModel, load_relevance_model
from rag.relevance.phrases import BankPhrases
from rag.retrieval.hits import Hit, SearchResult
from rag.retrieval.hybrid import HybridSearch
from rag.retrieval.related import related
from rag.retrieval.text import use_word_table
from rag.settings import Settings


class Retriever:
    def __init__(self, settings: Settings, embeddings: Embeddings | None = None) -> None:
        self.settings = settings
        use_word_table(settings.cache_dir)
        self.embeddings = embeddings or make_embeddings(settings)
        self.embedder = embedder_name(settings)
        self.store = StoreConnection(settings, self.embedder)
        self.model: RelevanceModel = load_relevance_model(settings, self.embedder)
        self.doc_model: RelevanceModel = load_relevance_model(settings, self.embedder, documents=True)
        self.min_score = settings.min_score if settings.min_score is not None else self.model.threshold
        self._lock = threading.Lock()  # one reload at a time; searches never wait for it
        self._search = self._build()
        # load now, not on the first query: the tokenizer (while the embedder's weights may still be
        # loading in their own thread), then the model. The English word list (~0.35 s) is left to the
        # first query with an unknown English word.
        self._search.snapshot.spelling.fix("预热")
        self.embeddings.embed_query("warm up")

    def _build(self) -> HybridSearch:
        snapshot = load_snapshot(self.store)
        data = self.settings.data_dir
        phrases = BankPhrases(snapshot.catalogue, self.embeddings, self.embedder, data / "phrase_vectors.npz")
        examples = load_examples(
            self.settings.scope_examples_path, snapshot, self.embeddings, self.embedder, data / "example_vectors.npz"
        )
        return HybridSearch(snapshot, self.embeddings, self.store, phrases, examples)

    def reload(self) -> None:
        """Load the snapshot of the store's current contents and swap it in."""
        with self._lock:
            self._search = self._build()

    def is_stale(self) -> bool:
        """Has the store changed since this snapshot (another process ingested into a shared server)?"""
        return current_fingerprint(self.store) != self._search.snapshot.fingerprint

    # ----- what callers use -----
    @property
    def collection(self):
        return self.store.collection

    @property
    def searcher(self) -> HybridSearch:
        return self._search

    @property
    def snapshot(self) -> IndexSnapshot:
        return self._search.snapshot

    @property
    def catalogue(self) -> BankCatalogue:
        return self._search.snapshot.catalogue

    def search(
        self, query: str, k: int = 5, *, section: str | None = None, source: str | None = None, bank_only: bool = False
    ) -> SearchResult:
        return self._search.search(query, k, section=section, source=source, bank_only=bank_only)

    def related(self, target: str, k: int = 5) -> list[Hit]:
        return related(self._search, target, k)

    def relevance(self, result: SearchResult) -> float:
        """How sure we are that the index covers the query, in [0, 1]: the bank model's probability, or
        the document model's mapped onto its scale when higher (rag/relevance/documents.py)."""
        p_doc = self.doc_model.relevance(result)
        return combined(self.model.relevance(result), p_doc, self.doc_model.threshold, self.model.threshold)

    def is_relevant(self, result: SearchResult) -> bool:
        return self.relevance(result) >= self.min_score

    def result_json(self, result: SearchResult) -> dict:
        """What `search --json`, the API and the MCP server print for a search."""
        from rag.relevance.features import feature_values

        relevance = self.relevance(result)
        return {
            "query": result.query,
            "searched": result.searched,
            "relevance": round(relevance, 4),
            "relevant": relevance >= self.min_score,
            "features": {k: round(v, 4) for k, v in feature_values(result).items()},
            "hits": [h.to_json() for h in result.hits],
        }

    def full_text(self, hit: Hit) -> str:
        return self._search.full_text(hit)
