"""The question bank: `corpus/question_bank/NN-slug.md` parsed into entries.

File shape (shared with the knowledge notes):
    # 一、大模型基础面试题
    ## Q001 <question verbatim from the seed>
    <note in Markdown, may contain ``` fences>
    问法：<another way users ask this> | <another> | …

The `问法：` line (outside fences) lists paraphrases: colloquial, English, mixed, symptom-style
phrasings of the question. They are indexed as extra search targets for the entry and are not part
of the note shown to users.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rag.errors import RagError

BANK_DIRNAME = "question_bank"
ENTRY_RE = re.compile(r"^## (Q\d{3}) (.+?)\s*$")
SECTION_RE = re.compile(r"^# (\S.*?)\s*$")
FENCE_RE = re.compile(r"^\s*(```|~~~)")
ID_RE = re.compile(r"^Q\d{3}$")
ALIASES_RE = re.compile(r"^问法[:：]\s*(.*?)\s*$")


@dataclass(frozen=True)
class Entry:
    id: str  # "Q077"
    section: str  # "五、大模型参数高效微调(PEFT) 面试题"
    question: str
    note: str  # Markdown, "" until written
    source: str  # file path as given
    aliases: tuple[str, ...] = ()  # other ways users ask it (the `问法：` line)


def is_bank_file(path: Path) -> bool:
    return path.parent.name == BANK_DIRNAME and path.suffix == ".md"


def parse_bank_text(text: str, source: str) -> list[Entry]:
    """Entries of one bank file; headings inside code fences are note content, not entries."""
    section = ""
    entries: list[Entry] = []
    current: tuple[str, str] | None = None
    body: list[str] = []
    aliases: list[str] = []
    in_fence = False

    def flush() -> None:
        if current is not None:
            note = "\n".join(body).strip()
            entries.append(Entry(current[0], section, current[1], note, source, tuple(dict.fromkeys(aliases))))

    for line in text.splitlines():
        if FENCE_RE.match(line):
            in_fence = not in_fence
        if not in_fence and (m := ENTRY_RE.match(line)):
            flush()
            current, body, aliases = (m.group(1), m.group(2)), [], []
        elif not in_fence and current is None and (m := SECTION_RE.match(line)):
            section = m.group(1)
        elif not in_fence and current is not None and (m := ALIASES_RE.match(line)):
            aliases += [a.strip() for a in m.group(1).split("|") if a.strip()]
        elif current is not None:
            body.append(line)
    flush()
    if in_fence:
        raise RagError(f"{source}: unclosed ``` code fence; close it and run ingest again")
    return entries


def resolve_section(section: str, names: list[str]) -> str:
    """Exact heading, or a unique substring of one ('PEFT', '十二')."""
    if section in names:
        return section
    matches = [s for s in names if section.lower() in s.lower()]
    if len(matches) == 1:
        return matches[0]
    raise RagError(f"unknown or ambiguous section {section!r}; sections: {' | '.join(names)}")


def load_bank(corpus_dir: Path) -> dict[str, Entry]:
    """All entries by id, in bank order."""
    bank_dir = corpus_dir / BANK_DIRNAME
    files = sorted(bank_dir.glob("*.md"))
    if not files:
        raise RagError(f"no question bank under {bank_dir} (expected NN-slug.md files)")
    entries: dict[str, Entry] = {}
    for path in files:
        for e in parse_bank_text(path.read_text(encoding="utf-8-sig"), str(path)):
            if e.id in entries:
                raise RagError(f"{path}: duplicate id {e.id} (also in {entries[e.id].source})")
            entries[e.id] = e
    return entries
