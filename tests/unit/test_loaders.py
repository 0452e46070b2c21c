"""Loaders on real files: encodings, PDFs made here (text, image-only, encrypted, corrupt), docx, html."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import LoadError, decode_text, load
from rag.errors import RagError
from tests.support.pdfgen import encrypt_pdf, make_pdf

ZH = "低秩适配（LoRA）把权重更新分解为两个小矩阵的乘积。训练完成后可以合并回原模型，推理没有额外延迟。"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("utf8.txt", ZH.encode("utf-8")),
        ("bom.md", b"\xef\xbb\xbf" + ZH.encode("utf-8")),
        ("gbk.txt", ZH.encode("gbk")),
        ("gb18030.txt", ZH.encode("gb18030")),
        ("utf16.txt", ZH.encode("utf-16")),
        ("utf16be.txt", b"\xfe\xff" + ZH.encode("utf-16-be")),
    ],
)
def test_text_encodings_are_detected(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    (doc,) = load(path)
    fmt = "markdown" if name.endswith(".md") else "text"
    assert doc.page_content.strip() == ZH and doc.metadata == {"page": 0, "format": fmt}


def test_pdf_pages_are_numbered_from_one_and_empty_pages_skipped(tmp_path: Path) -> None:
    path = tmp_path / "notes.pdf"
    path.write_bytes(make_pdf([["LoRA adds low-rank matrices."], [], ["RMSNorm drops the mean."]]))
    docs = load(path)
    assert [(d.metadata["page"], d.page_content.strip()) for d in docs] == [
        (1, "LoRA adds low-rank matrices."),
        (3, "RMSNorm drops the mean."),
    ]


def test_an_upper_case_suffix_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "NOTES.MD"
    path.write_text("# 标题\n正文", encoding="utf-8")
    assert load(path)[0].page_content == "# 标题\n正文"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b" \n\t\n", "no text content"),
        ("binary.txt", b"\x00\x01\x02\x03" * 100, "binary"),
        ("undecodable.txt", b"abc\x80\xff\x80\xff" * 3, "UTF-8"),
        ("scan.pdf", make_pdf([[], []]), "no extractable text in 2 page"),
        ("locked.pdf", encrypt_pdf(make_pdf([["secret"]]), "pw"), "encrypted"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\nendobj\n%%EOF", "PDF"),
        ("notes.xyz", b"hello", "unsupported file type .xyz"),
        ("Makefile", b"all:", r"unsupported file type \(none\)"),
        ("broken.docx", b"PK\x03\x04 not really a zip", "docx"),
    ],
)
def test_bad_files_get_a_clear_reason(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadError, match=reason):
        load(path)


def test_a_pdf_with_an_empty_password_opens(tmp_path: Path) -> None:
    path = tmp_path / "owner-only.pdf"
    path.write_bytes(encrypt_pdf(make_pdf([["open to all"]]), ""))
    assert load(path)[0].page_content.strip() == "open to all"


def test_load_errors_are_rag_errors() -> None:
    # the CLI and the app print a RagError as one line
    assert issubclass(LoadError, RagError)
    with pytest.raises(LoadError, match="binary content"):
        decode_text(b"a\x00b")


def test_docx_paragraphs(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_paragraph("第一段：旋转位置编码。")
    d.add_paragraph("")
    d.add_paragraph("第二段：长度外推。")
    d.save(tmp_path / "a.docx")
    (doc,) = load(tmp_path / "a.docx")
    assert doc.page_content == "第一段：旋转位置编码。\n\n第二段：长度外推。"


def test_html_text_without_scripts_or_styles(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text(
        "<html><head><style>p{color:red}</style><script>var x=1</script></head>"
        "<body><h1>标题</h1><p>正文：KV Cache。</p></body></html>",
        encoding="utf-8",
    )
    text = load(tmp_path / "a.html")[0].page_content
    assert "正文：KV Cache。" in text and "var x" not in text and "color" not in text
    assert text.index("标题") < text.index("\n\n", text.index("标题")) < text.index("正文")  # blocks apart


def test_docx_headings_become_markdown_headings(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading("分布式训练", level=1)
    d.add_heading("ZeRO", level=2)
    d.add_paragraph("ZeRO 切分优化器状态。")
    d.save(tmp_path / "a.docx")
    (doc,) = load(tmp_path / "a.docx")
    assert doc.page_content == "# 分布式训练\n\n## ZeRO\n\nZeRO 切分优化器状态。"
    assert doc.metadata["format"] == "markdown"


def test_html_headings_and_navigation(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text(
        "<body><nav><a href='/'>首页</a> | <a href='/x'>目录</a></nav><h2>KV <b>Cache</b></h2>"
        "<p>缓存键和值。</p><footer>© 2024 站点</footer></body>",
        encoding="utf-8",
    )
    text = load(tmp_path / "a.html")[0].page_content
    assert "## KV Cache" in text and "缓存键和值。" in text
    assert "首页" not in text and "2024" not in text


def test_pdf_running_headers_footers_and_page_numbers_are_dropped(tmp_path: Path) -> None:
    body = ["LoRA adds low-rank matrices.", "RMSNorm drops the mean.", "GQA shares keys and values."]
    pages = [["ACME Confidential - LLM notes", line, f"Page {i} of 3"] for i, line in enumerate(body, start=1)]
    path = tmp_path / "notes.pdf"
    path.write_bytes(make_pdf(pages))
    docs = load(path)
    assert [d.metadata["page"] for d in docs] == [1, 2, 3]
    assert [d.page_content.strip() for d in docs] == body
