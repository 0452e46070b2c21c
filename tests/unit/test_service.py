"""The app's pure services: safe upload names, conversation export, provider errors, key redaction."""

from __future__ import annotations

import pytest

from rag.answering.citations import Citation
from rag.answering.llm import PROVIDERS, make_chat_model, redact
from rag.answering.stream import AnswerResult
from rag.errors import RagError
from rag.service import export_markdown, safe_upload_name
from rag.settings import get_settings


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd.md", "passwd.md"),
        ("..\\..\\windows\\notes.TXT", "notes.txt"),
        ("我的 笔记(1).PDF", "我的_笔记_1.pdf"),
        (".hidden.md", "hidden.md"),
        ("/abs/path/a.md", "a.md"),
        ("???.md", "upload.md"),
        ("x" * 200 + ".md", "x" * 80 + ".md"),
    ],
)
def test_safe_upload_name(name: str, safe: str) -> None:
    assert safe_upload_name(name) == safe


def test_export_markdown_carries_questions_answers_and_citations() -> None:
    cite = Citation(
        "Q083", "Q083", "LoRA权重是否可以合入原模型?", "五、…", "corpus/question_bank/05-peft.md", None, "…"
    )
    doc = Citation("paper.pdf p.3", None, None, None, "uploads/paper.pdf", 3, "…")
    turn = AnswerResult(
        "LoRA 能合并吗", "LoRA 能合并吗", "可以 [Q083]，见 [paper.pdf p.3]。", [cite, doc], False, "extractive"
    )
    refused = AnswerResult("红烧肉", "红烧肉", "没有相关内容。", [], True, "extractive")
    md = export_markdown([turn, refused])
    assert md.startswith("# 大模型面试助手 · 对话记录\n")
    assert "## 问：LoRA 能合并吗" in md and "可以 [Q083]" in md
    assert "- [Q083] LoRA权重是否可以合入原模型? — corpus/question_bank/05-peft.md" in md
    assert "- [paper.pdf p.3] — uploads/paper.pdf p.3" in md
    assert md.count("**引用**") == 1 and "## 问：红烧肉\n\n没有相关内容。" in md


def test_an_unknown_provider_lists_the_choices() -> None:
    with pytest.raises(
        RagError, match="unknown LLM provider 'gpt5'; valid choices: extractive, openai, ollama, huggingface"
    ):
        make_chat_model(get_settings(), "gpt5")
    assert PROVIDERS == ("extractive", "openai", "ollama", "huggingface")
    assert make_chat_model(get_settings(), " Extractive ") is None


def test_huggingface_needs_a_local_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_LLM_MODEL", "/no/such/model")
    get_settings.cache_clear()
    with pytest.raises(RagError, match="RAG_LLM_MODEL to be a local model directory; /no/such/model"):
        make_chat_model(get_settings(), "huggingface")


def test_redact_hides_the_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_LLM_API_KEY", "sk-SECRET-4242")
    get_settings.cache_clear()
    assert redact("401 for key sk-SECRET-4242 at x", get_settings()) == "401 for key *** at x"
    monkeypatch.delenv("RAG_LLM_API_KEY")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-OTHER")
    get_settings.cache_clear()
    assert redact("sk-OTHER", get_settings()) == "***"  # the fallback key too
