"""The base of every model of the tenancy document (``admin/document.py`` and the
sections beside it): unknown keys are errors, keys are camelCase, text is stripped and
free of control characters."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from tallyboard.domain.text import character_problem

__all__ = ["DocumentModel"]

_FREE_TEXT = frozenset({"description"})


class DocumentModel(BaseModel):
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
    def _characters(cls, value: Any, info: ValidationInfo) -> Any:
        """No control characters in any text (``domain/text.py``); descriptions may
        keep line breaks."""
        texts = value if isinstance(value, list) else [value]
        for text in texts:
            if isinstance(text, str):
                problem = character_problem(text, allow_line_breaks=info.field_name in _FREE_TEXT)
                if problem is not None:
                    raise ValueError(problem)
        return value
