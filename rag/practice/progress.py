"""Practice history and spaced review, per profile, in one SQLite file under the data dir.

Tables:
    attempts(id, profile, entry_id, section, answer, score, points, kind, mode, created)
        points: JSON [{"text", "status", "evidence"}]; kind: answered | skipped | unknown ("不知道")
    cards(profile, entry_id, card, due)   card: fsrs.Card.to_dict() as JSON; due: ISO time (UTC)
    profiles(name, created)
Scheduling is the fsrs library's: the score of an attempt becomes its rating (rating_for), the card's
next due date comes from its review. No learning steps: an interview question is reviewed on a later
day, not ten minutes later.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fsrs import Card, Rating, Scheduler

from rag.errors import RagError
from rag.practice.grading import Grade

EXPORT_VERSION = 1
MASTERED = 80  # a latest score at or above this counts the entry as mastered

_SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (name TEXT PRIMARY KEY, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, profile TEXT NOT NULL, entry_id TEXT NOT NULL, section TEXT NOT NULL,
    answer TEXT NOT NULL, score INTEGER NOT NULL, points TEXT NOT NULL, kind TEXT NOT NULL, mode TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_by_profile ON attempts (profile, created);
CREATE TABLE IF NOT EXISTS cards (
    profile TEXT NOT NULL, entry_id TEXT NOT NULL, card TEXT NOT NULL, due TEXT NOT NULL,
    PRIMARY KEY (profile, entry_id)
);
"""


class _LockedConnection:
    """sqlite3.Connection with every call serialised: Streamlit serves each browser session on its own thread."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._conn = db
        self._lock = threading.RLock()

    def execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            cur = self._conn.execute(sql, params)
            return _Rows(cur.fetchall(), cur.rowcount)  # type: ignore[return-value]

    def executescript(self, sql: str) -> None:
        with self._lock:
            self._conn.executescript(sql)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> _LockedConnection:
        self._lock.acquire()
        self._conn.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._conn.__exit__(*exc)  # type: ignore[arg-type]
        finally:
            self._lock.release()


class _Rows(list):
    """A fetched result: iterable like a cursor, with fetchone/fetchall and rowcount."""

    def __init__(self, rows: list, rowcount: int) -> None:
        super().__init__(rows)
        self.rowcount = rowcount

    def fetchone(self):
        return self[0] if self else None

    def fetchall(self) -> list:
        return list(self)


def rating_for(score: int, kind: str = "answered") -> Rating:
    """0–39 or a skip: Again; 40–64 Hard; 65–89 Good; 90+ Easy."""
    if kind != "answered" or score < 40:
        return Rating.Again
    if score < 65:
        return Rating.Hard
    return Rating.Good if score < 90 else Rating.Easy


@dataclass(frozen=True)
class Attempt:
    entry_id: str
    section: str
    score: int
    kind: str
    created: datetime
    answer: str = ""
    points: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class SectionMastery:
    section: str
    total: int  # entries in the section
    attempted: int
    mastered: int  # latest score >= MASTERED
    mean_score: float  # of the latest scores of attempted entries (0 when none)


def now_utc() -> datetime:
    return datetime.now(UTC)


def check_profile(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 40 or any(c in name for c in "/\\\n\t"):
        raise RagError(f"profile name {name!r}: use 1–40 characters without slashes, tabs or newlines")
    return name


class ProgressStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # one connection shared by the app's session threads, used under a lock
        self._db = _LockedConnection(sqlite3.connect(path, check_same_thread=False))
        self._db.executescript(_SCHEMA)
        self.scheduler = Scheduler(learning_steps=())

    def close(self) -> None:
        self._db.close()

    # ----- writing -----
    def record(
        self,
        profile: str,
        grade: Grade,
        section: str,
        kind: str = "answered",
        mode: str = "practice",
        when: datetime | None = None,
    ) -> datetime:
        """Store an attempt and review the entry's card; returns its next due time."""
        profile = check_profile(profile)
        when = when or now_utc()
        points = [{"text": p.text, "status": p.status, "evidence": p.evidence} for p in grade.points]
        with self._db:
            self._db.execute("INSERT OR IGNORE INTO profiles VALUES (?, ?)", (profile, when.isoformat()))
            self._db.execute(
                "INSERT INTO attempts (profile, entry_id, section, answer, score, points, kind, mode, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    profile,
                    grade.id,
                    section,
                    grade.answer,
                    grade.score,
                    json.dumps(points, ensure_ascii=False),
                    kind,
                    mode,
                    when.isoformat(),
                ),
            )
            card = self._card(profile, grade.id)
            card, _ = self.scheduler.review_card(card, rating_for(grade.score, kind), when)
            self._db.execute(
                "INSERT OR REPLACE INTO cards VALUES (?, ?, ?, ?)",
                (profile, grade.id, json.dumps(card.to_dict()), card.due.astimezone(UTC).isoformat()),
            )
        return card.due

    def _card(self, profile: str, entry_id: str) -> Card:
        row = self._db.execute(
            "SELECT card FROM cards WHERE profile = ? AND entry_id = ?", (profile, entry_id)
        ).fetchone()
        return Card.from_dict(json.loads(row[0])) if row else Card()

    def delete_profile(self, profile: str) -> int:
        """Remove every attempt and card of a profile; returns the number of attempts removed."""
        with self._db:
            n = self._db.execute("DELETE FROM attempts WHERE profile = ?", (profile,)).rowcount
            self._db.execute("DELETE FROM cards WHERE profile = ?", (profile,))
            gone = self._db.execute("DELETE FROM profiles WHERE name = ?", (profile,)).rowcount
        if not gone and not n:
            raise RagError(f"no profile {profile!r}; profiles: {', '.join(self.profiles()) or '(none)'}")
        return n

    # ----- reading -----
    def profiles(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT name FROM profiles ORDER BY created, name")]

    def attempts(self, profile: str, limit: int | None = None) -> list[Attempt]:
        """Newest first."""
        sql = (
            "SELECT entry_id, section, score, kind, created, answer, points FROM attempts"
            " WHERE profile = ? ORDER BY created DESC, id DESC"
        )
        rows = self._db.execute(sql + (f" LIMIT {int(limit)}" if limit else ""), (profile,)).fetchall()
        return [
            Attempt(e, s, sc, k, datetime.fromisoformat(c), a, tuple(json.loads(p))) for e, s, sc, k, c, a, p in rows
        ]

    def latest_scores(self, profile: str) -> dict[str, int]:
        latest: dict[str, int] = {}
        for a in self.attempts(profile):
            latest.setdefault(a.entry_id, a.score)
        return latest

    def due(self, profile: str, when: datetime | None = None) -> list[str]:
        """Entries whose review is due, most overdue first."""
        when = when or now_utc()
        rows = self._db.execute(
            "SELECT entry_id FROM cards WHERE profile = ? AND due <= ? ORDER BY due",
            (profile, when.astimezone(UTC).isoformat()),
        )
        return [r[0] for r in rows]

    def due_dates(self, profile: str) -> dict[str, datetime]:
        rows = self._db.execute("SELECT entry_id, due FROM cards WHERE profile = ?", (profile,))
        return {e: datetime.fromisoformat(d) for e, d in rows}

    def weakest(self, profile: str, n: int = 10) -> list[tuple[str, int]]:
        """Attempted entries by their latest score, lowest first (ties: least recently practised)."""
        latest = self.latest_scores(profile)
        order = list(latest)[::-1]  # oldest latest-attempt first
        return sorted(latest.items(), key=lambda kv: (kv[1], order.index(kv[0])))[:n]

    def streak(self, profile: str, today: date | None = None) -> int:
        """Consecutive days with at least one attempt, ending today (or yesterday: today is not over)."""
        today = today or now_utc().astimezone().date()
        days = {a.created.astimezone().date() for a in self.attempts(profile)}
        day = today if today in days else today - timedelta(days=1)
        n = 0
        while day in days:
            n += 1
            day -= timedelta(days=1)
        return n

    def mastery(self, profile: str, sections: dict[str, list[str]]) -> list[SectionMastery]:
        """sections: section -> its entry ids, in bank order."""
        latest = self.latest_scores(profile)
        out = []
        for section, ids in sections.items():
            scores = [latest[i] for i in ids if i in latest]
            mastered = sum(s >= MASTERED for s in scores)
            out.append(
                SectionMastery(section, len(ids), len(scores), mastered, sum(scores) / len(scores) if scores else 0.0)
            )
        return out

    # ----- export / import -----
    def export(self, profile: str) -> dict[str, Any]:
        if profile not in self.profiles():
            raise RagError(f"no profile {profile!r}; profiles: {', '.join(self.profiles()) or '(none)'}")
        attempts = self._db.execute(
            "SELECT entry_id, section, answer, score, points, kind, mode, created FROM attempts"
            " WHERE profile = ? ORDER BY id",
            (profile,),
        ).fetchall()
        cards = self._db.execute("SELECT entry_id, card, due FROM cards WHERE profile = ?", (profile,)).fetchall()
        keys = ("entry_id", "section", "answer", "score", "points", "kind", "mode", "created")
        return {
            "version": EXPORT_VERSION,
            "profile": profile,
            "attempts": [dict(zip(keys, (*r[:4], json.loads(r[4]), *r[5:]), strict=True)) for r in attempts],
            "cards": {e: json.loads(c) for e, c, _ in cards},
        }

    def import_(self, data: dict[str, Any], profile: str | None = None) -> tuple[str, int]:
        """Add an export's attempts under its profile (or `profile`); cards are replaced. Attempts already
        present (same entry and time) are not added twice. Returns (profile, attempts added)."""
        if not isinstance(data, dict) or data.get("version") != EXPORT_VERSION or "attempts" not in data:
            raise RagError(f"not a progress export (expected a JSON object with version {EXPORT_VERSION} and attempts)")
        name = check_profile(profile or str(data.get("profile", "")))
        added = 0
        with self._db:
            self._db.execute("INSERT OR IGNORE INTO profiles VALUES (?, ?)", (name, now_utc().isoformat()))
            seen = {
                (e, c) for e, c in self._db.execute("SELECT entry_id, created FROM attempts WHERE profile = ?", (name,))
            }
            for a in data["attempts"]:
                try:
                    key = (str(a["entry_id"]), str(a["created"]))
                    row = (
                        name,
                        *key[:1],
                        str(a["section"]),
                        str(a["answer"]),
                        int(a["score"]),
                        json.dumps(a["points"], ensure_ascii=False),
                        str(a["kind"]),
                        str(a["mode"]),
                        key[1],
                    )
                    datetime.fromisoformat(key[1])
                except (KeyError, TypeError, ValueError) as exc:
                    raise RagError(
                        f"progress export: attempt {a!r:.80} is malformed ({exc}); nothing was imported"
                    ) from None
                if key not in seen:
                    self._db.execute(
                        "INSERT INTO attempts (profile, entry_id, section, answer, score, points, kind, mode, created)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        row,
                    )
                    seen.add(key)
                    added += 1
            for entry_id, card in (data.get("cards") or {}).items():
                due = Card.from_dict(card).due.astimezone(UTC).isoformat()
                self._db.execute(
                    "INSERT OR REPLACE INTO cards VALUES (?, ?, ?, ?)", (name, entry_id, json.dumps(card), due)
                )
        return name, added


def sections_of(entries: dict[str, Any]) -> dict[str, list[str]]:
    """{section: [ids]} from entries with .section, in their order."""
    out: dict[str, list[str]] = defaultdict(list)
    for bid, e in entries.items():
        out[e.section].append(bid)
    return dict(out)
