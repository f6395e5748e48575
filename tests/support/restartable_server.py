"""``tallyboard serve`` as its own process, restartable on the same port: for tests that
kill or stop a server and start it again on the same database (crash and restart)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

__all__ = ["RestartableServer"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RestartableServer:
    """One server process at a time on a fixed port; ``extra_env`` adds settings."""

    def __init__(
        self, database_url: str, extra_env: dict[str, str] | None = None, ready_within: float = 60
    ) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "TALLYBOARD_DATABASE_URL": database_url,
            "TALLYBOARD_PORT": str(self.port),
            "TALLYBOARD_LOG_LEVEL": "warning",
            **(extra_env or {}),
        }
        self.ready_within = ready_within
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tallyboard", "serve"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.ready_within
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the server exited while starting"
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError("the server did not become ready")

    def kill(self) -> None:
        """A hard kill: nothing the process holds in memory is flushed."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(60)
