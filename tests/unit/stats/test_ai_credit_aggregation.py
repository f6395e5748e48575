"""Aggregation rules of the AI-credit statistics (pure), with hypothesis."""

from __future__ import annotations

from decimal import Decimal

import orjson
from hypothesis import given
from hypothesis import strategies as st

from tallyboard.domain.credits import MICRO, micro_to_float, parse_credits
from tallyboard.domain.organization import OrgRef
from tallyboard.stats.ai_credits import (
    TOP_AGENTS,
    AgentUsage,
    OrgAiCredits,
    combined_top_agents,
    org_top_agents,
)

ORGS = [
    OrgRef(pk, str(pk), f"00000000-0000-4000-8000-00000000000{pk}", f"Org {pk}")
    for pk in range(1, 5)
]


@st.composite
def agents_per_org(draw: st.DrawFn) -> dict[int, list[AgentUsage]]:
    result = {}
    for org in draw(st.lists(st.sampled_from(ORGS), unique=True, min_size=1)):
        ids = draw(st.lists(st.sampled_from([f"agt-{i}" for i in range(15)]), unique=True))
        # Few distinct amounts, so ties are common.
        result[org.pk] = [
            AgentUsage(i, None, draw(st.sampled_from([0, 1, 5, 500_000]))) for i in ids
        ]
    return result


@given(agents_per_org())
def test_combined_top_agents_from_per_org_tops_equal_the_top_of_everything(
    per_org: dict[int, list[AgentUsage]],
) -> None:
    orgs = {org.pk: org for org in ORGS}
    from_tops = combined_top_agents((orgs[pk], org_top_agents(a)) for pk, a in per_org.items())
    everything = sorted(
        ((orgs[pk], agent) for pk, agents in per_org.items() for agent in agents),
        key=lambda pair: (-pair[1].micro, pair[1].agent_id, pair[0].uuid),
    )[:TOP_AGENTS]
    assert [(t.org, t.agent) for t in from_tops] == everything
    assert len(from_tops) == min(TOP_AGENTS, sum(len(a) for a in per_org.values()))


@given(st.lists(st.decimals(min_value=0, max_value=10**6, places=6), max_size=50))
def test_credit_sums_are_exact(amounts: list[Decimal]) -> None:
    micro = sum(parse_credits(str(a)) for a in amounts)
    exact = sum(amounts, Decimal(0))
    assert Decimal(micro) / MICRO == exact
    assert micro_to_float(micro) == float(exact)


def test_point_one_plus_point_two_is_point_three() -> None:
    assert micro_to_float(parse_credits(0.1) + parse_credits(0.2)) == 0.3


@given(
    st.builds(
        OrgAiCredits,
        st.integers(0, 10**15),
        st.integers(0, 10**15),
        st.one_of(st.none(), st.integers(0, 10**15)),
        st.booleans(),
        st.booleans(),
        st.booleans(),
        st.one_of(st.none(), st.integers(0, 10**12)),
        st.lists(
            st.builds(
                AgentUsage,
                st.text(max_size=10),
                st.one_of(st.none(), st.text()),
                st.integers(0, 10**15),
            ),
            max_size=10,
        ).map(tuple),
    )
)
def test_cached_figures_survive_the_json_round_trip(figures: OrgAiCredits) -> None:
    assert OrgAiCredits.from_json(orjson.loads(orjson.dumps(figures.to_json()))) == figures
