"""The LangChain seam: `BankRetriever` is a real `BaseRetriever` over the index, usable in any LCEL chain,
giving the same sources and context block the answer chain gives its LLM."""

from __future__ import annotations

import asyncio
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda

from ingest.pipeline import ingest
from rag.answering.bank_retriever import BankRetriever
from rag.answering.chain import Answerer
from rag.answering.documents import format_context
from rag.retrieval.retriever import Retriever
from rag.settings import Settings, get_settings
from tests.support.fake_openai import FakeOpenAI
from tests.support.pdfgen import make_pdf

QUERY = "LoRA 的权重能合并回原模型吗"
METADATA = {"id", "label", "section", "source", "page", "score", "chunk_id"}


def test_it_is_a_base_retriever_returning_the_answers_sources(retriever: Retriever) -> None:
    bank = BankRetriever(retriever=retriever)
    assert isinstance(bank, BaseRetriever)
    docs = bank.invoke(QUERY)
    assert docs and all(isinstance(d, Document) for d in docs) and len(docs) <= bank.k
    top = docs[0]
    assert set(top.metadata) >= METADATA
    entry = retriever.catalogue["Q083"]
    assert top.metadata["id"] == top.metadata["label"] == "Q083"
    assert top.metadata["section"] == entry.section and top.metadata["source"] == entry.source
    assert top.metadata["page"] is None  # a bank entry has no page
    assert 0.0 < top.metadata["score"] <= 1.0
    assert top.metadata["chunk_id"] in retriever.snapshot.row and top.id == top.metadata["chunk_id"]
    assert top.page_content == retriever.catalogue.note("Q083")  # the whole note, not the snippet
    scores = [d.metadata["score"] for d in docs]
    assert scores == sorted(scores, reverse=True)
    ids = [d.metadata["id"] for d in docs]  # one document per bank entry
    assert len(set(ids)) == len(ids)


def test_k_and_section_are_honoured(retriever: Retriever) -> None:
    assert len(BankRetriever(retriever=retriever, k=1).invoke(QUERY)) == 1
    docs = BankRetriever(retriever=retriever, section="位置编码").invoke("有什么优点")
    assert docs and all(d.metadata["section"] == "十二、大模型位置编码篇" for d in docs)


def test_an_out_of_scope_query_returns_no_documents(retriever: Retriever) -> None:
    bank = BankRetriever(retriever=retriever)
    assert bank.invoke("红烧肉怎么做才好吃") == []
    assert bank.invoke("明天北京天气怎么样") == []


def test_it_composes_in_lcel(retriever: Retriever) -> None:
    chain = BankRetriever(retriever=retriever) | RunnableLambda(format_context)
    context = chain.invoke(QUERY)
    assert isinstance(context, str) and context.startswith("[Q083] ")
    assert retriever.catalogue["Q083"].question in context
    assert "merge_and_unload" in context  # the note's body
    lora, nothing = chain.batch([QUERY, "红烧肉怎么做才好吃"])
    assert lora == context and nothing == ""
    assert asyncio.run(chain.ainvoke(QUERY)) == context


def test_the_context_block_is_what_the_llm_receives(retriever: Retriever, monkeypatch) -> None:
    with FakeOpenAI() as server:
        monkeypatch.setenv("RAG_LLM", "openai")
        monkeypatch.setenv("RAG_LLM_BASE_URL", server.url)
        monkeypatch.setenv("RAG_LLM_API_KEY", "sk-test-langchain")
        get_settings.cache_clear()
        Answerer(retriever, get_settings()).answer(QUERY)
    user = server.requests[-1]["messages"][-1]["content"]
    sent = user.split("<context>\n")[1].split("\n</context>")[0]
    assert sent == (BankRetriever(retriever=retriever) | RunnableLambda(format_context)).invoke(QUERY)


def test_a_document_chunk_carries_its_file_and_page(embeddings, tmp_path: Path) -> None:
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(
        make_pdf(
            [
                ["Introduction to our survey of inference systems."],
                [
                    "Speculative decoding uses a small draft model to propose several tokens,",
                    "which the large target model then verifies in one parallel forward pass.",
                ],
            ]
        )
    )
    settings: Settings = get_settings()
    report = ingest([pdf], settings, show_bar=False, embeddings=embeddings)
    assert report.added and not report.failed
    docs = BankRetriever(retriever=Retriever(settings, embeddings=embeddings)).invoke(
        "how does speculative decoding use a draft model"
    )
    top = docs[0]
    assert top.metadata["label"] == "paper.pdf p.2" and top.metadata["page"] == 2
    assert top.metadata["id"] is None and top.metadata["question"] is None and top.metadata["section"] is None
    assert top.metadata["source"] == report.added[0]
    assert "verifies in one parallel forward pass" in top.page_content
    assert format_context(docs).startswith(f"[paper.pdf p.2] {report.added[0]}\n")  # titled by its file
