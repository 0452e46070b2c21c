"""Retrieval evaluation on a TSV of `query<TAB>Q001,Q002` (or `-` for out of scope)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import RagError
from rag.retriever import Retriever

ID_LIST = re.compile(r"^Q\d{3}(,Q\d{3})*$")


@dataclass(frozen=True)
class EvalQuery:
    query: str
    gold: tuple[str, ...]  # empty: out of scope


def load_queries(path: Path) -> list[EvalQuery]:
    if not path.is_file():
        raise RagError(f"no eval file at {path}; pass --queries FILE")
    out: list[EvalQuery] = []
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not (parts[1].strip() == "-" or ID_LIST.match(parts[1].strip())):
            raise RagError(f"{path}:{n}: expected `query<TAB>Q001,Q002` or `query<TAB>-`, got {line!r}")
        gold = () if parts[1].strip() == "-" else tuple(parts[1].strip().split(","))
        out.append(EvalQuery(parts[0].strip(), gold))
    return out


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


def evaluate(retriever: Retriever, queries: list[EvalQuery]) -> EvalResult:
    """A query is a hit at rank r when the r-th bank hit is any of its acceptable ids."""
    res = EvalResult()
    r1 = r5 = rr = 0.0
    for q in queries:
        hits = retriever.search(q.query, k=10, bank_only=True)
        relevant = retriever.is_relevant(hits)
        if not q.gold:
            res.n_out_of_scope += 1
            res.out_of_scope_rejected += not relevant
            continue
        res.n_in_scope += 1
        res.in_scope_rejected += not relevant
        ids = [h.id for h in hits]
        rank = next((i for i, hid in enumerate(ids, start=1) if hid in q.gold), None)
        r1 += rank == 1
        r5 += rank is not None and rank <= 5
        rr += 1.0 / rank if rank else 0.0
        if rank is None or rank > 5:
            res.misses.append((q.query, q.gold, [i or "-" for i in ids[:5]]))
    n = max(res.n_in_scope, 1)
    res.recall_at_1, res.recall_at_5, res.mrr_at_10 = r1 / n, r5 / n, rr / n
    return res
