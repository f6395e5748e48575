"""The query-latency automations data set has the shape the write path gives the rollups
and catalog (monthly rows are the sums of the daily ones, pipes referenced exist), and
the export bench's fast payloads are byte for byte what ingest stores."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime

from bench.export_cost import _check_payload, _events
from bench.query_latency.automation_client import date_range
from bench.query_latency.automation_data import AUTOMATION_COLUMNS, automation_tables
from bench.query_latency.dataset import days_of
from bench.query_latency.plan import QUICK_TIERS

TODAY = date(2026, 12, 6)


def test_monthly_rows_are_the_sums_of_the_daily_rows() -> None:
    tier = QUICK_TIERS[0]
    days = days_of(TODAY)
    tables = automation_tables(tier, days, seed=3, now_ms=1_796_000_000_000)
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for day, automation_id, jobs, last in tables["automation_jobs_daily"]:
        assert days[0].isoformat() <= day <= TODAY.isoformat() and jobs > 0
        sums[(day[:7], automation_id)][0] += jobs
        sums[(day[:7], automation_id)][1] = max(sums[(day[:7], automation_id)][1], last)
    assert {(m, a): [j, last] for m, a, j, last in tables["automation_jobs_monthly"]} == sums
    jobs = sum(row[2] for row in tables["automation_jobs_daily"])
    assert 0.8 * tier.calls <= jobs <= 1.5 * tier.calls


def test_catalog_rows_reference_existing_pipes() -> None:
    tables = automation_tables(QUICK_TIERS[0], days_of(TODAY), seed=3, now_ms=0)
    pipes = {row[0] for row in tables["pipes"]}
    ids = [row[0] for row in tables["automations"]]
    assert len(ids) == len(set(ids)) == QUICK_TIERS[0].automations
    for row in tables["automations"]:
        entry = dict(zip(AUTOMATION_COLUMNS, row, strict=True))
        for pipe in (entry["action_pipe"], entry["event_pipe"]):
            assert pipe is None or pipe in pipes
        if entry["name"] is None:  # known only from events
            assert entry["action"] is None and entry["first_event_at"] is not None


def test_date_ranges_are_whole_days_of_the_period() -> None:
    assert date_range("current_month", TODAY) == {
        "from": "2026-12-01T00:00:00Z",
        "to": "2026-12-31T23:59:59Z",
    }
    assert date_range("last_3_months", TODAY)["from"] == "2026-10-01T00:00:00Z"


def test_export_events_carry_the_payload_ingest_stores() -> None:
    start = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp() * 1000)
    events = list(_events(1, 50, start, start + 50_000))
    assert [e[4] for e in events] == sorted(e[4] for e in events)
    for _, _, _, _, time_ms, _, payload, _ in events[:12]:
        text = payload.decode()
        automation_id = text.split('"automationId":"')[1].split('"')[0]
        jobs = int(text.split('"jobs":')[1].rstrip("}"))
        _check_payload("6f1f7a40-5d2b-4e42-9a51-7d0c3b8e2a10", time_ms, automation_id, jobs)
