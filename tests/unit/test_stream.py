"""AnswerStream: the text of one planned answer, citations checked as it streams, LLM failures fallen back."""

from __future__ import annotations

from collections.abc import Iterator

from rag.answering import prompts
from rag.answering.plan import AnswerPlan
from rag.answering.stream import AnswerStream
from rag.retrieval.hits import Hit

LORA = Hit("Q077", "LoRA 的思路是什么?", "五、PEFT", "bank/05-peft.md", None, 0.8, "低秩")
QLORA = Hit("Q081", "QLoRA 的特点?", "五、PEFT", "bank/05-peft.md", None, 0.75, "量化")
PAPER = Hit(None, None, None, "uploads/paper.pdf", 3, 0.7, "page")
NOTES = {
    "Q077": "LoRA 冻结原权重，只训练低秩矩阵 A、B。\n\n$$\nW' = W + BA\n$$\n\n相关：[Q078]",
    "Q081": "QLoRA 用 4-bit NF4 量化底座，再训练 LoRA。\n第二行。",
    "uploads/paper.pdf": "The paper's page three.",
}


def full_text(hit: Hit) -> str:
    return NOTES[hit.id or hit.source]


def answer(question: str, plan: AnswerPlan, generate=None) -> AnswerStream:
    return AnswerStream(
        question,
        question,
        plan,
        mode="openai" if generate else "extractive",
        full_text=full_text,
        generate=generate,
        describe_error=lambda exc: f"{type(exc).__name__}: {exc}",
    )


def test_extractive_shows_the_top_note_and_lists_close_hits() -> None:
    stream = answer("LoRA 是什么", AnswerPlan(False, 0.9, context=[LORA, QLORA, PAPER]))
    assert [c.label for c in stream.citations] == ["Q077", "Q081", "paper.pdf p.3"]  # before any text
    result = stream.result()
    assert result.answer == (
        f"{prompts.EXTRACTIVE_HEADER['zh']}\n\n"
        "**[Q077] LoRA 的思路是什么?**\n\nLoRA 冻结原权重，只训练低秩矩阵 A、B。\n\n$$\nW' = W + BA\n$$\n\n"
        f"{prompts.EXTRACTIVE_ALSO['zh']}\n"
        "- [Q081] QLoRA 的特点? — QLoRA 用 4-bit NF4 量化底座，再训练 LoRA。\n"
        "- [paper.pdf p.3] — The paper's page three."
    )
    assert not result.refused and result.mode == "extractive" and result.removed_citations == 0


def test_a_refusal_in_the_users_language_with_its_nearest_questions() -> None:
    zh = answer("红烧肉怎么做", AnswerPlan(True, 0.2, nearest=[LORA])).result()
    assert zh.refused and zh.citations == [] and zh.nearest == [LORA]
    assert zh.answer == f"{prompts.REFUSAL['zh']}\n\n{prompts.REFUSAL_NEAREST['zh']}\n- Q077 LoRA 的思路是什么?"
    en = answer("best hiking trail?", AnswerPlan(True, 0.0)).result()
    assert en.answer == prompts.REFUSAL["en"]


def test_small_talk_gets_its_reply() -> None:
    result = answer("thanks!", AnswerPlan(True, 0.0, smalltalk="thanks")).result()
    assert result.answer == prompts.SMALLTALK["thanks"]["en"] and result.refused


def test_llm_text_is_streamed_with_fabricated_citations_removed() -> None:
    def generate(plan: AnswerPlan) -> Iterator[str]:
        assert plan.context == [LORA]
        yield from ["LoRA 训练低秩矩阵 [Q0", "77]，见 [Q9", "99]。"]

    stream = answer("LoRA 是什么", AnswerPlan(False, 0.9, context=[LORA]), generate)
    pieces = list(stream)
    assert pieces == ["LoRA 训练低秩矩阵 ", "[Q077]，见 ", "。"]
    result = stream.result()
    assert result.answer == "LoRA 训练低秩矩阵 [Q077]，见 。" and result.removed_citations == 1
    assert result.mode == "openai" and result.error is None
    assert list(stream) == pieces  # iterating again replays the text


def test_an_answer_citing_nothing_gets_its_sources_listed() -> None:
    result = answer("what is LoRA", AnswerPlan(False, 0.9, context=[LORA, PAPER]), lambda p: iter(["Low rank."]))
    assert result.result().answer == f"Low rank.\n\n{prompts.SOURCES_LINE['en']}[Q077] [paper.pdf p.3]"


def test_an_llm_failure_mid_stream_falls_back_to_the_extractive_answer() -> None:
    def generate(plan: AnswerPlan) -> Iterator[str]:
        yield "LoRA 的核心"
        raise TimeoutError("took too long")

    stream = answer("LoRA 是什么", AnswerPlan(False, 0.9, context=[LORA]), generate)
    result = stream.result()
    assert result.mode == "extractive" and result.error == "TimeoutError: took too long"
    warning = prompts.LLM_FAILED["zh"].format(problem=result.error)
    assert result.answer.startswith(f"LoRA 的核心\n\n{warning}\n\n{prompts.EXTRACTIVE_HEADER['zh']}")
    assert "**[Q077] LoRA 的思路是什么?**" in result.answer
    assert prompts.SOURCES_LINE["zh"] not in result.answer  # the extractive text cites its source
