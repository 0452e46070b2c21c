"""One answer in progress: iterate it for text (citations verified as it streams), then result().

The LLM's stream is consumed by hand rather than through RunnableWithFallbacks: that one cannot fall
back once the first token has been sent, and a provider may fail mid-stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rag.answering import prompts
from rag.answering.citations import Citation, CitationFilter, plain_refs
from rag.answering.conversation import language
from rag.answering.excerpt import excerpt
from rag.answering.plan import AnswerPlan
from rag.retrieval.hits import Hit


@dataclass
class AnswerResult:
    query: str
    standalone_query: str
    answer: str
    citations: list[Citation]
    refused: bool
    mode: str  # provider that produced the text: "extractive" | "openai" | "ollama" | "huggingface"
    related: list[Hit] = field(default_factory=list)
    nearest: list[Hit] = field(default_factory=list)  # with a refusal: plausibly related questions
    removed_citations: int = 0  # cited labels that were not among the sources, stripped
    error: str | None = None  # the LLM problem that caused a fallback

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "answer": self.answer,
            "citations": [c.to_json() for c in self.citations],
            "refused": self.refused,
            "mode": self.mode,
            "standalone_query": self.standalone_query,
            "related": [{"id": h.id, "question": h.question} for h in self.related],
            "nearest": [{"id": h.id, "question": h.question} for h in self.nearest],
            "removed_citations": self.removed_citations,
            "error": self.error,
        }


Generate = Callable[[AnswerPlan], Iterator[str]]  # the LLM chain's stream for a plan


class AnswerStream:
    def __init__(
        self,
        query: str,
        standalone: str,
        plan: AnswerPlan,
        *,
        mode: str,
        full_text: Callable[[Hit], str],
        generate: Generate | None,
        describe_error: Callable[[BaseException], str],
        related: list[Hit] | None = None,
    ) -> None:
        self.query = query
        self.standalone = standalone
        self.plan = plan
        self.refused = plan.refused
        self.lang = language(query)
        self.mode = mode
        self.citations = [Citation.of(h) for h in plan.context]  # known before any text
        self.related = related or []
        self.error: str | None = None
        self._full_text = full_text
        self._generate_llm = generate
        self._describe_error = describe_error
        self._text: list[str] = []
        self._filter = CitationFilter({c.label for c in self.citations})
        self._done = False

    def __iter__(self) -> Iterator[str]:
        if self._done:
            yield from self._text
            return
        for piece in self._generate():
            self._text.append(piece)
            yield piece
        tail = self._sources_line()
        if tail:
            self._text.append(tail)
            yield tail
        self._done = True

    def result(self) -> AnswerResult:
        if not self._done:
            for _ in self:
                pass
        return AnswerResult(
            query=self.query,
            standalone_query=self.standalone,
            answer="".join(self._text).strip(),
            citations=self.citations,
            refused=self.refused,
            mode=self.mode,
            related=self.related,
            nearest=self.plan.nearest,
            removed_citations=self._filter.removed,
            error=self.error,
        )

    def _generate(self) -> Iterator[str]:
        if self.refused:
            yield self._refusal()
            return
        if self._generate_llm is None:
            yield from self._filtered(iter([self._extractive()]))
            return
        try:
            yield from self._filtered(self._generate_llm(self.plan))
        except Exception as exc:  # any LLM failure (network, 401/429, timeout, bad stream): fall back, say why
            self.error = self._describe_error(exc)
            self.mode = "extractive"
            self._filter = CitationFilter({c.label for c in self.citations})
            lead = "\n\n" if self._text else ""
            yield lead + prompts.LLM_FAILED[self.lang].format(problem=self.error) + "\n\n"
            yield from self._filtered(iter([self._extractive()]))

    def _filtered(self, pieces: Iterator[str]) -> Iterator[str]:
        for piece in pieces:
            out = self._filter.feed(piece)
            if out:
                yield out
        rest = self._filter.close()
        if rest:
            yield rest

    def _sources_line(self) -> str:
        if self.refused or self._filter.used:
            return ""
        labels = " ".join(f"[{c.label}]" for c in self.citations)
        return f"\n\n{prompts.SOURCES_LINE[self.lang]}{labels}"

    def _refusal(self) -> str:
        if self.plan.smalltalk:
            return prompts.SMALLTALK[self.plan.smalltalk][self.lang]
        text = prompts.REFUSAL[self.lang]
        if self.plan.nearest:
            lines = "\n".join(f"- {h.id} {h.question}" for h in self.plan.nearest)
            text += f"\n\n{prompts.REFUSAL_NEAREST[self.lang]}\n{lines}"
        return text

    def _extractive(self) -> str:
        top, also = self.plan.context[0], self.plan.context[1:3]
        parts = [prompts.EXTRACTIVE_HEADER[self.lang]]
        title = f"**[{top.label}] {top.question}**" if top.id else f"**[{top.label}]**"
        parts.append(f"{title}\n\n{plain_refs(excerpt(self._full_text(top)))}")
        if also:
            lines = []
            for h in also:
                first = plain_refs(excerpt(self._full_text(h), 160).split("\n")[0])
                lines.append(f"- [{h.label}] {h.question or ''} — {first}".replace("  — ", " — "))
            parts.append(prompts.EXTRACTIVE_ALSO[self.lang] + "\n" + "\n".join(lines))
        return "\n\n".join(parts)
