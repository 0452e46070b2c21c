"""The question bank: the parser on hand-made text, and the shipped files against the seed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from rag.bank import Entry, is_bank_file, load_bank, parse_bank_text
from rag.errors import RagError

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "tests" / "data" / "seed.txt"
SECTION = re.compile(r"^[一二三四五六七八九十]+、")


def test_entries_sections_and_notes() -> None:
    text = "# 一、基础\n\n## Q001 第一个问题?\n笔记第一行。\n\n- 要点\n\n## Q002 第二个问题\n"
    first, second = parse_bank_text(text, "01-x.md")
    assert first == Entry("Q001", "一、基础", "第一个问题?", "笔记第一行。\n\n- 要点", "01-x.md", ())
    assert (second.id, second.question, second.note) == ("Q002", "第二个问题", "")


def test_headings_inside_code_fences_are_note_text() -> None:
    text = "# 一、S\n\n## Q001 q1\n```python\n## Q999 not an entry\n# comment\n```\n\n## Q002 q2\nnote\n"
    entries = parse_bank_text(text, "x.md")
    assert [e.id for e in entries] == ["Q001", "Q002"]
    assert "## Q999 not an entry" in entries[0].note and entries[1].section == "一、S"


def test_tilde_fences_count_too() -> None:
    entries = parse_bank_text("# S\n## Q001 q\n~~~\n## Q002 inside\n~~~\n", "x.md")
    assert [e.id for e in entries] == ["Q001"]


def test_an_unclosed_fence_is_an_error_naming_the_file() -> None:
    with pytest.raises(RagError, match=r"bad\.md: unclosed ``` code fence"):
        parse_bank_text("# S\n## Q001 q\n```python\nx = 1\n", "bad.md")


def test_the_aliases_line_leaves_the_note() -> None:
    text = "# 一、S\n\n## Q001 q1\n笔记。\n\n问法：说法一 | 说法二|说法一\n\n## Q002 q2\n```\n问法：代码里的不算\n```\n"
    first, second = parse_bank_text(text, "x.md")
    assert first.note == "笔记。" and first.aliases == ("说法一", "说法二")
    assert second.aliases == () and "问法：代码里的不算" in second.note


def test_aliases_with_an_ascii_colon_and_over_several_lines() -> None:
    (entry,) = parse_bank_text("# S\n## Q001 q\n问法: a | b\n问法：c\n", "x.md")
    assert entry.aliases == ("a", "b", "c") and entry.note == ""


def test_text_before_the_first_entry_is_not_a_note() -> None:
    (entry,) = parse_bank_text("# S\n前言文字\n## Q001 q\nnote\n", "x.md")
    assert entry.note == "note"


@pytest.mark.parametrize(
    ("path", "bank"),
    [("corpus/question_bank/05-peft.md", True), ("corpus/question_bank/a.txt", False), ("corpus/05-peft.md", False)],
)
def test_is_bank_file(path: str, bank: bool) -> None:
    assert is_bank_file(Path(path)) is bank


def test_duplicate_ids_across_files_are_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "question_bank"
    folder.mkdir()
    (folder / "01-a.md").write_text("# A\n## Q001 q\n", encoding="utf-8")
    (folder / "02-b.md").write_text("# B\n## Q001 again\n", encoding="utf-8")
    with pytest.raises(RagError, match=r"02-b\.md: duplicate id Q001 \(also in .*01-a\.md\)"):
        load_bank(tmp_path)


def test_no_bank_files_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RagError, match="no question bank under"):
        load_bank(tmp_path)


# ----- the shipped bank -----
def seed_entries() -> list[tuple[str, str]]:
    """(section heading, question) for every `- ` line under a section heading, in order."""
    out, section = [], None
    for line in SEED.read_text(encoding="utf-8").splitlines():
        if SECTION.match(line):
            section = line.strip()
        elif line.startswith("- ") and section:
            out.append((section, line[2:].strip()))
    return out


@pytest.fixture(scope="module")
def bank() -> dict[str, Entry]:
    return load_bank(REPO / "corpus")


def test_bank_matches_the_seed_verbatim(bank: dict[str, Entry]) -> None:
    expected = seed_entries()
    assert len(expected) == 173
    assert list(bank) == [f"Q{i:03d}" for i in range(1, 174)]
    for (section, question), entry in zip(expected, bank.values(), strict=True):
        assert (entry.section, entry.question) == (section, question), entry.id


def test_bank_files_one_per_section_in_seed_order() -> None:
    files = sorted((REPO / "corpus" / "question_bank").glob("*.md"))
    assert [f.name[:3] for f in files] == [f"{i:02d}-" for i in range(1, 16)]
    assert all(re.fullmatch(r"\d\d-[a-z0-9-]+\.md", f.name) for f in files)
    headings = [f.read_text(encoding="utf-8").splitlines()[0] for f in files]
    assert headings == ["# " + s for s in dict.fromkeys(sec for sec, _ in seed_entries())]


def test_no_advertising_in_the_bank() -> None:
    text = "\n".join(f.read_text(encoding="utf-8") for f in (REPO / "corpus" / "question_bank").glob("*.md"))
    for marker in ("微信", "CSDN", "二维码", "免费领取", "保证100%免费"):
        assert marker not in text


def test_every_entry_has_a_note_of_substance(bank: dict[str, Entry]) -> None:
    short = [e.id for e in bank.values() if len(e.note) < 80]
    assert not short, f"entries without a note of >= 80 characters: {short}"


def test_cross_references_resolve(bank: dict[str, Entry]) -> None:
    for e in bank.values():
        for ref in re.findall(r"\[(Q\d{3})\]", e.note):
            assert ref in bank, f"{e.id} references unknown {ref}"


@pytest.mark.parametrize(
    ("qid", "pattern"),
    [
        ("Q145", r"\\theta"),  # RoPE derivation
        ("Q159", r"\\gamma|\\mu"),  # Layer Norm
        ("Q160", r"\\mathrm\{RMS\}|\\sqrt"),  # RMS Norm
        ("Q167", r"\\mathrm\{FFN\}|FFN\(x\)"),
        ("Q168", r"\\Phi|\\tanh"),  # GeLU
        ("Q169", r"\\sigma"),  # Swish
        ("Q170", r"\\sigma|\\otimes|\\odot"),  # GLU
        ("Q171", r"GELU|GeLU"),
        ("Q172", r"Swish|SiLU"),
    ],
)
def test_formula_entries_contain_latex(bank: dict[str, Entry], qid: str, pattern: str) -> None:
    note = bank[qid].note
    assert "$" in note, f"{qid} has no LaTeX"
    assert re.search(pattern, note), f"{qid} lacks {pattern}"


def test_notes_render_as_markdown_with_closed_fences(bank: dict[str, Entry]) -> None:
    md = MarkdownIt("commonmark")
    for e in bank.values():
        fence_lines = [ln for ln in e.note.splitlines() if ln.lstrip().startswith("```")]
        assert len(fence_lines) % 2 == 0, f"{e.id}: unbalanced ``` fences"
        tokens = md.parse(e.note)
        assert sum(t.type == "fence" for t in tokens) == len(fence_lines) // 2, e.id
        assert e.note.count("$$") % 2 == 0, f"{e.id}: unbalanced $$"
        outside = re.sub(r"```.*?```", "", e.note, flags=re.S)
        assert not re.search(r"^#{1,2} ", outside, re.M), f"{e.id}: a heading inside a note breaks the bank format"


def test_every_entry_lists_ways_users_ask_it(bank: dict[str, Entry]) -> None:
    for e in bank.values():
        assert len(e.aliases) >= 5, f"{e.id}: fewer than 5 问法 paraphrases"
        assert e.question not in e.aliases, e.id
        assert all(0 < len(a) <= 100 and "|" not in a for a in e.aliases), e.id
        assert "问法" not in e.note.splitlines()[-1], f"{e.id}: the 问法 line leaked into the note"
    english = sum(a.isascii() for e in bank.values() for a in e.aliases)
    assert english >= 173, "about two English phrasings per entry"


def test_the_deep_norm_note_has_python_code(bank: dict[str, Entry]) -> None:
    # running it needs torch (seconds to import): the integration tier does that
    blocks = re.findall(r"```python\n(.*?)```", bank["Q163"].note, re.S)
    assert blocks, "Q163 needs a ```python block"
    compile(max(blocks, key=len), "Q163", "exec")
