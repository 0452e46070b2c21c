"""Deciding an answer before any text: refuse or answer, from which sources, offering what. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.retrieval.hits import Hit

CONTEXT_K = 5  # sources given to the model (the app's top-k slider overrides it)
RELEVANCE_POOL = 10  # hits the "nothing relevant" decision looks at, whatever k is
ALSO_MARGIN = 0.12  # extractive mode also cites hits this close to the top score
NOISE_SCORE = 0.28  # a hit's fused score under this is noise: not context, not offered as "nearest"
# A refused query offers its nearest questions only above this relevance (rag/relevance/model.py): on the
# scope examples' refusals it cuts out-of-scope queries given offers from 402/547 to 152/547, while 11
# of the 14 wrongly refused in-scope ones still see the right entry (as with no bar).
NEAREST_RELEVANCE = 0.1


@dataclass(frozen=True)
class AnswerPlan:
    refused: bool
    relevance: float
    smalltalk: str | None = None  # "greet" | "thanks" | "bye": answered with a fixed reply
    context: list[Hit] = field(default_factory=list)  # the sources the answer is built from and cites
    nearest: list[Hit] = field(default_factory=list)  # with a refusal: plausibly related questions


def plan_answer(
    hits: list[Hit],
    relevance: float,
    min_score: float,
    *,
    k: int = CONTEXT_K,
    extractive: bool,
    smalltalk: str | None = None,
) -> AnswerPlan:
    """hits: the search's top RELEVANCE_POOL; relevance: the model's score for that search."""
    if smalltalk is not None:
        return AnswerPlan(refused=True, relevance=relevance, smalltalk=smalltalk)
    if relevance < min_score or not hits:
        plausible = relevance >= NEAREST_RELEVANCE
        nearest = [h for h in hits if h.id and h.score >= NOISE_SCORE][:3] if plausible else []
        return AnswerPlan(refused=True, relevance=relevance, nearest=nearest)
    context = [h for h in hits if h.score >= NOISE_SCORE][:k] or hits[:1]
    if extractive and context:  # cite exactly what the text shows: the top entry and close matches
        top = context[0]
        context = [top] + [h for h in context[1:3] if h.score >= top.score - ALSO_MARGIN]
    return AnswerPlan(refused=False, relevance=relevance, context=context)
