"""The app's non-UI services: safe upload names, no overwriting, export."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer import AnswerResult, Citation
from rag.errors import RagError
from rag.service import Assistant, export_markdown, safe_upload_name
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
    ],
)
def test_safe_upload_name(name: str, safe: str) -> None:
    assert safe_upload_name(name) == safe


def test_uploads_stay_in_the_data_dir_and_never_overwrite(tmp_path: Path) -> None:
    assistant = Assistant(get_settings())
    a = assistant.save_upload("../../notes.md", b"first")
    assert a.parent == get_settings().uploads_dir and a.name == "notes.md"
    assert assistant.save_upload("notes.md", b"first") == a  # the same file again: reused
    b = assistant.save_upload("notes.md", b"second, different")
    assert b.name == "notes-2.md" and a.read_bytes() == b"first" and b.read_bytes() == b"second, different"
    with pytest.raises(RagError, match="unsupported file type"):
        assistant.save_upload("run.sh", b"rm -rf /")


def test_export_markdown_carries_questions_answers_and_citations() -> None:
    cite = Citation(
        "Q083", "Q083", "LoRA权重是否可以合入原模型?", "五、…", "corpus/question_bank/05-peft.md", None, "…"
    )
    doc = Citation("paper.pdf p.3", None, None, None, "uploads/paper.pdf", 3, "…")
    turn = AnswerResult(
        "LoRA 能合并吗", "LoRA 能合并吗", "可以 [Q083]，见 [paper.pdf p.3]。", [cite, doc], False, "extractive"
    )
    md = export_markdown([turn])
    assert "## 问：LoRA 能合并吗" in md and "可以 [Q083]" in md
    assert "- [Q083] LoRA权重是否可以合入原模型? — corpus/question_bank/05-peft.md" in md
    assert "- [paper.pdf p.3] — uploads/paper.pdf p.3" in md
