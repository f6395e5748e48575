"""Which organizations a statistic covers, decided before any data is read, and how a
combined statistic is put together from one result per organization.

Authorization always happens here, before a cache or a rollup is touched: single-org
queries raise the same ``PERMISSION_DENIED`` for unknown and forbidden organizations;
combined queries silently drop both and say so with ``partial``. A combined statistic
is then computed organization by organization (each one a per-organization cache
entry, decision 0007), so that different combinations share entries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from tallyboard.access.policy import Action, Policy
from tallyboard.access.principal import Principal
from tallyboard.cache.per_org import Codec, PerOrgCache
from tallyboard.domain.organization import OrgRef
from tallyboard.domain.periods import PeriodWindow

__all__ = ["CombinedScope", "combined_scope", "per_organization", "sum_limits"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CombinedScope:
    organizations: tuple[OrgRef, ...]
    """Permitted organizations, deduplicated, in the order of the input list."""
    partial: bool
    """True when at least one requested organization was dropped."""


def combined_scope(
    policy: Policy, principal: Principal, uuids: Sequence[str], action: Action
) -> CombinedScope:
    """``uuids`` must already be canonical and deduplicated (``stats.inputs``)."""
    permitted = policy.permitted(principal, action, uuids)
    kept = tuple(permitted[u] for u in uuids if u in permitted)
    return CombinedScope(organizations=kept, partial=len(kept) < len(uuids))


def per_organization(
    cache: PerOrgCache,
    kind: str,
    scope: CombinedScope,
    window: PeriodWindow,
    compute: Callable[[Sequence[OrgRef]], Mapping[int, T]],
    codec: Codec[T],
) -> tuple[tuple[OrgRef, T], ...]:
    """Each permitted organization's result, in the scope's order, from the
    per-organization cache; ``compute`` gets only the misses, in one call. The
    organization paired with each result is always the one the authorization step just
    read (its name may have changed since the entry was made)."""
    orgs = scope.organizations
    found = cache.get_many(kind, orgs, window, compute, codec) if orgs else {}
    return tuple((org, found[org.pk]) for org in orgs)


def sum_limits(limits: Iterable[int | None]) -> int | None:
    """Sum of limits counting null as 0; null when every limit is null (or there are none)."""
    present = [limit for limit in limits if limit is not None]
    return sum(present) if present else None
