"""Chunking: bank entries into question / note / alias chunks, documents by sentence with overlap."""

from __future__ import annotations

from langchain_core.documents import Document

from ingest.chunking import ALIASES_PER_CHUNK, NOTE_CHUNK_CHARS, chunk_bank, chunk_documents, chunk_id
from rag.bank import Entry

ENTRY = Entry(
    "Q077", "五、PEFT", "LoRA 的思路是什么?", "低秩分解。", "05-peft.md", ("LoRA 的思路是什么?", "a1", "a2", "a3", "a4")
)


def test_a_bank_entry_becomes_question_note_and_alias_chunks() -> None:
    chunks = chunk_bank([ENTRY], "corpus/question_bank/05-peft.md", "h1")
    assert [(c.metadata["kind"], c.text) for c in chunks] == [
        ("question", "LoRA 的思路是什么?"),
        ("note", "LoRA 的思路是什么?\n低秩分解。"),  # the note says what it answers
        ("alias", "a1\na2\na3"),  # the alias equal to the question is left out
        ("alias", "a4"),
    ]
    assert ALIASES_PER_CHUNK == 3
    for n, c in enumerate(chunks):
        assert c.metadata == {
            "kind": c.metadata["kind"],
            "id": "Q077",
            "section": "五、PEFT",
            "question": "LoRA 的思路是什么?",
            "source": "corpus/question_bank/05-peft.md",
            "page": 0,
            "chunk": n,
            "file_hash": "h1",
        }


def test_an_entry_without_note_or_aliases_is_its_question() -> None:
    bare = Entry("Q001", "一、S", "问题?", "", "x.md")
    assert [c.metadata["kind"] for c in chunk_bank([bare], "x.md", "h")] == ["question"]


def test_a_long_note_is_split_and_every_piece_starts_with_the_question() -> None:
    note = "。".join(f"第{i}句讲的是低秩适配训练中的一个要点" for i in range(80))
    assert len(note) > NOTE_CHUNK_CHARS
    long = Entry("Q002", "一、S", "长问题?", note, "x.md")
    notes = [c for c in chunk_bank([long], "x.md", "h") if c.metadata["kind"] == "note"]
    assert len(notes) > 1
    assert all(c.text.startswith("长问题?\n") and len(c.text) <= len("长问题?\n") + NOTE_CHUNK_CHARS for c in notes)
    assert notes[-1].text.endswith(note[-10:])


def test_a_note_up_to_the_limit_stays_whole() -> None:
    note = "字" * NOTE_CHUNK_CHARS
    entry = Entry("Q003", "一、S", "q", note, "x.md")
    assert [c.text for c in chunk_bank([entry], "x.md", "h") if c.metadata["kind"] == "note"] == [f"q\n{note}"]


def test_chunk_ids_are_stable_and_content_addressed() -> None:
    assert chunk_id("a.md", "note", "x") == chunk_id("a.md", "note", "x")
    assert len({chunk_id("a.md", "note", "x"), chunk_id("b.md", "note", "x"), chunk_id("a.md", "alias", "x")}) == 3
    assert chunk_id("a.md", "note", "x").split("-")[0] == chunk_id("a.md", "question", "y").split("-")[0]
    first = chunk_bank([ENTRY], "p.md", "h1")
    again = chunk_bank([ENTRY], "p.md", "h2")  # another file hash: the same chunks, the same ids
    assert [c.id for c in first] == [c.id for c in again]


def test_chinese_chunking_splits_on_sentence_ends_with_overlap() -> None:
    sentences = [f"第{i}句讲的是大模型微调中的一个要点，需要仔细理解。" for i in range(40)]
    chunks = chunk_documents([Document(page_content="".join(sentences), metadata={"page": 2})], "x.txt", "h", 200, 40)
    assert len(chunks) > 3
    assert all(len(c.text) <= 200 for c in chunks)
    assert all(c.text.endswith("。") for c in chunks[:-1])  # cut at a sentence end, not mid-sentence
    assert all(c.metadata["page"] == 2 and c.metadata["kind"] == "doc" for c in chunks)
    assert [c.metadata["chunk"] for c in chunks] == list(range(len(chunks)))
    # overlap: each chunk starts with text that ended the previous one
    assert chunks[1].text[:10] in chunks[0].text


def test_repeated_passages_are_kept_once_per_page() -> None:
    page = Document(page_content="版权所有。", metadata={"page": 1})
    other = Document(page_content="版权所有。", metadata={"page": 2})
    chunks = chunk_documents([page, page, other], "x.pdf", "h", 200, 40)
    assert [c.metadata["page"] for c in chunks] == [1, 2]
    assert chunks[0].metadata["id"] == "" and chunks[0].metadata["source"] == "x.pdf"
