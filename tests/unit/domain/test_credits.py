"""Credits are exact: integer micro-credits, never binary floating-point drift."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyboard.domain.credits import format_credits, micro_to_float, parse_credits


def test_one_tenth_plus_two_tenths_is_three_tenths() -> None:
    total = parse_credits(0.1) + parse_credits(0.2)
    assert micro_to_float(total) == 0.3
    assert format_credits(total) == "0.3"


@pytest.mark.parametrize(
    ("value", "micro"), [(2.5, 2_500_000), (0, 0), (7, 7_000_000), ("0.000001", 1), (1e-06, 1)]
)
def test_parses_numbers_and_numeric_text(value: object, micro: int) -> None:
    assert parse_credits(value) == micro


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (-0.5, "negative"),
        (True, "number"),
        ("abc", "number"),
        (None, "number"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (0.1234567, "6 decimal places"),
        (10**13, "exceed"),
    ],
)
def test_rejects_what_cannot_be_counted_exactly(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_credits(value)


@given(st.lists(st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False), max_size=50))
def test_sums_of_micro_credits_equal_exact_decimal_sums(values: list[Decimal]) -> None:
    micro = sum(parse_credits(str(v)) for v in values)
    assert Decimal(micro) / 1_000_000 == sum(values, Decimal(0))
    assert Decimal(format_credits(micro)) == sum(values, Decimal(0))
