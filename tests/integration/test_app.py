"""The Streamlit app through streamlit.testing's AppTest: every page, on the real index."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from rag.settings import Settings, get_settings
from tests.support.pdfgen import make_pdf

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 180  # a first run loads the embedder and the index; 2 cores are shared with other suites


@pytest.fixture(autouse=True)
def fresh_resource_cache() -> Iterator[None]:
    # the app caches one Assistant per settings for the process: no test may see another's
    yield
    st.cache_resource.clear()


def app() -> AppTest:
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()


def no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def labels(at: AppTest) -> list[str]:
    return [e.label for e in at.expander]


def test_chat_round_trip_shows_a_cited_answer(use_bank_index: Settings) -> None:
    at = app()
    no_exceptions(at)
    assert any("RMSNorm" in b.label for b in at.button), "example questions on the empty chat"
    at.chat_input[0].set_value("LoRA 训练后的权重可以合并到原模型吗").run()
    no_exceptions(at)
    assert labels(at)[0].startswith("[Q083]")
    assert any("[Q083]" in m.value for m in at.markdown)
    assert any(b.label.startswith("Q0") for b in at.button), "related questions as buttons"
    assert "extractive" in " ".join(c.value for c in at.caption)


def test_follow_up_uses_history_and_new_chat_clears(use_bank_index: Settings) -> None:
    at = app()
    at.chat_input[0].set_value("什么是 QLoRA?").run()
    at.chat_input[0].set_value("那它的特点呢？").run()
    no_exceptions(at)
    turns = at.session_state["turns"]
    assert len(turns) == 2 and "QLoRA" in turns[1].standalone_query
    assert {c.id for c in turns[1].citations} & {"Q080", "Q081"}
    export = at.get("download_button")[0]
    assert not export.proto.disabled, "导出 is enabled once the chat has a turn"
    next(b for b in at.button if b.label == "新对话").click().run()
    assert at.session_state["turns"] == []


def test_related_question_button_asks_it(use_bank_index: Settings) -> None:
    at = app()
    at.chat_input[0].set_value("RoPE 的思路是什么").run()
    related = next(b for b in at.button if b.label.startswith("Q1"))
    related.click().run()
    no_exceptions(at)
    turns = at.session_state["turns"]
    assert len(turns) == 2 and turns[1].query == related.label.split(" ", 1)[1]


def test_refusal_is_shown_as_such(use_bank_index: Settings) -> None:
    at = app()
    at.chat_input[0].set_value("红烧肉怎么做").run()
    no_exceptions(at)
    assert any("没有与这个问题相关的内容" in i.value for i in at.info)
    assert at.session_state["turns"][0].refused


def test_an_unknown_id_is_one_error_line_not_a_traceback(use_bank_index: Settings) -> None:
    at = app()
    at.chat_input[0].set_value("Q999").run()
    no_exceptions(at)
    assert any("unknown id Q999" in e.value for e in at.error)
    assert not at.session_state["turns"]  # nothing recorded: the next question starts clean


def test_the_searched_query_is_shown_when_it_differs(use_bank_index: Settings) -> None:
    at = app()
    at.chat_input[0].set_value("选转位置编码的思路是啥").run()
    no_exceptions(at)
    assert any(c.value == "检索：旋转位置编码的思路是啥" for c in at.caption)


def test_a_greeting_gets_a_greeting(use_bank_index: Settings) -> None:
    at = app()
    at.chat_input[0].set_value("你好").run()
    no_exceptions(at)
    assert any("大模型面试助手" in i.value for i in at.info)
    assert not labels(at), "no sources for small talk"


def test_llm_error_shows_one_line_and_the_extractive_answer(
    use_bank_index: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_LLM", "openai")
    monkeypatch.setenv("RAG_LLM_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens on the discard port
    monkeypatch.setenv("RAG_LLM_API_KEY", "sk-app-test-SECRET")
    monkeypatch.setenv("RAG_LLM_TIMEOUT", "2")
    get_settings.cache_clear()
    at = app()
    at.chat_input[0].set_value("GeGLU 公式").run()
    no_exceptions(at)
    result = at.session_state["turns"][0]
    assert result.mode == "extractive" and "cannot reach" in result.error
    assert labels(at)[0].startswith("[Q171]")
    page_text = " ".join(str(x.value) for x in [*at.markdown, *at.caption, *at.text_input])
    assert "sk-app-test-SECRET" not in page_text


def test_browse_shows_notes_and_filters(use_bank_index: Settings) -> None:
    at = app()
    at.switch_page("ui/browse.py").run()
    no_exceptions(at)
    assert labels(at)[0].startswith("Q001")
    at.text_input(key="browse_filter").set_value("Deep Norm").run()
    assert set(labels(at)) == {"Q158 Deep Norm 有什么优点?", "Q162 Deep Norm 思路?", "Q163 写一下 Deep Norm 代码实现?"}
    assert any("```python" in m.value or "DeepNorm" in m.value for m in at.markdown)
    at.text_input(key="browse_filter").set_value("胡说八道").run()  # in 问法 lines, in no question
    assert "Q040 LLMs 存在模型幻觉问题,请问如何处理?" in labels(at)
    assert all("胡说八道" not in label for label in labels(at))
    assert any(c.value.startswith("也常被问作：") and "胡说八道" in c.value for c in at.caption)
    at.text_input(key="browse_filter").set_value("Deep Norm").run()
    next(b for b in at.button if b.key == "ask-Q163").click().run()
    no_exceptions(at)
    assert at.session_state["turns"][-1].citations[0].id in {"Q163", "Q162"}


def test_upload_pdf_listed_searchable_then_deleted(writable_index: Settings) -> None:
    at = app()
    at.switch_page("ui/knowledge.py").run()
    no_exceptions(at)
    pdf = make_pdf([["FlashAttention tiles the attention matrix in SRAM."], ["Page two: IO-aware kernels."]])
    at.file_uploader[0].set_value(
        [("../../flash notes.pdf", pdf, "application/pdf"), ("scan.pdf", make_pdf([[]]), "application/pdf")]
    ).run()
    next(b for b in at.button if b.label == "导入").click().run()
    no_exceptions(at)
    assert any("no extractable text" in e.value for e in at.error), "the bad file shows its reason"
    uploads = writable_index.data_dir / "uploads"
    assert sorted(p.name for p in uploads.iterdir()) == ["flash_notes.pdf"], "safe name, failed file not kept"
    sources = " ".join(m.value for m in at.markdown)
    assert "uploads/flash_notes.pdf" in sources
    from ui.common import assistant_for

    assistant = assistant_for(get_settings())
    hit = assistant.ready_retriever.search("attention tiles in SRAM", k=1)[0]
    assert hit.source.endswith("flash_notes.pdf") and hit.page == 1
    pointer = writable_index.data_dir / "snapshots" / "CURRENT"
    with_upload = pointer.read_text(encoding="utf-8")

    delete = next(b for b in at.button if b.key and b.key.startswith("del-") and "flash_notes" in b.key)
    delete.click().run()
    no_exceptions(at)
    assert "flash_notes.pdf" not in " ".join(m.value for m in at.markdown)
    assert not (uploads / "flash_notes.pdf").exists()
    assert all(not h.source.endswith("flash_notes.pdf") for h in assistant.ready_retriever.search("SRAM", k=5))
    assert pointer.read_text(encoding="utf-8") != with_upload, "the delete rebuilt the search snapshot"

    # a new session (a browser tab opened after the delete) sees the index without the upload
    st.cache_resource.clear()
    again = app()
    again.switch_page("ui/knowledge.py").run()
    no_exceptions(again)
    assert "flash_notes.pdf" not in " ".join(m.value for m in again.markdown)


def test_upload_over_the_size_limit_is_refused(writable_index: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    at = app()
    at.switch_page("ui/knowledge.py").run()
    at.file_uploader[0].set_value([("big.txt", b"a" * (2 * 1024 * 1024), "text/plain")]).run()
    next(b for b in at.button if b.label == "导入").click().run()
    no_exceptions(at)
    assert any("over the 1 MB limit" in e.value for e in at.error)
    uploads = writable_index.data_dir / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_first_start_builds_the_index_with_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus" / "question_bank"
    corpus.mkdir(parents=True)
    shutil.copy(REPO / "corpus/question_bank/13-tokenizer.md", corpus)
    monkeypatch.setenv("RAG_CORPUS_DIR", str(tmp_path / "corpus"))
    get_settings.cache_clear()
    at = app()
    no_exceptions(at)
    assert any("索引已建立" in s.label for s in at.status), [s.label for s in at.status]
    assert (get_settings().snapshots_dir / "CURRENT").is_file(), "the first start also leaves the search snapshot"
    at.chat_input[0].set_value("BPE 怎么构建词表").run()
    assert at.session_state["turns"][0].citations[0].id == "Q151"


def practice_page() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("ui/practice.py")
    return at.run()


def test_practice_round_answer_graded_next_and_progress_updated(use_bank_index: Settings) -> None:
    from rag.practice.progress import ProgressStore

    at = practice_page()
    no_exceptions(at)
    at.selectbox(key="practice_mode").set_value("section").run()
    at.selectbox(key="practice_section").set_value(
        next(o for o in at.selectbox(key="practice_section").options if "PEFT" in o)
    )
    at.slider(key="practice_n").set_value(2).run()
    next(b for b in at.button if b.label == "开始练习").click().run()
    no_exceptions(at)
    rnd = at.session_state["practice_round"]
    assert len(rnd.queue) == 2 and "第 1 / 2 题" in " ".join(c.value for c in at.caption)
    at.text_area[0].set_value("LoRA 冻结原权重，只训练低秩矩阵 B 和 A，B 初始化为 0，训练后可以合并回原权重。")
    next(b for b in at.button if b.label == "提交").click().run()
    no_exceptions(at)
    assert at.metric[0].label == "得分"
    assert any("参考笔记" in e.label for e in at.expander)
    next(b for b in at.button if b.label == "下一题").click().run()
    assert "第 2 / 2 题" in " ".join(c.value for c in at.caption)
    next(b for b in at.button if b.label == "不知道").click().run()
    assert at.metric[0].value == "0 / 100"
    next(b for b in at.button if b.label == "查看本轮结果").click().run()
    assert any("本轮结束" in s.value for s in at.subheader)
    store = ProgressStore(get_settings().practice_path)
    assert [a.kind for a in store.attempts("default")] == ["unknown", "answered"]
    assert store.attempts("default")[1].entry_id == rnd.queue[0]


def test_progress_page_shows_mastery_and_weakest(use_bank_index: Settings) -> None:
    from rag.practice.grading import Grade
    from rag.practice.progress import ProgressStore

    store = ProgressStore(get_settings().practice_path)
    store.record(
        "default", Grade("Q077", "什么是 LoRA?", 35, [], "offline", answer="x"), "五、大模型参数高效微调(PEFT) 面试题"
    )
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.switch_page("ui/progress.py")
    at.run()
    no_exceptions(at)
    assert at.metric[0].value == "1"
    assert any("Q077" in m.value and "35" in m.value for m in at.markdown)
    assert any(b.label == "练一练" for b in at.button)
