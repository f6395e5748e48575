"""``tallyboard demo``: a fresh SQLite database with demo tenants and usage, then the server.

The work is in :mod:`tallyboard.demo`; this module only shows it happening.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from tallyboard.demo.builder import DemoBuild, Totals, build_demo
from tallyboard.demo.usage import DayOfUsage
from tallyboard.domain.clock import SystemClock
from tallyboard.domain.credits import MICRO
from tallyboard.settings import Settings

__all__ = ["announce", "prepare_demo"]


def prepare_demo(path: Path, settings: Settings, console: Console) -> DemoBuild:
    """Build the demo database at ``path`` with a progress bar; return what was built."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TextColumn("days  [cyan]{task.fields[day]}[/]"),
        TextColumn("{task.fields[events]:>9,} events  {task.fields[calls]:>11,} API calls"),
        TimeElapsedColumn(),
        console=console,
    )
    started = time.perf_counter()
    with progress:
        task = progress.add_task("Generating usage", total=None, day="", events=0, calls=0)

        def on_start(days: int) -> None:
            progress.update(task, total=days)

        def on_day(usage: DayOfUsage, totals: Totals) -> None:
            progress.update(
                task,
                advance=1,
                day=usage.day.isoformat(),
                events=totals.events,
                calls=totals.api_calls,
            )

        build = build_demo(
            path,
            settings,
            SystemClock(),
            on_start=on_start,
            on_day=on_day,
        )
    seconds = time.perf_counter() - started
    totals = build.totals
    console.print(
        f"Built {path} in {seconds:.1f} s: {totals.events:,} events over {totals.days} days "
        f"({build.first_day} to {build.last_day}) — {totals.api_calls:,} API calls, "
        f"{totals.tasks:,} integration tasks, {_credits(totals.micro_credits)} AI credits.",
        highlight=False,
        soft_wrap=True,
    )
    return build


def _credits(micro: int) -> str:
    return format(Decimal(micro) / MICRO, ",f")


def announce(console: Console, base_url: str, build: DemoBuild) -> None:
    first, *others = build.sign_ins
    console.print(
        f"\n[bold green]Tallyboard demo is ready.[/]\n"
        f"  Dashboard:  {base_url}/\n"
        f"  Sign in:    {base_url}/#token={first.token}\n"
        f"              as {first.who}: {first.sees}\n"
        f"  GraphQL:    {base_url}/graphql  (Authorization: Bearer <token>)\n"
        f"  Ingest key: {build.ingest_key}\n"
        "              for POST /v1/events and producers, e.g. the metered example API:\n"
        f"              make example TALLYBOARD_INGEST_KEY={build.ingest_key}\n"
        "\n  Other views (paste the token on the sign-in page):",
        highlight=False,
        soft_wrap=True,
    )
    for sign_in in others:
        console.print(
            f"    {sign_in.who} — {sign_in.sees}\n      {sign_in.token}",
            highlight=False,
            soft_wrap=True,
        )
    console.print()
