"""Top lists of the API-usage queries against a naive model (hypothesis).

The combined query ranks (organization, value) pairs from each organization's own top
10; that must always equal ranking every pair of every organization.
"""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from tallyboard.domain.organization import OrgRef
from tallyboard.domain.ranking import top
from tallyboard.domain.usage import ApiDimension
from tallyboard.stats.api_usage import CombinedApiUsage, MetricItem, OrgApiUsage
from tallyboard.stats.scope import sum_limits

VALUES = st.sampled_from(["a", "b", "B", "c", "Ä", "Not specified", "x1", "x2", "x10", "日本"])
USAGE = st.dictionaries(VALUES, st.integers(min_value=0, max_value=5), max_size=10)
UUIDS = st.sampled_from(["0" * 8, "7" * 8, "a" * 8, "f" * 8, "1" * 8, "e" * 8])


def naive(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


@st.composite
def organizations(
    draw: st.DrawFn,
) -> list[tuple[OrgRef, dict[str, int], dict[str, int], int | None]]:
    prefixes = draw(st.lists(UUIDS, min_size=0, max_size=5, unique=True))
    orgs = []
    for pk, prefix in enumerate(prefixes, start=1):
        ref = OrgRef(pk, str(pk), prefix + str(uuid.UUID(int=pk))[8:], f"Org {pk}")
        limit = draw(st.none() | st.integers(min_value=0, max_value=1000))
        orgs.append((ref, draw(USAGE), draw(USAGE), limit))
    return orgs


def build(
    orgs: list[tuple[OrgRef, dict[str, int], dict[str, int], int | None]],
) -> CombinedApiUsage:
    results = []
    for ref, operations, tokens, limit in orgs:
        results.append(
            OrgApiUsage(
                organization=ref,
                total=sum(operations.values()),
                limit=limit,
                top_operations=tuple(MetricItem(v, m) for v, m in naive(operations)[:10]),
                top_tokens=tuple(MetricItem(v, m) for v, m in naive(tokens)[:10]),
            )
        )
    return CombinedApiUsage(tuple(results), partial=False)


@given(organizations())
def test_combined_top_items_equal_ranking_every_pair(
    orgs: list[tuple[OrgRef, dict[str, int], dict[str, int], int | None]],
) -> None:
    combined = build(orgs)
    for dimension, index in ((ApiDimension.OPERATION_NAME, 1), (ApiDimension.TOKEN, 2)):
        pairs = [
            (ref.uuid, value, metric)
            for ref, *usage, _ in orgs
            for value, metric in usage[index - 1].items()
        ]
        expected = sorted(pairs, key=lambda p: (-p[2], p[1], p[0]))[:10]
        got = [(i.organization.uuid, i.dimension, i.metric) for i in combined.top_items(dimension)]
        assert got == expected


@given(organizations())
def test_counters_list_every_organization_by_usage_then_uuid(
    orgs: list[tuple[OrgRef, dict[str, int], dict[str, int], int | None]],
) -> None:
    combined = build(orgs)
    expected = sorted(
        ((ref.uuid, sum(ops.values())) for ref, ops, _, _ in orgs), key=lambda p: (-p[1], p[0])
    )
    got = [(i.organization.uuid, i.metric) for i in combined.top_items(None)]
    assert got == expected
    assert all(i.dimension == "Counter" for i in combined.top_items(None))
    assert combined.usage == sum(p[1] for p in expected)
    limits = [limit for *_, limit in orgs]
    assert combined.limit == (
        None if all(v is None for v in limits) else sum(v or 0 for v in limits)
    )


@given(st.lists(st.tuples(VALUES, st.integers(min_value=0, max_value=3))), st.integers(0, 12))
def test_top_is_the_head_of_the_full_ranking(items: list[tuple[str, int]], limit: int) -> None:
    ranked = top(items, limit, metric=lambda i: i[1], labels=lambda i: (i[0],))
    assert ranked == sorted(items, key=lambda i: (-i[1], i[0]))[:limit]


def test_sum_limits_treats_null_as_zero_unless_every_limit_is_null() -> None:
    assert sum_limits([]) is None
    assert sum_limits([None, None]) is None
    assert sum_limits([None, 0]) == 0
    assert sum_limits([5, None, 7]) == 12


@given(organizations())
def test_per_organization_results_survive_a_round_trip_through_plain_data(
    orgs: list[tuple[OrgRef, dict[str, int], dict[str, int], int | None]],
) -> None:
    for result in build(orgs).organizations:
        assert OrgApiUsage.from_dict(result.to_dict()) == result
