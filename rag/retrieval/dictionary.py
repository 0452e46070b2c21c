"""jieba's word-frequency table read from SQLite a word at a time, instead of loaded whole.

jieba's own cache (a marshal file of ~500k words and word prefixes) takes ~1.1 s to load on 2 cores, and
a new process answering one query would pay it for ~100 lookups: segmenting a sentence only ever reads
FREQ for the sentence's own substrings (get / in / [] in get_DAG, calc and the HMM pass) and `total`.
The table holds exactly what jieba holds after DOMAIN_WORDS are added, so segmentation is unchanged.

words.sqlite: freq(word TEXT PRIMARY KEY, n INTEGER) and meta(total); written once per jieba version
and word list by the first process that loads the full dictionary.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Tokenizing a corpus reads FREQ millions of times: past this many lookups one SELECT of the whole
# table (~0.6 s) into a plain dict, handed to jieba, is cheaper than going on word by word (~1 µs each
# through this class, even when memoized). A query takes ~100-2,000 lookups.
LOAD_ALL_AFTER = 100_000


class LazyFreq:
    """The part of dict jieba's Tokenizer uses for FREQ, backed by words.sqlite. on_full receives the
    whole table as a dict once lookups pass LOAD_ALL_AFTER (the caller swaps it into the tokenizer)."""

    def __init__(self, path: Path, on_full: Callable[[dict[str, int]], None] | None = None) -> None:
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()  # one connection shared by the app's threads
        self._seen: dict[str, int | None] = {}  # word -> count, None when absent
        self._all: dict[str, int] | None = None
        self._lookups = 0
        self._on_full = on_full
        self.total = int(self._db.execute("SELECT total FROM meta").fetchone()[0])

    def _lookup(self, word: str) -> int | None:
        if self._all is not None:
            return self._all.get(word)
        self._lookups += 1
        if self._lookups > LOAD_ALL_AFTER:
            return self._load_all().get(word)
        if word in self._seen:
            return self._seen[word]
        with self._lock:
            row = self._db.execute("SELECT n FROM freq WHERE word = ?", (word,)).fetchone()
        self._seen[word] = n = None if row is None else int(row[0])
        return n

    def _load_all(self) -> dict[str, int]:
        with self._lock:
            if self._all is None:
                table = dict(self._db.execute("SELECT word, n FROM freq"))
                table.update((w, n) for w, n in self._seen.items() if n is not None)  # words added since
                self._all = table
                if self._on_full is not None:
                    self._on_full(table)
        return self._all

    def get(self, word: str, default: Any = None) -> Any:
        n = self._lookup(word)
        return default if n is None else n

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._lookup(word) is not None

    def __getitem__(self, word: str) -> int:
        n = self._lookup(word)
        if n is None:
            raise KeyError(word)
        return n

    def __setitem__(self, word: str, n: int) -> None:  # jieba.add_word after start: keep it in memory
        if self._all is None:
            self._seen[word] = n
        else:
            self._all[word] = n


def write_table(path: Path, freq: dict[str, int], total: int) -> None:
    """Save jieba's loaded table atomically (a concurrent reader sees the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    try:
        db.execute("CREATE TABLE freq (word TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID")
        db.execute("CREATE TABLE meta (total INTEGER NOT NULL)")
        db.executemany("INSERT INTO freq VALUES (?, ?)", freq.items())
        db.execute("INSERT INTO meta VALUES (?)", (total,))
        db.commit()
    finally:
        db.close()
    os.replace(tmp, path)


def copy_table(source: Path, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, path)


def open_table(path: Path, on_full: Callable[[dict[str, int]], None] | None = None) -> LazyFreq | None:
    """The saved table, or None when there is none yet (the caller loads jieba's own and saves it)."""
    if not path.is_file():
        return None
    try:
        return LazyFreq(path, on_full)
    except sqlite3.DatabaseError as exc:  # torn or foreign file: jieba's own load replaces it
        log.warning("%s: unreadable word table (%s); rebuilding it", path, exc)
        return None
