"""Export files stored in the database as ordered chunks (spec §9 "Exports", bounded
memory), on both engines: a file of many chunks downloads byte for byte as stored and
opens for real; its chunks go with it when its TTL passes."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from tallyboard.storage.export_tables import export_chunks
from tests.support.exports import (
    READ_JOBS,
    download,
    finished,
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


def _chunks(world: World, export_id: str) -> list[bytes]:
    """The export's stored chunks, in order (read straight from the table)."""
    c = export_chunks.c
    with world.harness.services.database.read() as conn:
        rows = conn.execute(
            select(c.seq, c.data).where(c.export_id == export_id).order_by(c.seq)
        ).all()
    assert [row.seq for row in rows] == list(range(len(rows)))
    return [bytes(row.data) for row in rows]


def _count(world: World) -> int:
    with world.harness.services.database.read() as conn:
        return int(conn.execute(select(func.count()).select_from(export_chunks)).scalar_one())


def test_a_workbook_of_many_chunks_downloads_byte_identical(world: World) -> None:
    whole = jobs_export(world)  # the default chunk size: one chunk
    assert len(_chunks(world, whole["id"])) == 1
    world.harness.services.export_builder.chunk_size = 97
    shown = jobs_export(world)
    stored = _chunks(world, shown["id"])
    assert len(stored) > 10 and all(len(chunk) == 97 for chunk in stored[:-1])
    response = download(world, shown["fileUrl"])
    assert response.status_code == 200
    assert response.content == b"".join(stored)
    assert response.headers["content-length"] == str(len(response.content))
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert response.headers["content-disposition"].endswith('.xlsx"')
    workbook = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    assert workbook.sheetnames == ["Jobs", "Automations"]
    reference = download(world, whole["fileUrl"]).content
    for name in ("Jobs", "Automations"):
        assert sheet(response.content, name) == sheet(reference, name)


def test_a_csv_of_many_chunks_is_the_same_file_as_one_chunk(world: World) -> None:
    whole = download(world, report(world, [world.org], "CSV")["fileUrl"]).content
    world.harness.services.export_builder.chunk_size = 7
    shown = report(world, [world.org], "CSV")
    assert len(_chunks(world, shown["id"])) == -(-len(whole) // 7)
    response = download(world, shown["fileUrl"])
    assert response.content == whole
    assert response.headers["content-length"] == str(len(whole))
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows[0][:3] == ["organization_uuid", "organization_name", "bucket"]


def test_ttl_expiry_deletes_the_chunks_of_expired_files_only(world: World) -> None:
    harness = world.harness
    harness.services.export_builder.chunk_size = 50
    expiring = jobs_export(world)
    harness.clock.set(harness.clock.now() + timedelta(seconds=30))
    kept = report(world, [world.org], "CSV")  # built 30 s later: expires 30 s later
    expiring_chunks, kept_chunks = _chunks(world, expiring["id"]), _chunks(world, kept["id"])
    assert len(expiring_chunks) > 1 and len(kept_chunks) > 1
    before = _count(world)
    harness.clock.set(harness.clock.now() + timedelta(seconds=31))
    harness.services.export_builder.run_once()
    assert _chunks(world, expiring["id"]) == []
    assert _count(world) == before - len(expiring_chunks)
    assert download(world, expiring["fileUrl"]).status_code == 410
    status = finished(world, READ_JOBS, "automationJobsExport", expiring["id"])["status"]
    assert status == "expired"
    assert download(world, kept["fileUrl"]).content == b"".join(kept_chunks)
