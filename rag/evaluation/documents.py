"""Figures for questions about a folder of the user's own documents, indexed beside the bank.

A hit counts by file: document chunks are ranked as files (a file's first chunk gives its rank) and a
bank entry by its id, so a query's gold may name files, bank entries or both. R@k and MRR@10 are
over answerable queries, per language and overall; refusals come from the same "nothing relevant"
decision the app uses.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rag.evaluation.metrics import rank_figures
from rag.labelled import DocQuery
from rag.retrieval.hits import Hit
from rag.retrieval.retriever import Retriever


def hit_key(hit: Hit, folder: Path) -> str:
    """'Q083' for a bank entry; a document's path relative to folder ('4-分布式/DeepSpeed.md')."""
    if hit.id:
        return hit.id
    path = Path(hit.source)
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return hit.source


@dataclass
class DocEvalResult:
    ranks: dict[str, list[int | None]] = field(default_factory=lambda: defaultdict(list))  # lang -> ranks
    refused: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # lang -> answerable refused
    n_unanswerable: int = 0
    unanswerable_answered: int = 0
    failures: list[str] = field(default_factory=list)

    def _line(self, name: str, ranks: list[int | None], refused: int) -> str:
        r1, r5, mrr = rank_figures(ranks)
        return (
            f"{name:>8}: {len(ranks):3d} queries  R@1 {r1:.3f}  R@5 {r5:.3f}  MRR@10 {mrr:.3f}  "
            f"refused {refused}/{len(ranks)}"
        )

    def report(self) -> str:
        every = [r for ranks in self.ranks.values() for r in ranks]
        lines = [self._line("all", every, sum(self.refused.values()))]
        en = [r for lang in ("en", "mixed") for r in self.ranks.get(lang, [])]
        lines.append(self._line("zh", self.ranks.get("zh", []), self.refused.get("zh", 0)))
        lines.append(self._line("en+mixed", en, self.refused.get("en", 0) + self.refused.get("mixed", 0)))
        lines.append(f"unanswerable questions answered: {self.unanswerable_answered}/{self.n_unanswerable}")
        return "\n".join(lines)


def evaluate_documents(retriever: Retriever, queries: list[DocQuery], folder: Path) -> DocEvalResult:
    res = DocEvalResult()
    for q in queries:
        result = retriever.search(q.query, k=10)
        relevant = retriever.is_relevant(result)
        keys = list(dict.fromkeys(hit_key(h, folder) for h in result.hits))
        if not q.gold:
            res.n_unanswerable += 1
            res.unanswerable_answered += relevant
            if relevant:
                res.failures.append(f"answered unanswerable: {q.query}  top={','.join(keys[:3])}")
            continue
        rank = next((i for i, key in enumerate(keys, start=1) if key in q.gold), None)
        res.ranks[q.lang].append(rank)
        if not relevant:
            res.refused[q.lang] += 1
            res.failures.append(f"refused ({q.lang}, rank {rank}): {q.query}")
        if rank != 1:
            res.failures.append(f"rank {rank} ({q.lang}): {q.query}  gold={'|'.join(q.gold)}  top={','.join(keys[:3])}")
    return res
