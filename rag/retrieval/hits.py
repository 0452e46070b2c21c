"""What search returns: hits (bank entries or document chunks) and, once per query, its features."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

HEADING_SEPARATOR = " › "  # between the headings of a document chunk's path (ingest/structure.py)
_LABEL_UNSAFE = re.compile(r"[,，、;；\[\]]")


@dataclass
class Hit:
    id: str | None  # "Q077" for a bank entry, None for a user document chunk
    question: str | None
    section: str | None
    source: str
    page: int | None  # 1-based PDF page
    score: float  # fused: DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) * lexical, + DOC_PRIOR for a document chunk
    text: str  # snippet: the best matching chunk, without the repeated question line
    dense: float = 0.0  # best cosine of any of its chunks, in [0, 1]
    lexical: float = 0.0  # best BM25 / query idf mass of any of its chunks, clipped to [0, 1]
    # the relevance features of one hit (their meanings: rag/relevance/features.py)
    coverage: float = 0.0
    phrase: float = 0.0
    chunk_id: str = ""  # the chunk the snippet comes from
    heading: str | None = None  # a document chunk's heading path, "分布式训练 › DeepSpeed › ZeRO"

    @property
    def label(self) -> str:
        """How answers cite it: 'Q077', 'paper.pdf p.3', 'notes.md › ZeRO' (the last heading of a document
        chunk's path) or 'notes.md'."""
        if self.id:
            return self.id
        name = self.source.rsplit("/", 1)[-1]
        if self.page:
            return f"{name} p.{self.page}"
        if self.heading:
            # the heading's own separators ('二、模型结构') would split the label inside a citation
            last = " ".join(_LABEL_UNSAFE.sub(" ", self.heading.split(HEADING_SEPARATOR)[-1]).split())[:60]
            return f"{name} › {last}" if last and last.lower() != name.rsplit(".", 1)[0].lower() else name
        return name

    def to_json(self) -> dict[str, Any]:
        # fields are flat (str/float/None): a shallow copy; asdict's deep copy cost the API ~0.4 ms a search
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "chunk_id"}
        for key in ("score", "dense", "lexical", "coverage", "phrase"):
            d[key] = round(d[key], 4)
        return d


@dataclass(frozen=True)
class QueryFeatures:
    """The relevance features that belong to the query, not to one hit (rag/relevance/features.py)."""

    unknown: float = 0.0
    peripheral: float = 0.0
    query_mass: float = 0.0
    example_gap: float = 0.0


@dataclass
class SearchResult:
    query: str  # as typed
    searched: str  # as searched: typos repaired
    hits: list[Hit] = field(default_factory=list)
    features: QueryFeatures = field(default_factory=QueryFeatures)

    def __len__(self) -> int:
        return len(self.hits)

    def __getitem__(self, i: int) -> Hit:
        return self.hits[i]

    def __iter__(self):
        return iter(self.hits)
