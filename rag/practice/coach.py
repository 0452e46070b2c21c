"""Practice as the app and the CLI use it: the bank, the grader, the progress store, one object.

Grading needs no index: the bank is read from corpus/ and the bundled embedder compares the answer
with the note, so `python -m rag grade` works before anything is ingested. With an LLM configured the
model grades against the same key points; any failure is the offline grade plus one line saying so.
The user's answer leaves the machine only when an LLM is configured.
"""

from __future__ import annotations

import random

from langchain_core.embeddings import Embeddings

from rag.answering import prompts
from rag.bank import Entry, load_bank, resolve_section
from rag.errors import RagError
from rag.practice.grading import Grade, Grader, is_non_answer
from rag.practice.progress import ProgressStore, sections_of
from rag.practice.session import follow_up, pick_entries
from rag.retrieval.synonyms import load_synonyms
from rag.retrieval.text import use_word_table
from rag.settings import Settings


class Coach:
    def __init__(self, settings: Settings, embeddings: Embeddings | None = None) -> None:
        from rag.index.embeddings import make_embeddings

        self.settings = settings
        use_word_table(settings.cache_dir)
        self.embeddings = embeddings or make_embeddings(settings)
        self.bank: dict[str, Entry] = load_bank(settings.corpus_dir)
        self.grader = Grader(
            self.embeddings, load_synonyms(settings.synonyms_path), [e.note for e in self.bank.values() if e.note]
        )
        self.store = ProgressStore(settings.practice_path)

    def entry(self, bid: str) -> Entry:
        key = bid.strip().upper()
        if key not in self.bank:
            ids = list(self.bank)
            raise RagError(f"unknown id {bid!r}: the bank has {ids[0]}..{ids[-1]}")
        if not self.bank[key].note:
            raise RagError(f"{key} has no reference note to grade against")
        return self.bank[key]

    @property
    def sections(self) -> dict[str, list[str]]:
        return sections_of(self.bank)

    def pick(self, profile: str, mode: str, n: int, section: str | None = None, seed: int | None = None) -> list[str]:
        section = resolve_section(section, list(self.sections)) if section else None
        return pick_entries(self.bank, self.store, profile, mode, n, section, random.Random(seed))

    def grade(self, bid: str, answer: str, asked: set[str] | None = None, llm: Settings | None = None) -> Grade:
        """Grade an answer; llm: settings naming an LLM (None or extractive: offline only)."""
        entry = self.entry(bid)
        grade = self.grader.grade(entry, answer)
        llm = llm if llm is not None else self.settings
        if llm.llm != "extractive" and not is_non_answer(answer):
            grade = self._llm_grade(entry, grade, answer, llm)
        if nxt := follow_up(entry, grade, self.bank, self.embeddings, (asked or set()) | {entry.id}):
            grade.follow_up, grade.follow_up_id = nxt.text, nxt.id
        return grade

    def _llm_grade(self, entry: Entry, offline: Grade, answer: str, settings: Settings) -> Grade:
        from rag.answering.llm import describe_error, make_chat_model
        from rag.practice.llm_grading import grade_messages, parse_grade

        try:
            model = make_chat_model(settings)
            assert model is not None  # not extractive
            reply = model.invoke(grade_messages(entry, offline, answer))
            return parse_grade(str(reply.content), entry, offline, answer, settings.llm_model)
        except RagError as exc:
            problem = str(exc)
        except Exception as exc:  # any provider failure: the offline grade stands, said in one line
            problem = describe_error(exc, settings)
        offline.message = prompts.GRADE_FALLBACK.format(problem=problem)
        return offline

    def record(self, profile: str, grade: Grade, kind: str = "answered", mode: str = "practice") -> None:
        self.store.record(profile, grade, self.bank[grade.id].section, kind, mode)

    def progress(self, profile: str, weakest: int = 5, recent: int = 10) -> dict:
        """What the 进度 page and `python -m rag progress --json` show."""
        store = self.store
        due_dates = store.due_dates(profile)
        due_now = store.due(profile)
        return {
            "profile": profile,
            "attempts": len(store.attempts(profile)),
            "streak_days": store.streak(profile),
            "due_today": due_now,
            "next_due": {i: d.isoformat() for i, d in sorted(due_dates.items(), key=lambda kv: kv[1])[:10]},
            "sections": [
                {
                    "section": m.section,
                    "total": m.total,
                    "attempted": m.attempted,
                    "mastered": m.mastered,
                    "mean_score": round(m.mean_score, 1),
                }
                for m in store.mastery(profile, self.sections)
            ],
            "weakest": [
                {"id": i, "question": self.bank[i].question, "score": s}
                for i, s in store.weakest(profile, weakest)
                if i in self.bank
            ],
            "recent": [
                {"id": a.entry_id, "score": a.score, "kind": a.kind, "time": a.created.isoformat()}
                for a in store.attempts(profile, limit=recent)
            ],
        }
