"""The tenancy document's shape (``docs/admin-apply.md``), validated field by field.

Structure is checked by pydantic with unknown keys forbidden (a typo is an error, not
silently ignored); every problem is reported with its path at once. Cross-references
(roles, memberships, billing organizations) are checked by the applier against the
document *and* the database inside the apply transaction.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

import orjson
import yaml
from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    field_validator,
)

from tallyboard.admin.alert_document import AlertRule, Webhook, WebhookName
from tallyboard.admin.catalog_document import Agent, Automation, Pipe
from tallyboard.admin.model import DocumentModel as _Model
from tallyboard.domain.credits import MICRO, parse_credits
from tallyboard.domain.errors import InvalidInputError, Problem
from tallyboard.domain.periods import Month
from tallyboard.domain.roles import unknown_permission_reason
from tallyboard.domain.rollup import FIGURE_CEILING
from tallyboard.domain.text import MAX_NAME_LENGTH

__all__ = [
    "Document",
    "load_text",
    "parse_document",
    "parse_duration",
    "parse_lifetime",
    "problems_of",
]

MIN_TOKEN_LIFETIME = 5 * 60
MAX_TOKEN_LIFETIME = 30 * 24 * 3600
_LIFETIME_PART = re.compile(r"(\d+)\s*([dhms])")
_LIFETIME_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def parse_duration(value: object) -> int:
    """Seconds from ``30d``, ``12h``, ``1h30m``, ``300s`` or a bare number of seconds."""
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 30d, 12h, 45m or 300s")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit():
            seconds = int(text)
        else:
            parts = _LIFETIME_PART.findall(text)
            if not parts or _LIFETIME_PART.sub("", text).strip():
                raise ValueError("must be a duration such as 30d, 12h, 45m or 300s")
            seconds = sum(int(n) * _LIFETIME_UNITS[unit] for n, unit in parts)
    else:
        raise ValueError("must be a duration such as 30d, 12h, 45m or 300s")
    if seconds <= 0:
        raise ValueError("must be longer than zero")
    return seconds


def parse_lifetime(value: object) -> int:
    """A service account's token lifetime: a duration from 5 minutes to 30 days."""
    seconds = parse_duration(value)
    if not MIN_TOKEN_LIFETIME <= seconds <= MAX_TOKEN_LIFETIME:
        raise ValueError("must be between 5 minutes and 30 days")
    return seconds


NonEmpty = Annotated[str, Field(min_length=1, max_length=200)]
Identifier = Annotated[str, Field(min_length=1, max_length=128)]


# A monthly allowance is at most what a month may hold (the ceiling, decision 0012), so
# every sum of allowances an answer shows (3 months, 25 organizations) stays exact.
Count = Annotated[int, Field(ge=0, le=FIGURE_CEILING, strict=True)]
MAX_ALLOWANCE_CREDITS = FIGURE_CEILING // MICRO


class Allowances(_Model):
    api_calls: Count | None = None
    integration_tasks: Count | None = None
    ai_credits: float | int | None = None
    automation_jobs: Count | None = None

    @field_validator("ai_credits")
    @classmethod
    def _credits(cls, value: float | int | None) -> float | int | None:
        if value is not None:
            parse_credits(value, MAX_ALLOWANCE_CREDITS)
        return value


class SettingsChange(_Model):
    effective_from: str | None = None
    allowances: Allowances | None = None
    ai_credit_addon: bool | None = None
    free_ai_credits: float | int | None = None
    ai_automation_enabled: bool | None = None
    assistants_enabled: bool | None = None
    plan_name: Annotated[str, Field(min_length=1, max_length=120)] | None = None

    @field_validator("effective_from")
    @classmethod
    def _month(cls, value: str | None) -> str | None:
        if value is not None:
            Month.parse(value)
        return value

    @field_validator("free_ai_credits")
    @classmethod
    def _credits(cls, value: float | int | None) -> float | int | None:
        if value is not None:
            parse_credits(value, MAX_ALLOWANCE_CREDITS)
        return value

    def changes(self) -> dict[str, Any]:
        """Fields this entry sets, by attribute name; credits as micro-credits."""
        out: dict[str, Any] = {}
        if self.allowances is not None:
            allowances = self.allowances
            for name in allowances.model_fields_set:
                value = getattr(allowances, name)
                out[name] = (
                    parse_credits(value, MAX_ALLOWANCE_CREDITS)
                    if name == "ai_credits" and value is not None
                    else value
                )
        for name in ("ai_credit_addon", "ai_automation_enabled", "assistants_enabled", "plan_name"):
            if name in self.model_fields_set:
                out[name] = getattr(self, name)
        if "free_ai_credits" in self.model_fields_set:
            value = self.free_ai_credits
            out["free_ai_credits"] = (
                parse_credits(value, MAX_ALLOWANCE_CREDITS) if value is not None else None
            )
        return out


def _known_permission(value: str) -> str:
    reason = unknown_permission_reason(value)
    if reason is not None:
        raise ValueError(reason)
    return value


Permission = Annotated[str, Field(max_length=64), AfterValidator(_known_permission)]
"""One permission of a custom role; validated per item, so the path names its index."""


class CustomRole(_Model):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    permissions: list[Permission] = Field(default_factory=list)


class Project(_Model):
    id: Identifier
    name: NonEmpty
    icon: Annotated[str, Field(max_length=MAX_NAME_LENGTH)] | None = None
    color: Annotated[str, Field(max_length=MAX_NAME_LENGTH)] | None = None


class Flow(_Model):
    id: Identifier
    name: NonEmpty
    status: str = "ENABLED"
    project: Project | None = None

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        upper = value.upper()
        if upper not in ("ENABLED", "DISABLED"):
            raise ValueError("must be ENABLED or DISABLED")
        return upper


class Organization(_Model):
    id: Annotated[str, Field(min_length=1, max_length=64)]
    uuid: str | None = None
    name: NonEmpty
    settings: list[SettingsChange] | None = None
    roles: list[CustomRole] | None = None
    agents: list[Agent] | None = None
    flows: list[Flow] | None = None
    pipes: list[Pipe] | None = None
    automations: list[Automation] | None = None
    alerts: AlertRule | None = None

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


class Membership(_Model):
    organization: Annotated[str, Field(min_length=1)]
    role: Annotated[str, Field(min_length=1)]


class PersonalToken(_Model):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    billing_organization: Annotated[str, Field(min_length=1)]
    expires_at: datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a timezone, e.g. 2027-01-01T00:00:00Z")
        return value


class User(_Model):
    email: Annotated[str, Field(min_length=3, max_length=320)]
    name: NonEmpty
    memberships: list[Membership] | None = None
    personal_tokens: list[PersonalToken] | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError("must be an e-mail address")
        return value.lower()


class ServiceAccount(_Model):
    organization: Annotated[str, Field(min_length=1)]
    name: Annotated[str, Field(min_length=1, max_length=20)]
    description: Annotated[str, Field(max_length=140)] = ""
    role: Annotated[str, Field(min_length=1)]
    token_lifetime: int
    """Seconds; the document may say ``30d``, ``12h``, ``45m`` or ``300s``."""

    @field_validator("token_lifetime", mode="before")
    @classmethod
    def _lifetime(cls, value: object) -> int:
        return parse_lifetime(value)


class IngestKey(_Model):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    organization: str | None = None
    expires_at: datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a timezone, e.g. 2027-01-01T00:00:00Z")
        return value


class PersonalTokenRef(_Model):
    user: Annotated[str, Field(min_length=3)]
    name: Annotated[str, Field(min_length=1)]

    @field_validator("user")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class ServiceAccountRef(_Model):
    organization: Annotated[str, Field(min_length=1)]
    name: Annotated[str, Field(min_length=1)]


class IngestKeyRef(_Model):
    name: Annotated[str, Field(min_length=1)]


class Revocations(_Model):
    personal_tokens: list[PersonalTokenRef] = Field(default_factory=list)
    service_accounts: list[ServiceAccountRef] = Field(default_factory=list)
    ingest_keys: list[IngestKeyRef] = Field(default_factory=list)
    webhooks: list[WebhookName] = Field(default_factory=list)


class Document(_Model):
    organizations: list[Organization] = Field(default_factory=list)
    users: list[User] = Field(default_factory=list)
    service_accounts: list[ServiceAccount] = Field(default_factory=list)
    ingest_keys: list[IngestKey] = Field(default_factory=list)
    webhooks: list[Webhook] = Field(default_factory=list)
    alerts: AlertRule | None = None
    revoke: Revocations = Field(default_factory=Revocations)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _reason(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "unknown key (check the spelling against docs/admin-apply.md)"
    if kind == "missing":
        return "is required"
    return message.removeprefix("Value error, ")


def problems_of(error: ValidationError) -> list[Problem]:
    """Every problem of a failed validation, each with its document path."""
    problems = []
    for entry in error.errors():
        loc = tuple(entry["loc"])
        # Union members add their type names to the location; they help nobody.
        loc = tuple(p for p in loc if not (isinstance(p, str) and p in _UNION_NOISE))
        problems.append(Problem(_path(loc), _reason(entry)))
    return problems


def parse_document(raw: object) -> Document:
    """Validate a decoded document's shape; raise :class:`InvalidInputError` listing every
    problem. (``admin.draft.read_document`` also lets the applier check the references of
    an invalid document's valid part, so one pass reports everything.)"""
    if not isinstance(raw, Mapping):
        raise InvalidInputError([Problem("", "the document must be a mapping (an object)")])
    try:
        return Document.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInputError(problems_of(exc)) from None


_UNION_NOISE = frozenset({"int", "str", "float", "bool", "constrained-int", "constrained-str"})


def load_text(text: str | bytes, *, filename: str = "") -> object:
    """Decode YAML or JSON (JSON is YAML, but orjson gives better errors for .json files)."""
    try:
        if filename.endswith(".json"):
            return orjson.loads(text)
        return yaml.safe_load(text)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise InvalidInputError([Problem("", f"not valid YAML or JSON: {exc}")]) from None
