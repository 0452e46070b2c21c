"""A real HTTP server on 127.0.0.1 speaking OpenAI's /v1/chat/completions (JSON and SSE streaming),
standing in for a remote LLM service. `behaviour` picks the reply; `requests` records what came in."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# The API key the tests configure: no output, log or response may contain it.
SECRET = "sk-test-SECRET-4242-do-not-print"


class FakeOpenAI:
    def __init__(self) -> None:
        self.behaviour = "ok"  # ok | 401 | 429 | slow | malformed
        self.reply = "回答 [Q083]。"
        self.condense_reply = "LoRA 的缺点是什么?"
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                if fake.behaviour in ("401", "429"):
                    code = int(fake.behaviour)
                    msg = {
                        "error": {
                            "message": f"Incorrect API key provided: {self.headers.get('Authorization')}",
                            "type": "invalid_request_error",
                            "code": code,
                        }
                    }
                    return self._json(code, msg)
                if fake.behaviour == "slow":
                    time.sleep(3)
                is_condense = "独立问题" in body["messages"][-1]["content"]
                text = fake.condense_reply if is_condense else fake.reply
                if body.get("stream"):
                    try:
                        return self._sse(text, malformed=fake.behaviour == "malformed")
                    except (BrokenPipeError, ConnectionResetError):
                        return None  # the client stopped reading (a cancelled stream), as a real server sees it
                return self._json(
                    200,
                    {
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    },
                )

            def _json(self, code: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _sse(self, text: str, malformed: bool) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                pieces = [text[i : i + 3] for i in range(0, len(text), 3)]  # split mid-citation on purpose
                for n, piece in enumerate(pieces):
                    if malformed and n == 1:
                        self.wfile.write(b"data: {this is not json\n\n")
                        self.wfile.flush()
                        return
                    chunk = {
                        "id": "c",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": "m",
                        "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                    self.wfile.flush()
                done = {
                    "id": "c",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": "m",
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                }
                self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
