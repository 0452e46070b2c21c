"""`python -m rag serve`: the bank over HTTP, OpenAI-compatible so chat clients can use it as a model.

POST /v1/chat/completions   OpenAI chat API (JSON or SSE stream): the last user message is the question,
                            earlier turns are the conversation; the reply's text cites [Q077], and the
                            response carries the structured sources in an extra "citations" field
GET  /v1/models             the one model id (MODEL_ID)
POST /v1/search             {"query", "k", "section", "source"} -> the search JSON of `python -m rag search --json`
GET  /v1/related/{id}       ?k= -> nearest other entries
GET  /v1/entries/{id}       an entry: question, section, note, other phrasings, related ids
POST /v1/documents          {"filename", "content"} (text: md/txt/html) -> ingested into the shared index
GET  /health                no auth: status, entry and chunk counts
Errors are OpenAI-shaped: {"error": {"message", "type", "param", "code"}}. With RAG_API_KEY set every
/v1 route needs "Authorization: Bearer <key>". Before each request the process picks up what other
processes wrote to a shared Chroma server (Assistant.refresh_if_stale).
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.answering.chain import Answerer
from rag.answering.conversation import Turn
from rag.errors import RagError
from rag.service import Assistant
from rag.settings import Settings

MODEL_ID = "llm-interview-bank"
MAX_MESSAGES = 50
MAX_CONTENT_CHARS = 8000


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.param, self.code = status, message, kind, param, code


def error_body(message: str, kind: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text or "" for p in self.content if p.type in ("text", "input_text"))
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, top_p, user, … are accepted and ignored
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    k: int | None = Field(None, ge=1)  # extension: how many sources to cite
    section: str | None = None  # extension: restrict to one bank section


class DocumentRequest(BaseModel):
    filename: str = Field(min_length=1, max_length=200)
    content: str = Field(min_length=1)


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=MAX_CONTENT_CHARS)
    k: int = Field(5, ge=1)
    section: str | None = None
    source: str | None = None


class BodyLimit:
    """413 for a request body over `limit` bytes: at once by Content-Length, or while a chunked body is
    read. Plain ASGI: Starlette's BaseHTTPMiddleware costs each request an extra task and stream."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit
        self.message = f"request body over {limit // 1024} KB (RAG_MAX_REQUEST_KB)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            await JSONResponse(error_body(self.message, "invalid_request_error"), status_code=413)(scope, receive, send)
            return
        received = 0

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:  # FastAPI re-raises it from the body read; _http answers it
                raise StarletteHTTPException(413, self.message)
            return message

        await self.app(scope, bounded, send)


def _conversation(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """(the question, the earlier turns): user/assistant pairs before the last user message."""
    for m in messages:
        if len(m.text()) > MAX_CONTENT_CHARS:
            raise ApiError(400, f"a message is longer than {MAX_CONTENT_CHARS} characters", param="messages")
    users = [i for i, m in enumerate(messages) if m.role == "user"]
    if not users or not messages[users[-1]].text().strip():
        raise ApiError(400, "messages must end with a non-empty user message (the question)", param="messages")
    history: list[Turn] = []
    pending: str | None = None
    for m in messages[: users[-1]]:
        if m.role == "user":
            pending = m.text()
        elif m.role == "assistant" and pending is not None:
            history.append(Turn(pending, m.text()))
            pending = None
    return messages[users[-1]].text(), history


def create_app(assistant: Assistant, *, uploads: bool = True) -> FastAPI:
    """uploads=False: POST /v1/documents is refused (one of several workers over an embedded store)."""
    settings: Settings = assistant.settings
    app = FastAPI(title="LLM interview bank", version="1", docs_url="/docs", redoc_url=None)
    answerer = Answerer(assistant.ready_retriever, settings)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.message, exc.kind, exc.param, exc.code), status_code=exc.status)

    @app.exception_handler(RagError)
    async def _rag_error(_: Request, exc: RagError) -> JSONResponse:
        return JSONResponse(error_body(str(exc), "invalid_request_error"), status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        param = ".".join(str(p) for p in first["loc"] if p != "body") or None
        message = f"{param}: {first['msg']}" if param else str(first["msg"])
        return JSONResponse(error_body(message, "invalid_request_error", param), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        return JSONResponse(error_body(str(exc.detail), kind), status_code=exc.status_code)

    app.add_middleware(BodyLimit, limit=settings.max_request_kb * 1024)

    # async: a sync dependency would cost every request a hop to the thread pool and back
    async def authorized(request: Request) -> None:
        if settings.api_key is None:
            return
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        if not secrets.compare_digest(token.encode(), settings.api_key.get_secret_value().encode()):
            raise ApiError(
                401,
                "missing or wrong API key: send Authorization: Bearer <RAG_API_KEY>",
                kind="authentication_error",
                code="invalid_api_key",
            )
        return

    def fresh() -> Answerer:
        assistant.refresh_if_stale()
        return answerer

    def bounded_k(k: int | None, default: int) -> int:
        k = default if k is None else k
        if not 1 <= k <= settings.max_k:
            raise ApiError(400, f"k must be between 1 and {settings.max_k} (RAG_MAX_K)", param="k")
        return k

    @app.get("/health")
    def health() -> dict[str, Any]:
        r = assistant.ready_retriever
        return {
            "status": "ok",
            "model": MODEL_ID,
            "entries": len(r.catalogue),
            "chunks": len(r.snapshot),
            "answer_mode": answerer.mode,
        }

    @app.get("/v1/models", dependencies=[Depends(authorized)])
    def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "llm-interview-bank"}],
        }

    @app.post("/v1/search", dependencies=[Depends(authorized)])
    def search(body: SearchRequest) -> dict[str, Any]:
        fresh()
        r = assistant.ready_retriever
        return r.result_json(r.search(body.query, bounded_k(body.k, 5), section=body.section, source=body.source))

    @app.get("/v1/related/{target}", dependencies=[Depends(authorized)])
    def related(target: str, k: int = 5) -> dict[str, Any]:
        fresh()
        try:
            hits = assistant.ready_retriever.related(target, bounded_k(k, 5))
        except RagError as exc:
            raise ApiError(404, str(exc), kind="not_found_error") from None
        return {"query": target, "hits": [h.to_json() for h in hits]}

    @app.get("/v1/entries/{bid}", dependencies=[Depends(authorized)])
    def entry(bid: str) -> dict[str, Any]:
        fresh()
        try:
            return entry_json(assistant, bid)
        except RagError as exc:
            raise ApiError(404, str(exc), kind="not_found_error") from None

    @app.post("/v1/documents", dependencies=[Depends(authorized)])
    def add_document(body: DocumentRequest) -> dict[str, Any]:
        """A text document into the index (every process sharing the store searches it after its next
        freshness check); the same upload rules as the app: safe name, size limit, md/txt/html."""
        if not uploads:
            raise ApiError(
                400,
                "this server runs several workers over the embedded store, where one worker's writes stay"
                " invisible to the others' vector index: ingest with `python -m ingest` and restart, or"
                " run the workers against a Chroma server (RAG_CHROMA_HOST)",
                param="filename",
            )
        if not body.filename.lower().endswith((".md", ".markdown", ".txt", ".html", ".htm")):
            raise ApiError(
                400,
                f"{body.filename}: send md, txt or html text here; upload PDFs and docx in the app",
                param="filename",
            )
        path = assistant.save_upload(body.filename, body.content.encode("utf-8"))
        report = assistant.ingest_paths([path])
        if report.failed:
            raise ApiError(400, "; ".join(f"{s}: {reason}" for s, reason in report.failed), param="content")
        return {"source": str(path), "summary": report.summary(), "chunks": report.chunks_total}

    @app.post("/v1/chat/completions", dependencies=[Depends(authorized)])
    def chat(body: ChatRequest) -> Any:
        if body.model != MODEL_ID:
            raise ApiError(
                404,
                f"model {body.model!r} does not exist; use {MODEL_ID!r} (GET /v1/models)",
                param="model",
                code="model_not_found",
            )
        question, history = _conversation(body.messages)
        stream = fresh().start(question, history, k=bounded_k(body.k, 5), section=body.section)
        created, cid = int(time.time()), f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if not body.stream:
            text = "".join(stream)
            result = stream.result()
            return {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": MODEL_ID,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                **_extras(result),
            }

        def events() -> Iterator[str]:
            def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
                payload = {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": MODEL_ID,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    **extra,
                }
                return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

            yield chunk({"role": "assistant", "content": ""})
            for piece in stream:
                if piece:
                    yield chunk({"content": piece})
            yield chunk({}, "stop", **_extras(stream.result()))
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    return app


def app_from_environment() -> FastAPI:
    """The app of one `serve --workers N` process: settings from the environment, index already built.
    Embedded Chroma keeps each process's vector index in its memory (another process's writes reach its
    SQLite but not its HNSW), so uploads need a Chroma server when there are several workers."""
    from rag.serving.cli import serving_assistant
    from rag.settings import get_settings

    settings = get_settings()
    return create_app(serving_assistant(settings), uploads=settings.chroma_host is not None)


def entry_json(assistant: Assistant, bid: str) -> dict[str, Any]:
    """An entry as the API and the MCP server return it; unknown id: RagError naming the range."""
    r = assistant.ready_retriever
    e = r.catalogue[bid]
    return {
        "id": e.id,
        "question": e.question,
        "section": e.section,
        "source": e.source,
        "note": r.catalogue.note(e.id),
        "phrasings": r.catalogue.aliases(e.id),
        "related": [{"id": h.id, "question": h.question} for h in r.related(e.id, 5)],
    }


def _extras(result) -> dict[str, Any]:
    """The structured sources beside the OpenAI fields (clients ignore fields they do not know)."""
    data = result.to_json()
    return {key: data[key] for key in ("citations", "refused", "related", "standalone_query")} | {
        "answer_mode": data["mode"],
        "warning": data["error"],
    }
