"""`python -m rag serve | mcp` (registered by rag/cli.py)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from rag.settings import Settings


def add_commands(sub: argparse._SubParsersAction, whole_number) -> None:
    s = sub.add_parser("serve", help="OpenAI-compatible HTTP API (FastAPI + uvicorn)")
    s.add_argument(
        "--host", default="127.0.0.1", help="bind address (default loopback; set RAG_API_KEY before 0.0.0.0)"
    )
    s.add_argument("--port", type=whole_number, default=8000)
    s.add_argument(
        "--workers", type=whole_number, default=1, help="processes serving in parallel (each loads the index)"
    )
    m = sub.add_parser("mcp", help="MCP server: stdio (default) or streamable HTTP")
    m.add_argument("--http", action="store_true", help="streamable HTTP at http://HOST:PORT/mcp instead of stdio")
    m.add_argument("--host", default="127.0.0.1")
    m.add_argument("--port", type=whole_number, default=8001)


def serving_assistant(settings: Settings, *, load: bool = True):
    """The Assistant a server process answers with: index built if missing, loaded and warmed (load=False:
    only built, for the supervisor of `serve --workers N`)."""
    from rag.service import Assistant

    assistant = Assistant(settings)
    report = assistant.ensure_index(load=load)  # a first start builds the index from corpus/
    if report is not None:
        print(f"index built: {report.summary()}", file=sys.stderr)
    if load:
        assistant.warm_up()
    return assistant


def single_threaded_math(settings: Settings) -> Settings:
    """A server runs requests side by side, so each request's numpy/BLAS work gets one thread: BLAS's
    own threads per call would oversubscribe the cores (a search cost 23 ms of CPU for 12 ms of wall
    time; bench --serve at 16 clients went from 43 to well over 100 req/s). Worker processes inherit it
    through the environment."""
    from threadpoolctl import threadpool_limits

    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    threadpool_limits(limits=1)
    if "RAG_THREADS" in os.environ:
        return settings
    os.environ["RAG_THREADS"] = "1"
    return settings.model_copy(update={"threads": 1})


def run(args: argparse.Namespace, settings: Settings) -> int:
    settings = single_threaded_math(settings)
    if args.host not in ("127.0.0.1", "localhost", "::1") and settings.api_key is None:
        print(
            f"warning: serving on {args.host} without RAG_API_KEY: anyone who can reach it can use it", file=sys.stderr
        )
    if args.command == "serve":
        import uvicorn

        from rag.serving.api import create_app

        options = {"host": args.host, "port": args.port, "log_level": "warning", "access_log": False}
        if args.workers > 1:
            # the index is built once here, before any worker starts; each worker (a new process that
            # reads the settings from the environment) loads its own, so the supervisor holds none
            serving_assistant(settings, load=False)
            print(f"serving on http://{args.host}:{args.port}/v1 (model llm-interview-bank)", file=sys.stderr)
            uvicorn.run("rag.serving.api:app_from_environment", factory=True, workers=args.workers, **options)
        else:
            app = create_app(serving_assistant(settings))
            print(f"serving on http://{args.host}:{args.port}/v1 (model llm-interview-bank)", file=sys.stderr)
            uvicorn.run(app, **options)
        return 0
    from rag.serving.mcp_server import create_server

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # stdout carries the protocol
    server = create_server(serving_assistant(settings))
    if args.http:
        print(f"MCP over streamable HTTP at http://{args.host}:{args.port}/mcp", file=sys.stderr)
        server.run("streamable-http", host=args.host, port=args.port)
    else:
        server.run("stdio")
    return 0
