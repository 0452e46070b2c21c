"""Chat page: streamed, cited answers; citation cards; related questions; follow-ups."""

from __future__ import annotations

import streamlit as st

from rag.answering.citations import Citation
from rag.answering.stream import AnswerResult
from rag.errors import RagError
from rag.service import Assistant
from ui.common import answerer_for, ask, get_assistant, practise, record, sidebar, state

EXAMPLES = [
    "LoRA 的思路是什么？权重能合并回原模型吗？",
    "RMSNorm 和 LayerNorm 有什么区别？",
    "推导一下旋转位置编码 RoPE",
    "How do I estimate GPU memory for full fine-tuning a 7B model?",
    "模型老是重复输出同一句话怎么办",
    "RLHF 太贵了，有什么替代方案？",
]


def citation_card(assistant: Assistant, c: Citation, key: int) -> None:
    title = f"[{c.label}] {c.question or c.source}"
    with st.expander(title):
        if c.id:
            st.caption(f"{c.section} · {c.source}")
            st.markdown(assistant.ready_retriever.catalogue.note(c.id) or c.snippet)
            if st.button("练一练", key=f"practise-{key}-{c.id}", on_click=practise, args=(c.id,)):
                st.switch_page("ui/practice.py")
        else:
            st.caption(c.source + (f" · 第 {c.page} 页" if c.page else ""))
            st.markdown(c.snippet)


def extras(assistant: Assistant, result: AnswerResult, n: int) -> None:
    """Under an answer: the error line, citation cards, related (or nearest) questions as buttons."""
    if result.error:
        st.caption(f"⚠ {result.error}")
    if result.standalone_query != result.query:  # a follow-up rewritten or a typo repaired
        st.caption(f"检索：{result.standalone_query}")
    for c in result.citations:
        citation_card(assistant, c, n)
    follow = result.nearest if result.refused else result.related
    if follow:
        st.markdown("**最接近的题库问题**" if result.refused else "**相关问题**")
        for h in follow:
            st.button(f"{h.id} {h.question}", key=f"follow-{n}-{h.id}", on_click=ask, args=(h.question,))
    st.caption(f"模式：{result.mode}")


def main() -> None:
    assistant = get_assistant()
    cfg = sidebar(assistant)
    ss = state()
    st.title("大模型面试助手")
    turns: list[AnswerResult] = ss["turns"]
    typed = st.chat_input("输入你的面试问题…")
    question = typed or ss.get("pending")
    ss["pending"] = None
    if not turns and not question:
        st.markdown("用中文、英文或中英混合提问，答案会引用题库条目（如 `[Q077]`）。试试：")
        cols = st.columns(2)
        for i, q in enumerate(EXAMPLES):
            cols[i % 2].button(q, key=f"example-{i}", on_click=ask, args=(q,), use_container_width=True)
    for n, result in enumerate(turns):
        with st.chat_message("user"):
            st.markdown(result.query)
        with st.chat_message("assistant"):
            (st.info if result.refused else st.markdown)(result.answer)
            extras(assistant, result, n)

    if not question or not question.strip():
        return
    with st.chat_message("user"):
        st.markdown(question)
    with st.chat_message("assistant"):
        answerer = answerer_for(assistant, cfg)
        try:
            stream = answerer.start(question, ss["history"], k=cfg.k, section=cfg.section)
        except RagError as exc:  # e.g. "Q999": one line saying what to do, not a traceback
            st.error(str(exc))
            return
        if stream.refused:
            st.info("".join(stream))
        else:
            st.write_stream(stream)
        result = stream.result()
    record(result)
    st.rerun()  # redraw from state: the sidebar's export and the answer's buttons now include this turn


main()
