"""Export files built, linked and downloaded, on both engines (spec §9 "Exports").

The builder runs in the app's lifespan; tests also drive it directly (``run_once``) so
they need not wait for its poll. Files are opened for real (openpyxl, ``csv``) and
compared with the statistics queries.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.exports import (
    READ_JOBS,
    download,
    jobs_export,
    report,
    sheet,
)
from tests.support.harness import Harness
from tests.support.world import World, populated


@pytest.fixture
def world(database_url: str) -> Any:
    with Harness(database_url, export_ttl=60) as harness:
        yield populated(harness)


def test_the_jobs_workbook_lists_every_job_and_the_automations(world: World) -> None:
    shown = jobs_export(world)
    assert shown["status"] == "finished" and shown["error"] is None
    assert shown["finishedAt"] == "2026-11-21T10:30:00Z"
    assert shown["fileUrl"].startswith("http://127.0.0.1:8000/v1/exports/")
    assert shown["downloadUrl"] == shown["fileUrl"]
    response = download(world, shown["fileUrl"])
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and disposition.endswith('.xlsx"')
    jobs = sheet(response.content, "Jobs")
    assert jobs == [
        ("time", "automation_id", "automation_name", "action", "event", "event_pipe",
         "action_pipe", "jobs"),
        ("2026-11-01T00:00:00Z", "a1", "Move won deals", "move_card", "card_moved",
         "Support", "Sales", 2),
        ("2026-11-20T09:00:00Z", "a1", "Move won deals", "move_card", "card_moved",
         "Support", "Sales", 5),
        ("2026-11-20T10:00:00Z", "a2", "archive cards", "archive_card", "card_done",
         "Sales", None, 3),
        ("2026-11-21T09:00:00Z", "a8", "a8", None, None, None, None, 1),
        ("2026-11-21T10:00:00Z", "a9", "From events", None, None, None, None, 4),
    ]  # fmt: skip
    automations = sheet(response.content, "Automations")
    assert automations == [
        ("automation_id", "automation_name", "jobs"),
        ("a1", "Move won deals", 7),
        ("a9", "From events", 4),
        ("a2", "archive cards", 3),
        ("a8", "a8", 1),
    ]
    # The same jobs as the statistics query.
    details = world.details()
    assert details["usage"] == sum(row[2] for row in automations[1:])


def test_the_usage_report_csv_has_every_bucket_then_the_total(world: World) -> None:
    shown = report(world, [world.org], "CSV")
    assert shown["status"] == "finished" and shown["partial"] is False
    response = download(world, shown["fileUrl"])
    assert response.status_code == 200
    assert response.headers["content-disposition"].endswith('.csv"')
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows[0] == ["organization_uuid", "organization_name", "bucket", "resource", "usage",
                       "limit"]  # fmt: skip
    body = rows[1:]
    days = [f"2026-11-{d:02d}" for d in range(1, 22)]
    resources = ["apiCalls", "integrationTasks", "aiCredits", "automationJobs"]
    assert [(r[2], r[3]) for r in body] == [
        (bucket, resource) for resource in resources for bucket in [*days, "total"]
    ]
    assert {r[0] for r in body} == {world.org} and {r[1] for r in body} == {"Acme"}
    jobs = {r[2]: r[4] for r in body if r[3] == "automationJobs"}
    assert jobs["2026-11-01"] == "2" and jobs["2026-11-20"] == "8" and jobs["2026-11-21"] == "5"
    assert jobs["2026-11-02"] == "0" and jobs["total"] == str(world.details()["usage"])
    assert all(r[5] == "" for r in body)  # no allowance set


def test_the_usage_report_workbook_drops_organizations_it_may_not_read(world: World) -> None:
    stranger = str(uuid.uuid4())
    shown = report(world, [stranger, world.org], "XLSX")
    assert shown["partial"] is True and shown["format"] == "XLSX"
    rows = sheet(download(world, shown["fileUrl"]).content, "Usage")
    assert rows[0] == ("organization_uuid", "organization_name", "bucket", "resource", "usage",
                       "limit")  # fmt: skip
    assert {r[0] for r in rows[1:]} == {world.org}
    assert rows[1] == (world.org, "Acme", "2026-11-01", "apiCalls", 0, None)
    nobody = report(world, [stranger], "XLSX")
    assert nobody["partial"] is True
    assert sheet(download(world, nobody["fileUrl"]).content, "Usage") == [rows[0]]


def test_last_3_months_has_month_buckets(world: World) -> None:
    shown = report(world, [world.org], "CSV", "last_3_months")
    rows = list(csv.reader(io.StringIO(download(world, shown["fileUrl"]).content.decode())))
    jobs = [(r[2], r[4]) for r in rows[1:] if r[3] == "automationJobs"]
    assert jobs == [("2026-09", "0"), ("2026-10", "1"), ("2026-11", "15"), ("total", "16")]


def test_links_are_signed_afresh_and_refused_when_changed_or_expired(world: World) -> None:
    harness = world.harness
    first = jobs_export(world)
    link = first["fileUrl"]
    harness.clock.set(harness.clock.now() + timedelta(seconds=1))
    again = harness.graphql(world.boss, READ_JOBS, {"id": first["id"]})
    assert again["data"]["automationJobsExport"]["fileUrl"] != link
    query = urlsplit(link).query
    for index in range(len(query)):
        if query[index] in "=&":
            continue
        changed = query[:index] + ("0" if query[index] != "0" else "1") + query[index + 1 :]
        tampered = link.replace(query, changed)
        assert download(world, tampered).status_code == 403, changed
    assert download(world, link + "&x=1").status_code == 403
    harness.clock.set(harness.clock.now() + timedelta(seconds=3600))
    assert download(world, link).status_code == 403  # the link's hour is over


def test_files_are_gone_after_their_ttl(world: World) -> None:
    harness = world.harness
    shown = jobs_export(world)
    harness.clock.set(harness.clock.now() + timedelta(seconds=61))
    harness.services.export_builder.run_once()
    answer = harness.graphql(world.boss, READ_JOBS, {"id": shown["id"]})
    expired = answer["data"]["automationJobsExport"]
    assert expired["status"] == "expired" and expired["fileUrl"] is None
    assert download(world, shown["fileUrl"]).status_code == 410
