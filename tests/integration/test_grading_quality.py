"""The grading evaluation (tests/eval/grading_answers.jsonl): hand-written answers at four levels for
49 entries across all sections; the offline grader must order them (docs/practice.md)."""

from __future__ import annotations

from pathlib import Path
from statistics import mean

import pytest

from rag.evaluation.grading import GradingReport, evaluate_grading, load_answers
from rag.practice.coach import Coach
from rag.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.quality


@pytest.fixture(scope="module")
def report(embeddings, tmp_path_factory: pytest.TempPathFactory) -> GradingReport:
    coach = Coach(get_settings().model_copy(update={"data_dir": tmp_path_factory.mktemp("g")}), embeddings=embeddings)
    rows = load_answers(REPO / "tests" / "eval" / "grading_answers.jsonl")
    return evaluate_grading(rows, lambda bid, answer: coach.grader.grade(coach.bank[bid], answer).score)


def test_the_set_covers_every_section_at_four_levels(report: GradingReport) -> None:
    from rag.bank import load_bank

    bank = load_bank(REPO / "corpus")
    assert len(report.scores) >= 40
    assert all(len(levels) == 4 for levels in report.scores.values())
    assert {bank[i].section for i in report.scores} == {e.section for e in bank.values()}


def test_levels_are_ordered(report: GradingReport) -> None:
    means = report.level_means()
    print(report.report())
    assert report.pairwise() >= 0.9
    assert means["complete"] >= 70 and means["offtopic"] <= 15
    assert means["complete"] > means["partial"] > means["wrong"] > means["offtopic"]


def test_complete_answers_in_english_and_mixed_are_graded_like_chinese(report: GradingReport) -> None:
    by_lang: dict[str, list[int]] = {}
    for (bid, level), lang in report.langs.items():
        if level == "complete":
            by_lang.setdefault(lang, []).append(report.scores[bid][level])
    assert min(mean(v) for v in by_lang.values()) >= 70, by_lang
