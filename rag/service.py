"""What the app needs beyond search and answers: first-start indexing, status, the user's uploaded
sources (safe names, size limit, delete), conversation export. No Streamlit here."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ingest.loaders import SUFFIXES
from ingest.pipeline import IngestReport, Progress, display_source, ingest
from rag.answering.stream import AnswerResult
from rag.bank import is_bank_file
from rag.errors import RagError
from rag.index.embeddings import embedder_name, make_embeddings
from rag.index.snapshot import build_snapshot, has_current_snapshot
from rag.index.store import chroma_client, collection_exists, mark_fingerprint
from rag.retrieval.retriever import Retriever
from rag.settings import Settings

_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)  # keeps CJK letters, digits, _ . -


@dataclass
class SourceInfo:
    source: str
    chunks: int
    kind: str  # "bank" | "corpus" | "upload" | "other"
    deletable: bool


def safe_upload_name(name: str) -> str:
    """'../../etc/passwd' -> 'passwd'; '我的 笔记(1).PDF' -> '我的_笔记_1.pdf'."""
    base = Path(name.replace("\\", "/")).name.strip().lstrip(".")
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = _UNSAFE.sub("_", stem).strip("_.")[:80] or "upload"
    return stem + suffix


class Assistant:
    """One per process (the app caches it): the embedder, the store and the retriever, loaded once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.embeddings = make_embeddings(settings)
        self.lock = threading.Lock()  # one writer at a time: ingestion and deletion change the store
        self.retriever: Retriever | None = None
        self._checked = 0.0  # monotonic time of the last freshness check

    # ----- index lifecycle -----
    def has_index(self) -> bool:
        if has_current_snapshot(self.settings):  # no need to open Chroma (~0.5 s) to know
            return True
        client = chroma_client(self.settings)
        if not collection_exists(client, self.settings.collection):
            return False
        return client.get_collection(self.settings.collection).count() > 0

    def ensure_index(self, progress: Progress | None = None, *, load: bool = True) -> IngestReport | None:
        """Build the index from the corpus if there is none; then load the retriever (unless load=False:
        `serve --workers N` builds it once in the supervisor, and each worker loads its own)."""
        report = None
        with self.lock:
            if not self.has_index():
                report = ingest(None, self.settings, progress=progress, show_bar=False, embeddings=self.embeddings)
            if load and self.retriever is None:
                self.retriever = Retriever(self.settings, embeddings=self.embeddings)
        return report

    def ingest_paths(self, paths: list[Path] | None, progress: Progress | None = None) -> IngestReport:
        with self.lock:
            report = ingest(paths, self.settings, progress=progress, show_bar=False, embeddings=self.embeddings)
            self._reload()
        return report

    def warm_up(self) -> None:
        """Load what the first queries would load lazily (pinyin tables for a Chinese typo, the English
        word list), so a server's first requests do not stall on imports."""
        for query in ("知识裤的问答怎么做", "what is a lora adpater", "LoRA"):
            self.ready_retriever.search(query, 5)

    def refresh_if_stale(self) -> bool:
        """Pick up what other processes wrote to a shared store (a Chroma server): at most every
        RAG_REFRESH_SECONDS the store's fingerprint is compared with the snapshot's; a change reloads.
        Searches running meanwhile finish on the old snapshot. Returns whether it reloaded."""
        now = time.monotonic()
        if self.retriever is None or now - self._checked < self.settings.refresh_seconds:
            return False
        self._checked = now
        if not self.retriever.is_stale():
            return False
        with self.lock:
            if self.retriever.is_stale():  # another request may have reloaded it while we waited
                self.retriever.reload()
                return True
        return False

    def _reload(self) -> None:
        if self.retriever is None:
            self.retriever = Retriever(self.settings, embeddings=self.embeddings)
        else:
            self.retriever.reload()

    @property
    def ready_retriever(self) -> Retriever:
        if self.retriever is None:
            raise RagError("the index is not loaded yet")
        return self.retriever

    # ----- user sources -----
    def save_upload(self, name: str, data: bytes) -> Path:
        """Store an uploaded file under the data dir; never outside it, never over another file."""
        limit = self.settings.max_upload_mb
        if len(data) > limit * 1024 * 1024:
            raise RagError(f"{name}: {len(data) / 1024 / 1024:.1f} MB is over the {limit} MB limit (RAG_MAX_UPLOAD_MB)")
        safe = safe_upload_name(name)
        if Path(safe).suffix not in SUFFIXES:
            raise RagError(f"{name}: unsupported file type; upload one of {', '.join(SUFFIXES)}")
        folder = self.settings.uploads_dir
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / safe
        n = 2
        while target.exists() and hashlib.sha256(target.read_bytes()).digest() != hashlib.sha256(data).digest():
            target = folder / f"{Path(safe).stem}-{n}{Path(safe).suffix}"  # a different file with that name
            n += 1
        target.write_bytes(data)
        return target

    def sources(self) -> list[SourceInfo]:
        counts = Counter(self.ready_retriever.snapshot.columns["source"])
        uploads = display_source(self.settings.uploads_dir)
        corpus = display_source(self.settings.corpus_dir)
        out = []
        for source, n in sorted(counts.items()):
            if is_bank_file(Path(source)):
                kind = "bank"
            elif source.startswith(uploads + "/"):
                kind = "upload"
            elif source.startswith(corpus + "/"):
                kind = "corpus"
            else:
                kind = "other"
            out.append(SourceInfo(source, n, kind, deletable=kind in ("upload", "other")))
        return out

    def delete_source(self, source: str) -> int:
        """Remove a source's chunks (and the stored upload). Returns the number of chunks removed."""
        with self.lock:
            info = {s.source: s for s in self.sources()}.get(source)
            if info is None:
                raise RagError(f"no source {source!r} in the index")
            if not info.deletable:
                raise RagError(f"{source} is part of corpus/: remove the file there and re-ingest instead")
            collection = self.ready_retriever.collection
            collection.delete(where={"source": source})
            build_snapshot(collection, self.settings, mark_fingerprint(collection), embedder_name(self.settings))
            path = Path(source)
            if info.kind == "upload" and path.resolve().is_relative_to(self.settings.uploads_dir.resolve()):
                path.unlink(missing_ok=True)
            self._reload()
        return info.chunks

    # ----- status -----
    def status(self, llm_label: str) -> str:
        r = self.ready_retriever
        return (
            f"嵌入模型 {embedder_name(self.settings)} · 存储 {self.settings.store_label} · 大模型 {llm_label} · "
            f"{len(r.catalogue)} 道题 · {len(r.snapshot)} 个分块"
        )


def export_markdown(turns: list[AnswerResult]) -> str:
    """The conversation as Markdown, each answer followed by its citations."""
    lines = ["# 大模型面试助手 · 对话记录", ""]
    for t in turns:
        lines += [f"## 问：{t.query}", "", t.answer, ""]
        if t.citations:
            lines.append("**引用**")
            lines.append("")
            for c in t.citations:
                where = f"{c.source}" + (f" p.{c.page}" if c.page else "")
                lines.append(f"- [{c.label}] {c.question or ''} — {where}".replace("  — ", " — "))
            lines.append("")
    return "\n".join(lines)
