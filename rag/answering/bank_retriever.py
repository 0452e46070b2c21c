"""The LangChain seam: a `BaseRetriever` over the bank for any LCEL chain.

docs = BankRetriever(retriever=r, k=5).invoke("LoRA 的思路")   # [] when nothing relevant
chain = BankRetriever(retriever=r) | RunnableLambda(format_context)   # the context block an LLM gets
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from rag.answering.documents import to_document
from rag.answering.plan import CONTEXT_K, RELEVANCE_POOL, plan_answer


class BankRetriever(BaseRetriever):
    """The sources an answer would use for a query: the relevant hits (none when nothing relevant)."""

    retriever: Any  # rag.retrieval.retriever.Retriever
    k: int = CONTEXT_K
    section: str | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        r = self.retriever
        result = r.search(query, k=max(self.k, RELEVANCE_POOL), section=self.section)
        plan = plan_answer(result.hits, r.relevance(result), r.min_score, k=self.k, extractive=False)
        return [to_document(h, r.full_text(h)) for h in plan.context]
