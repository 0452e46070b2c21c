"""The eval-set gates behind the README's figures: retrieval quality, the "nothing relevant" decision and
grounded citations on tests/eval/queries.tsv. The relevance model is fitted on corpus/scope_examples.tsv,
never on this set.

Measured on 803 in-scope and 329 out-of-scope queries: R@1 0.922, R@5 0.991, MRR@10 0.952; out of scope
refused 318/329; in scope refused 14/803; answers citing an acceptable id 773/803; citation precision
1.000. Raise the bars as quality rises.
"""

from __future__ import annotations

import pytest

from rag.answering.chain import Answerer
from rag.evaluation.metrics import evaluate, evaluate_answers
from rag.labelled import EvalQuery, load_queries
from rag.retrieval.retriever import Retriever
from rag.settings import get_settings

pytestmark = pytest.mark.quality

MIN_QUERIES = 1130
MIN_R5, MIN_MRR = 0.98, 0.94
MAX_OUT_OF_SCOPE_ANSWERED = 0.05
MAX_IN_SCOPE_REFUSED = 0.03
MIN_CITES_GOLD = 0.90  # of all in-scope queries
MIN_CITES_GOLD_ANSWERED = 0.95  # of the in-scope queries answered


@pytest.fixture
def eval_queries() -> list[EvalQuery]:
    return load_queries(get_settings().eval_file)


def test_the_eval_set_is_large_and_has_both_kinds(eval_queries: list[EvalQuery]) -> None:
    assert len(eval_queries) >= MIN_QUERIES
    assert sum(bool(q.gold) for q in eval_queries) >= 800 and sum(not q.gold for q in eval_queries) >= 320


def test_retrieval_and_relevance_on_the_eval_set(retriever: Retriever, eval_queries: list[EvalQuery]) -> None:
    result = evaluate(retriever, eval_queries)
    print(result.report())
    assert result.n_in_scope + result.n_out_of_scope == len(eval_queries)
    assert result.recall_at_5 >= MIN_R5, result.misses
    assert result.mrr_at_10 >= MIN_MRR
    out_of_scope_answered = result.n_out_of_scope - result.out_of_scope_rejected
    assert out_of_scope_answered <= MAX_OUT_OF_SCOPE_ANSWERED * result.n_out_of_scope
    assert result.in_scope_rejected <= MAX_IN_SCOPE_REFUSED * result.n_in_scope


def test_answers_on_the_eval_set(retriever: Retriever, eval_queries: list[EvalQuery]) -> None:
    res = evaluate_answers(Answerer(retriever, get_settings()), eval_queries)
    print(res.report())
    assert res.mode == "extractive"
    assert res.n_out_of_scope - res.out_of_scope_refused <= MAX_OUT_OF_SCOPE_ANSWERED * res.n_out_of_scope
    assert res.in_scope_refused <= MAX_IN_SCOPE_REFUSED * res.n_in_scope
    assert res.cites_gold >= MIN_CITES_GOLD * res.n_in_scope
    assert res.cites_gold >= MIN_CITES_GOLD_ANSWERED * (res.n_in_scope - res.in_scope_refused)
    # citation precision 1.0: every citation an answer writes points to a source it was given
    assert res.citations and res.grounded_citations == res.citations
