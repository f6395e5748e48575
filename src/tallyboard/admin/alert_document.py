"""The alert sections of the tenancy document (spec §10): webhooks and alert rules.

Kept apart from ``admin/document.py`` (which only names these models) so the alert
feature's shape lives in one place. The models share the document's conventions:
unknown keys are errors, camelCase keys, numbers read as text where text is expected,
no control characters. Whether a webhook's host is private is decided at apply time
(``admin/alert_checks.py``): it depends on a setting and on name resolution.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from tallyboard.domain.alerts import MAX_THRESHOLD, MAX_THRESHOLDS, MIN_THRESHOLD
from tallyboard.domain.text import character_problem

__all__ = ["AlertRule", "EventName", "Webhook", "WebhookName"]

EventName = Literal["usage.threshold_crossed", "usage.forecast_exceeded"]
Threshold = Annotated[int, Field(ge=MIN_THRESHOLD, le=MAX_THRESHOLD, strict=True)]
WebhookName = Annotated[str, Field(min_length=1, max_length=120)]
ShortId = Annotated[str, Field(min_length=1, max_length=64)]
MAX_URL_LENGTH = 2000


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        coerce_numbers_to_str=True,
        str_strip_whitespace=True,
    )

    @field_validator("*", mode="after")
    @classmethod
    def _characters(cls, value: Any) -> Any:
        """No control characters in any text (``domain/text.py``), as elsewhere."""
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                problem = character_problem(text, allow_line_breaks=False)
                if problem is not None:
                    raise ValueError(problem)
        return value


class AlertRule(_Model):
    """Instance default or one organization's override; an omitted key is inherited."""

    thresholds: Annotated[list[Threshold], Field(max_length=MAX_THRESHOLDS)] | None = None
    forecast: bool | None = None

    def stated(self) -> dict[str, Any]:
        """The keys this rule sets, thresholds sorted and without repeats."""
        out: dict[str, Any] = {}
        if self.thresholds is not None:
            out["thresholds"] = sorted(set(self.thresholds))
        if self.forecast is not None:
            out["forecast"] = self.forecast
        return out


class Webhook(_Model):
    name: WebhookName
    url: Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH)]
    organizations: list[ShortId] | None = None
    events: list[EventName] | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            host = parts.hostname
            parts.port  # noqa: B018 -- raises on a port out of range
        except ValueError:
            raise ValueError("must be an http or https URL") from None
        if parts.scheme.lower() not in ("http", "https") or not host:
            raise ValueError("must be an http or https URL with a host")
        return value
