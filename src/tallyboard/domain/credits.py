"""Exact AI-credit arithmetic.

Credits are fractional (``0.5``), and sums must not drift (``0.1 + 0.2`` is ``0.3``), so
they are stored and summed as integer micro-credits (millionths). A value with more
precision than that is rejected rather than rounded: rounding would silently bill
something other than what was reported.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

__all__ = ["MAX_CREDITS", "MICRO", "format_credits", "micro_to_float", "parse_credits"]

MICRO = 1_000_000
DECIMAL_PLACES = 6
MAX_CREDITS = 10**12
"""The default bound of :func:`parse_credits`; an event's credits and an allowance pass
bounds of their own (``domain/events.py``, ``admin/document.py``)."""


def parse_credits(value: object, maximum: int = MAX_CREDITS) -> int:
    """Return ``value`` (at most ``maximum`` credits) as micro-credits; ``ValueError``
    says what is wrong with it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValueError("must be a number")
    try:
        # repr() of a float is the shortest text that round-trips, so 0.1 becomes
        # Decimal("0.1") rather than 0.1000000000000000055511151231257827.
        exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not exact.is_finite():
        raise ValueError("must be a finite number")
    if exact < 0:
        raise ValueError("must not be negative")
    if exact > maximum:
        raise ValueError(f"must not exceed {maximum}")
    exponent = exact.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -DECIMAL_PLACES:
        raise ValueError(f"must have at most {DECIMAL_PLACES} decimal places")
    return int(exact * MICRO)


def micro_to_float(micro: int) -> float:
    """The nearest float to an exact micro-credit amount (prints as its shortest decimal)."""
    return micro / MICRO


def format_credits(micro: int) -> str:
    """Exact decimal text, e.g. for CSV exports and logs."""
    text = format(Decimal(micro) / MICRO, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
