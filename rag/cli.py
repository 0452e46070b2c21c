"""`python -m rag search|related|eval|bench …` — a stable interface for people and scripts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.errors import RagError
from rag.retriever import Hit, Retriever
from rag.settings import Settings, get_settings


def _print_hits(query: str, hits: list[Hit], as_json: bool, relevant: bool | None = None) -> None:
    if as_json:
        print(json.dumps({"query": query, "hits": [h.to_json() for h in hits]}, ensure_ascii=False), flush=True)
        return
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


def _positive_k(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"k must be a whole number, got {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rag", description="Search the LLM interview question bank.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("search", help="hybrid search")
    s.add_argument("query", nargs="?", help="the question (omit with --stdin)")
    s.add_argument("-k", type=_positive_k, default=5)
    s.add_argument("--section", help="a section heading or a unique part of it, e.g. PEFT")
    s.add_argument("--source", help="only chunks of this source file")
    s.add_argument("--json", action="store_true", help="one JSON object per query")
    s.add_argument("--stdin", action="store_true", help="one query per input line, one JSON line per query")

    r = sub.add_parser("related", help="bank entries related to an id or text")
    r.add_argument("target", help="Q077 or free text")
    r.add_argument("-k", type=_positive_k, default=5)
    r.add_argument("--json", action="store_true")

    e = sub.add_parser("eval", help="retrieval quality on an eval TSV")
    e.add_argument("--queries", type=Path, help="TSV file (default: RAG_EVAL_FILE)")
    e.add_argument("--misses", action="store_true", help="list the queries that missed the top 5")

    b = sub.add_parser("bench", help="speed and memory figures")
    b.add_argument("--sizes", default="10000,100000", help="synthetic index sizes, comma-separated")
    b.add_argument("--queries", type=int, default=200, help="timed queries per size")
    return p


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "bench":
        from rag.bench import run_bench

        return run_bench(settings, [int(x) for x in args.sizes.split(",") if x.strip()], args.queries)
    retriever = Retriever(settings)
    if args.command == "search":
        if args.stdin:
            # one output line per input line, so scripts can zip them; a bad line gets an "error"
            for line in sys.stdin:
                query = line.rstrip("\r\n")
                try:
                    hits = retriever.search(query, args.k, section=args.section, source=args.source)
                except RagError as exc:
                    print(json.dumps({"query": query, "hits": [], "error": str(exc)}, ensure_ascii=False), flush=True)
                    continue
                _print_hits(query, hits, True)
            return 0
        if args.query is None:
            raise RagError("empty query: give a question, or --stdin")
        hits = retriever.search(args.query, args.k, section=args.section, source=args.source)
        _print_hits(args.query, hits, args.json, retriever.is_relevant(hits))
    elif args.command == "related":
        _print_hits(args.target, retriever.related(args.target, args.k), args.json)
    elif args.command == "eval":
        from rag.evaluation import evaluate, load_queries

        result = evaluate(retriever, load_queries(args.queries or settings.eval_file))
        print(result.report())
        if args.misses:
            for query, gold, top in result.misses:
                print(f"miss: {query}  gold={','.join(gold)}  top5={','.join(top)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args, get_settings())
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `| head`
        return 0
