"""Hits as LangChain `Document`s, and the context block an LLM is given."""

from __future__ import annotations

from langchain_core.documents import Document

from rag.answering import prompts
from rag.answering.citations import plain_refs
from rag.retrieval.hits import Hit


def to_document(hit: Hit, text: str) -> Document:
    """text: the hit's whole note or chunk; metadata: what a citation needs."""
    meta = {
        "label": hit.label,
        "id": hit.id,
        "question": hit.question,
        "section": hit.section,
        "source": hit.source,
        "page": hit.page,
        "score": hit.score,
        "chunk_id": hit.chunk_id,
    }
    return Document(page_content=text, metadata=meta, id=hit.chunk_id or None)


def format_context(documents: list[Document]) -> str:
    """One <context> block per source, titled by what the model must cite."""
    return "\n\n".join(
        prompts.CONTEXT_ITEM.format(
            label=d.metadata["label"],
            title=d.metadata["question"] or d.metadata["source"],
            body=plain_refs(d.page_content),
        )
        for d in documents
    )
