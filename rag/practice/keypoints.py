"""The key points of a reference note, read off its Markdown structure (no hand-written rubric).

A point is one thing an interviewer expects to hear: the lead paragraph, each top-level bullet (its
indented lines and sub-bullets belong to it), each display formula, each code block, each table row.

key_points("LoRA 冻结原权重…\n\n$$\nW = W_0 + BA\n$$\n\n- **初始化**：B = 0…\n  - A 随机\n\n相关：[Q078]")
 -> [KeyPoint("LoRA 冻结原权重…", "text"), KeyPoint("W = W_0 + BA", "formula"),
     KeyPoint("初始化：B = 0… A 随机", "text", title="初始化")]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^\s*(```|~~~)")
_BULLET = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
_TITLE = re.compile(r"^\*\*(.+?)\*\*\s*[:：]?\s*")
_RELATED = re.compile(r"^相关[:：]")
_HEADING = re.compile(r"^#{1,6}\s+")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}")
_MARKUP = re.compile(r"\*\*|__|`")
_ASIDE = re.compile(r"（[^（）]*）|(?<![\w$\\])\((?=[^()]*[\u4e00-\u9fff]|[^()]*[A-Za-z]{2,}[ ,])[^()]*\)")

# Code is rarely recited in an interview: a code block counts half as much as a sentence of content.
CODE_WEIGHT = 0.5
# The notes open with the direct answer; an interviewer weighs it above any single detail.
LEAD_WEIGHT = 2.0


@dataclass(frozen=True)
class KeyPoint:
    text: str  # plain text, Markdown emphasis removed; formulas and code kept as written
    kind: str  # text | formula | code | row
    title: str = ""  # a bullet's bold lead ("初始化"), a table row's first cell
    lead: bool = False  # the note's opening paragraph: its direct answer, written conclusion first

    @property
    def weight(self) -> float:
        return CODE_WEIGHT if self.kind == "code" else LEAD_WEIGHT if self.lead else 1.0

    @property
    def core(self) -> str:
        """The text without its parenthesised asides ("A 随机初始化（论文写随机高斯…）" -> "A 随机初始化"):
        sources, years and glosses an answer need not repeat."""
        if self.kind != "text" and self.kind != "row":
            return self.text
        core = re.sub(r"\s*(?:" + _ASIDE.pattern + r")\s*", " ", self.text)
        return re.sub(r"\s+", " ", re.sub(r"\s+(?=[，。；：、）])", "", core)).strip() or self.text

    @property
    def asides(self) -> str:
        return " ".join(m.group(0) for m in _ASIDE.finditer(self.text)) if self.kind in ("text", "row") else ""


_LATEX_FRAC = re.compile(r"\\frac\{([^{}]*)\}\{([^{}]*)\}")
_LATEX_WRAP = re.compile(r"\\(?:mathrm|mathbb|mathbf|mathcal|operatorname|text|boldsymbol)\{([^{}]*)\}")
_LATEX_SIZING = re.compile(r"\\(?:big|Big|bigg|Bigg|left|right|qquad|quad|,|;|!)(?![A-Za-z])")
_LATEX_NAME = re.compile(r"\\([A-Za-z]+)")


def readable(text: str) -> str:
    r"""Formulas as a person writes them, for embedding and matching: '$\frac{\alpha}{r} B A$' -> 'alpha/r B A',
    '$W_0 \in \mathbb{R}^{d\times k}$' -> 'W_0 in R^{d times k}'."""
    text = text.replace("$", "")
    for _ in range(2):  # nested fractions
        text = _LATEX_FRAC.sub(r"(\1)/(\2)", text)
    text = _LATEX_WRAP.sub(r"\1", text)
    text = _LATEX_SIZING.sub(" ", text)
    text = _LATEX_NAME.sub(r" \1 ", text)
    text = re.sub(r"\(\s*(\w+)\s*\)/\(\s*(\w+)\s*\)", r"\1/\2", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", _MARKUP.sub("", text)).strip()


def _blocks(note: str) -> list[tuple[str, list[str]]]:
    """(kind, lines) in note order: code fences, $$ formulas, tables, bullets, paragraphs."""
    blocks: list[tuple[str, list[str]]] = []
    lines = note.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped or _RELATED.match(stripped) or _HEADING.match(stripped):
            i += 1
        elif _FENCE.match(line):
            j = i + 1
            while j < len(lines) and not _FENCE.match(lines[j]):
                j += 1
            blocks.append(("code", lines[i + 1 : j]))
            i = j + 1
        elif stripped.startswith("$$"):
            j = i
            if stripped == "$$" or not stripped.endswith("$$") or len(stripped) < 4:
                j = i + 1
                while j < len(lines) and not lines[j].strip().endswith("$$"):
                    j += 1
            blocks.append(("formula", [s.strip().strip("$") for s in lines[i : j + 1]]))
            i = j + 1
        elif stripped.startswith("|"):
            j = i
            while j < len(lines) and lines[j].strip().startswith("|"):
                j += 1
            blocks.append(("table", lines[i:j]))
            i = j
        elif _BULLET.match(line):  # a top-level item and everything indented under it
            j = i + 1
            while j < len(lines) and lines[j].strip() and (lines[j].startswith((" ", "\t"))):
                j += 1
            blocks.append(("bullet", lines[i:j]))
            i = j
        else:  # a paragraph runs to the next blank line or block start
            j = i + 1
            while j < len(lines) and lines[j].strip() and not _starts_block(lines[j]):
                j += 1
            blocks.append(("text", lines[i:j]))
            i = j
    return blocks


def _starts_block(line: str) -> bool:
    s = line.strip()
    return bool(_FENCE.match(line) or s.startswith(("$$", "|")) or _BULLET.match(line) or _HEADING.match(s))


def _table_rows(lines: list[str]) -> list[KeyPoint]:
    rows = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines if not _TABLE_RULE.match(ln)]
    if len(rows) < 2:
        return [KeyPoint(_plain(" ".join(" ".join(r) for r in rows)), "row")] if rows else []
    header, body = rows[0], rows[1:]
    points = []
    for row in body:  # "Pre-LN｜公式要点: x+F(LN(x))；优点: 稳定…" reads as a sentence about the row
        cells = [f"{h}: {c}" if h else c for h, c in zip(header[1:], row[1:], strict=False) if c]
        points.append(KeyPoint(_plain(f"{row[0]}：" + "；".join(cells)), "row", title=_plain(row[0])))
    return points


def key_points(note: str) -> list[KeyPoint]:
    points: list[KeyPoint] = []
    for kind, lines in _blocks(note):
        if kind == "code":
            code = "\n".join(lines).strip()
            if code:
                points.append(KeyPoint(code, "code"))
        elif kind == "formula":
            formula = " ".join(s for s in lines if s).strip()
            if formula:
                points.append(KeyPoint(formula, "formula"))
        elif kind == "table":
            points.extend(_table_rows(lines))
        else:
            first = _BULLET.sub("", lines[0].strip()) if kind == "bullet" else lines[0].strip()
            rest = [_BULLET.sub("", ln.strip()) for ln in lines[1:]]
            title = ""
            if m := _TITLE.match(first):
                title = _plain(m.group(1))
            text = _plain(" ".join([first, *rest]))
            if text:
                points.append(KeyPoint(text, "text", title=title, lead=not points and kind == "text"))
    return points
