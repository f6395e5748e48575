"""Section 11's commands: ``tallyboard audit`` (and, as they land, ``correct``,
``month close/reopen`` and ``verify``).

Registered on the main application by :func:`register`, which receives how main opens
a migrated database, so these commands run the server's services, wired the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import orjson
import typer

from tallyboard.admin.audit import AuditQuery, entry_json
from tallyboard.cli.config import load_settings
from tallyboard.components import Components
from tallyboard.domain.errors import InvalidInputError
from tallyboard.settings import Settings

__all__ = ["register"]

Migrated = Callable[[Settings], Components]


def _print_json(payload: object) -> None:
    sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")


def _invalid(exc: InvalidInputError, status: int = 2) -> None:
    for problem in exc.problems:
        typer.echo(f"--{problem}", err=True)
    sys.exit(status)


def register(app: typer.Typer, migrated: Migrated) -> None:
    """Add section 11's commands to ``app``."""

    @app.command("audit")
    def audit(
        ctx: typer.Context,
        since: Annotated[
            str | None, typer.Option(help="Only entries at or after this RFC 3339 time")
        ] = None,
        action: Annotated[str | None, typer.Option(help="Only entries of this action")] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help='Print {"entries": [...]} as JSON')
        ] = False,
    ) -> None:
        """Print the audit log, newest first: who did what, when (never a secret)."""
        try:
            query = AuditQuery.parse(since=since, action=action, paged=False)
        except InvalidInputError as exc:
            _invalid(exc)
            return
        components = migrated(load_settings(ctx))
        try:
            entries = [entry_json(e) for e in components.audit_log.page(query).entries]
        finally:
            components.close()
        if as_json:
            _print_json({"entries": entries})
            return
        for entry in entries:
            actor = f"{entry['actor']['kind']}:{entry['actor']['name']}"
            details = orjson.dumps(entry["details"]).decode()
            organization = entry["organization"] or "-"
            typer.echo(f"{entry['at']}\t{entry['action']}\t{actor}\t{organization}\t{details}")
