"""Fitting the document relevance model (rag/relevance/documents.py) on labelled queries over documents.

The documents are the bank's notes written as Markdown files, one per section (`# section`, then
`## question` and the note of each entry), indexed with no bank entries; the queries are the scope
examples (in scope: an entry, so its section's file, answers; out of scope: nothing does). The CLI
ingests them into a scratch data dir (rag/ does not import ingest/) and passes the retriever here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.bank import load_bank
from rag.labelled import EvalQuery
from rag.relevance.documents import DOC_MODEL_FEATURES, doc_model_values
from rag.relevance.model import RelevanceModel, fit, tradeoff
from rag.retrieval.retriever import Retriever

# The weights are fitted here; the threshold is not. Over the notes as documents the scope examples'
# near misses ("GQA 和 MQA 的区别") are partly answered by some note and read as answerable, so no
# threshold fitted on them separates real questions about real documents: the class-balanced boundary
# (0.5) refused 9 of the 88 answerable questions of the documents dev set (tests/eval/docs_queries.tsv,
# third-party notes) and 31 of the 112 of its held-out set. The threshold is set on that dev set: 0.02
# above its highest-scoring unanswerable question (0.312). Either model passing is enough, so this one
# only adds answers; docs/relevance.md has the figures on both sets.
DOC_THRESHOLD = 0.33


def write_notes_as_documents(corpus_dir: Path, folder: Path) -> int:
    """The bank's notes as one Markdown file per section; returns the number of entries written."""
    by_section: dict[str, list[str]] = defaultdict(list)
    for entry in load_bank(corpus_dir).values():
        if entry.note.strip():
            by_section[entry.section].append(f"## {entry.question}\n\n{entry.note.strip()}\n")
    folder.mkdir(parents=True, exist_ok=True)
    for section, parts in by_section.items():
        name = section.replace("/", "／")
        (folder / f"{name}.md").write_text(f"# {section}\n\n" + "\n".join(parts), encoding="utf-8")
    return sum(len(p) for p in by_section.values())


def collect_documents(retriever: Retriever, queries: Sequence[EvalQuery]) -> tuple[np.ndarray, np.ndarray]:
    """x: (n, len(DOC_MODEL_FEATURES)); y: (n,) in scope."""
    rows = []
    for q in queries:
        result = retriever.search(q.query, k=10)
        values = doc_model_values(result)
        rows.append([values[f] for f in DOC_MODEL_FEATURES])
    return np.array(rows, dtype=np.float64), np.array([bool(q.gold) for q in queries])


def calibrate_documents(retriever: Retriever, queries: Sequence[EvalQuery]) -> tuple[RelevanceModel, str]:
    x, y = collect_documents(retriever, queries)
    model = fit(x, y, retriever.embedder, features=DOC_MODEL_FEATURES)
    model = RelevanceModel(model.weights, model.bias, DOC_THRESHOLD, model.embedder, model.features)
    lines = [
        f"document model fitted on {len(queries)} queries ({int(y.sum())} in scope) over the bank's notes as documents",
        "weights (" + ", ".join(model.features) + "): " + ", ".join(f"{w:+.4f}" for w in model.weights),
        f"bias {model.bias:+.4f}  threshold {model.threshold:.4f} (set on the documents dev set)",
        "threshold  out-of-scope accepted  in-scope refused",
    ]
    rows = tradeoff(model, x, y, thresholds=(0.3, 0.4, 0.6, 0.7, 0.8, 0.9))
    lines += [f"{t:9.4f}  {a:20d}  {r:16d}" for t, a, r in sorted(rows)]
    return model, "\n".join(lines)
