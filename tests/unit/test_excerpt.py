"""excerpt(): the essential part of a note, cut only between whole units."""

from __future__ import annotations

import pytest

from rag.answering.excerpt import EXCERPT_CHARS, excerpt

NOTE = "直接回答。\n\n- 要点一\n- 要点二\n\n$$\na+b\n$$\n\n```python\nx = 1\n\ny = 2\n```\n\n相关：[Q001]"
WHOLE = "直接回答。\n\n- 要点一\n- 要点二\n\n$$\na+b\n$$\n\n```python\nx = 1\n\ny = 2\n```"


def test_a_long_limit_keeps_everything_but_the_related_line() -> None:
    assert excerpt(NOTE, 10_000) == WHOLE


@pytest.mark.parametrize("limit", range(0, 70))
def test_never_half_a_formula_or_code_block(limit: int) -> None:
    out = excerpt(NOTE, limit)
    assert WHOLE.startswith(out)  # a prefix of the units, in order
    assert out.count("$$") % 2 == 0 and out.count("```") % 2 == 0
    assert out.startswith("直接回答。")


def test_units_are_dropped_whole_when_over_the_limit() -> None:
    assert excerpt(NOTE, 18) == "直接回答。\n\n- 要点一\n- 要点二"
    assert excerpt(NOTE, 30) == "直接回答。\n\n- 要点一\n- 要点二\n\n$$\na+b\n$$"  # the code block does not fit


def test_the_first_unit_always_even_over_the_limit() -> None:
    first = "长" * 50
    assert excerpt(f"{first}\n第二行", 10) == first
    assert excerpt("```\n" + "x = 1\n" * 40 + "```\n\n后文", 10).endswith("```")


def test_bullets_stay_on_their_lines_and_paragraphs_keep_their_break() -> None:
    assert excerpt("第一段\n- a\n- b\n\n第二段", 100) == "第一段\n- a\n- b\n\n第二段"


@pytest.mark.parametrize("line", ["相关：[Q002] [Q003]", "相关: [Q002]"])
def test_the_related_line_is_never_part_of_it(line: str) -> None:
    assert excerpt(f"{line}\n正文", 100) == "正文"
    assert excerpt(f"正文\n{line}\n后文", 100) == "正文\n后文"


def test_an_unclosed_fence_is_kept_as_one_block() -> None:
    assert excerpt("a\n```\ncode", 100) == "a\n```\ncode"
    assert excerpt("a\n```\ncode", 2) == "a"


def test_the_default_limit() -> None:
    paragraphs = [f"{i:02d}" + "字" * 98 for i in range(20)]  # 100 characters each
    out = excerpt("\n\n".join(paragraphs))
    assert EXCERPT_CHARS == 700
    assert out == "\n\n".join(paragraphs[:6])  # a seventh would pass 700
    assert len(out) <= EXCERPT_CHARS + 2  # at most the separator before the last unit over


def test_a_code_block_holding_display_math_is_one_unit() -> None:
    note = "开头一句。\n\n```latex\n$$\nE=mc^2\n$$\n```\n\n后文"
    for limit in range(0, 40):
        out = excerpt(note, limit)
        assert out.count("```") % 2 == 0, (limit, out)
