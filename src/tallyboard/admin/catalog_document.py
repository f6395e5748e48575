"""The usage catalog sections of an organization (spec §6, §9): agents, pipes, automations.

Shapes only (every problem with its path, like the rest of ``admin/document.py``);
what they refer to -- pipes of the same organization, a creator who is a user -- is
checked by ``admin/catalog_checks.py`` against the document and the database.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import orjson
from pydantic import Field, field_validator

from tallyboard.admin.model import DocumentModel
from tallyboard.domain.text import MAX_NAME_LENGTH

__all__ = ["STATUSES", "Agent", "Automation", "Pipe", "UsageEntry"]

STATUSES = ("active", "inactive")

Identifier = Annotated[str, Field(min_length=1, max_length=128)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Short = Annotated[str, Field(min_length=1, max_length=128)]
Decoration = Annotated[str, Field(max_length=MAX_NAME_LENGTH)]


class Pipe(DocumentModel):
    id: Identifier
    uuid: str | None = None
    name: Name
    icon: Decoration | None = None
    color: Decoration | None = None

    @field_validator("uuid")
    @classmethod
    def _uuid(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError(
                "must be a UUID such as 8a1c4f10-1111-4d2c-9c2a-abc123def456"
            ) from None


class UsageEntry(DocumentModel):
    """What agents and automations share: how a usage listing describes them."""

    id: Identifier
    action: Short | None = None
    event: Short | None = None
    status: str = "active"
    action_pipe: Identifier | None = None
    event_pipe: Identifier | None = None
    tags: list[Short] = Field(default_factory=list)
    created_by: Annotated[str, Field(min_length=3, max_length=320)] | None = None
    created_at: datetime | None = None
    deleted: bool = False

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        lower = value.lower()
        if lower not in STATUSES:
            raise ValueError("must be active or inactive")
        return lower

    @field_validator("created_by")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and "@" not in value:
            raise ValueError("must be a user's e-mail address")
        return None if value is None else value.lower()

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a timezone, e.g. 2026-09-01T00:00:00Z")
        return value

    def stated(self) -> dict[str, Any]:
        """The catalog columns this entry states (``created_at`` only when given)."""
        values: dict[str, Any] = {
            "action": self.action,
            "event": self.event,
            "status": self.status,
            "action_pipe": self.action_pipe,
            "event_pipe": self.event_pipe,
            "tags": orjson.dumps(sorted(set(self.tags))).decode(),
            "created_by": self.created_by,
            "deleted": self.deleted,
        }
        if self.created_at is not None:
            values["created_at"] = int(self.created_at.timestamp() * 1000)
        return values


class Agent(UsageEntry):
    name: Name | None = None


class Automation(UsageEntry):
    name: Name
    action: Short
    event: Short
