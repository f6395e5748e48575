"""Section 11's commands: ``tallyboard correct``, ``month close/reopen``, ``verify`` and
``audit``.

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
from rich.console import Console
from rich.progress import Progress

from tallyboard.admin.audit import AuditQuery, entry_json
from tallyboard.cli.config import load_settings
from tallyboard.components import Components
from tallyboard.domain.errors import InvalidInputError, TallyboardError
from tallyboard.ingest.parser import parse_events
from tallyboard.ingest.verification import VerificationReport
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
    app.command("verify")(verify)
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


def verify(
    ctx: typer.Context,
    organization: Annotated[
        str | None, typer.Option(help="Only this organization (its short id)")
    ] = None,
    month: Annotated[str | None, typer.Option(help="Only this month, YYYY-MM")] = None,
    repair: Annotated[bool, typer.Option("--repair", help="Rewrite the differing figures")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Recompute every figure from the ledger and list each difference (exit 1 if any)."""
    components = _components(ctx)
    try:
        verifier = components.verifier
        try:
            targets = verifier.targets(organization, month)
        except InvalidInputError as exc:
            _invalid(exc)
            return
        console = Console(stderr=True)
        with Progress(console=console, disable=not console.is_terminal) as bar:
            task = bar.add_task("Verifying", total=len(targets))
            report = verifier.verify(targets, repair=repair, progress=lambda: bar.advance(task))
    finally:
        components.close()
    if as_json:
        _print_json(report.as_json())
    else:
        _print_report(report, repair)
    if report.differences:
        sys.exit(1)


def _print_report(report: VerificationReport, repair: bool) -> None:
    if report.differences:
        typer.echo("organization\tmonth\tfigure\texpected\tstored")
    for d in report.differences:
        typer.echo(f"{d.organization}\t{d.month}\t{d.figure}\t{d.expected}\t{d.stored}")
    for org_id, month in report.unverifiable:
        typer.echo(f"{org_id}\t{month}\tnot verifiable (older than the retention horizon)")
    summary = f"{len(report.differences)} differences"
    if repair:
        summary += f", {report.repaired} organization-months repaired"
    typer.echo(summary, err=True)
