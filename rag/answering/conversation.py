"""Conversation rules that need no LLM: small talk, follow-ups, history for the prompt, language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.retrieval.text import is_topical, tokenize

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

MAX_HISTORY_TURNS = 6  # older turns are dropped from the prompt and from condensing
HISTORY_ANSWER_CHARS = 600  # a past answer is cut to this in the prompt

_CJK = re.compile(r"[\u4e00-\u9fff]")
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


@dataclass
class Turn:
    question: str
    answer: str
    standalone: str = ""  # the retrieval query the question became


def smalltalk(text: str) -> str | None:
    """'你好！' -> 'greet', 'thanks, that's all for today' -> 'thanks', a real question -> None."""
    core = _TRIM.sub("", text.strip())
    return next((kind for kind, pattern in _SMALLTALK.items() if pattern.fullmatch(core)), None)


def language(text: str) -> str:
    return "zh" if _CJK.search(text) else "en"


def is_followup(question: str) -> bool:
    # "缺点呢？", "它怎么训练", "what about inference?"; a bare topic ("GeGLU") is a new question, and so
    # is one whose pronoun points back inside it ("用 langchain 后 token 消耗特别大，是它本身的问题吗")
    if not tokenize(question) or _CONTINUATION.search(question):
        return True
    pronoun = _PRONOUN.search(question)
    return pronoun is not None and not any(is_topical(t) for t in tokenize(question[: pronoun.start()]))


def rule_condense(question: str, history: list[Turn]) -> str:
    """Without an LLM: a follow-up carries the previous turn's query forward."""
    if history and is_followup(question):
        previous = history[-1].standalone or history[-1].question
        return f"{previous} {question}"
    return question


def history_messages(history: list[Turn]) -> list[BaseMessage]:
    from langchain_core.messages import AIMessage, HumanMessage  # only an LLM prompt needs them

    out: list[BaseMessage] = []
    for turn in history[-MAX_HISTORY_TURNS:]:
        out += [HumanMessage(turn.question), AIMessage(turn.answer[:HISTORY_ANSWER_CHARS])]
    return out
