"""plan_answer(): refuse or answer, from which hits, offering which nearest questions."""

from __future__ import annotations

import pytest

from rag.answering.plan import ALSO_MARGIN, NEAREST_RELEVANCE, NOISE_SCORE, AnswerPlan, plan_answer
from rag.retrieval.hits import Hit

MIN = 0.44  # a min_score, about the shipped threshold


def bank(bid: str, score: float) -> Hit:
    return Hit(bid, f"question {bid}", "section", "bank.md", None, score, "text")


def doc(name: str, score: float) -> Hit:
    return Hit(None, None, None, name, None, score, "text")


def ids(hits: list[Hit]) -> list[str | None]:
    return [h.id or h.source for h in hits]


def test_smalltalk_is_answered_with_a_fixed_reply_and_no_sources() -> None:
    plan = plan_answer([bank("Q001", 0.9)], 0.99, MIN, extractive=True, smalltalk="greet")
    assert plan == AnswerPlan(refused=True, relevance=0.99, smalltalk="greet")


def test_below_min_score_is_refused_offering_plausible_bank_hits() -> None:
    hits = [
        bank("Q001", NOISE_SCORE + 0.2),
        doc("paper.pdf", NOISE_SCORE + 0.15),  # a document is never offered as a bank question
        bank("Q002", NOISE_SCORE),  # at the bar: offered
        bank("Q003", NOISE_SCORE - 0.01),  # noise
        bank("Q004", NOISE_SCORE + 0.1),
        bank("Q005", NOISE_SCORE + 0.05),  # a fourth: at most three are offered
    ]
    plan = plan_answer(hits, NEAREST_RELEVANCE, MIN, extractive=True)
    assert plan.refused and not plan.context and plan.smalltalk is None
    assert plan.relevance == NEAREST_RELEVANCE
    assert ids(plan.nearest) == ["Q001", "Q002", "Q004"]


def test_an_implausible_refusal_offers_nothing() -> None:
    plan = plan_answer([bank("Q001", 0.9)], NEAREST_RELEVANCE - 0.001, MIN, extractive=True)
    assert plan.refused and plan.nearest == [] and plan.context == []


def test_at_min_score_it_answers() -> None:
    plan = plan_answer([bank("Q001", 0.6)], MIN, MIN, extractive=False)
    assert not plan.refused and ids(plan.context) == ["Q001"] and plan.nearest == []


def test_extractive_cites_the_top_hit_and_close_ones_only() -> None:
    top = 0.7
    hits = [
        bank("Q001", top),
        bank("Q002", top - ALSO_MARGIN + 0.001),  # close
        bank("Q003", top - ALSO_MARGIN - 0.01),  # not close
        bank("Q004", top - 0.01),  # close, but past the two the text can show besides the top
    ]
    plan = plan_answer(hits, 0.9, MIN, extractive=True)
    assert ids(plan.context) == ["Q001", "Q002"]


def test_extractive_with_two_close_hits_cites_three() -> None:
    hits = [bank("Q001", 0.7), doc("paper.pdf", 0.69), bank("Q002", 0.68), bank("Q003", 0.675)]
    plan = plan_answer(hits, 0.9, MIN, extractive=True)
    assert ids(plan.context) == ["Q001", "paper.pdf", "Q002"]


def test_llm_mode_gives_up_to_k_hits_above_noise() -> None:
    hits = [bank(f"Q00{i}", 0.8 - 0.05 * i) for i in range(8)]  # 0.80 … 0.45
    assert ids(plan_answer(hits, 0.9, MIN, extractive=False).context) == [f"Q00{i}" for i in range(5)]
    assert ids(plan_answer(hits, 0.9, MIN, k=3, extractive=False).context) == ["Q000", "Q001", "Q002"]
    noisy = [bank("Q001", 0.5), bank("Q002", NOISE_SCORE - 0.01), doc("a.md", NOISE_SCORE)]
    assert ids(plan_answer(noisy, 0.9, MIN, extractive=False).context) == ["Q001", "a.md"]


@pytest.mark.parametrize("extractive", [True, False])
def test_all_noise_still_answers_from_the_top_hit(extractive: bool) -> None:
    hits = [bank("Q001", NOISE_SCORE - 0.05), bank("Q002", NOISE_SCORE - 0.06)]
    plan = plan_answer(hits, 0.9, MIN, extractive=extractive)
    assert not plan.refused and ids(plan.context) == ["Q001"]


def test_an_answer_always_has_a_source() -> None:
    for extractive in (True, False):
        plan = plan_answer([], 0.0, 0.0, extractive=extractive)
        assert plan.refused or plan.context
