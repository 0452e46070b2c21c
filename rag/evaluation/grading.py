"""Does the grader order answers by quality? Hand-written answers at four levels per entry.

File (JSON Lines, tests/eval/grading_answers.jsonl), four lines per entry:
    {"id": "Q077", "level": "complete" | "partial" | "wrong" | "offtopic", "lang": "zh" | "en" | "mixed",
     "answer": "..."}
Pairwise ordering accuracy: over every entry and every pair of its levels, the better level scoring
higher counts 1, a tie 0.5, the worse one higher 0. Levels from best to worst: LEVELS.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from statistics import mean

from rag.errors import RagError

LEVELS = ("complete", "partial", "wrong", "offtopic")
# a short, correct answer naming the main points as candidates often do: several per entry allowed,
# reported on its own (mean, and how often it beats the entry's wrong and off-topic answers)
CONCISE = "concise"


@dataclass(frozen=True)
class GradedAnswer:
    id: str
    level: str
    lang: str
    answer: str


def load_answers(path: Path) -> list[GradedAnswer]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            row = GradedAnswer(obj["id"], obj["level"], obj["lang"], obj["answer"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise RagError(f"{path}:{n}: expected a JSON object with id, level, lang, answer ({exc})") from None
        if row.level not in (*LEVELS, CONCISE):
            raise RagError(f"{path}:{n}: level {row.level!r} is not one of {', '.join((*LEVELS, CONCISE))}")
        rows.append(row)
    return rows


@dataclass
class GradingReport:
    scores: dict[str, dict[str, int]]  # id -> level -> score
    langs: dict[tuple[str, str], str]  # (id, level) -> lang
    concise: list[tuple[str, str, int]]  # (id, lang, score)

    def level_means(self) -> dict[str, float]:
        return {lv: mean(s[lv] for s in self.scores.values() if lv in s) for lv in LEVELS}

    def pairwise(self, levels: tuple[str, ...] = LEVELS) -> float:
        credit, pairs = 0.0, 0
        for by_level in self.scores.values():
            for better, worse in combinations(levels, 2):
                if better in by_level and worse in by_level:
                    a, b = by_level[better], by_level[worse]
                    credit += 1.0 if a > b else 0.5 if a == b else 0.0
                    pairs += 1
        return credit / pairs if pairs else 0.0

    def inversions(self) -> list[str]:
        out = []
        for bid, by_level in sorted(self.scores.items()):
            for better, worse in combinations(LEVELS, 2):
                if better in by_level and worse in by_level and by_level[better] <= by_level[worse]:
                    out.append(f"{bid}: {better} {by_level[better]} <= {worse} {by_level[worse]}")
        return out

    def report(self) -> str:
        means = self.level_means()
        lines = [
            f"entries {len(self.scores)}, answers {sum(len(s) for s in self.scores.values())}",
            "mean score by level: " + ", ".join(f"{lv} {means[lv]:.1f}" for lv in LEVELS),
            f"pairwise ordering accuracy: {self.pairwise():.3f}"
            f" (complete > partial {self.pairwise(('complete', 'partial')):.3f},"
            f" partial > wrong {self.pairwise(('partial', 'wrong')):.3f},"
            f" wrong > off-topic {self.pairwise(('wrong', 'offtopic')):.3f})",
        ]
        by_lang: dict[str, list[int]] = defaultdict(list)
        for (bid, level), lang in self.langs.items():
            if level == "complete":
                by_lang[lang].append(self.scores[bid][level])
        lines.append(
            "complete answers by language: "
            + ", ".join(f"{k} {mean(v):.1f} ({len(v)})" for k, v in sorted(by_lang.items()))
        )
        if self.concise:
            lines.append(
                f"concise answers: {len(self.concise)}, mean {mean(s for _, _, s in self.concise):.1f}, "
                f"above the entry's wrong and off-topic answers {self.concise_wins():.3f}"
            )
        return "\n".join(lines)

    def concise_wins(self) -> float:
        credit, pairs = 0.0, 0
        for bid, _, score in self.concise:
            for worse in ("wrong", "offtopic"):
                if worse in self.scores.get(bid, {}):
                    other = self.scores[bid][worse]
                    credit += 1.0 if score > other else 0.5 if score == other else 0.0
                    pairs += 1
        return credit / pairs if pairs else 0.0


def evaluate_grading(rows: list[GradedAnswer], score: Callable[[str, str], int]) -> GradingReport:
    """score(entry_id, answer) -> 0..100."""
    scores: dict[str, dict[str, int]] = defaultdict(dict)
    langs: dict[tuple[str, str], str] = {}
    concise: list[tuple[str, str, int]] = []
    for row in rows:
        if row.level == CONCISE:
            concise.append((row.id, row.lang, score(row.id, row.answer)))
            continue
        scores[row.id][row.level] = score(row.id, row.answer)
        langs[(row.id, row.level)] = row.lang
    return GradingReport(dict(scores), langs, concise)
