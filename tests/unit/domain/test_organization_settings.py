"""Effective-dated settings: omitted fields carry over, null unsets, limits sum per month."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tallyboard.domain.organization import SettingsEntry, period_limit, settings_at
from tallyboard.domain.periods import Month

SEP, OCT, NOV = Month(2026, 9), Month(2026, 10), Month(2026, 11)


def test_an_entry_keeps_fields_it_omits_and_unsets_explicit_nulls() -> None:
    entries = [
        SettingsEntry(SEP, {"api_calls": 100, "integration_tasks": 50, "ai_credit_addon": True}),
        SettingsEntry(OCT, {"api_calls": 200}),
        SettingsEntry(NOV, {"integration_tasks": None, "ai_credit_addon": None}),
    ]
    assert settings_at(entries, Month(2026, 8)).api_calls is None
    october = settings_at(entries, OCT)
    assert (october.api_calls, october.integration_tasks, october.ai_credit_addon) == (
        200,
        50,
        True,
    )
    november = settings_at(entries, NOV)
    assert (november.api_calls, november.integration_tasks, november.ai_credit_addon) == (
        200,
        None,
        False,
    )


def test_the_period_limit_sums_months_and_is_null_only_when_every_month_is_unset() -> None:
    entries = [SettingsEntry(OCT, {"api_calls": 200}), SettingsEntry(NOV, {"api_calls": None})]
    assert period_limit(entries, [SEP, OCT, NOV], "api_calls") == 200
    assert period_limit(entries, [SEP], "api_calls") is None
    assert period_limit(entries, [NOV], "api_calls") is None
    assert period_limit([], [SEP, OCT, NOV], "api_calls") is None


@given(
    st.lists(
        st.tuples(st.integers(0, 11), st.one_of(st.none(), st.integers(0, 10**6))),
        max_size=12,
        unique_by=lambda e: e[0],
    ),
    st.integers(0, 11),
)
def test_settings_at_a_month_are_those_of_the_latest_entry_setting_the_field(
    raw: list[tuple[int, int | None]], probe: int
) -> None:
    base = Month(2026, 1)
    entries = [SettingsEntry(base.shift(offset), {"api_calls": v}) for offset, v in raw]
    applicable = sorted((o, v) for o, v in raw if o <= probe)
    expected = applicable[-1][1] if applicable else None
    assert settings_at(entries, base.shift(probe)).api_calls == expected
