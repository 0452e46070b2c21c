"""Browse page: sections -> questions -> note, with related questions and a button to ask in chat."""

from __future__ import annotations

import streamlit as st

from ui.common import ask, get_assistant, practise

assistant = get_assistant()
retriever = assistant.ready_retriever
catalogue = retriever.catalogue
st.title("题库浏览")
query = st.text_input("筛选问题", placeholder="输入关键词，例如 LoRA、位置编码、显存", key="browse_filter")
sections = catalogue.sections
section = st.selectbox("章节", sections, key="browse_section", disabled=bool(query))

ids = catalogue.ids
if query:
    q = query.strip().lower()
    ids = [
        i
        for i in ids
        if q in catalogue[i].question.lower() or q == i.lower() or any(q in a.lower() for a in catalogue.aliases(i))
    ]
    st.caption(f"{len(ids)} 道题匹配「{query}」")
else:
    ids = [i for i in ids if catalogue[i].section == section]

for bid in ids:
    entry = catalogue[bid]
    with st.expander(f"{bid} {entry.question}"):
        if query:
            st.caption(entry.section)
        st.markdown(catalogue.note(bid) or "（暂无笔记）")
        if aliases := catalogue.aliases(bid):
            st.caption("也常被问作：" + " · ".join(aliases[:6]))
        related = retriever.related(bid, k=4)
        if related:
            st.markdown("**相关问题：** " + " · ".join(f"{h.id} {h.question}" for h in related))
        c1, c2 = st.columns(2)
        if c1.button("在聊天中提问", key=f"ask-{bid}"):
            ask(entry.question)
            st.switch_page("ui/chat.py")
        if c2.button("练一练", key=f"practise-{bid}", on_click=practise, args=(bid,)):
            st.switch_page("ui/practice.py")
