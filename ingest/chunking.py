"""Documents -> chunks with stable ids.

Bank entry Qnnn (one file holds many):
    kind=question  "question text"                      -> precise target for short queries
    kind=note      "question text\\nnote…" (one, or several sub-chunks of a long note, each
                   starting with the question so every piece still says what it answers)
    kind=alias     "way 1\nway 2\nway 3"              -> the `问法：` paraphrases, three per chunk, so a
                   colloquial or English query meets phrasings close to its own
Other documents, kind=doc: Markdown (and html/docx, loaded as Markdown) by heading sections, blocks
packed whole (ingest/structure.py), each chunk led by its heading path; plain text and PDF pages by
Chinese-aware recursive splitting with overlap.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from ingest.structure import Block, Section, sections
from rag.bank import Entry
from rag.retrieval.hits import HEADING_SEPARATOR

# Sentence ends and clause marks, Chinese first; the splitter tries them in this order.
SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "!", "?", ";", ". ", "，", ",", " ", ""]
# Bump when the chunks made from the same file change: ingest then re-chunks unchanged files.
CHUNKING_VERSION = 4
# Paraphrases per chunk. On the calibration set of the time (the first block of corpus/scope_examples.tsv),
# in-scope queries refused with every out-of-scope one refused: 1 per chunk 14/136, 2: 8, 3: 5, 4: 39,
# 5: 9, all in one chunk: 32. A few phrasings together make a steadier vector than one; many blur it.
# Fewer rows also ingest faster.
ALIASES_PER_CHUNK = 3
# A block up to this many chunk sizes stays whole (a code block or table of 1.5 chunks is still one chunk).
BLOCK_SLACK = 1.5
# A note up to this many characters stays one chunk (the bank's notes are 150-800 chars).
NOTE_CHUNK_CHARS = 900


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str
    metadata: dict[str, Any] = field(hash=False)


def chunk_id(source: str, kind: str, text: str) -> str:
    """Stable across runs: same source and content -> same id, so unchanged chunks are not re-embedded."""
    src = hashlib.sha1(source.encode("utf-8")).hexdigest()[:10]
    body = hashlib.sha1(f"{kind}\x00{text}".encode()).hexdigest()[:20]
    return f"{src}-{body}"


def splitter(size: int, overlap: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=size, chunk_overlap=overlap, separators=SEPARATORS, keep_separator="end", strip_whitespace=True
    )


def _meta(kind: str, source: str, file_hash: str, n: int, **extra: Any) -> dict[str, Any]:
    base = {"kind": kind, "id": "", "section": "", "question": "", "source": source, "page": 0}
    return base | extra | {"chunk": n, "file_hash": file_hash}


def chunk_bank(entries: list[Entry], source: str, file_hash: str) -> list[Chunk]:
    out: list[Chunk] = []
    note_splitter = splitter(NOTE_CHUNK_CHARS // 2, 80)
    for e in entries:
        common = {"id": e.id, "section": e.section, "question": e.question}
        texts = [("question", e.question)]
        if e.note:
            pieces = [e.note] if len(e.note) <= NOTE_CHUNK_CHARS else note_splitter.split_text(e.note)
            texts += [("note", f"{e.question}\n{p}") for p in pieces]
        aliases = [a for a in e.aliases if a != e.question]
        step = ALIASES_PER_CHUNK
        texts += [("alias", "\n".join(aliases[j : j + step])) for j in range(0, len(aliases), step)]
        for kind, text in texts:
            out.append(Chunk(chunk_id(source, kind, text), text, _meta(kind, source, file_hash, len(out), **common)))
    return out


def _split_block(block: Block, size: int, overlap: int) -> list[str]:
    """A block longer than a chunk: prose at sentence ends (with overlap); code and tables at line
    ends, a code piece keeping its fence so it still reads as code."""
    if block.kind == "text":
        return splitter(size, overlap).split_text(block.text)
    lines = block.text.split("\n")
    opening, closing = (lines[0], lines[-1]) if block.kind == "code" else ("", "")
    body = lines[1:-1] if block.kind == "code" else lines
    pieces: list[list[str]] = [[]]
    for line in body:
        for part in splitter(size, 0).split_text(line) if len(line) > size else [line]:
            if pieces[-1] and sum(len(x) + 1 for x in pieces[-1]) + len(part) > size:
                pieces.append([])
            pieces[-1].append(part)
    wrap = (lambda p: "\n".join([opening, *p, closing])) if opening else (lambda p: "\n".join(p))
    return [wrap(p) for p in pieces if p]


def pack_section(section: Section, size: int, overlap: int) -> list[str]:
    """The section's blocks packed whole into chunks of at most ~size characters."""
    out: list[str] = []
    current: list[str] = []
    for block in section.blocks:
        parts = [block.text] if len(block.text) <= size * BLOCK_SLACK else _split_block(block, size, overlap)
        for part in parts:
            if current and sum(len(x) + 2 for x in current) + len(part) > size:
                out.append("\n\n".join(current))
                current = []
            current.append(part)
    if current:
        out.append("\n\n".join(current))
    return out


def document_pieces(doc: Document, size: int, overlap: int) -> list[tuple[str, str]]:
    """(heading path, text) pieces of one loaded document: Markdown (md, html, docx) by its structure,
    plain text (txt, a PDF page) by sentence ends."""
    if doc.metadata.get("format") != "markdown":
        return [("", piece) for piece in splitter(size, overlap).split_text(doc.page_content)]
    return [(sec.heading, piece) for sec in sections(doc.page_content) for piece in pack_section(sec, size, overlap)]


def document_title(source: str) -> str:
    """What a file's name says it is about: 'notes/DeepSpeed.md' -> 'DeepSpeed'; a README or index
    page is named by its folder."""
    path = PurePosixPath(source.replace("\\", "/"))
    if path.stem.lower() in ("readme", "index") and path.parent.name:
        return path.parent.name
    return path.stem


def _name(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


def chunk_documents(docs: list[Document], source: str, file_hash: str, size: int, overlap: int) -> list[Chunk]:
    """Each chunk's text starts with its heading path, when it has one, so the path's words count for
    embedding and BM25 ('DeepSpeed › ZeRO' tells what a paragraph saying '切分优化器状态' is about)."""
    out: list[Chunk] = []
    seen: set[str] = set()
    title = document_title(source)
    for doc in docs:
        page = doc.metadata.get("page", 0)
        for heading, piece in document_pieces(doc, size, overlap):
            if not piece.strip():
                continue
            if doc.metadata.get("format") == "markdown" and _name(heading.split(HEADING_SEPARATOR)[0]) != _name(title):
                heading = f"{title}{HEADING_SEPARATOR}{heading}" if heading else title
            text = f"{heading}\n{piece}" if heading else piece
            cid = chunk_id(source, f"doc:{page}", text)
            if cid not in seen:  # identical repeated passages: keep one
                seen.add(cid)
                out.append(Chunk(cid, text, _meta("doc", source, file_hash, len(out), page=page, heading=heading)))
    return out
