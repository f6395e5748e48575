"""Which events of a batch still fit when it would take a monthly total past the ceiling.

The hot path reads nothing for the ceiling (decision 0012): the rollup writer adds to
the organizations' monthly totals first, and the database's CHECK constraints refuse a
write past ``FIGURE_CEILING``. Only then is the batch written again
(``IngestService``), and this module decides event by event, in the batch's order,
which events still fit: the totals of every month the new events touch are locked and
read, each event that keeps them within the ceiling is kept, and any other is
rejected as ``INVALID_EVENT`` naming its amount. Other organizations' events and the
organization's other months are never affected.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from tallyboard.domain.credits import MICRO
from tallyboard.domain.event_fold import usage_deltas
from tallyboard.domain.event_time import format_ms
from tallyboard.domain.events import Event
from tallyboard.domain.rollup import FIGURE_CEILING, CeilingGuard
from tallyboard.domain.usage import EventType
from tallyboard.storage import usage_totals
from tallyboard.storage.dialect import StorageDialect

__all__ = ["EventKey", "ceiling_message", "refusal_message", "split_within_ceiling"]

EventKey = tuple[int, str, str]

AMOUNT_FIELDS = {
    EventType.API_CALL: "data.count",
    EventType.INTEGRATION_TASK: "data.tasks",
    EventType.AI_CREDIT: "data.credits",
    EventType.AUTOMATION_JOB: "data.jobs",
}
_FIGURE_NAMES = {
    "calls": "API calls",
    "tasks": "integration tasks",
    "runs": "integration runs",
    "credits": "AI credits",
    "jobs": "automation jobs",
}


def split_within_ceiling(
    conn: Connection, dialect: StorageDialect, events: list[Event]
) -> tuple[list[Event], dict[EventKey, str]]:
    """(events that fit, in order; the key and rejection message of every other one).

    The totals read stay locked until the transaction ends, so what fits now still
    fits at its commit, whatever other processes write meanwhile."""
    additions = [(event, usage_deltas((event,)).month_totals()) for event in events]
    months = {month for _, added in additions for month in added}
    guard = CeilingGuard(usage_totals.lock_and_read(conn, dialect, months))
    kept: list[Event] = []
    refused: dict[EventKey, str] = {}
    for event, added in additions:
        passed = guard.admit(added)
        if passed is None:
            kept.append(event)
        else:
            (_, month), figure = passed
            refused[event.key] = ceiling_message(event, month, figure)
    return kept, refused


def ceiling_message(event: Event, month: str, figure: str) -> str:
    ceiling = f"{FIGURE_CEILING // MICRO} credits" if figure == "credits" else FIGURE_CEILING
    return (
        f"{AMOUNT_FIELDS[event.type]}: would take the organization's "
        f"{_FIGURE_NAMES[figure]} of {month} past {ceiling}, the most one organization's "
        "month may hold; the event was not stored"
    )


def refusal_message(event: Event, exc: BaseException, dialect: StorageDialect) -> str:
    """The rejection of an event the database refused on its own (not foreseen by
    :func:`split_within_ceiling`): named by its amount when a figure was out of range."""
    if dialect.passes_ceiling(exc):
        month = format_ms(event.time_ms)[:7]
        return (
            f"{AMOUNT_FIELDS[event.type]}: would take a figure of the organization's month "
            f"{month} out of range; the event was not stored"
        )
    return "event: the database refused what it holds; the event was not stored"
