"""Section 11's commands: ``tallyboard correct``, ``tallyboard month close/reopen`` and
``tallyboard audit`` (and, when it lands, ``verify``).

Registered on the main application by :func:`register`, which receives how main opens
a migrated database, so these commands run the server's services, wired the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import orjson
import typer

from tallyboard.admin.audit import AuditQuery, entry_json
from tallyboard.cli.config import load_settings
from tallyboard.components import Components
from tallyboard.domain.errors import InvalidInputError, TallyboardError
from tallyboard.ingest.parser import parse_events
from tallyboard.settings import Settings

__all__ = ["register"]

Migrated = Callable[[Settings], Components]


def _print_json(payload: object) -> None:
    sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")


def _invalid(exc: InvalidInputError, status: int = 2) -> None:
    for problem in exc.problems:
        typer.echo(f"--{problem}", err=True)
    sys.exit(status)


def _read_entries(file: Path) -> list[object]:
    """A JSON array, or NDJSON (one entry per line); exit 2 when it is neither."""
    try:
        body = file.read_bytes()
    except OSError as exc:
        typer.echo(f"Cannot read {file}: {exc.strerror}", err=True)
        sys.exit(2)
    try:
        return parse_events(body, ndjson=not body.lstrip().startswith(b"["), max_events=10**9)
    except TallyboardError as exc:
        typer.echo(f"{file}: {exc.message}", err=True)
        sys.exit(2)


_opener: dict[str, Migrated] = {}
"""How main opens a migrated database (set by :func:`register`)."""


def _components(ctx: typer.Context) -> Components:
    return _opener["migrated"](load_settings(ctx))


def register(app: typer.Typer, migrated: Migrated) -> None:
    """Add section 11's commands to ``app``."""
    _opener["migrated"] = migrated
    app.command("correct")(correct)
    app.command("audit")(audit)
    month_app = typer.Typer(no_args_is_help=True, help="Close or reopen a month.")
    month_app.command("close")(close_month)
    month_app.command("reopen")(reopen_month)
    app.add_typer(month_app, name="month")


_MONTH = Annotated[str, typer.Argument(help="YYYY-MM, ended at least one hour ago")]


def close_month(ctx: typer.Context, month: _MONTH) -> None:
    """Close a month instance-wide: events, adjustments and voids dated in it are refused."""
    _set_month(ctx, month, closed=True)


def reopen_month(ctx: typer.Context, month: _MONTH) -> None:
    """Reopen a closed month."""
    _set_month(ctx, month, closed=False)


def _set_month(ctx: typer.Context, month: str, *, closed: bool) -> None:
    components = _components(ctx)
    try:
        months = components.months
        answer = months.close(month) if closed else months.reopen(month)
    except InvalidInputError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        sys.exit(1)
    finally:
        components.close()
    typer.echo(f"{answer['month']} is {'closed' if answer['closed'] else 'open'}.")


def correct(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Voids and adjustments: JSON array or NDJSON")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Void ingested events and apply signed adjustments (exit 1 if any is rejected)."""
    entries = _read_entries(file)
    components = _components(ctx)
    try:
        result = components.corrections.correct(entries)
    finally:
        components.close()
    if as_json:
        _print_json(result.as_json())
    else:
        typer.echo(
            f"{result.applied} applied, {result.unchanged} unchanged, "
            f"{len(result.rejected)} rejected"
        )
        for rejection in result.as_json()["rejected"]:
            typer.echo(
                f"  entry {rejection['index']} ({rejection['id']}): "
                f"{rejection['code']}: {rejection['message']}",
                err=True,
            )
    if result.rejected:
        sys.exit(1)


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
    components = _components(ctx)
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
