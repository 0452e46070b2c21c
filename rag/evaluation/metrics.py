"""Retrieval and answer figures on TSVs of `query<TAB>Q001,Q002` (or `-` for out of scope)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.answering.chain import Answerer
from rag.answering.citations import BANK_ID, cited_labels
from rag.labelled import EvalQuery
from rag.retrieval.retriever import Retriever


@dataclass
class EvalResult:
    n_in_scope: int = 0
    n_out_of_scope: int = 0
    recall_at_1: float = 0.0
    recall_at_5: float = 0.0
    mrr_at_10: float = 0.0
    out_of_scope_rejected: int = 0
    in_scope_rejected: int = 0
    misses: list[tuple[str, tuple[str, ...], list[str]]] = field(default_factory=list)  # (query, gold, top5)

    def report(self) -> str:
        return (
            f"in-scope queries: {self.n_in_scope}  R@1 {self.recall_at_1:.3f}  R@5 {self.recall_at_5:.3f}  "
            f"MRR@10 {self.mrr_at_10:.3f}\n"
            f"out-of-scope judged 'nothing relevant': {self.out_of_scope_rejected}/{self.n_out_of_scope}  "
            f"in-scope wrongly judged 'nothing relevant': {self.in_scope_rejected}/{self.n_in_scope}"
        )


def rank_figures(ranks: list[int | None]) -> tuple[float, float, float]:
    """(R@1, R@5, MRR@10) of answerable queries from the rank of each one's first acceptable hit
    (None: not among the hits)."""
    n = max(len(ranks), 1)
    r1 = sum(r == 1 for r in ranks) / n
    r5 = sum(r is not None and r <= 5 for r in ranks) / n
    return r1, r5, sum(1 / r for r in ranks if r) / n


def evaluate(retriever: Retriever, queries: list[EvalQuery]) -> EvalResult:
    """A query is a hit at rank r when the r-th bank hit is any of its acceptable ids."""
    res = EvalResult()
    ranks: list[int | None] = []
    for q in queries:
        result = retriever.search(q.query, k=10, bank_only=True)
        relevant = retriever.is_relevant(result)
        if not q.gold:
            res.n_out_of_scope += 1
            res.out_of_scope_rejected += not relevant
            continue
        res.n_in_scope += 1
        res.in_scope_rejected += not relevant
        ids = [h.id for h in result.hits]
        rank = next((i for i, hid in enumerate(ids, start=1) if hid in q.gold), None)
        ranks.append(rank)
        if rank is None or rank > 5:
            res.misses.append((q.query, q.gold, [i or "-" for i in ids[:5]]))
    res.recall_at_1, res.recall_at_5, res.mrr_at_10 = rank_figures(ranks)
    return res


@dataclass
class AnswerEvalResult:
    mode: str = "extractive"
    n_in_scope: int = 0
    n_out_of_scope: int = 0
    out_of_scope_refused: int = 0
    in_scope_refused: int = 0
    refused_offering_gold: int = 0  # ... of which list an acceptable id among the nearest questions
    cites_gold: int = 0  # in-scope answers citing at least one acceptable id
    citations: int = 0  # citations written in the answers' text
    grounded_citations: int = 0  # ... of which point to a retrieved source
    gold_citations: int = 0  # ... of which are acceptable ids
    removed: int = 0  # fabricated citations stripped by verification
    failures: list[str] = field(default_factory=list)

    def report(self) -> str:
        n, m = max(self.n_in_scope, 1), max(self.citations, 1)
        refused = (
            f"{self.in_scope_refused}/{self.n_in_scope} ({100 * self.in_scope_refused / n:.1f} %; "
            f"{self.refused_offering_gold} of them offer it among the nearest questions)"
        )
        answered = max(self.n_in_scope - self.in_scope_refused, 1)
        gold = (
            f"{self.cites_gold}/{self.n_in_scope} ({100 * self.cites_gold / n:.1f} %; "
            f"{100 * self.cites_gold / answered:.1f} % of those answered)"
        )
        return (
            f"answers ({self.mode}): out-of-scope refused {self.out_of_scope_refused}/{self.n_out_of_scope}  "
            f"in-scope wrongly refused {refused}  citing a gold id {gold}\n"
            f"citation precision {self.grounded_citations / m:.3f} ({self.grounded_citations}/{self.citations} cite "
            f"a retrieved source; {self.removed} fabricated removed)  "
            f"gold share of citations {self.gold_citations / m:.3f}"
        )


def evaluate_answers(answerer: Answerer, queries: list[EvalQuery]) -> AnswerEvalResult:
    res = AnswerEvalResult(mode=answerer.mode)
    for q in queries:
        out = answerer.answer(q.query)
        if not q.gold:
            res.n_out_of_scope += 1
            res.out_of_scope_refused += out.refused
            if not out.refused:
                res.failures.append(f"answered out-of-scope: {q.query}")
            continue
        res.n_in_scope += 1
        if out.refused:
            res.in_scope_refused += 1
            res.refused_offering_gold += any(h.id in q.gold for h in out.nearest)
            res.failures.append(f"refused in-scope: {q.query}")
            continue
        labels = {c.label for c in out.citations}
        cited = [c for c in cited_labels(out.answer) if BANK_ID.match(c) or c in labels]
        res.citations += len(cited)
        res.grounded_citations += sum(c in labels for c in cited)
        res.gold_citations += sum(c in q.gold for c in cited)
        res.removed += out.removed_citations
        if any(c in q.gold for c in cited):
            res.cites_gold += 1
        else:
            res.failures.append(f"no gold citation: {q.query} gold={','.join(q.gold)} cited={','.join(cited)}")
    return res
