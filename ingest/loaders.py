"""File loaders: path -> list of Documents (one per PDF page, one for other files).

metadata: {"page": 1-based PDF page or 0, "format": "markdown" (md, html and docx, whose headings are
written as '#' lines) or "text"}.

Every failure is a `LoadError` whose message names the reason; the pipeline adds the file name.
"""

from __future__ import annotations

import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

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


# "3", "- 3 -", "第 3 页 / 共 9 页", "Page 3 of 9", "3/9"
_PAGE_NUMBER = re.compile(
    r"^\s*(?:[-–—]?\s*\d{1,4}\s*[-–—]?|第\s*\d+\s*页(?:\s*/?\s*共\s*\d+\s*页)?|page \d+( of \d+)?|\d+\s*/\s*\d+)\s*$",
    re.I,
)
EDGE_LINES = 2  # a running header or footer sits in the first or last lines of a page


def _without_running_lines(pages: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Drop page numbers, and header/footer lines repeated on most pages ('Company Confidential',
    the paper's title): they would otherwise be in every chunk. Digits are ignored when comparing."""

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", " ".join(line.split()))

    counts: dict[str, int] = {}
    for _, text in pages:
        lines = [x for x in text.splitlines() if x.strip()]
        for k in {key(x) for x in lines[:EDGE_LINES] + lines[-EDGE_LINES:]}:
            counts[k] = counts.get(k, 0) + 1
    repeated = {k for k, n in counts.items() if len(pages) >= 3 and n >= 0.6 * len(pages)}
    out = []
    for i, text in pages:
        lines = text.splitlines()
        edge = {j for j, x in enumerate(lines) if x.strip()}
        edge = set(sorted(edge)[:EDGE_LINES] + sorted(edge)[-EDGE_LINES:])
        kept = [x for j, x in enumerate(lines) if not (j in edge and (_PAGE_NUMBER.match(x) or key(x) in repeated))]
        out.append((i, "\n".join(kept)))
    return out


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
    pages = _without_running_lines(pages)
    docs = [Document(page_content=t, metadata={"page": i, "format": "text"}) for i, t in pages if t.strip()]
    if not docs:
        raise LoadError(f"no extractable text in {len(pages)} page(s) (scanned/image-only PDF?); OCR it first")
    return docs


def _load_docx(path: Path) -> list[Document]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        paragraphs = [
            (p.style.name if p.style is not None else "", p.text) for p in docx.Document(str(path)).paragraphs
        ]
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(f"corrupt .docx ({type(exc).__name__}: {exc})") from exc
    # Word's "Heading 2" / "Title" styles become Markdown headings, so chunks know their section
    lines = []
    for style, text in paragraphs:
        if not text.strip():
            continue
        level = _DOCX_HEADING.match(style or "")
        if level:
            lines.append("#" * min(int(level.group(1) or 1), 6) + " " + text.strip())
        else:
            lines.append(text)
    return [Document(page_content="\n\n".join(lines), metadata={"page": 0, "format": "markdown"})]


_DOCX_HEADING = re.compile(r"^(?:Heading|标题)\s*(\d)?$|^Title$", re.I)


class _TextOfHtml(HTMLParser):
    """HTML as Markdown-ish text: h1-h6 become '#' headings; head, nav, header, footer and scripts are dropped."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "section", "article", "pre", "table", "ul", "ol"})
    HEADINGS: ClassVar[dict[str, int]] = {f"h{n}": n for n in range(1, 7)}
    SKIP = frozenset({"head", "title", "script", "style", "nav", "header", "footer", "noscript", "aside"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self._heading_at: int | None = None  # where the open heading's text starts in parts

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.SKIP:
            self._skip += 1
        elif tag in self.HEADINGS:
            self.parts.append("\n\n" + "#" * self.HEADINGS[tag] + " ")
            self._heading_at = len(self.parts)
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skip:
            self._skip -= 1
        elif tag in self.HEADINGS and self._heading_at is not None:
            # a heading's text stays on its '#' line
            title = " ".join("".join(self.parts[self._heading_at :]).split())
            del self.parts[self._heading_at :]
            self.parts += [title, "\n\n"]
            self._heading_at = None

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
        fmt = "markdown" if suffix in (".md", ".html", ".htm") else "text"
        docs = [Document(page_content=text, metadata={"page": 0, "format": fmt})]
    if not any(d.page_content.strip() for d in docs):
        raise LoadError("no text content")
    return docs
