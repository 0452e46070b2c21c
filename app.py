"""`streamlit run app.py` — the chat UI. Pages live in ui/, logic in rag/ and ingest/."""

import streamlit as st

st.set_page_config(page_title="大模型面试助手", page_icon=":material/school:", layout="wide")
st.navigation(
    [
        st.Page("ui/chat.py", title="问答", icon=":material/chat:", default=True),
        st.Page("ui/browse.py", title="题库浏览", icon=":material/menu_book:"),
        st.Page("ui/practice.py", title="练习", icon=":material/record_voice_over:"),
        st.Page("ui/progress.py", title="进度", icon=":material/trending_up:"),
        st.Page("ui/knowledge.py", title="知识库", icon=":material/folder_open:"),
    ]
).run()
