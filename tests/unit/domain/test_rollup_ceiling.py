"""Monthly totals of folded usage and the guard that keeps them within the ceiling."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from tallyboard.domain.rollup import (
    FIGURE_CEILING,
    FIGURES,
    CeilingGuard,
    MonthKey,
    RollupDeltas,
)
from tallyboard.domain.usage import AiResource

_days = st.dates(min_value=date(2026, 1, 30), max_value=date(2026, 3, 2))
_orgs = st.integers(1, 3)
_amounts = st.integers(0, 10**12)


@st.composite
def _deltas(draw: st.DrawFn) -> tuple[RollupDeltas, dict[MonthKey, list[int]]]:
    """Deltas built call by call, and the monthly totals counted independently."""
    deltas = RollupDeltas()
    expected: dict[MonthKey, list[int]] = defaultdict(lambda: [0] * len(FIGURES))
    for _ in range(draw(st.integers(0, 30))):
        org, day, amount = draw(_orgs), draw(_days), draw(_amounts)
        month = (org, day.strftime("%Y-%m"))
        kind = draw(st.sampled_from(["call", "run", "credit", "job"]))
        if kind == "call":
            deltas.add_api_calls((org, day, draw(st.sampled_from("AB")), "t"), amount)
            expected[month][0] += amount
        elif kind == "run":
            deltas.add_flow_run((org, day, draw(st.sampled_from("fg"))), amount, 0)
            expected[month][1] += amount
            expected[month][2] += 1
        elif kind == "credit":
            deltas.add_credits((org, day, AiResource.ASSISTANT, ""), amount)
            expected[month][3] += amount
        else:
            deltas.add_jobs((org, day, draw(st.sampled_from("xy"))), amount, 0)
            expected[month][4] += amount
    return deltas, dict(expected)


@given(_deltas())
def test_month_totals_add_every_key_into_its_organizations_month(
    case: tuple[RollupDeltas, dict[MonthKey, list[int]]],
) -> None:
    deltas, expected = case
    assert deltas.month_totals() == expected


_additions = st.dictionaries(
    st.tuples(st.integers(1, 2), st.sampled_from(["2026-10", "2026-11"])),
    st.lists(st.integers(0, FIGURE_CEILING // 3), min_size=len(FIGURES), max_size=len(FIGURES)),
    min_size=1,
    max_size=3,
)


@given(
    st.dictionaries(
        st.tuples(st.integers(1, 2), st.sampled_from(["2026-10", "2026-11"])),
        st.lists(st.integers(0, FIGURE_CEILING), min_size=len(FIGURES), max_size=len(FIGURES)),
        max_size=4,
    ),
    st.lists(_additions, max_size=12),
)
def test_the_guard_admits_exactly_what_keeps_every_total_within_the_ceiling(
    current: dict[MonthKey, list[int]], additions: list[dict[MonthKey, list[int]]]
) -> None:
    guard = CeilingGuard(current)
    model = {key: list(values) for key, values in current.items()}
    for added in additions:
        fits = all(
            model.get(key, [0] * len(FIGURES))[i] + value <= FIGURE_CEILING
            for key, values in added.items()
            for i, value in enumerate(values)
        )
        passed = guard.admit(added)
        assert (passed is None) == fits
        if fits:
            for key, values in added.items():
                row = model.setdefault(key, [0] * len(FIGURES))
                for i, value in enumerate(values):
                    row[i] += value
        else:
            assert passed is not None
            key, figure = passed
            index = FIGURES.index(figure)
            assert model.get(key, [0] * len(FIGURES))[index] + added[key][index] > FIGURE_CEILING
        assert guard.totals() == model
    assert all(v <= FIGURE_CEILING for values in guard.totals().values() for v in values)
