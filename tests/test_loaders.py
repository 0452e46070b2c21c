"""Loaders on real files: encodings, PDFs made here (text, image-only, encrypted, corrupt), docx, html."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunking import chunk_documents
from ingest.loaders import LoadError, load
from tests.pdfgen import encrypt_pdf, make_pdf

ZH = "低秩适配（LoRA）把权重更新分解为两个小矩阵的乘积。训练完成后可以合并回原模型，推理没有额外延迟。"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("utf8.txt", ZH.encode("utf-8")),
        ("bom.md", b"\xef\xbb\xbf" + ZH.encode("utf-8")),
        ("gbk.txt", ZH.encode("gbk")),
        ("gb18030.txt", ZH.encode("gb18030")),
        ("utf16.txt", ZH.encode("utf-16")),
    ],
)
def test_text_encodings_are_detected(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    docs = load(path)
    assert docs[0].page_content.strip() == ZH


def test_pdf_pages_are_numbered_from_one(tmp_path: Path) -> None:
    path = tmp_path / "notes.pdf"
    path.write_bytes(make_pdf([["LoRA adds low-rank matrices."], [], ["RMSNorm drops the mean."]]))
    docs = load(path)
    assert [(d.metadata["page"], d.page_content.strip()) for d in docs] == [
        (1, "LoRA adds low-rank matrices."),
        (3, "RMSNorm drops the mean."),
    ]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("binary.txt", b"\x00\x01\x02\x03" * 100, "binary"),
        ("undecodable.txt", b"abc\x80\xff\x80\xff" * 3, "UTF-8"),
        ("scan.pdf", make_pdf([[], []]), "image-only"),
        ("locked.pdf", encrypt_pdf(make_pdf([["secret"]]), "pw"), "encrypted"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\nendobj\n%%EOF", "PDF"),
        ("notes.xyz", b"hello", "unsupported"),
        ("broken.docx", b"PK\x03\x04 not really a zip", "docx"),
    ],
)
def test_bad_files_get_a_clear_reason(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadError, match=reason):
        load(path)


def test_docx_and_html(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_paragraph("第一段：旋转位置编码。")
    d.add_paragraph("第二段：长度外推。")
    d.save(tmp_path / "a.docx")
    assert "长度外推" in load(tmp_path / "a.docx")[0].page_content

    (tmp_path / "a.html").write_text(
        "<html><head><style>p{color:red}</style><script>var x=1</script></head>"
        "<body><h1>标题</h1><p>正文：KV Cache。</p></body></html>",
        encoding="utf-8",
    )
    text = load(tmp_path / "a.html")[0].page_content
    assert "正文：KV Cache。" in text and "var x" not in text and "color" not in text


def test_chinese_chunking_splits_on_sentence_ends_with_overlap() -> None:
    from langchain_core.documents import Document

    sentences = [f"第{i}句讲的是大模型微调中的一个要点，需要仔细理解。" for i in range(40)]
    chunks = chunk_documents([Document(page_content="".join(sentences), metadata={"page": 2})], "x.txt", "h", 200, 40)
    assert len(chunks) > 3
    assert all(len(c.text) <= 200 for c in chunks)
    assert all(c.text.endswith("。") for c in chunks[:-1])  # cut at a sentence end, not mid-sentence
    assert all(c.metadata["page"] == 2 and c.metadata["kind"] == "doc" for c in chunks)
    assert [c.metadata["chunk"] for c in chunks] == list(range(len(chunks)))
    # overlap: each chunk starts with text that ended the previous one
    assert chunks[1].text[:10] in chunks[0].text
