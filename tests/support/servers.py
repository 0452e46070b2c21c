"""Starting real servers on loopback for tests: a free port, a process, a health check."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(cmd: list[str], health_url: str, log: Path, timeout: float = 90, **popen) -> Iterator[None]:
    """Run `cmd` until the block ends; first wait for `health_url` to answer 200 (or fail with its log)."""
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, **popen)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(health_url, timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"{cmd[0]} did not start:\n{log.read_text()[-2000:]}") from None
                    time.sleep(0.3)
            yield
        finally:
            proc.terminate()
            proc.wait(timeout=30)
