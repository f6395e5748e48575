"""A real ``tallyboard serve`` process for the fuzz, and the tenancy it is seeded with.

The server runs exactly as in production (``python -m tallyboard serve``: uvloop,
httptools, the JSON log format) on a database of the test's own; its log goes to a file
that the fuzz reads at the end. The tenancy is applied over ``POST /v1/admin/apply``
with an instance admin token minted in the database, like an operator would.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.support.events import ai_credit, api_call, task_run
from tests.support.harness import mint_admin_token

__all__ = ["ServeProcess", "World", "seed_world", "serve"]

_LISTENING = re.compile(r"running on http://127\.0\.0\.1:(\d+)")
STARTUP_SECONDS = 60.0
FLUSH_INTERVAL = 0.2


@dataclass
class ServeProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    url: str = ""

    def log_lines(self) -> list[str]:
        return self.log_path.read_text("utf-8", "backslashreplace").splitlines()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self.url:
            match = _LISTENING.search(self.log_path.read_text("utf-8", "replace"))
            if match:
                self.url = f"http://127.0.0.1:{match.group(1)}"
            self._still_starting(deadline)
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            self._still_starting(deadline)

    def _still_starting(self, deadline: float) -> None:
        tail = "\n".join(self.log_lines()[-30:])
        assert self.process.poll() is None, f"the server exited while starting:\n{tail}"
        assert time.monotonic() < deadline, f"the server did not become ready:\n{tail}"
        time.sleep(0.05)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(30)
            raise


@contextmanager
def serve(database_url: str, log_path: Path) -> Iterator[ServeProcess]:
    """``tallyboard serve`` on a free port; stopped with SIGTERM afterwards."""
    env = {
        **os.environ,
        "TALLYBOARD_DATABASE_URL": database_url,
        "TALLYBOARD_FLUSH_INTERVAL": str(FLUSH_INTERVAL),
        "TALLYBOARD_LOG_FORMAT": "json",
        "TALLYBOARD_LOG_LEVEL": "info",
    }
    env.pop("TALLYBOARD_REDIS_URL", None)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tallyboard", "serve", "--host", "127.0.0.1", "--port", "0"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = ServeProcess(process, log_path)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@dataclass
class World:
    """The tenancy the fuzz runs against, and every credential it may present."""

    url: str
    admin_token: str
    org_ids: list[str]
    """Short ids of organizations A, B (the fuzz principal's) and C (nobody's)."""
    org_uuids: list[str]
    tokens: dict[str, str]
    """GraphQL bearer tokens by who holds them: super (super_admin in A, via OAuth),
    member (member of A: no usage_stats), viewer (a custom usage_stats role in B),
    personal (a deprecated personal token of an admin of A and B)."""
    client: tuple[str, str]
    """A service account's client id and secret, for ``/oauth/token``."""
    ingest_keys: dict[str, str]
    """``all`` (instance-wide) and ``bound`` (bound to organization A)."""
    flow_ids: list[str] = field(default_factory=list)
    agent_ids: list[str] = field(default_factory=list)
    cursor: str = ""
    """A genuine ``endCursor`` of organization A's flow listing."""
    stored_events: list[dict[str, Any]] = field(default_factory=list)
    """Events ingested while seeding (acknowledged: stored), for replays."""
    suffix: str = ""

    def __repr__(self) -> str:  # hypothesis prints the strategies that hold a World
        return f"World(suffix={self.suffix!r}, url={self.url!r})"


def _document(suffix: str, org_ids: list[str], org_uuids: list[str]) -> dict[str, Any]:
    a, b, c = org_ids
    month = datetime.now(UTC).strftime("%Y-%m")
    allowances = {"apiCalls": 100_000, "integrationTasks": 5_000, "aiCredits": 500.5}
    organizations: list[dict[str, Any]] = [
        {
            "id": a,
            "uuid": org_uuids[0],
            "name": f"Fuzz A {suffix}",
            "settings": [
                {
                    "effectiveFrom": month,
                    "allowances": allowances,
                    "aiCreditAddon": True,
                    "freeAiCredits": 20,
                    "aiAutomationEnabled": True,
                    "assistantsEnabled": True,
                }
            ],
            "agents": [
                {"id": "agt-1", "name": "Invoice Processor"},
                {"id": "agt-9", "deleted": True},
            ],
            "flows": [
                {
                    "id": "flow-1",
                    "name": "Sync CRM",
                    "project": {"id": "prj-1", "name": "Sales", "icon": "cart", "color": "blue"},
                },
                {"id": "flow-2", "name": "Nightly export", "status": "DISABLED"},
            ],
        },
        {
            "id": b,
            "uuid": org_uuids[1],
            "name": f"Fuzz B {suffix}",
            "roles": [{"name": "Viewer", "permissions": ["usage_stats"]}],
        },
        {"id": c, "uuid": org_uuids[2], "name": f"Fuzz C {suffix}"},
    ]
    return {
        "organizations": organizations,
        "users": [
            {
                "email": f"ada-{suffix}@fuzz.test",
                "name": "Ada",
                "memberships": [
                    {"organization": a, "role": "admin"},
                    {"organization": b, "role": "admin"},
                ],
                "personalTokens": [{"name": "cli", "billingOrganization": a}],
            }
        ],
        "serviceAccounts": [
            {"organization": a, "name": "super", "role": "super_admin", "tokenLifetime": "1d"},
            {"organization": a, "name": "member", "role": "member", "tokenLifetime": "1d"},
            {"organization": b, "name": "viewer", "role": "Viewer", "tokenLifetime": "1d"},
        ],
        "ingestKeys": [{"name": f"all-{suffix}"}, {"name": f"bound-{suffix}", "organization": a}],
    }


def seed_world(server: ServeProcess, database_url: str, http: httpx.Client) -> World:
    """Apply the tenancy, obtain every credential, ingest a little usage, find a cursor."""
    suffix = uuid.uuid4().hex[:8]
    org_ids = [f"fz{suffix}{n}" for n in "abc"]
    org_uuids = [str(uuid.uuid4()) for _ in org_ids]
    admin = mint_admin_token(database_url)
    applied = http.post(
        "/v1/admin/apply",
        content=orjson.dumps(_document(suffix, org_ids, org_uuids)),
        headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"},
    )
    assert applied.status_code == 200, applied.text
    secrets = applied.json()
    accounts = {a["name"]: (a["clientId"], a["clientSecret"]) for a in secrets["serviceAccounts"]}
    tokens = {name: _access_token(http, *accounts[name]) for name in ("super", "member", "viewer")}
    tokens["personal"] = secrets["personalTokens"][0]["token"]
    keys = {k["name"].split("-")[0]: k["key"] for k in secrets["ingestKeys"]}
    world = World(
        url=server.url,
        admin_token=admin,
        org_ids=org_ids,
        org_uuids=org_uuids,
        tokens=tokens,
        client=accounts["member"],
        ingest_keys=keys,
        flow_ids=["flow-1", "flow-2", "flow-3"],
        agent_ids=["agt-1", "agt-2", "agt-9"],
        suffix=suffix,
    )
    _ingest_usage(http, world)
    world.cursor = _first_cursor(http, world)
    return world


def _access_token(http: httpx.Client, client_id: str, secret: str) -> str:
    response = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _ingest_usage(http: httpx.Client, world: World) -> None:
    now = datetime.now(UTC)
    events: list[dict[str, Any]] = []
    for org in world.org_uuids:
        for hours in range(0, 24 * 20, 37):
            at = now - timedelta(hours=hours)
            events.append(api_call(org, at, operation=f"Op{hours % 5}", count=1 + hours % 7))
            events.append(task_run(org, at, flow=world.flow_ids[hours % 3], tasks=hours % 11))
            events.append(ai_credit(org, at, agent=world.agent_ids[hours % 3], credits=0.25))
    response = http.post(
        "/v1/events",
        content=orjson.dumps(events),
        headers={"Authorization": f"Bearer {world.ingest_keys['all']}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(events), response.text
    world.stored_events = events


def _first_cursor(http: httpx.Client, world: World) -> str:
    query = (
        "query($o: ID!){ integrationsUsageDetails(organizationUuid: $o, "
        "period: current_month, first: 1){ pageInfo { endCursor } } }"
    )
    response = http.post(
        "/graphql",
        json={"query": query, "variables": {"o": world.org_uuids[0]}},
        headers={"Authorization": f"Bearer {world.tokens['super']}"},
    )
    assert response.status_code == 200, response.text
    cursor: str = response.json()["data"]["integrationsUsageDetails"]["pageInfo"]["endCursor"]
    assert cursor, response.text
    return cursor
