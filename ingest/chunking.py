"""Documents -> chunks with stable ids.

Bank entry Qnnn (one file holds many):
    kind=question  "question text"                      -> precise target for short queries
    kind=note      "question text\\nnote…" (one, or several sub-chunks of a long note, each
                   starting with the question so every piece still says what it answers)
    kind=alias     "way 1\nway 2\nway 3"              -> the `问法：` paraphrases, three per chunk, so a
                   colloquial or English query meets phrasings close to its own
Other documents: Chinese-aware recursive splitting with overlap, kind=doc.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.bank import Entry

# Sentence ends and clause marks, Chinese first; the splitter tries them in this order.
SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "!", "?", ";", ". ", "，", ",", " ", ""]
# Bump when the chunks made from the same file change: ingest then re-chunks unchanged files.
CHUNKING_VERSION = 2
# Paraphrases per chunk. On the calibration set of the time (the first block of corpus/scope_examples.tsv),
# in-scope queries refused with every out-of-scope one refused: 1 per chunk 14/136, 2: 8, 3: 5, 4: 39,
# 5: 9, all in one chunk: 32. A few phrasings together make a steadier vector than one; many blur it.
# Fewer rows also ingest faster.
ALIASES_PER_CHUNK = 3
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


def chunk_documents(docs: list[Document], source: str, file_hash: str, size: int, overlap: int) -> list[Chunk]:
    out: list[Chunk] = []
    split = splitter(size, overlap)
    seen: set[str] = set()
    for doc in docs:
        for piece in split.split_text(doc.page_content):
            cid = chunk_id(source, f"doc:{doc.metadata.get('page', 0)}", piece)
            if piece.strip() and cid not in seen:  # identical repeated passages: keep one
                seen.add(cid)
                out.append(
                    Chunk(cid, piece, _meta("doc", source, file_hash, len(out), page=doc.metadata.get("page", 0)))
                )
    return out
