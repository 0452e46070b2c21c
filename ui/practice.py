"""练习 page: a mock interview. One question at a time; answer, skip or 不知道; graded against the note."""

from __future__ import annotations

import streamlit as st

from rag.errors import RagError
from rag.practice.coach import Coach
from rag.practice.grading import Grade
from rag.practice.session import MODE_LABELS, MODES, Round, ask_text
from ui.common import ask, get_coach, profile_picker, session_llm

STATUS_LABEL = {
    "covered": ":green[:material/check_circle: 讲到了]",
    "partly": ":orange[:material/radio_button_partial: 部分]",
    "missed": ":red[:material/cancel: 没讲]",
    "conflict": ":red[:material/error: 与笔记矛盾]",
}


def start_round(coach: Coach, profile: str, mode: str, n: int, section: str | None) -> None:
    ss = st.session_state
    try:
        ids = coach.pick(profile, mode, n, section)
    except RagError as exc:
        st.error(str(exc))
        return
    if not ids:
        st.info("今天没有到期需要复习的题目，换个模式试试。" if mode == "due" else "没有可练习的题目。")
        return
    ss["practice_round"] = Round(profile, mode, ids)
    ss["practice_grade"] = None


def submit(coach: Coach, rnd: Round, answer: str, kind: str) -> None:
    bid = rnd.current
    assert bid is not None
    grade = coach.grade(bid, answer if kind == "answered" else "", set(rnd.asked), session_llm(coach.settings))
    coach.record(rnd.profile, grade, kind, rnd.mode)
    rnd.grades.append(grade)
    st.session_state["practice_grade"] = grade


def next_question(rnd: Round) -> None:
    rnd.advance()
    st.session_state["practice_grade"] = None


def answer_follow_up(rnd: Round, grade: Grade) -> None:
    """The interviewer's 追问 becomes the next question of this round."""
    rnd.queue.insert(rnd.position + 1, grade.follow_up_id)
    next_question(rnd)


def ask_assistant(grade: Grade) -> None:
    """问问助手: open the chat on what the answer missed."""
    missed = [p.label for p in grade.missed][:3]
    ask(f"{grade.question} 请重点讲讲：{'、'.join(missed)}" if missed else grade.question)


def show_grade(coach: Coach, rnd: Round, grade: Grade) -> None:
    st.metric("得分", f"{grade.score} / 100")
    if grade.message:
        st.caption(grade.message)
    for p in grade.points:
        line = f"{STATUS_LABEL[p.status]} · **{p.label}**"
        if p.evidence and p.status != "missed":
            line += f"  \n> {p.evidence[:160]}"
        st.markdown(line)
    for w in grade.wrong:
        st.warning(w)
    with st.expander(f"参考笔记 [{grade.id}] {grade.question}", expanded=grade.score < 60):
        st.markdown(coach.bank[grade.id].note)
    if grade.follow_up:
        st.markdown(f"**面试官{grade.follow_up}**")
    c1, c2, c3 = st.columns(3)
    label = "下一题" if rnd.position + 1 < len(rnd.queue) else "查看本轮结果"
    c1.button(label, on_click=next_question, args=(rnd,), type="primary", use_container_width=True)
    if grade.follow_up:
        c2.button("回答追问", on_click=answer_follow_up, args=(rnd, grade), use_container_width=True)
    if c3.button("问问助手", on_click=ask_assistant, args=(grade,), use_container_width=True):
        st.switch_page("ui/chat.py")


def main() -> None:
    coach = get_coach()
    profile = profile_picker(coach)
    ss = st.session_state
    ss.setdefault("practice_round", None)
    ss.setdefault("practice_grade", None)
    st.title("模拟面试")
    if target := ss.pop("practice_target", None):  # 练一练 from the chat or the browse page
        ss["practice_round"], ss["practice_grade"] = Round(profile, "single", [target]), None

    rnd: Round | None = ss["practice_round"]
    if rnd is None or rnd.profile != profile:
        c1, c2, c3 = st.columns([2, 3, 2])
        mode = c1.selectbox("模式", MODES, format_func=MODE_LABELS.__getitem__, key="practice_mode")
        section = None
        if mode == "section":
            section = c2.selectbox("章节", list(coach.sections), key="practice_section")
        n = c3.slider("题数", 1, 10, 5, key="practice_n")
        if st.button("开始练习", type="primary"):
            start_round(coach, profile, mode, n, section)
            st.rerun()
        llm = session_llm(coach.settings).llm
        where = "本机离线评分" if llm == "extractive" else f"由大模型（{llm}）评分，失败时改用离线评分"
        st.caption(f"面试官一次问一道题；回答可以用中文、英文或中英混合，公式和代码都可以。{where}。")
        return

    if rnd.finished:
        st.subheader(f"本轮结束：{len(rnd.grades)} 道题，平均 {rnd.mean_score():.0f} 分")
        for g in rnd.grades:
            st.markdown(f"- [{g.id}] {g.question} — **{g.score}**")
        c1, c2 = st.columns(2)
        if c1.button("再来一轮", type="primary", use_container_width=True):
            ss["practice_round"] = None
            st.rerun()
        if c2.button("查看进度", use_container_width=True):
            st.switch_page("ui/progress.py")
        return

    bid = rnd.current
    assert bid is not None
    entry = coach.bank[bid]
    if bid not in rnd.asked:
        rnd.asked[bid] = ask_text(entry)
    st.caption(f"第 {rnd.position + 1} / {len(rnd.queue)} 题 · {entry.section} · {profile}")
    st.markdown(f"### {rnd.asked[bid]}")
    grade: Grade | None = ss["practice_grade"]
    if grade is not None and grade.id == bid:
        st.markdown("**你的回答**")
        st.text(grade.answer or "（未作答）")
        show_grade(coach, rnd, grade)
        return
    with st.form(f"answer-{rnd.position}-{bid}", clear_on_submit=False):
        answer = st.text_area(
            "你的回答", height=180, key=f"answer-text-{rnd.position}", placeholder="像面试时一样作答…"
        )
        c1, c2, c3 = st.columns(3)
        sent = c1.form_submit_button("提交", type="primary", use_container_width=True)
        skipped = c2.form_submit_button("跳过", use_container_width=True)
        unknown = c3.form_submit_button("不知道", use_container_width=True)
    if sent and not answer.strip():
        st.warning("回答是空的：写下你的回答，或者点「跳过」/「不知道」。")
    elif sent or skipped or unknown:
        kind = "answered" if sent else "skipped" if skipped else "unknown"
        with st.spinner("评分中…"):
            submit(coach, rnd, answer, kind)
        st.rerun()


main()
