"""``tallyboard demo``: a fresh SQLite database with demo tenants, then the server."""

from __future__ import annotations

from pathlib import Path

import typer

from tallyboard.access.oauth import OAuthService
from tallyboard.admin.applier import Applier
from tallyboard.admin.document import parse_document
from tallyboard.demo.tenancy import DEMO_SERVICE_ACCOUNT, demo_document
from tallyboard.domain.clock import SystemClock
from tallyboard.settings import Settings
from tallyboard.storage import migrate
from tallyboard.storage.database import Database

__all__ = ["prepare_demo"]


def prepare_demo(path: Path) -> str:
    """Create ``path`` afresh with the demo tenancy; return a dashboard access token."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    clock = SystemClock()
    result = Applier(database, clock).apply(parse_document(demo_document()))
    account = next(a for a in result.service_accounts if a["name"] == DEMO_SERVICE_ACCOUNT)
    issued = OAuthService(database, clock).issue(
        "client_credentials", account["clientId"], account["clientSecret"]
    )
    database.dispose()
    return issued.access_token


def announce(settings: Settings, token: str) -> None:
    base = settings.base_url
    typer.echo(
        "\nTallyboard demo is ready.\n"
        f"  Dashboard:  {base}/\n"
        f"  Sign in:    {base}/#token={token}\n"
        f"  GraphQL:    {base}/graphql  (Authorization: Bearer {token})\n"
    )
