"""Reading the audit log: ``GET /v1/admin/audit`` and ``tallyboard audit``.

The query is validated whole (every bad parameter reported at once, ``INVALID_INPUT``)
before anything is read; pages are keyset pages, newest first, so a page never shifts
when new entries arrive while an operator pages through.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from tallyboard.domain.audit import ACTIONS, AuditEntry, AuditPage
from tallyboard.domain.errors import InvalidInputError, Problem
from tallyboard.domain.event_time import format_ms, parse_time
from tallyboard.storage import audit_store
from tallyboard.storage.database import Database

__all__ = ["AuditLog", "AuditQuery", "entry_json", "page_json"]

DEFAULT_FIRST = 50
MAX_FIRST = 100
_CURSOR_PREFIX = b"audit:"


def _cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(_CURSOR_PREFIX + str(pk).encode()).decode().rstrip("=")


def _cursor_pk(text: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    digits = raw.removeprefix(_CURSOR_PREFIX)
    if digits == raw or not digits.isdigit() or len(digits) > 19:
        return None
    return int(digits)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    since_ms: int | None = None
    action: str | None = None
    first: int | None = DEFAULT_FIRST
    """None: every matching entry (the command line's ``--json``)."""
    before_pk: int | None = None

    @classmethod
    def parse(
        cls,
        *,
        since: str | None = None,
        action: str | None = None,
        first: str | None = None,
        after: str | None = None,
        paged: bool = True,
    ) -> AuditQuery:
        """The query from its text parameters, or :class:`InvalidInputError` naming
        every bad one."""
        problems: list[Problem] = []
        since_ms: int | None = None
        if since is not None:
            parsed = parse_time(since)
            if isinstance(parsed, str):
                problems.append(Problem("since", parsed))
            else:
                since_ms = parsed
        if action is not None and action not in ACTIONS:
            problems.append(Problem("action", f"must be one of {', '.join(ACTIONS)}"))
        count: int | None = DEFAULT_FIRST if paged else None
        if first is not None:
            if not first.isdigit() or not 1 <= int(first) <= MAX_FIRST:
                problems.append(Problem("first", f"must be an integer from 1 to {MAX_FIRST}"))
            else:
                count = int(first)
        before_pk = None
        if after is not None:
            before_pk = _cursor_pk(after)
            if before_pk is None:
                problems.append(Problem("after", "is not a cursor this endpoint returned"))
        if problems:
            raise InvalidInputError(problems)
        return cls(since_ms, action, count, before_pk)


class AuditLog:
    def __init__(self, database: Database) -> None:
        self._db = database

    def page(self, query: AuditQuery) -> AuditPage:
        """The entries of ``query``, newest first, and whether more follow."""
        limit = None if query.first is None else query.first + 1
        with self._db.read() as conn:
            rows = audit_store.entries(
                conn,
                since_ms=query.since_ms,
                action=query.action,
                before_pk=query.before_pk,
                limit=limit,
            )
        more = query.first is not None and len(rows) > query.first
        if more:
            rows = rows[: query.first]
        end = _cursor(rows[-1].id) if rows else None
        return AuditPage(rows, more, end)


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    """An entry in the contract's shape (section 11)."""
    return {
        "id": str(entry.id),
        "at": format_ms(entry.at_ms),
        "actor": {"kind": entry.actor.kind, "name": entry.actor.name},
        "action": entry.action,
        "organization": entry.organization,
        "details": entry.details,
    }


def page_json(page: AuditPage) -> dict[str, Any]:
    return {
        "entries": [entry_json(entry) for entry in page.entries],
        "pageInfo": {"hasNextPage": page.has_next_page, "endCursor": page.end_cursor},
    }
