"""``tallyboard webhooks deliveries [--status S] [--json]`` and ``webhooks redeliver ID``.

Read and requeue the webhook deliveries of allowance alerts (spec §10) straight from the
configured database, like ``admin apply``: a running server's dispatcher picks a
requeued delivery up on its next round.
"""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from tallyboard.cli.config import load_settings
from tallyboard.components import Components, build_components
from tallyboard.domain.audit import operating_system_actor
from tallyboard.domain.errors import InvalidInputError, NotMigratedError
from tallyboard.storage import migrate as migrations

__all__ = ["webhooks_app"]

webhooks_app = typer.Typer(no_args_is_help=True, help="Webhook deliveries of usage alerts.")

_COLUMNS = (
    "alertId",
    "webhook",
    "status",
    "attempts",
    "lastStatusCode",
    "lastError",
    "nextAttemptAt",
)


def _components(ctx: typer.Context) -> Components:
    components = build_components(load_settings(ctx))
    try:
        migrations.check_migrated(components.database)
    except NotMigratedError as exc:
        components.close()
        typer.echo(exc.message, err=True)
        sys.exit(1)
    return components


@webhooks_app.command()
def deliveries(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help="Only deliveries that are pending, delivered or failed")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"deliveries": [...]} as JSON')
    ] = False,
) -> None:
    """List webhook deliveries, newest alert first."""
    components = _components(ctx)
    try:
        listing = components.alerts.deliveries.listing(status)
    except InvalidInputError as exc:
        typer.echo(exc.message, err=True)
        sys.exit(2)
    finally:
        components.close()
    if as_json:
        sys.stdout.write(orjson.dumps(listing, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    table = Table(*_COLUMNS)
    for delivery in listing["deliveries"]:
        table.add_row(*("" if delivery[c] is None else str(delivery[c]) for c in _COLUMNS))
    Console().print(table)


@webhooks_app.command()
def redeliver(
    ctx: typer.Context,
    alert_id: Annotated[str, typer.Argument(help="The alert's id (its webhook-id header)")],
) -> None:
    """Queue an alert's deliveries again, due now, with a fresh retry schedule."""
    components = _components(ctx)
    try:
        count = components.alerts.deliveries.redeliver(alert_id, operating_system_actor())
    except InvalidInputError as exc:
        typer.echo(exc.message, err=True)
        sys.exit(1)
    finally:
        components.close()
    typer.echo(f"Queued {count} deliveries of alert {alert_id} again.")
