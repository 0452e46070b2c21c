"""`python -m rag search|related|ask|chat|eval|calibrate|bench|grade|practice|progress|serve|mcp …`:
a stable interface for people and scripts."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.errors import RagError
from rag.retrieval.hits import Hit
from rag.retrieval.retriever import Retriever
from rag.settings import Settings, get_settings


def _print_hits(hits: list[Hit], relevant: bool | None = None) -> None:
    if relevant is False:
        print("(nothing relevant in the bank; nearest entries below)")
    for h in hits:
        label = h.id or (f"{h.source} p.{h.page}" if h.page else h.source)
        title = h.question or h.text[:60]
        print(f"[{label}] {h.score:.3f}  {title}")
        if h.section:
            print(f"        {h.section}")
    if not hits:
        print("(no results)")


def _whole_number(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"k must be a whole number, got {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rag", description="Search the LLM interview question bank.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("search", help="hybrid search")
    s.add_argument("query", nargs="?", help="the question (omit with --stdin)")
    s.add_argument("-k", type=_whole_number, default=5)
    s.add_argument("--section", help="a section heading or a unique part of it, e.g. PEFT")
    s.add_argument("--source", help="only chunks of this source file")
    s.add_argument("--json", action="store_true", help="one JSON object per query")
    s.add_argument("--stdin", action="store_true", help="one query per input line, one JSON line per query")

    r = sub.add_parser("related", help="bank entries related to an id or text")
    r.add_argument("target", help="Q077 or free text")
    r.add_argument("-k", type=_whole_number, default=5)
    r.add_argument("--json", action="store_true")

    a = sub.add_parser("ask", help="answer a question with cited sources")
    a.add_argument("question", nargs="?", help="the question (omit with --stdin)")
    a.add_argument("--json", action="store_true")
    a.add_argument("--stdin", action="store_true", help="one question per input line, one JSON line each")
    a.add_argument("--llm", help="provider: extractive | openai | ollama | huggingface (default: RAG_LLM)")
    a.add_argument("--section", help="only this section of the bank")

    c = sub.add_parser("chat", help="an interactive conversation with history")
    c.add_argument("--llm", help="provider (default: RAG_LLM)")

    e = sub.add_parser("eval", help="retrieval quality on an eval TSV")
    e.add_argument("--queries", type=Path, help="TSV file (default: RAG_EVAL_FILE)")
    e.add_argument("--misses", action="store_true", help="list the queries that missed the top 5")
    e.add_argument("--no-answers", action="store_true", help="skip the answer figures")
    e.add_argument("--llm", help="answer figures for this provider (default: extractive)")
    e.add_argument(
        "--docs",
        type=Path,
        help="a folder of your own documents: index it beside the bank in a scratch "
        "data dir and report figures for --doc-queries over it",
    )
    e.add_argument(
        "--doc-queries",
        type=Path,
        default=Path("tests/eval/docs_queries.tsv"),
        help="TSV of `query<TAB>zh|en|mixed<TAB>file|file` (paths relative to --docs) or `…<TAB>-`",
    )
    e.add_argument("--scratch", type=Path, help="data dir for --docs, kept between runs (default: a temp dir)")

    k = sub.add_parser("calibrate", help="fit the 'nothing relevant' decision on labelled queries")
    k.add_argument("--queries", type=Path, help="TSV file (default: RAG_SCOPE_EXAMPLES)")
    k.add_argument("--save", action="store_true", help="write the model next to the index; search then uses it")
    k.add_argument("--cv", action="store_true", help="cross-validate the feature choices instead (docs/relevance.md)")
    k.add_argument("--splits", type=_whole_number, default=30, help="random 5-fold splits for --cv")
    k.add_argument("--docs", action="store_true", help="fit the document model instead (rag/relevance/documents.py)")

    b = sub.add_parser("bench", help="speed and memory figures")
    b.add_argument("--sizes", default="10000,100000", help="synthetic index sizes, comma-separated")
    b.add_argument("--queries", type=int, default=200, help="timed queries per size")
    b.add_argument("--serve", action="store_true", help="load-test `python -m rag serve` over loopback instead")
    b.add_argument("--clients", type=_whole_number, default=16, help="with --serve: concurrent clients")
    b.add_argument("--seconds", type=float, default=20, help="with --serve: longest time per phase")
    b.add_argument("--max-requests", type=_whole_number, default=2000, help="with --serve: most requests per phase")
    b.add_argument(
        "--workers",
        type=_whole_number,
        default=len(os.sched_getaffinity(0)),
        help="with --serve: server worker processes (default: one per usable core)",
    )

    from rag.practice.cli import add_commands
    from rag.serving.cli import add_commands as add_serving

    add_commands(sub, _whole_number)
    add_serving(sub, _whole_number)
    return p


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command in ("grade", "practice", "progress"):
        from rag.practice import cli as practice_cli

        return practice_cli.run(args, settings)
    if args.command in ("serve", "mcp"):
        from rag.serving import cli as serving_cli

        return serving_cli.run(args, settings)
    if args.command == "bench":
        from ingest.pipeline import ingest
        from rag.evaluation.bench import run_bench

        if args.serve:
            from rag.evaluation.bench_serve import run_serve_bench

            sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
            return run_serve_bench(settings, sizes, args.clients, args.seconds, args.max_requests, ingest, args.workers)
        return run_bench(settings, [int(x) for x in args.sizes.split(",") if x.strip()], args.queries, ingest)
    if args.command == "eval" and args.docs:
        return _eval_documents(args, settings)
    if args.command == "calibrate" and args.docs:
        return _calibrate_documents(args, settings)
    retriever = Retriever(settings)
    if args.command == "search":
        if args.stdin:
            # one output line per input line, so scripts can zip them; a bad line gets an "error"
            for line in sys.stdin:
                query = line.rstrip("\r\n")
                try:
                    result = retriever.search(query, args.k, section=args.section, source=args.source)
                except RagError as exc:
                    print(json.dumps({"query": query, "hits": [], "error": str(exc)}, ensure_ascii=False), flush=True)
                    continue
                print(json.dumps(retriever.result_json(result), ensure_ascii=False), flush=True)
            return 0
        if args.query is None:
            raise RagError("empty query: give a question, or --stdin")
        result = retriever.search(args.query, args.k, section=args.section, source=args.source)
        if args.json:
            print(json.dumps(retriever.result_json(result), ensure_ascii=False))
        else:
            _print_hits(result.hits, retriever.is_relevant(result))
    elif args.command == "related":
        hits = retriever.related(args.target, args.k)
        if args.json:
            print(json.dumps({"query": args.target, "hits": [h.to_json() for h in hits]}, ensure_ascii=False))
        else:
            _print_hits(hits)
    elif args.command == "eval":
        from rag.evaluation.metrics import evaluate, evaluate_answers
        from rag.labelled import load_queries

        queries = load_queries(args.queries or settings.eval_file)
        result = evaluate(retriever, queries)
        print(result.report())
        if args.misses:
            for query, gold, top in result.misses:
                print(f"miss: {query}  gold={','.join(gold)}  top5={','.join(top)}")
        if not args.no_answers:
            from rag.answering.chain import Answerer

            answers = evaluate_answers(Answerer(retriever, settings, args.llm or "extractive"), queries)
            print(answers.report())
            if args.misses:
                print("\n".join(answers.failures))
    elif args.command == "calibrate":
        from rag.evaluation.calibrate import calibrate, cv_report
        from rag.labelled import load_queries
        from rag.relevance.model import MODEL_FILE

        queries = load_queries(args.queries or settings.scope_examples_path)
        if args.cv:
            print(cv_report(retriever, queries, args.splits))
            return 0
        model, report = calibrate(retriever, queries)
        print(report)
        if args.save:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            model.save(settings.data_dir / MODEL_FILE)
            print(f"saved to {settings.data_dir / MODEL_FILE}")
    elif args.command in ("ask", "chat"):
        from rag.answering.chain import Answerer

        answerer = Answerer(retriever, settings, args.llm)
        if args.command == "chat":
            return _chat(answerer)
        if args.stdin:
            for line in sys.stdin:
                question = line.strip()
                if not question:
                    print(json.dumps({"query": "", "error": "empty question"}, ensure_ascii=False), flush=True)
                    continue
                print(
                    json.dumps(answerer.answer(question, section=args.section).to_json(), ensure_ascii=False),
                    flush=True,
                )
            return 0
        if not args.question or not args.question.strip():
            raise RagError("empty question: type a question, or --stdin")
        if args.json:
            print(json.dumps(answerer.answer(args.question, section=args.section).to_json(), ensure_ascii=False))
        else:
            _print_answer(answerer.start(args.question, section=args.section))
    return 0


@contextmanager
def _scratch_dir(command: str, settings: Settings, keep: Path | None = None) -> Iterator[Path]:
    """A data dir for a command that builds its own index: `keep` when given, else a temp dir removed after."""
    if settings.chroma_host:
        raise RagError(f"{command} builds its own index in a scratch dir; unset CHROMA_HOST")
    root = keep or Path(tempfile.mkdtemp(prefix="rag-scratch-"))
    try:
        yield root
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


def _eval_documents(args: argparse.Namespace, settings: Settings) -> int:
    """Index the bank and a folder into a scratch data dir (incremental when --scratch is reused)."""
    from ingest.pipeline import ingest
    from rag.evaluation.documents import evaluate_documents
    from rag.labelled import load_doc_queries

    with _scratch_dir("eval --docs", settings, args.scratch) as scratch:
        if not args.docs.is_dir():
            raise RagError(f"--docs {args.docs}: not a folder")
        queries = load_doc_queries(args.doc_queries)
        s = settings.model_copy(update={"data_dir": scratch})
        for root in (s.corpus_dir, args.docs):
            report = ingest([root], s)
            print(f"{root}: {report.summary()}", file=sys.stderr)
            for source, reason in report.failed:
                print(f"  not indexed: {source}: {reason}", file=sys.stderr)
        result = evaluate_documents(Retriever(s), queries, args.docs)
    print(result.report())
    if args.misses:
        print("\n".join(result.failures))
    return 0


def _calibrate_documents(args: argparse.Namespace, settings: Settings) -> int:
    """The bank's notes as documents in a scratch data dir, the scope examples searched over them."""
    from ingest.pipeline import ingest
    from rag.evaluation.calibrate_documents import calibrate_documents, write_notes_as_documents
    from rag.labelled import load_queries
    from rag.relevance.model import DOC_MODEL_FILE

    with _scratch_dir("calibrate --docs", settings) as scratch:
        queries = load_queries(args.queries or settings.scope_examples_path)
        s = settings.model_copy(update={"data_dir": scratch / "data"})
        write_notes_as_documents(settings.corpus_dir, scratch / "notes")
        ingest([scratch / "notes"], s, show_bar=False)
        model, report = calibrate_documents(Retriever(s), queries)
    print(report)
    if args.save:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        model.save(settings.data_dir / DOC_MODEL_FILE)
        print(f"saved to {settings.data_dir / DOC_MODEL_FILE}")
    return 0


def _print_answer(stream) -> None:
    """Stream the text as it comes, then the sources and related questions."""
    for piece in stream:
        print(piece, end="", flush=True)
    result = stream.result()
    print()
    if result.citations and not result.refused:
        print("\n— 引用 / sources —")
        for c in result.citations:
            print(f"[{c.label}] {c.question or c.source}" + (f"  ({c.section})" if c.section else ""))
    if result.related:
        print("\n— 相关问题 / related —")
        for h in result.related:
            print(f"{h.id} {h.question}")
    searched = f"; searched: {result.standalone_query}" if result.standalone_query != result.query else ""
    print(f"\n(mode: {result.mode}{searched}{'; ' + result.error if result.error else ''})")


def _chat(answerer) -> int:
    from rag.answering.conversation import Turn

    history: list[Turn] = []
    print("大模型面试助手 — 输入问题开始；/new 新对话，/quit 退出。")
    while True:
        try:
            question = input("\n你> ").strip()
        except EOFError:
            print()
            return 0
        if question in ("/quit", "/exit", "/q"):
            return 0
        if question == "/new":
            history.clear()
            print("（已开始新对话）")
            continue
        if not question:
            continue
        print("助手> ", end="")
        stream = answerer.start(question, history)
        _print_answer(stream)
        result = stream.result()
        history.append(Turn(question, result.answer, result.standalone_query))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args, get_settings())
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `| head`
        return 0
