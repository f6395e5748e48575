"""Which organizations a statistics query covers, decided before any data is read.

Authorization always happens here, before a cache or a rollup is touched: single-org
queries raise the same ``PERMISSION_DENIED`` for unknown and forbidden organizations;
combined queries silently drop both and say so with ``partial``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tallyboard.access.policy import Action, Policy
from tallyboard.access.principal import Principal
from tallyboard.domain.organization import OrgRef

__all__ = ["CombinedScope", "combined_scope"]


@dataclass(frozen=True, slots=True)
class CombinedScope:
    organizations: tuple[OrgRef, ...]
    """Permitted organizations, deduplicated, in the order of the input list."""
    partial: bool
    """True when at least one requested organization was dropped."""


def combined_scope(
    policy: Policy, principal: Principal, uuids: Sequence[str], action: Action
) -> CombinedScope:
    """``uuids`` must already be canonical and deduplicated (see api/graphql/arguments)."""
    permitted = policy.permitted(principal, action, uuids)
    kept = tuple(permitted[u] for u in uuids if u in permitted)
    return CombinedScope(organizations=kept, partial=len(kept) < len(uuids))
