"""`python -m rag bench --serve`: the real `python -m rag serve` process under concurrent load over loopback.

For each index (the bank; the bank among N synthetic chunks): start a server, then C client threads
send requests for a bounded time (or count), first searches, then full non-streamed extractive chat
answers. Printed per phase: requests, errors, throughput, p50/p95/p99 latency; and the server's RSS
(all its processes, sampled from /proc every 0.2 s) at the start, after a quarter of the run, at the
end, and its peak. The clients run on the same
2 cores as the server, so the figures include their cost.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import RagError
from rag.settings import Settings

TARGETS = {"search": 150.0, "chat": 300.0}  # p95 ms at 16 clients, bank size


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn's workers), MB; 0 once it has exited."""
    total = 0.0
    try:
        with open(f"/proc/{pid}/status") as f:
            total = next((int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:")), 0.0)
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        return total
    return total + sum(_rss_mb(c) for c in children)


class _Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples, self.stop = pid, [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append(_rss_mb(self.pid))
            time.sleep(0.2)


def _drive(url: str, kind: str, queries: list[str], clients: int, seconds: float, max_requests: int) -> dict[str, Any]:
    # the standard library's keep-alive connections: the clients share the server's cores, and
    # http.client costs them about half of what httpx does per request
    import http.client
    import json
    from urllib.parse import urlsplit

    address = urlsplit(url)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    sent = [0]
    headers = {"Content-Type": "application/json"}

    def body(q: str) -> tuple[str, bytes]:
        if kind == "search":
            return "/v1/search", json.dumps({"query": q, "k": 5}).encode()
        message = {"model": "llm-interview-bank", "messages": [{"role": "user", "content": q}]}
        return "/v1/chat/completions", json.dumps(message).encode()

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        i = n
        try:
            while time.monotonic() < deadline:
                with lock:
                    if sent[0] >= max_requests:
                        return
                    sent[0] += 1
                path, payload = body(queries[i % len(queries)])
                i += clients
                t = time.perf_counter()
                try:
                    conn.request("POST", path, payload, headers)
                    r = conn.getresponse()
                    r.read()
                    error = None if r.status == 200 else str(r.status)
                except (OSError, http.client.HTTPException) as exc:
                    error = type(exc).__name__
                    conn.close()  # reconnects on the next request
                elapsed = time.perf_counter() - t
                with lock:
                    latencies.append(elapsed)
                    if error is not None:
                        errors.append(error)
        finally:
            conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    ms = np.asarray(latencies) * 1000 if latencies else np.zeros(1)
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "throughput": len(latencies) / wall,
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "p99": float(np.percentile(ms, 99)),
        "error_kinds": sorted(set(errors))[:5],
    }


def _serve(data_dir: Path, port: int, log: Path, workers: int = 1) -> subprocess.Popen:
    import urllib.request

    env = os.environ | {"RAG_DATA_DIR": str(data_dir), "RAG_LLM": "extractive"}
    env.pop("RAG_API_KEY", None)
    out = log.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag", "serve", "--port", str(port), "--workers", str(workers)],
        stdout=out,
        stderr=subprocess.STDOUT,
        env=env,
    )
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RagError(f"the server did not start; its log: {log}") from None
            time.sleep(0.3)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_serve_bench(
    settings: Settings, sizes: list[int], clients: int, seconds: float, max_requests: int, ingest, workers: int = 1
) -> int:
    from rag.evaluation.bench import bench_scratch, synthetic_index
    from rag.index.embeddings import embedder_name
    from rag.index.snapshot import build_snapshot
    from rag.index.store import chroma_client, mark_fingerprint

    queries, tmp = bench_scratch(settings, "bench --serve")
    try:
        bank = settings.model_copy(update={"data_dir": tmp / "bank"})
        ingest(None, bank, show_bar=False)
        print(
            f"{workers} server process(es), {clients} concurrent clients, up to {seconds:g} s"
            f" or {max_requests} requests per phase, loopback",
            flush=True,
        )
        rng = np.random.default_rng(0)
        for size in [0, *sizes]:
            # each synthetic index is built just before its server starts, after the bank's run: the
            # writes' background work in this process would otherwise share the cores with the bank's
            label, data_dir = "bank", bank.data_dir
            if size:
                sz = settings.model_copy(update={"data_dir": tmp / f"syn{size}"})
                col = synthetic_index(sz, chroma_client(bank).get_collection(bank.collection), size, rng)
                build_snapshot(col, sz, mark_fingerprint(col), embedder_name(sz))
                label, data_dir = f"{col.count()} chunks", sz.data_dir
            port = _free_port()
            proc = _serve(data_dir, port, tmp / f"serve-{port}.log", workers)
            try:
                url = f"http://127.0.0.1:{port}"
                for kind in ("search", "chat"):  # warm up: the first requests load word lists, grow arenas
                    _drive(url, kind, queries[-200:], clients, 3, 200)
                sampler = _Sampler(proc.pid)
                sampler.start()
                for kind in ("search", "chat"):
                    f = _drive(url, kind, queries, clients, seconds, max_requests)
                    target = f" [target p95 <= {TARGETS[kind]:.0f} ms at bank size]" if label == "bank" else ""
                    print(
                        f"{label} {kind}: {f['requests']} requests, {f['errors']} errors, {f['throughput']:.0f} req/s, "
                        f"p50 {f['p50']:.0f} ms p95 {f['p95']:.0f} ms p99 {f['p99']:.0f} ms{target}"
                        + (f" errors: {f['error_kinds']}" if f["errors"] else ""),
                        flush=True,
                    )
                sampler.stop.set()
                sampler.join()
                rss = sampler.samples or [0.0]
                # stable = flat once the first queries have filled the caches (word lists, jieba's)
                quarter = rss[len(rss) // 4]
                print(
                    f"{label} server RSS: start {rss[0]:.0f} MB, after a quarter of the run {quarter:.0f} MB,"
                    f" end {rss[-1]:.0f} MB ({rss[-1] - quarter:+.0f} MB over the last three quarters),"
                    f" peak {max(rss):.0f} MB",
                    flush=True,
                )
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0
