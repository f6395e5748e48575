"""``tallyboard ingest FILE`` and ``tallyboard backfill FILE``: NDJSON files of events.

``ingest`` with an ingest key goes over HTTP to a running server, like any producer,
through :mod:`tallyboard.client` (batches, retries with the same ids). Without a key it
writes straight into the configured database, like ``admin apply`` -- the same
service, the same live window (35 days back, 5 minutes ahead). ``backfill`` always goes
straight to the database and accepts any time inside the retention horizon: a history
import is an operator's job on a host that can reach the database, it needs no running
server, and it is not throttled by the live endpoint's backpressure. All follow the same
exactly-once rules, so any of them can be re-run after an interruption: what was stored
comes back as duplicates. (``POST /v1/admin/backfill`` serves remote backfills.)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from tallyboard.client import IngestClient, IngestError
from tallyboard.domain.events import NotJson
from tallyboard.ingest.service import IngestService

__all__ = ["direct_file", "ingest_file"]

_MAX_BATCH_BYTES = 4 * 1024 * 1024
_SHOWN_REJECTIONS = 20


@dataclass
class _Tally:
    events: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    """(line number, rejection)."""

    def add(self, response: dict[str, Any], line_numbers: list[int]) -> None:
        self.events += len(line_numbers)
        self.accepted += int(response["accepted"])
        self.duplicates += int(response["duplicates"])
        for rejection in response["rejected"]:
            self.rejected.append((line_numbers[rejection["index"]], rejection))


def _batches(path: Path, batch_size: int) -> Iterator[tuple[list[int], list[bytes], int]]:
    """(line numbers, lines, bytes read) per batch; blank lines are skipped."""
    numbers: list[int] = []
    lines: list[bytes] = []
    size = 0
    consumed = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            consumed += len(raw)
            line = raw.strip()
            if not line:
                continue
            if lines and (len(lines) >= batch_size or size + len(line) + 1 > _MAX_BATCH_BYTES):
                yield numbers, lines, consumed - len(raw)
                numbers, lines, size, consumed = [], [], 0, len(raw)
            numbers.append(number)
            lines.append(line)
            size += len(line) + 1
    if lines:
        yield numbers, lines, consumed


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[events]} events"),
        console=console,
        transient=False,
    )


def _run(
    path: Path,
    batch_size: int,
    label: str,
    send: Callable[[list[bytes]], dict[str, Any]],
) -> None:
    try:
        total = path.stat().st_size
    except OSError as exc:
        typer.echo(f"Cannot read {path}: {exc.strerror}", err=True)
        sys.exit(2)
    console = Console(stderr=True, soft_wrap=True)  # never fold a line that tools grep
    tally = _Tally()
    failure: str | None = None
    with _progress(console) as progress:
        task = progress.add_task(label, total=total, events=0)
        try:
            for numbers, lines, consumed in _batches(path, batch_size):
                tally.add(send(lines), numbers)
                progress.update(task, advance=consumed, events=tally.events)
        except IngestError as exc:
            failure = exc.message
        except OSError as exc:
            failure = f"cannot read {path}: {exc.strerror}"
    _report(console, path, tally, failure)
    if failure is not None or tally.rejected:
        sys.exit(1)


def _report(console: Console, path: Path, tally: _Tally, failure: str | None) -> None:
    console.print(
        f"{path}: {tally.events} events sent, {tally.accepted} accepted, "
        f"{tally.duplicates} duplicates, {len(tally.rejected)} rejected",
        highlight=False,
    )
    for number, rejection in tally.rejected[:_SHOWN_REJECTIONS]:
        console.print(
            f"  line {number}: {rejection['code']} {rejection['message']}",
            highlight=False,
            markup=False,
        )
    if len(tally.rejected) > _SHOWN_REJECTIONS:
        console.print(f"  ... and {len(tally.rejected) - _SHOWN_REJECTIONS} more rejected")
    if failure is not None:
        console.print(
            f"Stopped: {failure}. Batches acknowledged so far are stored; run the same "
            "command again to send the rest (already stored events count as duplicates).",
            highlight=False,
            markup=False,
        )


def ingest_file(path: Path, url: str, key: str, batch_size: int, max_attempts: int = 10) -> None:
    with IngestClient(url, key, batch_size=batch_size, max_attempts=max_attempts) as client:
        _run(path, batch_size, "ingest", client.send_batch)


def direct_file(service: IngestService, path: Path, batch_size: int, *, backfill: bool) -> None:
    """Events from ``path`` through the ingest service (the composition root's, so the
    one the server runs), straight into its database."""

    def send(lines: list[bytes]) -> dict[str, Any]:
        raw: list[object] = []
        for line in lines:
            try:
                raw.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raw.append(NotJson(f"event: not valid JSON ({exc})"))
        return service.ingest_events(raw, bound_org_pk=None, backfill=backfill).as_json()

    _run(path, batch_size, "backfill" if backfill else "ingest", send)
