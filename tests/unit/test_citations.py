"""Citations: the labels an answer cites, and the streaming filter that drops fabricated ones."""

from __future__ import annotations

import pytest

from rag.answering.citations import Citation, CitationFilter, cited_labels, looks_cited, plain_refs, split_labels
from rag.retrieval.hits import Hit

VALID = {"Q083", "Q077", "paper.pdf p.3", "notes.md"}


def stream(pieces: list[str], valid: set[str] = VALID) -> tuple[str, CitationFilter]:
    f = CitationFilter(valid)
    return "".join(f.feed(p) for p in pieces) + f.close(), f


def test_split_and_fabricated_citations_across_pieces() -> None:
    pieces = ["可以合并 [Q0", "83]，见 [Q9", "99] 与 [paper.pdf p.", "3]；[Q083, Q777]。[1] 脚注"]
    out, f = stream(pieces)
    assert out == "可以合并 [Q083]，见  与 [paper.pdf p.3]；[Q083]。[1] 脚注"
    assert f.removed == 2 and f.used == {"Q083", "paper.pdf p.3"}


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_the_output_does_not_depend_on_how_the_text_is_split(size: int) -> None:
    text = "结论 [Q077]，另见 [Q999] 和 [notes.md]。[2] 见 [LoRA 论文](https://arxiv.org/abs/2106.09685)。"
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    out, f = stream(pieces)
    assert out == "结论 [Q077]，另见  和 [notes.md]。[2] 见 [LoRA 论文](https://arxiv.org/abs/2106.09685)。"
    assert f.removed == 1 and f.used == {"Q077", "notes.md"}


def test_brackets_that_are_not_citations_pass_untouched() -> None:
    text = "见 [1] 与 [a, b]；[LoRA paper](http://x.org)；数组 x[0] 和 [ ] 空括号"
    out, f = stream([text])
    assert out == text and f.removed == 0 and not f.used


def test_multi_label_brackets_keep_only_their_valid_labels() -> None:
    out, f = stream(["[Q077, Q999]、[Q999，Q998]、[Q083、paper.pdf p.3]"])
    assert out == "[Q077]、、[Q083][paper.pdf p.3]"
    assert f.removed == 3 and f.used == {"Q077", "Q083", "paper.pdf p.3"}


def test_a_bracket_never_closed_is_released_at_the_end() -> None:
    f = CitationFilter(VALID)
    assert f.feed("结论 [Q07") == "结论 "  # held back: the ']' may still come
    assert f.close() == "[Q07"


def test_a_long_or_broken_bracket_is_not_held_back() -> None:
    f = CitationFilter(VALID)
    assert f.feed("[见下文\n续") == "[见下文\n续"  # a newline ends any citation
    long = "[" + "长" * 130
    assert f.feed(long) == long


def test_cited_labels_in_order_with_repeats() -> None:
    text = "A [Q077]，B [Q078, paper.pdf p.3]；C [1] [Q077] [notes.md] [链接](x)"
    assert cited_labels(text) == ["Q077", "Q078", "paper.pdf p.3", "Q077", "notes.md"]
    assert cited_labels("没有出处") == []


@pytest.mark.parametrize(
    "inner",
    ["Q001, Q002", "Q001，Q002", "Q001、Q002", "Q001; Q002", "Q001；Q002", "Q001 ,Q002"],
)
def test_split_labels_on_every_separator(inner: str) -> None:
    assert split_labels(inner) == ["Q001", "Q002"]


def test_split_labels_keeps_a_document_label_whole() -> None:
    assert split_labels("paper.pdf p.3") == ["paper.pdf p.3"]
    assert split_labels("Q001、notes.md；a.txt") == ["Q001", "notes.md", "a.txt"]


@pytest.mark.parametrize(
    ("label", "cited"),
    [
        ("Q077", True),
        ("paper.pdf p.3", True),
        ("notes.md", True),
        ("report.DOCX", True),
        ("page.html", True),
        ("p. 12", True),
        ("1", False),
        ("Q77", False),
        ("Q0777", False),
        ("LoRA 论文", False),
    ],
)
def test_what_looks_like_a_citation(label: str, cited: bool) -> None:
    assert looks_cited(label) is cited


def test_plain_refs_turn_a_notes_cross_references_into_plain_ids() -> None:
    assert plain_refs("相关：[Q078]、[Q079]") == "相关：Q078、Q079"
    assert plain_refs("见 [paper.pdf p.3] 和 [1]") == "见 [paper.pdf p.3] 和 [1]"


def test_a_citation_of_a_hit() -> None:
    bank = Hit("Q077", "LoRA 的思路是什么?", "五、PEFT", "corpus/question_bank/05-peft.md", None, 0.8, "低秩…")
    doc = Hit(None, None, None, "data/uploads/paper.pdf", 3, 0.5, "page text")
    assert Citation.of(bank).to_json() == {
        "label": "Q077",
        "id": "Q077",
        "question": "LoRA 的思路是什么?",
        "section": "五、PEFT",
        "source": "corpus/question_bank/05-peft.md",
        "page": None,
        "snippet": "低秩…",
    }
    assert Citation.of(doc).label == "paper.pdf p.3"
