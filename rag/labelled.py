"""Labelled queries: TSV lines `query<TAB>Q001,Q002`, or `query<TAB>-` for out of scope.

The eval set (tests/eval/queries.tsv) and the scope examples (corpus/scope_examples.tsv, which the
"nothing relevant" decision is fitted on and compares queries with) share this format.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.errors import RagError

ID_LIST = re.compile(r"^Q\d{3}(,Q\d{3})*$")


@dataclass(frozen=True)
class EvalQuery:
    query: str
    gold: tuple[str, ...]  # acceptable bank ids; empty: out of scope


def _data_lines(path: Path, what: str, option: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of a labelled TSV, blank lines and # comments left out."""
    if not path.is_file():
        raise RagError(f"no {what} at {path}; pass {option} FILE")
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if line.strip() and not line.startswith("#"):
            yield n, line


def load_queries(path: Path) -> list[EvalQuery]:
    out: list[EvalQuery] = []
    for n, line in _data_lines(path, "labelled queries", "--queries"):
        parts = line.split("\t")
        if len(parts) != 2 or not (parts[1].strip() == "-" or ID_LIST.match(parts[1].strip())):
            raise RagError(f"{path}:{n}: expected `query<TAB>Q001,Q002` or `query<TAB>-`, got {line!r}")
        gold = () if parts[1].strip() == "-" else tuple(parts[1].strip().split(","))
        out.append(EvalQuery(parts[0].strip(), gold))
    return out


LANGS = ("zh", "en", "mixed")


@dataclass(frozen=True)
class DocQuery:
    query: str
    lang: str  # zh | en | mixed
    gold: tuple[str, ...]  # files (relative to the folder) or bank ids that answer it; empty: unanswerable


def load_doc_queries(path: Path) -> list[DocQuery]:
    """TSV lines `query<TAB>lang<TAB>dir/file.md|Q083`, or `query<TAB>lang<TAB>-` when nothing answers it."""
    out: list[DocQuery] = []
    for n, line in _data_lines(path, "document queries", "--doc-queries"):
        parts = [p.strip() for p in line.split("\t")]
        if len(parts) != 3 or parts[1] not in LANGS or not parts[0] or not parts[2]:
            raise RagError(f"{path}:{n}: expected `query<TAB>zh|en|mixed<TAB>file|file` or `…<TAB>-`, got {line!r}")
        gold = () if parts[2] == "-" else tuple(g.strip() for g in parts[2].split("|") if g.strip())
        out.append(DocQuery(parts[0], parts[1], gold))
    return out
