"""Which GraphQL answers are billable calls (spec §3), as one pure rule.

A request is billed when it was executed for an authenticated caller, not every root
field was denied, and no field failed on the server's side (a bug or an outage is ours,
never the caller's bill). Refusals before execution (request shape, credential, rate
limit, document limits, variables that do not fit) never reach this rule: they were
not executed. The GraphQL edge only translates its result into these facts.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import date

from tallyboard.access.principal import Principal
from tallyboard.domain.rollup import ApiCallKey
from tallyboard.domain.usage import NOT_SPECIFIED

__all__ = ["billed_call", "is_billable"]


def is_billable(*, root_fields: Set[str], denied_root_fields: Set[str], server_error: bool) -> bool:
    """An executed request's verdict: ``root_fields`` are the response keys at the
    operation's root, ``denied_root_fields`` those answered ``PERMISSION_DENIED``.
    An operation without root fields cannot be "all denied" and is billed."""
    if server_error:
        return False
    return not (root_fields and denied_root_fields >= root_fields)


def billed_call(principal: Principal, day: date, operation_name: str | None) -> ApiCallKey:
    """The rollup key a billable call counts under: the organization billed for the
    caller's credential, the UTC day, the operation's name (``NOT_SPECIFIED`` for an
    anonymous one) and the credential's label."""
    name = operation_name or NOT_SPECIFIED
    return (principal.billing_org_pk, day, name, principal.token_label)
