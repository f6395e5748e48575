"""Export files stored in the database as ordered chunks (spec §9 "Exports", bounded
memory), on both engines: a file of many chunks downloads byte for byte as stored and
opens for real; its chunks go some time after its TTL passes, so a download begun before
the expiry is still served whole."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import openpyxl
import pytest
from sqlalchemy import func, select

from tallyboard.exports.builder import DOWNLOAD_GRACE
from tallyboard.exports.links import Outcome
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
    assert download(world, expiring["fileUrl"]).status_code == 410
    status = finished(world, READ_JOBS, "automationJobsExport", expiring["id"])["status"]
    assert status == "expired"
    assert download(world, kept["fileUrl"]).content == b"".join(kept_chunks)
    # Its chunks stay for the downloads begun before the expiry, then go.
    assert _chunks(world, expiring["id"]) == expiring_chunks
    harness.clock.set(harness.clock.now() + timedelta(seconds=DOWNLOAD_GRACE - 1))
    harness.services.export_builder.run_once()
    assert _count(world) == before
    harness.clock.set(harness.clock.now() + timedelta(seconds=1))
    harness.services.export_builder.run_once()
    assert _chunks(world, expiring["id"]) == []
    assert _count(world) == before - len(expiring_chunks)  # the other expired later


def test_a_download_begun_before_the_expiry_is_served_whole(world: World) -> None:
    harness, builder = world.harness, world.harness.services.export_builder
    builder.chunk_size = 50
    shown = jobs_export(world)
    stored = b"".join(_chunks(world, shown["id"]))
    started = harness.services.export_links.download(shown["id"], urlsplit(shown["fileUrl"]).query)
    assert started.outcome is Outcome.FILE and started.size == len(stored)
    body = iter(started.body)
    received = [next(body)]
    assert len(received[0]) == 50
    # The TTL passes between two chunks and the builder's round expires the file.
    harness.clock.set(harness.clock.now() + timedelta(seconds=61))
    assert builder.run_once() is False
    assert download(world, shown["fileUrl"]).status_code == 410  # gone for new downloads
    received += list(body)
    assert b"".join(received) == stored
