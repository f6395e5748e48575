"""The columns an agent and an automation share (spec §9): what a usage listing shows.

Agents (first wave) and automations (second wave) are listed by the same rules, so
both tables carry the same descriptive columns; one factory keeps them identical.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import BigInteger, Column, String, Text
from sqlalchemy.types import TypeEngine

__all__ = ["APPLIED", "entry_columns"]

APPLIED = "applied"
"""The canonical JSON of what the tenancy document last stated for an entry: an apply
whose entry is unchanged changes nothing, not even a name an event set since."""


def entry_columns(key_text: Callable[[int], TypeEngine[str]]) -> list[Column[object]]:
    """Fresh columns (a Column belongs to one table) for ``agents`` and ``automations``."""
    return [
        Column("action", Text, nullable=True),
        Column("event", Text, nullable=True),
        # active / inactive; entries first seen in events are active.
        Column("status", String(16), nullable=False, server_default="active"),
        Column("action_pipe", key_text(128), nullable=True),
        Column("event_pipe", key_text(128), nullable=True),
        Column("tags", Text, nullable=False, server_default="[]"),  # JSON array of names
        Column("created_by", Text, nullable=True),  # a user's e-mail
        # Epoch ms: as the document states it (or its first apply), else first event.
        Column("created_at", BigInteger, nullable=True),
        Column("first_event_at", BigInteger, nullable=True),
        # Epoch ms: when the entry last changed (an apply, or an event name that won).
        Column("updated_at", BigInteger, nullable=False, server_default="0"),
        Column(APPLIED, Text, nullable=True),
    ]
