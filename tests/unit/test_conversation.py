"""Conversation rules without an LLM: small talk, follow-ups, the rule rewrite, language, history."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from rag.answering.conversation import (
    HISTORY_ANSWER_CHARS,
    MAX_HISTORY_TURNS,
    Turn,
    history_messages,
    is_followup,
    language,
    rule_condense,
    smalltalk,
)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("你好！", "greet"),
        ("hi", "greet"),
        ("Hello!!", "greet"),
        ("你是谁开发的？", "greet"),
        ("what can you do?", "greet"),
        ("谢谢", "thanks"),
        ("ok 谢谢啦", "thanks"),
        ("thanks, that's all for today", "thanks"),
        ("拜拜", "bye"),
        ("  bye~ ", "bye"),
    ],
)
def test_small_talk_kinds(message: str, kind: str) -> None:
    assert smalltalk(message) == kind


@pytest.mark.parametrize(
    "message",
    ["你好，LoRA 是什么？", "help me with LoRA", "LoRA", "谢谢，那 RoPE 呢", "再见了各位，最后问一下显存", "", "？"],
)
def test_a_question_is_not_small_talk(message: str) -> None:
    # anything beyond the whole-message phrase is a question and is searched
    assert smalltalk(message) is None


@pytest.mark.parametrize(
    ("question", "leans_on_history"),
    [
        ("那它的缺点呢？", True),
        ("它和 QLoRA 有什么区别", True),
        ("详细说说它的原理", True),
        ("and how is it trained?", True),
        ("RoPE 呢", True),
        ("为什么", True),
        # the pronoun points back inside the question: a new question, searched as typed
        ("用langchain跑下来发现token消耗特别大,API钱烧得飞快,是它本身的问题吗", False),
        ("LoRA 和它的变体有哪些", False),
        ("Is LoRA cheaper, and why is it faster?", False),
        ("GeGLU", False),
    ],
)
def test_what_counts_as_a_follow_up(question: str, leans_on_history: bool) -> None:
    assert is_followup(question) is leans_on_history


@pytest.mark.parametrize("question", ["what about inference?", "How about QLoRA", "还有呢", "缺点呢?"])
def test_continuations_are_follow_ups(question: str) -> None:
    assert is_followup(question)


HISTORY = [Turn("什么是 LoRA?", "LoRA 是低秩适配 [Q077]。", "什么是 LoRA?")]


def test_a_follow_up_carries_the_previous_query_forward() -> None:
    assert rule_condense("那它的缺点呢？", HISTORY) == "什么是 LoRA? 那它的缺点呢？"


def test_the_previous_standalone_query_is_preferred_to_its_question() -> None:
    history = [Turn("它怎么训练", "…", "什么是 LoRA? 它怎么训练")]
    assert rule_condense("缺点呢", history) == "什么是 LoRA? 它怎么训练 缺点呢"
    assert rule_condense("缺点呢", [Turn("QLoRA 是什么", "…")]) == "QLoRA 是什么 缺点呢"  # no standalone kept


def test_a_new_question_or_no_history_is_left_as_asked() -> None:
    assert rule_condense("旋转位置编码 RoPE 的优点", HISTORY) == "旋转位置编码 RoPE 的优点"
    assert rule_condense("它的缺点呢", []) == "它的缺点呢"


@pytest.mark.parametrize(
    ("text", "lang"), [("LoRA 是什么", "zh"), ("what is LoRA", "en"), ("", "en"), ("RoPE 呢?", "zh")]
)
def test_language(text: str, lang: str) -> None:
    assert language(text) == lang


def test_history_keeps_the_last_turns_with_answers_cut() -> None:
    turns = [Turn(f"问题{i}", f"回答{i}" + "长" * 1000) for i in range(MAX_HISTORY_TURNS + 3)]
    messages = history_messages(turns)
    assert len(messages) == 2 * MAX_HISTORY_TURNS
    assert [type(m) for m in messages[:2]] == [HumanMessage, AIMessage]
    assert messages[0].content == "问题3"  # the three oldest turns are dropped
    assert messages[-2].content == f"问题{MAX_HISTORY_TURNS + 2}"
    assert messages[1].content == ("回答3" + "长" * 1000)[:HISTORY_ANSWER_CHARS]
    assert all(len(m.content) <= HISTORY_ANSWER_CHARS for m in messages)
    assert history_messages([]) == []
