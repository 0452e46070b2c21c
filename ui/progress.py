"""进度 page: mastery by section, due reviews, streak, weakest entries, recent attempts; export/import."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from rag.errors import RagError
from rag.practice.session import Round
from ui.common import get_coach, practise, profile_picker

coach = get_coach()
profile = profile_picker(coach)
report = coach.progress(profile, weakest=8, recent=15)
st.title("练习进度")

c1, c2, c3 = st.columns(3)
c1.metric("练习次数", report["attempts"])
c2.metric("连续天数", report["streak_days"])
c3.metric("今日到期", len(report["due_today"]))


def start(mode: str, ids: list[str]) -> None:
    st.session_state["practice_round"] = Round(profile, mode, ids)
    st.session_state["practice_grade"] = None


if report["attempts"] == 0:
    st.info("还没有练习记录。到「练习」页开始一轮模拟面试吧。")
else:
    st.subheader("各章节掌握情况")
    frame = pd.DataFrame(report["sections"])
    frame["章节"] = frame["section"].str.replace(r"\s*面试题$", "", regex=True).str.slice(0, 14)
    frame["掌握"] = frame["mastered"]
    frame["练过未掌握"] = frame["attempted"] - frame["mastered"]
    frame["未练"] = frame["total"] - frame["attempted"]
    st.bar_chart(frame.set_index("章节")[["掌握", "练过未掌握", "未练"]], horizontal=True, height=420)
    st.caption("掌握：最近一次得分 ≥ 80。")

    due_label = f"复习今日到期的 {len(report['due_today'])} 道题"
    if report["due_today"] and st.button(due_label, type="primary"):
        start("due", report["due_today"][:10])
        st.switch_page("ui/practice.py")
    if report["weakest"]:
        st.subheader("最薄弱的题")
        if st.button("练习薄弱题"):
            start("weakest", [w["id"] for w in report["weakest"]][:5])
            st.switch_page("ui/practice.py")
        for w in report["weakest"]:
            a, b = st.columns([5, 1])
            a.markdown(f"[{w['id']}] {w['question']} — 最近 **{w['score']}** 分")
            if b.button("练一练", key=f"weak-{w['id']}", on_click=practise, args=(w["id"],)):
                st.switch_page("ui/practice.py")
    st.subheader("最近练习")
    st.dataframe(
        pd.DataFrame(report["recent"]).rename(columns={"id": "题号", "score": "得分", "kind": "类型", "time": "时间"}),
        hide_index=True,
        use_container_width=True,
    )

with st.expander("导出 / 导入 / 删除档案"):
    if report["attempts"]:
        st.download_button(
            "导出进度 (JSON)",
            json.dumps(coach.store.export(profile), ensure_ascii=False, indent=1),
            file_name=f"progress-{profile}.json",
            mime="application/json",
        )
    upload = st.file_uploader("导入进度 (JSON)", type=["json"], key="progress_import")
    if upload is not None and st.button("导入"):
        try:
            name, added = coach.store.import_(json.loads(upload.getvalue().decode("utf-8")), profile)
            st.success(f"已导入 {added} 条练习记录到档案 {name}")
        except (RagError, ValueError) as exc:
            st.error(f"{upload.name}: {exc}")
    sure = st.checkbox(f"确认删除档案 {profile} 的全部练习记录", key="confirm_delete")
    if st.button("删除档案", disabled=not sure):
        try:
            n = coach.store.delete_profile(profile)
            st.session_state["profile"] = coach.settings.profile
            st.success(f"已删除档案 {profile}（{n} 条记录）")
        except RagError as exc:
            st.error(str(exc))
