"""`python -m rag serve` and `python -m rag mcp` as real processes, driven by the official clients:
the openai package over HTTP and the mcp SDK's stdio client."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from rag.settings import Settings
from tests.support.servers import free_port, serving

REPO = Path(__file__).resolve().parents[2]
API_KEY = "team-token-7f3a-never-logged"
MODEL = "llm-interview-bank"


def serve(port: int, log: Path, env: dict[str, str], workers: int = 1):
    cmd = [sys.executable, "-m", "rag", "serve", "--port", str(port), "--workers", str(workers)]
    return serving(cmd, f"http://127.0.0.1:{port}/health", log, timeout=120, cwd=REPO, env=os.environ | env)


@pytest.fixture
def server(use_bank_index: Settings, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    with serve(port, tmp_path / "serve.log", {"RAG_API_KEY": API_KEY}):
        yield f"http://127.0.0.1:{port}"
    assert API_KEY not in (tmp_path / "serve.log").read_text()


def client(url: str, key: str = API_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=60)


def test_openai_client_non_stream_stream_and_follow_up(server: str) -> None:
    c = client(server)
    assert [m.id for m in c.models.list()] == [MODEL]
    done = c.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "LoRA 训练完的权重能合并回原模型吗"}]
    )
    text = done.choices[0].message.content
    assert "[Q083]" in text and done.choices[0].finish_reason == "stop"
    assert "Q083" in {c["id"] for c in done.model_extra["citations"]}, "structured citations beside the text"

    pieces, last = [], None
    for chunk in c.chat.completions.create(
        model=MODEL, stream=True, messages=[{"role": "user", "content": "什么是 QLoRA?"}]
    ):
        pieces.append(chunk.choices[0].delta.content or "")
        last = chunk
    streamed = "".join(pieces)
    assert "[Q080]" in streamed and last.choices[0].finish_reason == "stop"
    assert "Q080" in {c["id"] for c in last.model_extra["citations"]}

    follow = c.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "你是面试助手"},
            {"role": "user", "content": "什么是 QLoRA?"},
            {"role": "assistant", "content": streamed},
            {"role": "user", "content": [{"type": "text", "text": "那它的特点呢？"}]},
        ],
    )
    assert "QLoRA" in follow.model_extra["standalone_query"]
    assert {c["id"] for c in follow.model_extra["citations"]} & {"Q080", "Q081"}


def test_auth_and_malformed_requests_get_openai_errors(server: str) -> None:
    with pytest.raises(openai.AuthenticationError) as auth:
        client(server, "wrong-key").chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "LoRA"}])
    assert "RAG_API_KEY" in str(auth.value) and API_KEY not in str(auth.value)
    c = client(server)
    with pytest.raises(openai.BadRequestError, match="messages"):
        c.chat.completions.create(model=MODEL, messages=[])
    with pytest.raises(openai.BadRequestError, match="user message"):
        c.chat.completions.create(model=MODEL, messages=[{"role": "system", "content": "hi"}])
    with pytest.raises(openai.NotFoundError, match="GET /v1/models"):
        c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "LoRA"}])
    headers = {"Authorization": f"Bearer {API_KEY}"}
    bad = httpx.post(
        f"{server}/v1/chat/completions", content=b"{not json", headers=headers | {"content-type": "application/json"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    huge = httpx.post(f"{server}/v1/search", json={"query": "x" * 300_000}, headers=headers)
    assert huge.status_code == 413 and "RAG_MAX_REQUEST_KB" in huge.json()["error"]["message"]
    chunked = httpx.post(  # no Content-Length: the limit is enforced while the body is read
        f"{server}/v1/search",
        content=(b" " * 1024 for _ in range(300)),
        headers=headers | {"content-type": "application/json"},
    )
    assert chunked.status_code == 413 and "RAG_MAX_REQUEST_KB" in chunked.json()["error"]["message"]
    too_many = httpx.post(f"{server}/v1/search", json={"query": "LoRA", "k": 500}, headers=headers)
    assert too_many.status_code == 400 and too_many.json()["error"]["param"] == "k"


def test_search_related_entries_health(server: str) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    health = httpx.get(f"{server}/health").json()
    assert health["status"] == "ok" and health["entries"] == 173
    assert API_KEY not in json.dumps(health)
    found = httpx.post(
        f"{server}/v1/search", json={"query": "RMSNorm 和 LayerNorm 有什么区别", "k": 3}, headers=headers
    )
    assert found.status_code == 200 and found.json()["hits"][0]["id"] in {"Q160", "Q161"} and found.json()["relevant"]
    related = httpx.get(f"{server}/v1/related/Q077?k=3", headers=headers).json()
    assert len(related["hits"]) == 3 and "Q077" not in {h["id"] for h in related["hits"]}
    entry = httpx.get(f"{server}/v1/entries/q077", headers=headers).json()
    assert entry["id"] == "Q077" and "低秩" in entry["note"] and entry["related"]
    missing = httpx.get(f"{server}/v1/entries/Q999", headers=headers)
    assert missing.status_code == 404 and "Q001..Q173" in missing.json()["error"]["message"]
    assert httpx.get(f"{server}/v1/entries/Q077").status_code == 401


def test_mcp_stdio_lists_and_calls_every_tool(use_bank_index: Settings) -> None:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "rag", "mcp"], env=dict(os.environ), cwd=str(REPO)
    )

    async def session_run() -> dict:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = {t.name: t for t in (await session.list_tools()).tools}
            out = {"tools": tools}
            for name, args in [
                ("search_bank", {"query": "what is RoPE", "k": 3}),
                ("get_entry", {"id": "Q077"}),
                ("related_questions", {"target": "Q077", "k": 3}),
                ("ask", {"question": "LoRA 的权重能合并回原模型吗"}),
            ]:
                result = await session.call_tool(name, args)
                assert not result.is_error, (name, result)
                out[name] = result.structured_content or json.loads(result.content[0].text)
            resources = (await session.list_resources()).resources
            out["resources"] = [str(r.uri) for r in resources]
            out["section"] = (await session.read_resource("bank://section/5")).contents[0].text
            bad = await session.call_tool("get_entry", {"id": "Q999"})
            out["bad"] = (bad.is_error, bad.content[0].text)
            return out

    out = asyncio.run(asyncio.wait_for(session_run(), timeout=240))
    assert set(out["tools"]) == {"search_bank", "get_entry", "related_questions", "ask"}
    assert all("Search" in t.description or "bank" in t.description for t in out["tools"].values())
    assert any("检索" in t.description or "题" in t.description for t in out["tools"].values())
    assert out["search_bank"]["hits"][0]["id"] in {"Q144", "Q147", "Q150"}
    assert out["get_entry"]["id"] == "Q077"
    assert len(out["related_questions"]["hits"]) == 3
    assert "[Q083]" in out["ask"]["answer"] and not out["ask"]["refused"]
    assert "bank://sections" in out["resources"] and len(out["resources"]) == 16
    assert "[Q077]" in out["section"]
    assert out["bad"][0] and "Q999" in out["bad"][1]


@pytest.mark.slow
@pytest.mark.usefixtures("few_scope_examples")
def test_two_servers_on_one_chroma_server_see_each_others_documents(chroma_server: int, tmp_path: Path) -> None:
    import subprocess

    shared = {"RAG_CHROMA_HOST": "127.0.0.1", "RAG_CHROMA_PORT": str(chroma_server), "RAG_REFRESH_SECONDS": "0.5"}
    env = os.environ | shared | {"RAG_DATA_DIR": str(tmp_path / "a")}
    built = subprocess.run(
        [sys.executable, "-m", "ingest"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert built.returncode == 0, built.stderr
    pa, pb = free_port(), free_port()
    with (
        serve(pa, tmp_path / "a.log", shared | {"RAG_DATA_DIR": str(tmp_path / "a")}),
        serve(pb, tmp_path / "b.log", shared | {"RAG_DATA_DIR": str(tmp_path / "b")}),
    ):
        a, b = f"http://127.0.0.1:{pa}", f"http://127.0.0.1:{pb}"
        query = {"query": "Zanzibar 调度器的 quokka 批处理", "k": 3}
        before = httpx.post(f"{b}/v1/search", json=query, timeout=60).json()
        assert not any(h["source"].endswith("quokka.md") for h in before["hits"])
        note = "# Zanzibar 调度器\n\nZanzibar 调度器用 quokka 批处理把请求按长度分桶，再做连续批处理，吞吐提升明显。\n"
        added = httpx.post(f"{a}/v1/documents", json={"filename": "quokka.md", "content": note}, timeout=120)
        assert added.status_code == 200, added.text
        deadline = time.monotonic() + 30
        while True:  # B has not restarted: it notices the store changed on a request
            after = httpx.post(f"{b}/v1/search", json=query, timeout=60).json()
            if after["hits"] and after["hits"][0]["source"].endswith("quokka.md"):
                break
            assert time.monotonic() < deadline, after
            time.sleep(0.5)
        health = httpx.get(f"{b}/health").json()
        assert health["chunks"] == httpx.get(f"{a}/health").json()["chunks"]


@pytest.mark.slow
def test_several_workers_answer_and_refuse_uploads_to_an_embedded_store(
    use_bank_index: Settings, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serve(port, tmp_path / "serve.log", {}, workers=2):
        for _ in range(20):  # a new connection each: the kernel spreads them over the workers
            r = httpx.post(f"{url}/v1/search", json={"query": "什么是 QLoRA?", "k": 3})
            assert r.status_code == 200 and r.json()["hits"][0]["id"] in ("Q080", "Q081")  # the QLoRA entries
        with httpx.Client(base_url=url, timeout=60) as http:
            up = http.post("/v1/documents", json={"filename": "kv.md", "content": "# KV Cache\n\n显存随序列长度增长。"})
        assert up.status_code == 400 and "RAG_CHROMA_HOST" in up.json()["error"]["message"]
        assert "`python -m ingest`" in up.json()["error"]["message"]  # a command that exists
        assert not (use_bank_index.uploads_dir / "kv.md").exists()
