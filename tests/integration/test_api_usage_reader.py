"""The API-usage reads against a naive model, on both engines (hypothesis).

Whatever calls are written, the rollup reads must agree with counting the calls one by
one: totals per period, top 10 by metric then value in byte order (so engines agree on
ties, upper/lower case and non-ASCII names), and the daily totals.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyboard.domain.rollup import RollupDeltas
from tallyboard.domain.usage import ApiDimension
from tallyboard.storage import api_usage_reader as reader
from tallyboard.storage.database import Database
from tallyboard.storage.rollup_writer import RollupWriter
from tests.support.rollup_writes import new_org

NAMES = st.sampled_from(
    [
        "GetCards",
        "getCards",
        "a",
        "B",
        "b",
        "Ä",
        "ä",
        "z",
        "Not specified",
        "_x",
        "ab",
        "aB",
        "日本",
        "Other",
    ]
)
TOKENS = st.sampled_from(["HR Bot", "John - CLI", "bot", "Bot", "Ünïcode"])
DAYS = st.integers(min_value=0, max_value=95).map(lambda n: date(2026, 9, 1) + timedelta(days=n))
CALLS = st.lists(st.tuples(DAYS, NAMES, TOKENS, st.integers(min_value=1, max_value=4)), max_size=60)
MONTHS = st.sampled_from(
    [["2026-09"], ["2026-10"], ["2026-11"], ["2026-09", "2026-10", "2026-11"], ["2026-12"]]
)


def naive_top(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0].encode()))[:10]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(calls=CALLS, months=MONTHS)
def test_reads_agree_with_counting_calls_one_by_one(
    database_url: str, calls: list[tuple[date, str, str, int]], months: list[str]
) -> None:
    database = Database(database_url)
    org, other = new_org(database), new_org(database)
    writer = RollupWriter(database.dialect, operation_name_cap=1000)
    deltas = RollupDeltas()
    for day, name, token, count in calls:
        deltas.add_api_calls((org, day, name, token), count)
        deltas.add_api_calls((other, day, "Noise", "noise"), 1)  # another tenant's calls
    with database.write() as conn:
        writer.apply(conn, deltas)

    inside = [c for c in calls if c[0].isoformat()[:7] in months]
    operations: Counter[str] = Counter()
    tokens: Counter[str] = Counter()
    per_day: Counter[str] = Counter()
    for day, name, token, count in inside:
        operations[name] += count
        tokens[token] += count
        per_day[day.isoformat()] += count
    with database.read() as conn:
        assert reader.totals(conn, [org], months) == {org: sum(c[3] for c in inside)}
        assert reader.top_values(conn, org, months, ApiDimension.OPERATION_NAME, 10) == naive_top(
            operations
        )
        assert reader.top_values(conn, org, months, ApiDimension.TOKEN, 10) == naive_top(tokens)
        first, last = f"{months[0]}-01", f"{months[-1]}-31"
        assert reader.daily_totals(conn, org, first, last) == dict(per_day)
        # The combined query's one-statement form agrees with the per-organization one.
        dimensions = (ApiDimension.OPERATION_NAME, ApiDimension.TOKEN)
        many = reader.top_values_many(conn, [org, other], months, dimensions, 10)
        for pk in (org, other):
            for dimension in dimensions:
                assert many[(pk, dimension)] == reader.top_values(conn, pk, months, dimension, 10)
    database.dispose()
