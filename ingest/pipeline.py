"""Incremental ingestion: files -> chunks -> embeddings -> Chroma (upsert), idempotent.

The store is the source of truth: each chunk carries its file's sha256, so an unchanged file is
skipped without embedding, a changed file embeds only its new chunks and drops the stale ones, and
the chunks of a deleted file are removed.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.embeddings import Embeddings
from tqdm import tqdm

from ingest.chunking import CHUNKING_VERSION, Chunk, chunk_bank, chunk_documents
from ingest.loaders import SUFFIXES, LoadError, load
from rag.bank import is_bank_file, parse_bank_text
from rag.errors import RagError
from rag.index.embeddings import embedder_name, make_embeddings
from rag.index.snapshot import build_snapshot
from rag.index.store import (
    chroma_client,
    clear_fingerprint,
    drop_collection,
    get_all,
    mark_fingerprint,
    open_collection,
)
from rag.retrieval.retriever import Retriever
from rag.settings import Settings

EMBED_BATCH = 64
WRITE_GROUP_CHUNKS = 1024  # chunks embedded before they are written (whole files)
Progress = Callable[[int, int], None]  # (chunks embedded so far, chunks to embed)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    chunks_embedded: int = 0
    chunks_deleted: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0  # of `seconds`: computing vectors
    write_seconds: float = 0.0  # of `seconds`: upserting into Chroma
    snapshot_seconds: float = 0.0  # of `seconds`: the fingerprint and the search snapshot

    def summary(self) -> str:
        return (
            f"files: {len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed, {len(self.failed)} failed | chunks: {self.chunks_embedded} embedded, "
            f"{self.chunks_deleted} deleted, {self.chunks_total} in index | {self.seconds:.2f} s"
        )


class IngestInterrupted(RagError):
    """Ctrl-C during embedding: what was written so far stays, and the same command resumes."""

    def __init__(self, report: IngestReport, done: int, total: int) -> None:
        super().__init__(
            f"interrupted: {done} of {total} new chunks written; run the same command again to resume "
            "(files already written are skipped)"
        )
        self.report = report


def display_source(path: Path) -> str:
    """Relative to the working directory when inside it (portable across clones), else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def discover(roots: Iterable[Path], corpus_dir: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Supported files under the roots. corpus/README.md describes the corpus's format and is not
    content; the README of a folder of the user's own notes often is (its overview, its prompts)."""
    files: list[Path] = []
    missing: list[tuple[str, str]] = []
    for root in roots:
        if root.is_dir():
            help_text = root / "README.md" if root.resolve() == corpus_dir.resolve() else None
            for p in sorted(root.rglob("*")):
                hidden = any(part.startswith(".") for part in p.relative_to(root).parts)
                if p.is_file() and not hidden and p.suffix.lower() in SUFFIXES and p != help_text:
                    files.append(p)
        elif root.is_file():
            files.append(root)
        else:
            missing.append((display_source(root), "no such file or directory"))
    return list(dict.fromkeys(files)), missing


def content_hash(data: bytes, settings: Settings) -> str:
    """What decides a file's chunks: its bytes and how they are chunked. A new chunking version or
    chunk size re-chunks files that did not change (unchanged chunks keep their ids and vectors)."""
    recipe = f"|{CHUNKING_VERSION}|{settings.chunk_size}|{settings.chunk_overlap}".encode()
    return hashlib.sha256(data + recipe).hexdigest()


def chunk_file(path: Path, source: str, data: bytes, file_hash: str, settings: Settings) -> list[Chunk]:
    if is_bank_file(path):
        entries = parse_bank_text(data.decode("utf-8-sig"), source)
        if not entries:
            raise LoadError("bank file without `## Qnnn question` entries")
        return chunk_bank(entries, source, file_hash)
    chunks = chunk_documents(load(path), source, file_hash, settings.chunk_size, settings.chunk_overlap)
    if not chunks:
        raise LoadError("no text content")
    return chunks


def _write_groups(plans: list[tuple[list[Chunk], list[str]]]) -> Iterator[tuple[list[Chunk], list[str]]]:
    """Whole files' (new chunks, stale ids) joined into groups of at least WRITE_GROUP_CHUNKS new chunks
    (the last group: whatever is left)."""
    chunks: list[Chunk] = []
    stale: list[str] = []
    for i, (new, old) in enumerate(plans):
        chunks += new
        stale += old
        if len(chunks) >= WRITE_GROUP_CHUNKS or i == len(plans) - 1:
            yield chunks, stale
            chunks, stale = [], []


def ingest(
    paths: list[Path] | None,
    settings: Settings,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    show_bar: bool = True,
    embeddings: Embeddings | None = None,
) -> IngestReport:
    t0 = time.perf_counter()
    report = IngestReport()
    roots = paths or [settings.corpus_dir]
    embeddings = embeddings or make_embeddings(settings)
    name = embedder_name(settings)
    client = chroma_client(settings)
    if rebuild:
        drop_collection(settings, client)
    collection = open_collection(settings, name, create=True, client=client)

    # What the index holds now: source -> (file hash, chunk ids)
    existing = get_all(collection, ["metadatas"])
    stored_ids: dict[str, set[str]] = defaultdict(set)
    # a file is unchanged only when all its chunks carry its current hash: an interrupted run can
    # leave a file with new chunks written and old ones not yet deleted (the next run finishes it)
    stored_hashes: dict[str, set[str]] = defaultdict(set)
    for cid, meta in zip(existing["ids"], existing["metadatas"] or [], strict=True):
        stored_ids[meta["source"]].add(cid)
        stored_hashes[meta["source"]].add(meta.get("file_hash", ""))

    files, report.failed = discover(roots, settings.corpus_dir)
    # per changed file, in order: (new chunks to embed, its stale chunk ids)
    plans: list[tuple[list[Chunk], list[str]]] = []
    to_delete: list[str] = []  # chunks of files that are gone
    seen_sources: set[str] = set()
    for path in files:
        source = display_source(path)
        seen_sources.add(source)
        try:
            data = path.read_bytes()
            file_hash = content_hash(data, settings)
            if source in stored_ids and stored_hashes[source] == {file_hash}:
                report.unchanged.append(source)
                continue
            chunks = chunk_file(path, source, data, file_hash, settings)
        except (RagError, OSError, UnicodeDecodeError) as exc:
            report.failed.append((source, str(exc)))  # the file's old chunks, if any, stay
            continue
        old = stored_ids.get(source, set())
        new_ids = {c.id for c in chunks}
        plans.append(([c for c in chunks if c.id not in old], sorted(old - new_ids)))
        kept = [c for c in chunks if c.id in old]
        if kept:  # same text, new position/hash: metadata only, no re-embedding
            collection.update(ids=[c.id for c in kept], metadatas=[c.metadata for c in kept])
        (report.updated if old else report.added).append(source)

    # Files that were under an ingested folder and are gone now
    root_dirs = [r.resolve() for r in roots if r.is_dir()]
    for source, ids in stored_ids.items():
        if source in seen_sources:
            continue
        path = Path(source).resolve()
        if any(path.is_relative_to(r) for r in root_dirs) and not path.exists():
            to_delete += sorted(ids)
            report.removed.append(source)

    # Embed and write a group of whole files at a time, each file's stale chunks deleted after its new
    # ones are in: an interrupted ingest keeps every group written so far, and running it again skips
    # those files. Groups are large because interleaving Chroma's index threads with numpy's BLAS
    # threads on 2 cores made ingest ~40 % slower than embedding alone.
    n_embed = sum(len(new) for new, _ in plans)
    if n_embed or any(old for _, old in plans) or to_delete:
        clear_fingerprint(collection)
    bar = tqdm(total=n_embed, desc="embedding", unit="chunk", disable=not show_bar or not n_embed)
    step = client.get_max_batch_size()
    try:
        for chunks, stale in _write_groups(plans):
            t_embed = time.perf_counter()
            vectors: list[list[float]] = []
            for j in range(0, len(chunks), EMBED_BATCH):
                vectors += embeddings.embed_documents([c.text for c in chunks[j : j + EMBED_BATCH]])
                bar.update(min(EMBED_BATCH, len(chunks) - j))
                if progress:
                    progress(report.chunks_embedded + min(j + EMBED_BATCH, len(chunks)), n_embed)
            report.embed_seconds += time.perf_counter() - t_embed
            t_write = time.perf_counter()
            for j in range(0, len(chunks), step):
                batch = chunks[j : j + step]
                collection.upsert(
                    ids=[c.id for c in batch],
                    embeddings=vectors[j : j + step],
                    documents=[c.text for c in batch],
                    metadatas=[c.metadata for c in batch],
                )
            if stale:
                collection.delete(ids=stale)
            report.write_seconds += time.perf_counter() - t_write
            report.chunks_embedded += len(chunks)
            report.chunks_deleted += len(stale)
    except KeyboardInterrupt:
        raise IngestInterrupted(report, report.chunks_embedded, n_embed) from None
    finally:
        bar.close()
    if to_delete:
        collection.delete(ids=to_delete)
    report.chunks_deleted += len(to_delete)
    report.chunks_total = collection.count()
    # what searches load: the lexical index and tables of the store as it is now, keyed by its contents
    t_snapshot = time.perf_counter()
    changed = n_embed or report.chunks_deleted or report.updated or report.removed
    if changed or not (collection.metadata or {}).get("fingerprint"):
        build_snapshot(collection, settings, mark_fingerprint(collection), name)
        # and what a retriever derives from it (phrase and scope-example vectors), so the first search
        # after an ingest starts as fast as any other
        Retriever(settings, embeddings=embeddings)
    report.snapshot_seconds = time.perf_counter() - t_snapshot
    report.seconds = time.perf_counter() - t0
    return report
