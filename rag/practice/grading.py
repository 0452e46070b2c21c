"""Offline grading of a practice answer against the entry's reference note.

Each key point of the note (rag/practice/keypoints.py) is judged covered / partly / missed from two
kinds of evidence, so a paraphrase, an English answer to a Chinese note and a terse list of terms all
count:
  semantic  the best cosine between the point (or one of its clauses) and a span of the answer
            (a sentence or two adjacent sentences), with the bundled embedder: cross-lingual;
  lexical   the idf-weighted share of the point's terms the answer names (jieba words, English
            words, numbers, formula symbols), the answer's terms expanded with the synonym groups.
A span that matches a clause of the note but flips it (an antonym, a negation, different numbers) is
a conflict: the point gets no credit and the grade says what the note says instead.

score = 100 * sum(weight * credit) / sum(weight), credit rising from 0 to 1 with the coverage.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from itertools import pairwise

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.bank import Entry
from rag.practice.keypoints import KeyPoint, key_points, readable
from rag.retrieval.synonyms import Synonyms
from rag.retrieval.text import is_topical, tokenize

# coverage = SEMANTIC_SHARE * semantic + (1 - SEMANTIC_SHARE) * lexical, each in [0, 1]
SEMANTIC_SHARE = 0.6
# cosine -> [0, 1]: unrelated sentences of one field sit near 0.3 with USE, paraphrases above 0.6
COSINE_FLOOR, COSINE_FULL = 0.35, 0.70
DETAIL_SHARE = 0.5  # semantic = DETAIL_SHARE * clauses matched + the rest * whole point matched
COVERED, PARTLY = 0.55, 0.35  # coverage thresholds for the point statuses
CREDIT_FLOOR, CREDIT_FULL = 0.25, 0.60  # coverage -> credit
CONFLICT_COSINE = 0.55  # a span this close to a clause speaks about it; then a flip is a conflict

_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])|(?<=\.)\s+")
_CLAUSE_END = re.compile(r"[。；;！？!?]|，(?=[^，]{12,})")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?%?")
_LATEX_COMMAND = re.compile(r"\\(frac|mathrm|mathbb|mathbf|operatorname|text|big|Big|left|right|qquad|quad|cdot|,)")
_IDK = re.compile(
    r"^\s*(不知道|不清楚|不会|不了解|没了解过?|没用过|跳过|skip|pass|i don'?t know|no idea|不太清楚|忘了)[\s\S]{0,30}$",
    re.I,
)
# Words whose swap turns a claim around ("B 初始化为 0" vs "A 初始化为 0" is left to the numbers).
ANTONYMS = [
    ("增加", "减少"),
    ("增大", "减小"),
    ("提高", "降低"),
    ("变大", "变小"),
    ("更多", "更少"),
    ("升高", "降低"),
    ("上升", "下降"),
    ("放大", "缩小"),
    ("加快", "减慢"),
    ("更快", "更慢"),
    ("稀疏", "稠密"),
    ("冻结", "更新"),
    ("之前", "之后"),
    ("前面", "后面"),
    ("编码器", "解码器"),
    ("双向", "单向"),
    ("绝对", "相对"),
    ("线性", "非线性"),
    ("有监督", "无监督"),
    ("在线", "离线"),
    ("串行", "并行"),
    ("最大", "最小"),
    ("increase", "decrease"),
    ("more", "fewer"),
    ("higher", "lower"),
    ("larger", "smaller"),
    ("faster", "slower"),
    ("before", "after"),
    ("encoder", "decoder"),
    ("absolute", "relative"),
    ("sparse", "dense"),
    ("frozen", "trained"),
    ("online", "offline"),
    ("serial", "parallel"),
    ("max", "min"),
]
_OPPOSITE = {a: b for a, b in ANTONYMS} | {b: a for a, b in ANTONYMS}


KIND_LABELS = {"formula": "公式", "code": "代码"}


@dataclass
class PointGrade:
    text: str
    kind: str
    title: str
    status: str  # covered | partly | missed | conflict
    evidence: str  # the span of the answer that covers it ("" when missed)
    coverage: float
    weight: float
    conflict: str = ""  # what the note says instead, when the answer contradicts it

    @property
    def label(self) -> str:
        """A short name for the point: its bold title, else what kind of point it is."""
        if self.title:
            return self.title
        if self.kind in KIND_LABELS:
            return KIND_LABELS[self.kind]
        return self.text[:40] + ("…" if len(self.text) > 40 else "")


@dataclass
class Grade:
    id: str
    question: str
    score: int  # 0..100
    points: list[PointGrade]
    mode: str  # "offline" | "llm:<model>"
    follow_up: str = ""
    follow_up_id: str = ""
    wrong: list[str] = field(default_factory=list)  # one line per contradiction found
    message: str = ""  # e.g. why an LLM grade fell back to the offline one
    answer: str = ""

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "score": self.score,
            "points": [{"text": p.text, "status": p.status, "evidence": p.evidence} for p in self.points],
            "follow_up": self.follow_up,
            "follow_up_id": self.follow_up_id,
            "wrong": self.wrong,
            "mode": self.mode,
            "message": self.message,
        }

    def detail(self) -> dict:
        return asdict(self)

    @property
    def missed(self) -> list[PointGrade]:
        return [p for p in self.points if p.status in ("missed", "conflict")]


def is_non_answer(answer: str) -> bool:
    """'不知道', 'skip', 'I don't know, sorry' — an honest blank, graded 0 without looking further."""
    return not answer.strip() or bool(_IDK.match(answer.strip()))


def sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    return [p for p in parts if len(p) > 1]


def spans(text: str) -> list[str]:
    """Sentences and pairs of adjacent sentences: a point is often said across two."""
    s = sentences(text)
    return s + [f"{a} {b}" for a, b in pairwise(s)]


def clauses(point: KeyPoint) -> list[str]:
    if point.kind in ("code", "formula"):
        return [readable(point.text)]
    core = readable(point.core)
    parts = [c.strip() for c in _CLAUSE_END.split(core) if len(c.strip()) > 3]
    return parts or [core]


def formula_terms(text: str) -> list[str]:
    r"""'W = W_0 + \frac{\alpha}{r} B A' -> ['w', 'w0', 'alpha', 'r', 'b', 'a']: symbols, not markup."""
    text = _LATEX_COMMAND.sub(" ", text)
    text = re.sub(r"_\{?(\w+)\}?", r"\1", text).replace("\\", " ")
    return [t.lower() for t in re.findall(r"[A-Za-z]+\d*|\d+", text)]


def terms(text: str, kind: str = "text") -> list[str]:
    tokens = formula_terms(text) if kind == "formula" else tokenize(text)
    return [t for t in tokens if is_topical(t)]


class Grader:
    """Grades answers for any entry; note vectors and term weights are computed once per entry."""

    def __init__(self, embeddings: Embeddings, synonyms: Synonyms, notes: list[str]) -> None:
        self.embeddings = embeddings
        self.synonyms = synonyms
        # idf over the bank's notes: "模型" is in most notes and proves little, "nf4" in one
        df = Counter(t for note in notes for t in set(terms(note)))
        self._n = max(len(notes), 1)
        self._df = df
        self._cache: dict[str, tuple[list[KeyPoint], list[list[str]], np.ndarray, list[int]]] = {}

    def idf(self, term: str) -> float:
        return math.log(1 + self._n / (1 + self._df.get(term, 0)))

    def _prepared(self, entry: Entry) -> tuple[list[KeyPoint], list[list[str]], np.ndarray, list[int]]:
        """(points, clauses per point, clause vectors (n_clauses, dim), owning point per clause)."""
        if entry.id not in self._cache:
            points = key_points(entry.note) or [KeyPoint(entry.question, "text")]
            per_point = [clauses(p) for p in points]
            flat = [c for cs in per_point for c in cs]
            owner = [i for i, cs in enumerate(per_point) for _ in cs]
            vecs = np.asarray(
                self.embeddings.embed_documents([readable(p.text) for p in points] + flat), dtype=np.float32
            )
            # a point is matched by its whole text or by one of its clauses
            self._cache[entry.id] = (points, per_point, vecs, list(range(len(points))) + owner)
        return self._cache[entry.id]

    def grade(self, entry: Entry, answer: str) -> Grade:
        points, per_point, vecs, owner = self._prepared(entry)
        if is_non_answer(answer):
            graded = [PointGrade(p.text, p.kind, p.title, "missed", "", 0.0, p.weight) for p in points]
            return Grade(entry.id, entry.question, 0, graded, "offline", answer=answer)
        answer_spans = spans(answer) or [answer.strip()]
        span_vecs = np.asarray(self.embeddings.embed_documents(answer_spans), dtype=np.float32)
        sims = vecs @ span_vecs.T  # (n_points + n_clauses, n_spans)
        have = set(self.synonyms.expand(answer, terms(answer)))
        have |= set(formula_terms(answer))
        cjk_answer = bool(_CJK.search(answer))
        texts = [p.text for p in points] + [c for cs in per_point for c in cs]
        graded: list[PointGrade] = []
        wrong: list[str] = []
        for i, point in enumerate(points):
            rows = [r for r, o in enumerate(owner) if o == i]
            best_row, best_span = np.unravel_index(np.argmax(sims[rows]), (len(rows), len(answer_spans)))
            cosine = float(sims[rows][best_row, best_span])
            # the whole point said in other words, and each of its clauses said somewhere: naming a
            # point's topic while getting its details wrong matches the first, not the second
            whole = _ramp(float(sims[i].max()), COSINE_FLOOR, COSINE_FULL)
            detail = float(np.mean([_ramp(float(sims[r].max()), COSINE_FLOOR, COSINE_FULL) for r in rows[1:]]))
            semantic = DETAIL_SHARE * detail + (1 - DETAIL_SHARE) * whole
            lexical = self._overlap(point, have, cjk_answer)
            coverage = SEMANTIC_SHARE * semantic + (1 - SEMANTIC_SHARE) * lexical
            evidence = answer_spans[best_span] if coverage >= PARTLY else ""
            status = "covered" if coverage >= COVERED else "partly" if coverage >= PARTLY else "missed"
            conflict = ""
            if cosine >= CONFLICT_COSINE:
                clause = texts[rows[best_row]]
                if flip := contradiction(clause, answer_spans[best_span]):
                    status, conflict = "conflict", clause
                    wrong.append(f"「{answer_spans[best_span]}」与参考笔记不符（{flip}）：笔记写的是「{clause}」")
            graded.append(
                PointGrade(point.text, point.kind, point.title, status, evidence, coverage, point.weight, conflict)
            )
        total = sum(p.weight for p in graded)
        earned = sum(
            p.weight * (0.0 if p.status == "conflict" else _ramp(p.coverage, CREDIT_FLOOR, CREDIT_FULL)) for p in graded
        )
        score = round(100 * earned / total) if total else 0
        return Grade(entry.id, entry.question, score, graded, "offline", wrong=wrong, answer=answer)

    def _overlap(self, point: KeyPoint, have: set[str], cjk_answer: bool) -> float:
        wanted = set(terms(point.core if point.kind == "formula" else readable(point.core), point.kind))
        if point.kind != "formula":
            wanted |= set(_NUMBER.findall(point.core))
        # an aside's terms (a gloss, a source) count when said, and are not missed when not
        extra = set(terms(point.asides)) - wanted
        if not cjk_answer:  # an English answer says the English names (often the asides), not the Chinese words
            wanted = {t for t in wanted | extra if t.isascii()}
        if not wanted:
            return 0.0
        total = sum(self.idf(t) for t in wanted)
        said = sum(self.idf(t) for t in wanted if t in have) + sum(self.idf(t) for t in extra if t in have)
        return min(said / total, 1.0)


def contradiction(clause: str, span: str) -> str:
    """Why span says the opposite of clause ('增加 ↔ 减少'), or ''. Only antonym swaps: negations and
    numbers flagged far more correct paraphrases than wrong answers on the grading set."""
    a, b = clause.lower(), span.lower()
    for word, opposite in _OPPOSITE.items():
        if word in b and opposite in a and word not in a and opposite not in b:
            return f"{opposite} ↔ {word}"
    return ""


def _ramp(x: float, lo: float, hi: float) -> float:
    return min(max((x - lo) / (hi - lo), 0.0), 1.0)
