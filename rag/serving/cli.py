"""`python -m rag serve | mcp` (registered by rag/cli.py)."""

from __future__ import annotations

import argparse
import logging
import sys

from rag.settings import Settings


def add_commands(sub: argparse._SubParsersAction, whole_number) -> None:
    s = sub.add_parser("serve", help="OpenAI-compatible HTTP API (FastAPI + uvicorn)")
    s.add_argument(
        "--host", default="127.0.0.1", help="bind address (default loopback; set RAG_API_KEY before 0.0.0.0)"
    )
    s.add_argument("--port", type=whole_number, default=8000)
    m = sub.add_parser("mcp", help="MCP server: stdio (default) or streamable HTTP")
    m.add_argument("--http", action="store_true", help="streamable HTTP at http://HOST:PORT/mcp instead of stdio")
    m.add_argument("--host", default="127.0.0.1")
    m.add_argument("--port", type=whole_number, default=8001)


def _assistant(settings: Settings):
    from rag.service import Assistant

    assistant = Assistant(settings)
    report = assistant.ensure_index()  # a first start builds the index from corpus/
    if report is not None:
        print(f"index built: {report.summary()}", file=sys.stderr)
    return assistant


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.host not in ("127.0.0.1", "localhost", "::1") and settings.api_key is None:
        print(
            f"warning: serving on {args.host} without RAG_API_KEY: anyone who can reach it can use it", file=sys.stderr
        )
    if args.command == "serve":
        import uvicorn

        from rag.serving.api import create_app

        app = create_app(_assistant(settings))
        print(f"serving on http://{args.host}:{args.port}/v1 (model llm-interview-bank)", file=sys.stderr)
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
        return 0
    from rag.serving.mcp_server import create_server

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # stdout carries the protocol
    server = create_server(_assistant(settings))
    if args.http:
        print(f"MCP over streamable HTTP at http://{args.host}:{args.port}/mcp", file=sys.stderr)
        server.run("streamable-http", host=args.host, port=args.port)
    else:
        server.run("stdio")
    return 0
