"""File loaders: path -> list of Documents (one per PDF page, one for other files).

Every failure is a `LoadError` whose message names the reason; the pipeline adds the file name.
"""

from __future__ import annotations

import zipfile
from html.parser import HTMLParser
from pathlib import Path

from langchain_core.documents import Document

from rag.errors import RagError

SUFFIXES = (".md", ".txt", ".pdf", ".docx", ".html", ".htm")


class LoadError(RagError):
    pass


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK/GB2312), else an error."""
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LoadError("binary content, not text")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LoadError("not UTF-8, UTF-16 or GB18030/GBK text; re-save it as UTF-8")


def _load_pdf(path: Path) -> list[Document]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("encrypted PDF; remove the password and ingest it again")
        pages = [(i, page.extract_text() or "") for i, page in enumerate(reader.pages, start=1)]
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(f"corrupt or unreadable PDF ({type(exc).__name__}: {exc})") from exc
    docs = [Document(page_content=t, metadata={"page": i}) for i, t in pages if t.strip()]
    if not docs:
        raise LoadError(f"no extractable text in {len(pages)} page(s) (scanned/image-only PDF?); OCR it first")
    return docs


def _load_docx(path: Path) -> list[Document]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        paragraphs = [p.text for p in docx.Document(str(path)).paragraphs]
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(f"corrupt .docx ({type(exc).__name__}: {exc})") from exc
    return [Document(page_content="\n\n".join(p for p in paragraphs if p.strip()), metadata={"page": 0})]


class _TextOfHtml(HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article", "pre"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def load(path: Path) -> list[Document]:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise LoadError(f"unsupported file type {suffix or '(none)'}; supported: {', '.join(SUFFIXES)}")
    if path.stat().st_size == 0:
        raise LoadError("empty file")
    if suffix == ".pdf":
        docs = _load_pdf(path)
    elif suffix == ".docx":
        docs = _load_docx(path)
    else:
        text = decode_text(path.read_bytes())
        if suffix in (".html", ".htm"):
            parser = _TextOfHtml()
            parser.feed(text)
            text = "".join(parser.parts)
        docs = [Document(page_content=text, metadata={"page": 0})]
    if not any(d.page_content.strip() for d in docs):
        raise LoadError("no text content")
    return docs
