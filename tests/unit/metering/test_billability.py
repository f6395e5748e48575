"""The billability rule (spec §3): executed, authenticated, not every root field denied,
no server error."""

from __future__ import annotations

from datetime import date

import pytest

from tallyboard.access.principal import Principal, PrincipalKind
from tallyboard.domain.usage import NOT_SPECIFIED
from tallyboard.metering.billability import billed_call, is_billable

ROOTS = frozenset({"a", "b"})


@pytest.mark.parametrize(
    ("denied", "server_error", "billable"),
    [
        (frozenset(), False, True),
        (frozenset({"a"}), False, True),  # one of two roots denied: still a call
        (ROOTS, False, False),  # every root denied
        (frozenset(), True, False),  # a server-side failure is never billed
        (frozenset({"a"}), True, False),
    ],
)
def test_the_rule(denied: frozenset[str], server_error: bool, billable: bool) -> None:
    verdict = is_billable(root_fields=ROOTS, denied_root_fields=denied, server_error=server_error)
    assert verdict is billable


def test_an_operation_without_root_fields_is_billed() -> None:
    assert is_billable(root_fields=frozenset(), denied_root_fields=frozenset(), server_error=False)


def test_the_key_names_the_billed_organization_day_operation_and_token() -> None:
    principal = Principal(PrincipalKind.SERVICE_ACCOUNT, 7, 3, "svc", "k")
    day = date(2026, 1, 2)
    assert billed_call(principal, day, "Usage") == (3, day, "Usage", "svc")
    assert billed_call(principal, day, None) == (3, day, NOT_SPECIFIED, "svc")
    assert billed_call(principal, day, "") == (3, day, NOT_SPECIFIED, "svc")
