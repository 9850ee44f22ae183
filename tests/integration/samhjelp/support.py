"""Start real `samhjelp serve` processes on free ports and wait until they answer ready."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from notify.testing import free_port


@dataclass(frozen=True)
class Served:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text()[-chars:]


@contextmanager
def serving(
    env: Mapping[str, str], logs: list[Path], *, cwd: Path | None = None
) -> Iterator[list[Served]]:
    """One server a log file (its stderr), all started at once; all stopped on the way out."""
    with ExitStack() as files:
        servers: list[Served] = []
        try:
            for log in logs:
                port = free_port()
                process = subprocess.Popen(
                    [sys.executable, "-m", "samhjelp.cli", "serve", "--port", str(port)],
                    cwd=cwd,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=files.enter_context(log.open("w")),
                )
                servers.append(Served(port, process, log))
            yield servers
        finally:
            for served in servers:
                served.process.terminate()
            for served in servers:
                try:
                    served.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    served.process.kill()
                    served.process.wait()


def wait_ready(servers: list[Served], seconds: float = 90) -> set[int]:
    """The indexes of the servers whose /health/ready answered 200 within ``seconds``.

    A server that exits fails the test with its log: it will never become ready.
    """
    ready: set[int] = set()
    deadline = time.monotonic() + seconds
    while len(ready) < len(servers) and time.monotonic() < deadline:
        for i, served in enumerate(servers):
            if i in ready:
                continue
            if served.process.poll() is not None:
                pytest.fail(f"server {i} exited with {served.process.returncode}:\n{served.tail()}")
            try:
                answer = httpx.get(served.url("/health/ready"), timeout=2)
            except httpx.HTTPError:
                continue
            if answer.status_code == 200:
                ready.add(i)
        if len(ready) < len(servers):
            time.sleep(0.3)
    return ready
