"""`python -m rag grade | practice | progress` (registered by rag/cli.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.errors import RagError
from rag.practice.grading import Grade, is_non_answer
from rag.practice.session import MODES, ask_text
from rag.settings import Settings

STATUS_MARK = {"covered": "✓", "partly": "~", "missed": "✗", "conflict": "✗!"}
SKIP, UNKNOWN, QUIT = "/skip", "/idk", "/quit"


def add_commands(sub: argparse._SubParsersAction, whole_number) -> None:
    g = sub.add_parser("grade", help="grade an answer (read from stdin) against an entry's note")
    g.add_argument("id", help="bank id, e.g. Q086")
    g.add_argument("--json", action="store_true")
    g.add_argument("--llm", help="grade with this provider instead of RAG_LLM (extractive = offline)")
    g.add_argument("--profile", help="record the attempt under this profile (default RAG_PROFILE)")
    g.add_argument("--no-record", action="store_true", help="do not store the attempt")

    p = sub.add_parser("practice", help="a mock interview in the terminal")
    p.add_argument("--mode", choices=MODES, default="random")
    p.add_argument("--section", help="section name or a unique part of it (mode section)")
    p.add_argument("-n", type=whole_number, default=5, help="questions in the round")
    p.add_argument("--profile")
    p.add_argument("--llm")
    p.add_argument("--seed", type=whole_number, help="repeatable question choice")

    r = sub.add_parser("progress", help="mastery by section, due reviews, streak, weakest entries")
    r.add_argument("--json", action="store_true")
    r.add_argument("--profile")
    r.add_argument("--export", type=Path, metavar="FILE", help="write the profile's progress as JSON")
    r.add_argument("--import", dest="import_file", type=Path, metavar="FILE", help="add progress from an export")
    r.add_argument("--delete-profile", metavar="NAME", help="delete a profile and all its data")
    r.add_argument("--profiles", action="store_true", help="list profiles")


def _llm_settings(settings: Settings, llm: str | None) -> Settings:
    return settings.model_copy(update={"llm": llm}) if llm else settings


def run(args: argparse.Namespace, settings: Settings) -> int:
    from rag.practice.coach import Coach

    if args.command == "grade":
        answer = sys.stdin.read()
        if not answer.strip():
            raise RagError(
                "empty answer: pipe or type your answer on stdin, e.g. python -m rag grade Q086 < answer.txt"
            )
        coach = Coach(settings)
        grade = coach.grade(args.id, answer, llm=_llm_settings(settings, args.llm))
        if not args.no_record:
            coach.record(
                args.profile or settings.profile, grade, "unknown" if is_non_answer(answer) else "answered", "grade"
            )
        if args.json:
            print(json.dumps(grade.to_json(), ensure_ascii=False))
        else:
            print_grade(grade, coach.bank[grade.id].note)
        return 0
    coach = Coach(settings)
    profile = args.profile or settings.profile
    if args.command == "practice":
        return _practice(coach, args, profile, _llm_settings(settings, args.llm))
    return _progress(coach, args, profile)


def print_grade(grade: Grade, note: str, show_note: bool = True) -> None:
    print(f"得分 {grade.score}/100  ({grade.mode})")
    if grade.message:
        print(grade.message)
    for p in grade.points:
        line = f"  {STATUS_MARK[p.status]} {p.label}"
        if p.evidence and p.status != "missed":
            line += f"  ← 「{p.evidence[:80]}」"
        print(line)
    for w in grade.wrong:
        print(f"  ⚠ {w}")
    if show_note:
        print(f"\n参考笔记 [{grade.id}] {grade.question}\n{note}")
    if grade.follow_up:
        print(f"\n{grade.follow_up}  [{grade.follow_up_id}]")


def _read_answer() -> str | None:
    """Lines until an empty line; None at end of input."""
    lines: list[str] = []
    while True:
        try:
            line = input()
        except EOFError:
            return "\n".join(lines) if lines else None
        if not line.strip():
            if lines:
                return "\n".join(lines)
            continue
        if line.strip() in (SKIP, UNKNOWN, QUIT) and not lines:
            return line.strip()
        lines.append(line)


def _practice(coach, args: argparse.Namespace, profile: str, llm: Settings) -> int:
    ids = coach.pick(profile, args.mode, args.n, args.section, args.seed)
    if not ids:
        print("没有到期需要复习的题目。" if args.mode == "due" else "没有可练习的题目。")
        return 0
    print(f"模拟面试（{profile}）：{len(ids)} 道题。回答后空一行提交；{SKIP} 跳过，{UNKNOWN} 不知道，{QUIT} 结束。")
    asked: set[str] = set()
    scores = []
    for n, bid in enumerate(ids, start=1):
        entry = coach.bank[bid]
        print(f"\n第 {n}/{len(ids)} 题 [{bid}] {ask_text(entry)}")
        answer = _read_answer()
        if answer is None or answer == QUIT:
            break
        kind = "skipped" if answer == SKIP else "unknown" if answer == UNKNOWN or is_non_answer(answer) else "answered"
        grade = coach.grade(bid, "" if kind != "answered" else answer, asked, llm)
        coach.record(profile, grade, kind)
        asked.add(bid)
        scores.append(grade.score)
        print_grade(grade, entry.note)
    if scores:
        print(f"\n本轮 {len(scores)} 题，平均 {sum(scores) / len(scores):.0f} 分。`python -m rag progress` 查看进度。")
    return 0


def _progress(coach, args: argparse.Namespace, profile: str) -> int:
    store = coach.store
    if args.profiles:
        print("\n".join(store.profiles()) or "(no profiles yet)")
        return 0
    if args.delete_profile:
        n = store.delete_profile(args.delete_profile)
        print(f"deleted profile {args.delete_profile} ({n} attempts)")
        return 0
    if args.import_file:
        try:
            data = json.loads(args.import_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise RagError(f"{args.import_file}: cannot read a progress export ({exc})") from None
        name, added = store.import_(data, args.profile)
        print(f"imported {added} attempts into profile {name}")
        return 0
    if args.export:
        args.export.write_text(json.dumps(store.export(profile), ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"wrote {args.export}")
        return 0
    report = coach.progress(profile)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    print(
        f"{profile}: {report['attempts']} 次练习，连续 {report['streak_days']} 天，"
        f"今日到期 {len(report['due_today'])} 题"
    )
    for s in report["sections"]:
        bar = "█" * round(10 * s["mastered"] / max(s["total"], 1))
        print(
            f"  {s['section'][:24]:<24} {bar:<10} 掌握 {s['mastered']}/{s['total']}"
            f"  练过 {s['attempted']}  均分 {s['mean_score']:.0f}"
        )
    if report["weakest"]:
        print("最薄弱：" + "；".join(f"{w['id']} {w['question']}（{w['score']}）" for w in report["weakest"]))
    if report["due_today"]:
        print("今日复习：" + " ".join(report["due_today"]))
    return 0
