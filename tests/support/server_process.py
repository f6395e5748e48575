"""A real ``tallyboard serve`` process for black-box tests, with its log in a file.

Settings are passed the way operators pass them (``TALLYBOARD_*`` variables), so a
test also checks that ``serve`` wires them into uvicorn and the application.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

__all__ = ["ServerProcess", "free_port", "running_server"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    def __init__(
        self,
        database_url: str,
        workdir: Path,
        *,
        preexec: Callable[[], None] | None = None,
        **settings: Any,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"server-{self.port}.log"
        self.env = {
            **os.environ,
            "TALLYBOARD_DATABASE_URL": database_url,
            "TALLYBOARD_PORT": str(self.port),
            "TALLYBOARD_LOG_FORMAT": "json",
            **{f"TALLYBOARD_{k.upper()}": str(v) for k, v in settings.items()},
        }
        self._preexec = preexec
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, ready: str = "/readyz") -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tallyboard", "serve"],
                env=self.env,
                stdout=log,
                stderr=log,
                preexec_fn=self._preexec,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited while starting:\n{self.log_text()}")
            try:
                if httpx.get(f"{self.url}{ready}", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"the server did not become ready:\n{self.log_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_text(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def log_records(self) -> list[dict[str, Any]]:
        """The server's JSON log lines (anything else it printed is skipped)."""
        records = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                try:
                    records.append(orjson.loads(line))
                except orjson.JSONDecodeError:
                    continue
        return records


@contextmanager
def running_server(database_url: str, workdir: Path, **settings: Any) -> Iterator[ServerProcess]:
    server = ServerProcess(database_url, workdir, **settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()
