"""Real ``tallyboard serve`` processes started on port 0, their log read as they write
it, and one organization applied through the HTTP API: the multi-process tests start
several on one database."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx
from sqlalchemy import select

from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tests.support.harness import mint_admin_token

__all__ = ["ServerProcess", "start_server", "tenancy", "wait_ready"]

_LISTENING = re.compile(r"running on http://127\.0\.0\.1:(\d+)")
STARTUP_SECONDS = 60


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    port: int | None = None
    listening: threading.Event = field(default_factory=threading.Event)
    reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def read_log(self) -> None:
        assert self.process.stderr is not None
        with self.process.stderr:
            for line in self.process.stderr:
                self.lines.append(line)
                match = _LISTENING.search(line)
                if match and self.port is None:
                    self.port = int(match.group(1))
                    self.listening.set()
        self.listening.set()  # the process ended: stop waiting either way

    def terminate_and_wait(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.wait_stopped()

    def wait_stopped(self) -> None:
        # uvicorn re-raises the signal once it has shut down gracefully.
        returncode = self.process.wait(60)
        if self.reader is not None:
            self.reader.join(30)  # every line the process wrote has been read
        assert returncode in (0, -signal.SIGTERM), self.log()

    def log(self) -> str:
        return "".join(self.lines[-50:])


def start_server(
    database_url: str, flush_interval: float, log_format: str = "text"
) -> ServerProcess:
    env = {
        **os.environ,
        "TALLYBOARD_DATABASE_URL": database_url,
        "TALLYBOARD_FLUSH_INTERVAL": str(flush_interval),
        "TALLYBOARD_LOG_FORMAT": log_format,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tallyboard", "serve", "--host", "127.0.0.1", "--port", "0"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = ServerProcess(process)
    server.reader = threading.Thread(target=server.read_log, daemon=True)
    server.reader.start()
    return server


def wait_ready(server: ServerProcess) -> None:
    """Poll until the server listens and answers /readyz, within a deadline."""
    deadline = time.monotonic() + STARTUP_SECONDS
    assert server.listening.wait(STARTUP_SECONDS), "the server never listened"
    assert server.port is not None, server.log()
    while True:
        try:
            if httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, server.log()
        assert server.process.poll() is None, server.log()
        time.sleep(0.05)


def tenancy(server: ServerProcess, database_url: str) -> tuple[int, dict[str, str]]:
    """One organization with two service accounts and a personal token: bearer tokens
    keyed by their label in the token dimension, and the organization's pk."""
    org_id = str(uuid.uuid4().int % 10**9)
    admin = mint_admin_token(database_url)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        applied = http.post(
            "/v1/admin/apply",
            headers={"Authorization": f"Bearer {admin}"},
            json={
                "organizations": [{"id": org_id, "name": "Many"}],
                "users": [
                    {
                        "email": f"{org_id}@example.test",
                        "name": "John",
                        "memberships": [{"organization": org_id, "role": "admin"}],
                        "personalTokens": [{"name": "CLI", "billingOrganization": org_id}],
                    }
                ],
                "serviceAccounts": [
                    {"organization": org_id, "name": n, "role": "admin", "tokenLifetime": "1h"}
                    for n in ("bot-1", "bot-2")
                ],
            },
        )
        assert applied.status_code == 200, applied.text
        secrets = applied.json()
        tokens = {"John - CLI": secrets["personalTokens"][0]["token"]}
        for account in secrets["serviceAccounts"]:
            minted = http.post(
                "/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": account["clientId"],
                    "client_secret": account["clientSecret"],
                },
            )
            tokens[account["name"]] = minted.json()["access_token"]
    database = Database(database_url)
    with database.read() as conn:
        pk = conn.execute(
            select(t.organizations.c.pk).where(t.organizations.c.id == org_id)
        ).scalar_one()
    database.dispose()
    return int(pk), tokens
