"""Labelled queries (the eval set, the scope examples): the TSV format and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import RagError
from rag.labelled import EvalQuery, load_queries

REPO = Path(__file__).resolve().parents[2]


def test_queries_with_gold_ids_or_out_of_scope(tmp_path: Path) -> None:
    f = tmp_path / "q.tsv"
    f.write_bytes("\ufeff# comment\n\nLoRA 权重能合并吗\tQ083\n 旋转位置编码 \tQ145,Q146\n红烧肉怎么做\t -\n".encode())
    assert load_queries(f) == [
        EvalQuery("LoRA 权重能合并吗", ("Q083",)),
        EvalQuery("旋转位置编码", ("Q145", "Q146")),
        EvalQuery("红烧肉怎么做", ()),
    ]


def test_a_missing_file_says_how_to_pass_one(tmp_path: Path) -> None:
    with pytest.raises(RagError, match=r"no labelled queries at .*nope\.tsv; pass --queries FILE"):
        load_queries(tmp_path / "nope.tsv")


@pytest.mark.parametrize(
    "line",
    [
        "no tab here",
        "too\tmany\ttabs",
        "lowercase id\tq001",
        "two digits\tQ01",
        "spaces in list\tQ001, Q002",
        "empty gold\t",
        "trailing comma\tQ001,",
    ],
)
def test_a_bad_line_names_file_and_line(tmp_path: Path, line: str) -> None:
    f = tmp_path / "q.tsv"
    f.write_text(f"LoRA 是什么\tQ077\n{line}\n", encoding="utf-8")
    with pytest.raises(RagError) as info:
        load_queries(f)
    assert str(info.value) == f"{f}:2: expected `query<TAB>Q001,Q002` or `query<TAB>-`, got {line!r}"


@pytest.mark.parametrize("name", ["tests/eval/queries.tsv", "corpus/scope_examples.tsv"])
def test_the_shipped_files_load_with_both_kinds(name: str) -> None:
    queries = load_queries(REPO / name)
    assert len(queries) > 1000
    assert any(q.gold for q in queries) and any(not q.gold for q in queries)
