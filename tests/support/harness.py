"""Drive a Tallyboard app through its public interfaces, with a clock the test controls.

``Harness`` runs the real application (``create_app``) in-process behind Starlette's
TestClient; ``LiveServer`` serves the same application on a real loopback port with
uvicorn in a thread, for tests that must go over real HTTP. Both share the helpers:
apply a tenancy document through ``POST /v1/admin/apply``, exchange client
credentials at ``POST /oauth/token``, and post GraphQL documents.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tallyboard.access.tokens import CredentialKind, hash_secret, new_secret
from tallyboard.app import create_app
from tallyboard.cli.server import server_options
from tallyboard.domain.clock import FixedClock
from tallyboard.settings import Settings
from tallyboard.storage import credential_store
from tallyboard.storage.database import Database

__all__ = ["DEFAULT_NOW", "Harness", "LiveServer", "mint_admin_token"]

DEFAULT_NOW = datetime(2026, 11, 21, 10, 30, 0, tzinfo=UTC)


def mint_admin_token(database_url: str) -> str:
    token = new_secret(CredentialKind.ADMIN_TOKEN)
    database = Database(database_url)
    with database.write() as conn:
        credential_store.insert_admin_token(conn, hash_secret(token), "tests", 0)
    database.dispose()
    return token


class _Api:
    """Helpers shared by the in-process and the live-server harnesses."""

    http: Any  # httpx.Client (live server) or TestClient (an httpx2 client): same API
    admin_token: str
    app: Starlette

    def flush(self) -> str:
        """Write every call metered so far to the rollups and wait for it (no waiting for
        the flush interval); returns the flush outcome."""
        return str(self.app.state.flusher.flush_now())

    def apply(self, document: Mapping[str, Any], *, expect: int = 200) -> dict[str, Any]:
        response = self.http.post(
            "/v1/admin/apply",
            json=dict(document),
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )
        assert response.status_code == expect, response.text
        result: dict[str, Any] = response.json()
        return result

    def access_token(self, client_id: str, client_secret: str) -> str:
        response = self.http.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
            },
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def service_account_tokens(self, secrets: Mapping[str, Any]) -> dict[str, str]:
        """Access tokens for every service account created by an ``apply``, by name."""
        return {
            account["name"]: self.access_token(account["clientId"], account["clientSecret"])
            for account in secrets["serviceAccounts"]
        }

    def personal_tokens(self, secrets: Mapping[str, Any]) -> dict[str, str]:
        """Personal tokens created by an ``apply``, keyed by ``user/name``."""
        return {f"{t['user']}/{t['name']}": t["token"] for t in secrets["personalTokens"]}

    def graphql_response(
        self,
        token: str | None,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> Any:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = dict(variables)
        if operation_name is not None:
            body["operationName"] = operation_name
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.post("/graphql", json=body, headers=headers)

    def graphql(
        self,
        token: str | None,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        response = self.graphql_response(token, query, variables, operation_name)
        result: dict[str, Any] = response.json()
        return result


class Harness(_Api):
    """The application in-process (TestClient), on its own database and clock."""

    def __init__(self, database_url: str, *, now: datetime = DEFAULT_NOW, **settings: Any) -> None:
        self.database_url = database_url
        self.clock = FixedClock(now)
        self.settings = Settings(database_url=database_url, **settings)
        self.app: Starlette = create_app(self.settings, clock=self.clock)
        self.admin_token = mint_admin_token(database_url)
        self._client = TestClient(self.app, raise_server_exceptions=True)
        self.http = self._client

    def __enter__(self) -> Harness:
        self._client.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.__exit__(*exc)

    @property
    def services(self) -> Any:
        return self.app.state.components


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer(_Api):
    """The application behind real uvicorn on a loopback port, in a background thread."""

    def __init__(self, database_url: str, *, now: datetime = DEFAULT_NOW, **settings: Any) -> None:
        self.database_url = database_url
        self.clock = FixedClock(now)
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        # The port it really listens on, so the links it hands out (exports) lead back.
        self.settings = Settings(database_url=database_url, **{"port": self.port, **settings})
        self.app = create_app(self.settings, clock=self.clock)
        self.admin_token = mint_admin_token(database_url)
        # The options `tallyboard serve` uses: header deadline, keep-alive, limits.
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, **server_options(self.settings)
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self.http = httpx.Client(base_url=self.base_url, timeout=30)

    @property
    def services(self) -> Any:
        return self.app.state.components

    @contextmanager
    def running(self) -> Iterator[LiveServer]:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.01)
        try:
            yield self
        finally:
            self.http.close()
            self._server.should_exit = True
            self._thread.join(30)
