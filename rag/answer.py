"""The answer chain: condense -> retrieve -> (refuse | answer) -> verify citations.

stream = Answerer(retriever, settings).start("LoRA 的思路?", history)
stream.citations          # known before any text: the sources given to the model
for piece in stream: ...  # answer text, fabricated citations already removed
stream.result()           # AnswerResult(answer, citations, refused, mode, ...)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

from rag import prompts
from rag.llm import describe_error, make_chat_model
from rag.retriever import Hit, Retriever
from rag.settings import Settings
from rag.text import is_topical, tokenize

MAX_HISTORY_TURNS = 6  # older turns are dropped from the prompt and from condensing
HISTORY_ANSWER_CHARS = 600  # a past answer is cut to this in the prompt
CONTEXT_K = 5  # sources given to the model (the app's top-k slider overrides it)
RELEVANCE_POOL = 10  # hits the "nothing relevant" decision looks at, whatever k is
ALSO_MARGIN = 0.12  # extractive mode also cites hits this close to the top score
NOISE_SCORE = 0.28  # a hit's fused score under this is noise: not context, not offered as "nearest"
# A refused query offers its nearest questions only above this relevance (rag/relevance.py): on the
# scope examples' refusals it cuts out-of-scope queries given offers from 402/547 to 152/547, while 11
# of the 14 wrongly refused in-scope ones still see the right entry (as with no bar).
NEAREST_RELEVANCE = 0.1
EXCERPT_CHARS = 700

_CJK = re.compile(r"[\u4e00-\u9fff]")
_BRACKET = re.compile(r"\[([^\[\]\n]{1,120})\]")
_QID = re.compile(r"^Q\d{3}$")
_NOTE_REF = re.compile(r"\[(Q\d{3})\]")
_DOC_LIKE = re.compile(r"\.(pdf|md|txt|docx|html?)\b|\bp\.\s*\d+", re.I)
# A follow-up leans on the previous turn: "what about", "…呢？", no content words at all, or a pronoun
# with no topic named before it in the question itself.
_CONTINUATION = re.compile(r"还有呢|呢[？?]?\s*$|what about|how about|^and\b", re.I)
_PRONOUN = re.compile(
    r"它们|它|其|这个|那个|这种|那种|这些|那些|该方法|上面|前面|刚才|那么"
    r"|\b(it|its|they|them|this|that|these|those)\b",
    re.I,
)

# Whole-message small talk; anything longer ("你好，LoRA 是什么") is a question and is searched.
_SMALLTALK = {
    "greet": re.compile(
        r"(你好|您好|hi|hello|hey|嗨|哈喽|哈啰|在吗|在不在|早上好|下午好|晚上好|你是谁|你是谁开发的|你是谁做的"
        r"|你能做什么|你会什么|怎么用|帮助|help|who are you|what can you do|what are you)(呀|啊|呢)?",
        re.I,
    ),
    "thanks": re.compile(
        r"(ok|好的|好)?\s*(谢谢|多谢|谢了|感谢|thanks|thank you|thx|ty)(你|啦|了)?"
        r"(,?\s*(that'?s all( for today)?|没了|没有了))?",
        re.I,
    ),
    "bye": re.compile(r"(再见|拜拜|bye|goodbye|see you|回头见)", re.I),
}
_TRIM = re.compile(r"^[\s\W_]+|[\s\W_]+$")


def smalltalk(text: str) -> str | None:
    """'你好！' -> 'greet', 'thanks, that's all for today' -> 'thanks', a real question -> None."""
    core = _TRIM.sub("", text.strip())
    return next((kind for kind, pattern in _SMALLTALK.items() if pattern.fullmatch(core)), None)


def plain_refs(text: str) -> str:
    """A note's own cross-references ("相关：[Q078]") become plain ids: they are content, not citations
    of this answer's sources, and the citation check would otherwise strip them."""
    return _NOTE_REF.sub(r"\1", text)


def language(text: str) -> str:
    return "zh" if _CJK.search(text) else "en"


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


@dataclass
class Turn:
    question: str
    answer: str
    standalone: str = ""  # the retrieval query the question became


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
            m = _BRACKET.match(self.buffer)
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
        parts = [p.strip() for p in re.split(r"[,，、;；]\s*", inner)]
        cites = [p for p in parts if _QID.match(p) or _DOC_LIKE.search(p)]
        if not cites:
            return whole  # "[1]", a Markdown link text, ...: not ours to judge
        keep = [p for p in parts if p in self.valid or (p not in cites)]
        self.removed += sum(1 for p in cites if p not in self.valid)
        self.used.update(p for p in keep if p in self.valid)
        return "".join(f"[{p}]" for p in keep if p in self.valid) if keep else ""


def excerpt(note: str, limit: int = EXCERPT_CHARS) -> str:
    """The essential part of a note, cut at a unit boundary: a paragraph, a bullet line, or a whole
    code fence / $$ block (never half a formula). The first unit always; the '相关：' line never."""
    units: list[tuple[str, bool]] = []  # (text, starts a new paragraph)
    block: list[str] = []
    fenced = False
    new_paragraph = True
    for line in note.splitlines():
        opens = line.lstrip().startswith("```") or line.strip() == "$$"
        if fenced or opens:
            block.append(line)
            fenced = fenced != opens  # toggles on an opening or closing line
            if not fenced:
                units.append(("\n".join(block), new_paragraph))
                block, new_paragraph = [], False
            continue
        if not line.strip():
            new_paragraph = True
            continue
        if line.startswith(("相关：", "相关:")):
            continue
        units.append((line, new_paragraph))
        new_paragraph = False
    if block:
        units.append(("\n".join(block), new_paragraph))
    out = ""
    for text, para in units:
        if out and len(out) + len(text) > limit:
            break
        out += ("\n\n" if para else "\n") + text if out else text
    return out


class AnswerStream:
    """One answer in progress; iterate it for text, then call result()."""

    def __init__(
        self, answerer: Answerer, query: str, standalone: str, hits: list[Hit], history: list[Turn], k: int = CONTEXT_K
    ) -> None:
        self.answerer = answerer
        self.query = query
        self.standalone = standalone
        self.lang = language(query)
        self.history = history
        retriever = answerer.retriever
        self.smalltalk = smalltalk(query)
        relevance = retriever.relevance(hits)
        self.refused = self.smalltalk is not None or relevance < retriever.min_score
        if self.refused:
            self.context: list[Hit] = []
            plausible = self.smalltalk is None and relevance >= NEAREST_RELEVANCE
            self.nearest = [h for h in hits if h.id and h.score >= NOISE_SCORE][:3] if plausible else []
        else:
            self.context = [h for h in hits if h.score >= NOISE_SCORE][:k] or hits[:1]
            self.nearest = []
        if answerer.chain is None and self.context:  # extractive: cite exactly what the text shows
            top = self.context[0]
            self.context = [top] + [h for h in self.context[1:3] if h.score >= top.score - ALSO_MARGIN]
        self.citations = [Citation.of(h) for h in self.context]
        self.related: list[Hit] = []
        if not self.refused and hits[0].id:
            shown = {h.id for h in self.context}
            self.related = [h for h in retriever.related(hits[0].id, k=8) if h.id not in shown][:5]
        self.mode = answerer.mode
        self.error: str | None = None
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
            nearest=self.nearest,
            removed_citations=self._filter.removed,
            error=self.error,
        )

    # ----- generation -----
    def _generate(self) -> Iterator[str]:
        if self.refused:
            yield self._refusal()
            return
        if self.answerer.chain is None:
            yield from self._filtered(iter([self._extractive()]))
            return
        try:
            yield from self._filtered(self.answerer.chain.stream(self._inputs()))
        except Exception as exc:  # any LLM failure (network, 401/429, timeout, bad stream): fall back, say why
            self.error = describe_error(exc, self.answerer.settings)
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
        if self.smalltalk:
            return prompts.SMALLTALK[self.smalltalk][self.lang]
        text = prompts.REFUSAL[self.lang]
        if self.nearest:
            lines = "\n".join(f"- {h.id} {h.question}" for h in self.nearest)
            text += f"\n\n{prompts.REFUSAL_NEAREST[self.lang]}\n{lines}"
        return text

    def _extractive(self) -> str:
        retriever = self.answerer.retriever
        top = self.context[0]
        parts = [prompts.EXTRACTIVE_HEADER[self.lang]]
        title = f"**[{top.label}] {top.question}**" if top.id else f"**[{top.label}]**"
        parts.append(f"{title}\n\n{plain_refs(excerpt(retriever.full_text(top)))}")
        also = self.context[1:3]
        if also:
            lines = []
            for h in also:
                first = plain_refs(excerpt(retriever.full_text(h), 160).split("\n")[0])
                lines.append(f"- [{h.label}] {h.question or ''} — {first}".replace("  — ", " — "))
            parts.append(prompts.EXTRACTIVE_ALSO[self.lang] + "\n" + "\n".join(lines))
        return "\n\n".join(parts)

    def _inputs(self) -> dict[str, Any]:
        retriever = self.answerer.retriever
        blocks = [
            prompts.CONTEXT_ITEM.format(
                label=h.label, title=h.question or h.source, body=plain_refs(retriever.full_text(h))
            )
            for h in self.context
        ]
        return {"context": "\n\n".join(blocks), "question": self.query, "history": history_messages(self.history)}


def history_messages(history: list[Turn]) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for turn in history[-MAX_HISTORY_TURNS:]:
        out += [HumanMessage(turn.question), AIMessage(turn.answer[:HISTORY_ANSWER_CHARS])]
    return out


def is_followup(question: str) -> bool:
    # "缺点呢？", "它怎么训练", "what about inference?"; a bare topic ("GeGLU") is a new question, and so
    # is one whose pronoun points back inside it ("用 langchain 后 token 消耗特别大，是它本身的问题吗")
    if not tokenize(question) or _CONTINUATION.search(question):
        return True
    pronoun = _PRONOUN.search(question)
    return pronoun is not None and not any(is_topical(t) for t in tokenize(question[: pronoun.start()]))


class Answerer:
    def __init__(self, retriever: Retriever, settings: Settings, provider: str | None = None) -> None:
        self.retriever = retriever
        self.settings = settings
        self.mode = (provider or settings.llm).strip().lower()
        self.model = make_chat_model(settings, self.mode)
        self.chain = None
        self.condense_chain = None
        if self.model is not None:
            answer_prompt = ChatPromptTemplate.from_messages(
                [("system", prompts.SYSTEM), MessagesPlaceholder("history"), ("human", prompts.HUMAN)]
            )
            self.chain = answer_prompt | self.model | StrOutputParser()
            self.condense_chain = ChatPromptTemplate.from_template(prompts.CONDENSE) | self.model | StrOutputParser()

    def condense(self, question: str, history: list[Turn]) -> str:
        """A follow-up rewritten into a standalone retrieval query (LLM when configured, else a rule)."""
        history = history[-MAX_HISTORY_TURNS:]
        if not history:
            return question
        if self.condense_chain is not None:
            convo = "\n".join(f"用户：{t.question}\n助手：{t.answer[:300]}" for t in history)
            try:
                rewritten = self.condense_chain.invoke({"history": convo, "question": question}).strip()
                if rewritten:
                    return rewritten.splitlines()[0][:300]
            except Exception:  # the answer call reports LLM problems; the rule below still works
                pass
        if is_followup(question):
            previous = history[-1].standalone or history[-1].question
            return f"{previous} {question}"
        return question

    def start(
        self, question: str, history: list[Turn] | None = None, *, k: int = CONTEXT_K, section: str | None = None
    ) -> AnswerStream:
        history = history or []
        if smalltalk(question):  # nothing to search for, and not a follow-up to rewrite
            return AnswerStream(self, question.strip(), question.strip(), [], history, k)
        # the query actually searched: a follow-up rewritten, typos repaired ("知识裤" -> "知识库")
        standalone = self.retriever.spelling.fix(self.condense(question.strip(), history))
        hits = self.retriever.search(standalone, k=max(k, RELEVANCE_POOL), section=section)
        return AnswerStream(self, question.strip(), standalone, hits, history, k)

    def answer(self, question: str, history: list[Turn] | None = None, **kw: Any) -> AnswerResult:
        return self.start(question, history, **kw).result()
