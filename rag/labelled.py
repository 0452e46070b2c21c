"""Labelled queries: TSV lines `query<TAB>Q001,Q002`, or `query<TAB>-` for out of scope.

The eval set (tests/eval/queries.tsv) and the scope examples (corpus/scope_examples.tsv, which the
"nothing relevant" decision is fitted on and compares queries with) share this format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rag.errors import RagError

ID_LIST = re.compile(r"^Q\d{3}(,Q\d{3})*$")


@dataclass(frozen=True)
class EvalQuery:
    query: str
    gold: tuple[str, ...]  # acceptable bank ids; empty: out of scope


def load_queries(path: Path) -> list[EvalQuery]:
    if not path.is_file():
        raise RagError(f"no labelled queries at {path}; pass --queries FILE")
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
