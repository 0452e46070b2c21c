"""The answer chain: condense -> retrieve -> plan (refuse | answer) -> generate, citations verified.

stream = Answerer(retriever, settings).start("LoRA 的思路?", history)
stream.citations          # known before any text: the sources given to the model
for piece in stream: ...  # answer text, fabricated citations already removed
stream.result()           # AnswerResult(answer, citations, refused, mode, ...)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from operator import itemgetter
from typing import Any

from rag.answering import prompts
from rag.answering.conversation import MAX_HISTORY_TURNS, Turn, history_messages, rule_condense, smalltalk
from rag.answering.documents import format_context, to_document
from rag.answering.llm import describe_error, make_chat_model
from rag.answering.plan import CONTEXT_K, RELEVANCE_POOL, AnswerPlan, plan_answer
from rag.answering.stream import AnswerResult, AnswerStream
from rag.retrieval.retriever import Retriever
from rag.settings import Settings

log = logging.getLogger(__name__)


class Answerer:
    def __init__(self, retriever: Retriever, settings: Settings, provider: str | None = None) -> None:
        self.retriever = retriever
        self.settings = settings
        self.mode = (provider or settings.llm).strip().lower()
        self.model = make_chat_model(settings, self.mode)
        self.chain = None
        self.condense_chain = None
        if self.model is not None:
            # LangChain's prompt and parser modules import its tracing stack (~0.4 s): only with an LLM
            from langchain_core.output_parsers import StrOutputParser
            from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
            from langchain_core.runnables import RunnableLambda, RunnablePassthrough

            answer_prompt = ChatPromptTemplate.from_messages(
                [("system", prompts.SYSTEM), MessagesPlaceholder("history"), ("human", prompts.HUMAN)]
            )
            # input: {"documents": [Document], "question": str, "history": [BaseMessage]}
            self.chain = (
                RunnablePassthrough.assign(context=itemgetter("documents") | RunnableLambda(format_context))
                | answer_prompt
                | self.model
                | StrOutputParser()
            )
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
            except Exception as exc:  # the answer call reports LLM problems to the user; the rule still works
                log.warning("condensing the follow-up failed (%s); using the rule", describe_error(exc, self.settings))
            else:
                if rewritten:
                    return rewritten.splitlines()[0][:300]
        return rule_condense(question, history)

    def start(
        self, question: str, history: list[Turn] | None = None, *, k: int = CONTEXT_K, section: str | None = None
    ) -> AnswerStream:
        history = history or []
        question = question.strip()
        kind = smalltalk(question)
        if kind:  # nothing to search for, and not a follow-up to rewrite
            return self._stream(question, question, plan_answer([], 0.0, 1.0, extractive=True, smalltalk=kind), history)
        # the query actually searched: a follow-up rewritten, typos repaired ("知识裤" -> "知识库")
        standalone = self.retriever.snapshot.spelling.fix(self.condense(question, history))
        result = self.retriever.search(standalone, k=max(k, RELEVANCE_POOL), section=section)
        relevance = self.retriever.relevance(result)
        plan = plan_answer(result.hits, relevance, self.retriever.min_score, k=k, extractive=self.chain is None)
        return self._stream(question, standalone, plan, history)

    def answer(self, question: str, history: list[Turn] | None = None, **kw: Any) -> AnswerResult:
        return self.start(question, history, **kw).result()

    def _stream(self, question: str, standalone: str, plan: AnswerPlan, history: list[Turn]) -> AnswerStream:
        related = []
        if not plan.refused and plan.context[0].id:
            shown = {h.id for h in plan.context}
            related = [h for h in self.retriever.related(plan.context[0].id, k=8) if h.id not in shown][:5]

        def generate(p: AnswerPlan) -> Iterator[str]:
            documents = [to_document(h, self.retriever.full_text(h)) for h in p.context]
            inputs = {"documents": documents, "question": question, "history": history_messages(history)}
            return self.chain.stream(inputs)

        return AnswerStream(
            question,
            standalone,
            plan,
            mode=self.mode,
            full_text=self.retriever.full_text,
            generate=generate if self.chain is not None else None,
            describe_error=lambda exc: describe_error(exc, self.settings),
            related=related,
        )
