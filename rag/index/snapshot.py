"""An immutable snapshot of the index: the store's rows, the lexical index, the bank's vectors and
catalogue, and the spelling vocabulary, loaded once and replaced whole on reload.

Saved under RAG_DATA_DIR/snapshots/<key>/, where key = sha256(store fingerprint, synonyms file,
LEXICAL_VERSION): rows.json (columns, one value per store row), bank.npz, lexical/ (bm25s, memory-
mapped on load), complete ({"fingerprint", "embedder"}, written last), plus derived caches other
components keep there (scope examples). Ingest writes it; a process that finds none for the store's
current fingerprint builds it from Chroma once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import RagError
from rag.index.catalogue import BankCatalogue
from rag.index.lexical import LexicalIndex
from rag.index.store import StoreConnection, get_all
from rag.retrieval.spelling import SpellFixer
from rag.retrieval.synonyms import load_synonyms
from rag.retrieval.text import tokenize, use_word_table
from rag.settings import Settings

# Bump when tokenizing or what a snapshot holds changes: old snapshots are then rebuilt.
LEXICAL_VERSION = 2
COLUMNS = ("kind", "id", "section", "question", "source", "page", "chunk", "heading")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexSnapshot:
    key: str
    fingerprint: str  # the store's content fingerprint it was built from
    embedder: str  # the model whose vectors it holds
    folder: Path
    chunk_ids: list[str]  # (n_chunks,) store ids, in store order; "row" below is a position here
    texts: list[str]  # (n_chunks,)
    columns: dict[str, list[Any]]  # COLUMNS -> (n_chunks,) metadata values
    lexical: LexicalIndex  # rows = store rows
    central_term: np.ndarray  # (n_terms,) bool: does a question, 问法 or document chunk (not only a note) have it?
    bank_rows: np.ndarray  # (n_bank_chunks,) int64 store rows of the bank's chunks, ascending
    bank_vecs: np.ndarray  # (n_bank_chunks, dim), unit rows

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def meta(self, row: int) -> dict[str, Any]:
        return {c: self.columns[c][row] for c in COLUMNS}

    @cached_property
    def row(self) -> dict[str, int]:
        return {cid: i for i, cid in enumerate(self.chunk_ids)}

    @cached_property
    def kind(self) -> np.ndarray:
        return np.array(self.columns["kind"], dtype=object)

    @cached_property
    def is_doc(self) -> np.ndarray:
        return self.kind == "doc"  # comparing the object array per query costs ~1 ms at 100k chunks

    @cached_property
    def section(self) -> np.ndarray:
        return np.array(self.columns["section"], dtype=object)

    @cached_property
    def source(self) -> np.ndarray:
        return np.array(self.columns["source"], dtype=object)

    @cached_property
    def catalogue(self) -> BankCatalogue:
        vec_of = {int(r): self.bank_vecs[j] for j, r in enumerate(self.bank_rows)}
        c = self.columns
        return BankCatalogue(c["kind"], c["id"], c["chunk"], self.texts, self.meta, vec_of)

    @cached_property
    def spelling(self) -> SpellFixer:
        return SpellFixer(self.lexical.vocab, self.lexical.df, self.texts)

    @cached_property
    def _next_in_file(self) -> dict[int, int]:
        """row -> the row of the same file's next chunk (chunk numbers are positions in the file)."""
        by_chunk = {
            (s, c): i for i, (s, c) in enumerate(zip(self.columns["source"], self.columns["chunk"], strict=True))
        }
        return {i: by_chunk[(s, c + 1)] for (s, c), i in by_chunk.items() if (s, c + 1) in by_chunk}

    def section_from(self, row: int, limit: int = 8) -> list[int]:
        """row and the document chunks that follow it under the same heading and page (at most limit)."""
        c, out = self.columns, [row]
        while len(out) < limit and (nxt := self._next_in_file.get(out[-1])) is not None:
            if c["kind"][nxt] != "doc" or (c["heading"][nxt], c["page"][nxt]) != (c["heading"][row], c["page"][row]):
                break
            out.append(nxt)
        return out

    def item_key(self, row: int) -> str:
        """What search ranks: a bank entry (all its chunks) or one document chunk."""
        return self.columns["id"][row] or self.chunk_ids[row]


def snapshot_key(fingerprint: str, settings: Settings) -> str:
    path = settings.synonyms_path
    synonyms = path.read_bytes() if path.is_file() else b""
    return hashlib.sha256(f"{fingerprint}|{LEXICAL_VERSION}|".encode() + synonyms).hexdigest()[:24]


def current_fingerprint(store: StoreConnection) -> str:
    """The store's fingerprint. The embedded store's writers (ingest, deleting a source) also record it
    in snapshots/CURRENT, so a command over the embedded store need not open Chroma to learn it; a
    Chroma server may be written by other processes, so it is always asked."""
    pointer = store.settings.snapshots_dir / "CURRENT"
    if not store.settings.chroma_host and pointer.is_file():
        return pointer.read_text(encoding="utf-8").strip()
    return store.fingerprint()


def has_current_snapshot(settings: Settings) -> bool:
    """Does the embedded store have a complete snapshot of what it holds now (then it has an index)?"""
    pointer = settings.snapshots_dir / "CURRENT"
    if settings.chroma_host or not pointer.is_file():
        return False
    key = snapshot_key(pointer.read_text(encoding="utf-8").strip(), settings)
    return (settings.snapshots_dir / key / "complete").is_file()


def load_snapshot(store: StoreConnection) -> IndexSnapshot:
    """The snapshot for the store's current contents: read from disk, else built from Chroma and saved."""
    settings = store.settings
    fingerprint = current_fingerprint(store)
    folder = settings.snapshots_dir / snapshot_key(fingerprint, settings)
    if (folder / "complete").is_file():
        try:
            snapshot = _read(folder)
        except (OSError, ValueError, KeyError) as exc:  # a torn or foreign folder: build it again
            log.warning("%s: unreadable snapshot (%s); rebuilding it", folder, exc)
            shutil.rmtree(folder, ignore_errors=True)
        else:
            if snapshot.embedder != store.embedder:
                raise RagError(
                    f"the index was built with embedder {snapshot.embedder!r} but {store.embedder!r} is "
                    "configured; run `python -m ingest --rebuild` to rebuild it with the configured model"
                )
            return snapshot
    return build_snapshot(store.collection, settings, store.fingerprint(), store.embedder)


def build_snapshot(collection: Any, settings: Settings, fingerprint: str, embedder: str) -> IndexSnapshot:
    """Read every row from Chroma, tokenize and index it, save the result atomically, and record the
    fingerprint as the embedded store's current one."""
    key = snapshot_key(fingerprint, settings)
    use_word_table(settings.cache_dir)
    data = get_all(collection, ["documents", "metadatas"])
    texts: list[str] = data["documents"]
    metas: list[dict[str, Any]] = data["metadatas"]
    columns = {c: [m.get(c, 0 if c in ("page", "chunk") else "") for m in metas] for c in COLUMNS}
    synonyms = load_synonyms(settings.synonyms_path)
    lexical = LexicalIndex.build([synonyms.expand(t, tokenize(t)) for t in texts])
    kinds = np.array(columns["kind"], dtype=object)
    central = np.flatnonzero(kinds != "note")
    central_term = np.asarray(lexical.weights[central].getnnz(axis=0) > 0) if len(texts) else np.zeros(0, bool)
    # Only the bank's vectors are kept in memory; user documents stay in Chroma (HNSW).
    bank = get_all(collection, ["embeddings"], where={"kind": {"$ne": "doc"}})
    row = {cid: i for i, cid in enumerate(data["ids"])}
    pairs = sorted(zip((row[c] for c in bank["ids"]), bank["embeddings"], strict=True), key=lambda p: p[0])
    bank_rows = np.array([p[0] for p in pairs], dtype=np.int64)
    vecs = np.array([p[1] for p in pairs], dtype=np.float32) if pairs else np.zeros((0, 0), np.float32)
    bank_vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12) if pairs else vecs

    folder = settings.snapshots_dir / key
    tmp = settings.snapshots_dir / f".{key}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / "rows.json").write_text(
        json.dumps({"ids": data["ids"], "texts": texts, "columns": columns}, ensure_ascii=False), encoding="utf-8"
    )
    np.savez(tmp / "bank.npz", bank_rows=bank_rows, bank_vecs=bank_vecs, central_term=central_term)
    lexical.save(tmp / "lexical")
    (tmp / "complete").write_text(json.dumps({"fingerprint": fingerprint, "embedder": embedder}))
    if (folder / "complete").is_file():  # another process built the same snapshot meanwhile: as good
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    if not settings.chroma_host:
        pointer = settings.snapshots_dir / "CURRENT"
        pointer.with_suffix(".tmp").write_text(fingerprint, encoding="utf-8")
        os.replace(pointer.with_suffix(".tmp"), pointer)
    _prune(settings.snapshots_dir, keep=key)
    return _read(folder)


def _read(folder: Path) -> IndexSnapshot:
    done = json.loads((folder / "complete").read_text(encoding="utf-8"))
    rows = json.loads((folder / "rows.json").read_text(encoding="utf-8"))
    with np.load(folder / "bank.npz") as bank:
        bank_rows, bank_vecs, central_term = bank["bank_rows"], bank["bank_vecs"], bank["central_term"]
    return IndexSnapshot(
        key=folder.name,
        fingerprint=done["fingerprint"],
        embedder=done["embedder"],
        folder=folder,
        chunk_ids=rows["ids"],
        texts=rows["texts"],
        columns=rows["columns"],
        lexical=LexicalIndex.load(folder / "lexical"),
        central_term=central_term,
        bank_rows=bank_rows,
        bank_vecs=bank_vecs,
    )


def _prune(root: Path, keep: str, n_old: int = 2) -> None:
    """Keep the newest few snapshots: another process may still be reading an older one."""
    others = [p for p in root.iterdir() if p.is_dir() and p.name != keep and not p.name.startswith(".")]
    old = sorted(others, key=lambda p: p.stat().st_mtime)
    for p in old[:-n_old] if n_old else old:
        shutil.rmtree(p, ignore_errors=True)
