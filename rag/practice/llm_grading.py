"""Grading with an LLM: the model judges the same key points against the same note, as JSON.

Its reply is verified before it is used: every point index must exist, statuses must be known,
evidence must be a verbatim span of the answer (else it is dropped), [Qnnn] citations must name this
entry, the score must be 0–100. Anything else raises, and the caller falls back to the offline grade.
Reply shape: {"score": 72, "points": [{"index": 1, "status": "covered", "evidence": "..."}], "wrong": ["..."]}
"""

from __future__ import annotations

import json
import re
from typing import Any

from rag.answering import prompts
from rag.bank import Entry
from rag.errors import RagError
from rag.practice.grading import Grade, PointGrade

STATUSES = ("covered", "partly", "missed", "conflict")
_FENCED = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)
_CITATION = re.compile(r"\[(Q\d{3})\]")


def grade_messages(entry: Entry, offline: Grade, answer: str) -> list[tuple[str, str]]:
    points = "\n".join(f"{n}. {p.text}" for n, p in enumerate(offline.points, start=1))
    human = prompts.GRADE_HUMAN.format(
        id=entry.id, question=entry.question, note=entry.note, points=points, answer=answer
    )
    return [("system", prompts.GRADE_SYSTEM.format()), ("human", human)]


def parse_grade(reply: str, entry: Entry, offline: Grade, answer: str, model: str) -> Grade:
    """The model's reply as a Grade on the offline grade's points; RagError when it does not verify."""
    text = reply.strip()
    if m := _FENCED.match(text):
        text = m.group(1)
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RagError(f"the model's grade is not JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("points"), list):
        raise RagError("the model's grade has no points list")
    score = data.get("score")
    if not isinstance(score, int | float) or not 0 <= score <= 100:
        raise RagError(f"the model's score {score!r} is not a number from 0 to 100")
    by_index: dict[int, dict] = {}
    for item in data["points"]:
        if not isinstance(item, dict) or not isinstance(item.get("index"), int):
            raise RagError("a point in the model's grade has no index")
        if not 1 <= item["index"] <= len(offline.points):
            raise RagError(f"the model graded point {item['index']}, the note has {len(offline.points)}")
        if item.get("status") not in STATUSES:
            raise RagError(f"the model gave status {item.get('status')!r}; expected one of {', '.join(STATUSES)}")
        by_index[item["index"]] = item
    points = []
    for n, p in enumerate(offline.points, start=1):
        item = by_index.get(n, {"status": "missed", "evidence": ""})
        evidence = str(item.get("evidence") or "")
        if evidence and evidence not in answer:  # only what the user actually wrote counts as evidence
            evidence = ""
        points.append(PointGrade(p.text, p.kind, p.title, item["status"], evidence, p.coverage, p.weight))
    wrong = []
    for line in data.get("wrong") or []:
        line = str(line)
        # the model may cite only the entry it grades
        wrong.append(_CITATION.sub(lambda m: m.group(0) if m.group(1) == entry.id else "", line).strip())
    return Grade(
        entry.id, entry.question, round(score), points, f"llm:{model}", wrong=[w for w in wrong if w], answer=answer
    )
