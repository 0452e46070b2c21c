"""Citations: what an answer may cite, one pattern for finding them, and a streaming filter.

A citation is a bracket holding one or more labels: "[Q077]", "[Q077, Q078]", "[paper.pdf p.3]".
The answer chain and the evaluation both read citations with CITATION and split_labels.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from rag.retrieval.hits import Hit

CITATION = re.compile(r"\[([^\[\]\n]{1,120})\]")
LABEL_SEPARATOR = re.compile(r"[,，、;；]\s*")
BANK_ID = re.compile(r"^Q\d{3}$")
_DOC_LIKE = re.compile(r"\.(pdf|md|txt|docx|html?)\b|\bp\.\s*\d+", re.I)
_NOTE_REF = re.compile(r"\[(Q\d{3})\]")


@dataclass
class Citation:
    label: str  # what the answer writes inside [...]: "Q077" or "paper.pdf p.3"
    id: str | None
    question: str | None
    section: str | None
    source: str
    page: int | None
    snippet: str

    @classmethod
    def of(cls, hit: Hit) -> Citation:
        return cls(hit.label, hit.id, hit.question, hit.section, hit.source, hit.page, hit.text)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def split_labels(inner: str) -> list[str]:
    """'Q077, Q078' -> ['Q077', 'Q078']: the labels inside one bracket."""
    return [p.strip() for p in LABEL_SEPARATOR.split(inner)]


def looks_cited(label: str) -> bool:
    """Is this bracket part a citation (a bank id or a document label), not '[1]' or a link text?"""
    return bool(BANK_ID.match(label) or _DOC_LIKE.search(label))


def cited_labels(text: str) -> list[str]:
    """Every citation label in a text, in order, with repeats."""
    return [p for m in CITATION.finditer(text) for p in split_labels(m.group(1)) if looks_cited(p)]


def plain_refs(text: str) -> str:
    """A note's own cross-references ("相关：[Q078]") become plain ids: they are content, not citations
    of this answer's sources, and the citation check would otherwise strip them."""
    return _NOTE_REF.sub(r"\1", text)


class CitationFilter:
    """Streams text through, dropping bracketed citations that are not among the sources.

    A '[' holds output back until its ']' arrives (or the bracket is clearly not a citation)."""

    def __init__(self, valid: set[str]) -> None:
        self.valid = valid
        self.buffer = ""
        self.removed = 0
        self.used: set[str] = set()

    def feed(self, text: str) -> str:
        self.buffer += text
        out = []
        while True:
            start = self.buffer.find("[")
            if start < 0:
                out.append(self.buffer)
                self.buffer = ""
                break
            out.append(self.buffer[:start])
            self.buffer = self.buffer[start:]
            m = CITATION.match(self.buffer)
            if m:
                out.append(self._check(m.group(1), m.group(0)))
                self.buffer = self.buffer[m.end() :]
                continue
            closed = "]" in self.buffer or "\n" in self.buffer or len(self.buffer) > 122
            if closed:  # not a citation-shaped bracket: pass the '[' through
                out.append(self.buffer[0])
                self.buffer = self.buffer[1:]
                continue
            break  # wait for more text
        return "".join(out)

    def close(self) -> str:
        rest, self.buffer = self.buffer, ""
        return rest

    def _check(self, inner: str, whole: str) -> str:
        parts = split_labels(inner)
        cites = [p for p in parts if looks_cited(p)]
        if not cites:
            return whole  # "[1]", a Markdown link text, ...: not ours to judge
        keep = [p for p in parts if p in self.valid or (p not in cites)]
        self.removed += sum(1 for p in cites if p not in self.valid)
        self.used.update(p for p in keep if p in self.valid)
        return "".join(f"[{p}]" for p in keep if p in self.valid) if keep else ""
