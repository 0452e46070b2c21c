"""A mock interview: which questions to ask, how to ask them, the follow-up after an answer.

Modes: section (one section's entries), random, due (spaced review says so), weakest (lowest latest
score first, then never practised). Questions are asked in the bank's wording or, as an interviewer
would vary it, in one of the entry's own Chinese phrasings (its `问法：` line).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.bank import Entry
from rag.errors import RagError
from rag.practice.grading import Grade
from rag.practice.progress import ProgressStore

MODES = ("section", "random", "due", "weakest")
MODE_LABELS = {"section": "按章节", "random": "随机", "due": "到期复习", "weakest": "薄弱优先"}
_RELATED = re.compile(r"^相关[:：](.*)$", re.M)
_ID = re.compile(r"Q\d{3}")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_QUESTION_WORDS = re.compile(r"什么|怎么|为什么|为啥|如何|哪些|吗|呢|？|\?|区别|原理|讲讲|说说")


def related_ids(entry: Entry) -> list[str]:
    """The entry's curated related entries (its `相关：` line), in order."""
    m = _RELATED.search(entry.note)
    return [i for i in _ID.findall(m.group(1)) if i != entry.id] if m else []


def pick_entries(
    bank: dict[str, Entry],
    store: ProgressStore,
    profile: str,
    mode: str,
    n: int,
    section: str | None = None,
    rng: random.Random | None = None,
) -> list[str]:
    """Up to n entry ids for a round. due may return fewer (only what is due); [] means nothing to do."""
    rng = rng or random.Random()
    if mode not in MODES:
        raise RagError(f"unknown practice mode {mode!r}; valid choices: {', '.join(MODES)}")
    if n < 1:
        raise RagError(f"a round needs at least one question (got {n})")
    with_notes = [i for i, e in bank.items() if e.note]
    if mode == "section":
        if not section:
            raise RagError("mode section needs a section (--section, e.g. PEFT or 五)")
        ids = [i for i in with_notes if bank[i].section == section]
        return rng.sample(ids, min(n, len(ids)))
    if mode == "random":
        return rng.sample(with_notes, min(n, len(with_notes)))
    if mode == "due":
        return [i for i in store.due(profile) if i in bank][:n]
    weak = [i for i, _ in store.weakest(profile, n=len(bank)) if i in bank]
    fresh = [i for i in with_notes if i not in set(weak)]
    rng.shuffle(fresh)
    return (weak + fresh)[:n]


def ask_text(entry: Entry, rng: random.Random | None = None) -> str:
    """The bank wording, or half the time one of the entry's Chinese question phrasings."""
    rng = rng or random.Random()
    phrasings = [a for a in entry.aliases if _CJK.search(a) and _QUESTION_WORDS.search(a) and len(a) >= 8]
    if phrasings and rng.random() < 0.5:
        return rng.choice(phrasings)
    return entry.question


@dataclass
class FollowUp:
    id: str
    text: str  # "追问：…"


def follow_up(
    entry: Entry, grade: Grade, bank: dict[str, Entry], embeddings: Embeddings, asked: set[str]
) -> FollowUp | None:
    """An interviewer's next question from the related entries: the one closest to what the answer
    missed (probing the gap), or the first related one when nothing was missed."""
    candidates = [i for i in related_ids(entry) if i in bank and i not in asked and i != entry.id]
    if not candidates:
        return None
    missed = [p.text for p in grade.missed][:4]
    choice = candidates[0]
    if missed and len(candidates) > 1:
        vecs = np.asarray(embeddings.embed_documents(missed + [bank[i].question for i in candidates]), dtype=np.float32)
        gap, cands = vecs[: len(missed)], vecs[len(missed) :]
        choice = candidates[int(np.argmax((cands @ gap.T).max(axis=1)))]
    return FollowUp(choice, f"追问：{bank[choice].question}")


@dataclass
class Round:
    """One mock interview in progress: the queue, the question being asked, the grades so far."""

    profile: str
    mode: str
    queue: list[str]
    asked: dict[str, str] = field(default_factory=dict)  # id -> how it was asked
    grades: list[Grade] = field(default_factory=list)
    position: int = 0

    @property
    def current(self) -> str | None:
        return self.queue[self.position] if self.position < len(self.queue) else None

    @property
    def finished(self) -> bool:
        return self.position >= len(self.queue)

    def advance(self) -> None:
        self.position += 1

    def mean_score(self) -> float:
        return sum(g.score for g in self.grades) / len(self.grades) if self.grades else 0.0
