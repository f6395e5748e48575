"""How export jobs are built across processes (spec §9 "Exports"), on both engines: a
build interrupted by a crash is resumed, concurrent builders never share a job, a build
that cannot be made fails with an error, and files may live in ``TALLYBOARD_EXPORT_DIR``."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tallyboard.domain.audit import Actor
from tallyboard.domain.exports import ExportFormat, ExportKind
from tallyboard.exports.builder import LEASE
from tallyboard.exports.links import Outcome
from tallyboard.exports.scratch import PREFIX
from tallyboard.storage.export_claims import Claim, ExportClaims
from tallyboard.storage.export_store import ExportStore, NewExport
from tests.support.exports import CREATE_JOBS
from tests.support.harness import Harness
from tests.support.world import World, populated

READ = """query($id: ID!) { automationJobsExport(id: $id) { status fileUrl error } }"""


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with Harness(database_url, export_ttl=60, export_dir=str(tmp_path / "files")) as harness:
        yield populated(harness)


def _create(world: World) -> str:
    answer = world.harness.graphql(world.boss, CREATE_JOBS, {"org": world.org_id})
    return str(answer["data"]["createAutomationJobsExport"]["automationJobsExport"]["id"])


def _status(world: World, export_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = world.harness.graphql(world.boss, READ, {"id": export_id})["data"][
        "automationJobsExport"
    ]
    return shown


def _settled(world: World, export_id: str) -> dict[str, Any]:
    for _ in range(100):
        world.harness.services.export_builder.run_once()
        shown = _status(world, export_id)
        if shown["status"] not in ("created", "processing"):
            return shown
        time.sleep(0.05)
    raise AssertionError("never built")


def _now_ms(world: World) -> int:
    return int(world.harness.clock.now().timestamp() * 1000)


def test_a_build_interrupted_by_a_crash_is_resumed_after_the_lease(world: World) -> None:
    harness = world.harness
    export_id = _create(world)
    crashed = ExportClaims(harness.services.database)
    claim = crashed.claim(_now_ms(world), int(LEASE * 1000))
    assert claim is not None and claim.id == export_id  # ... and that process dies
    assert harness.services.export_builder.run_once() is False  # its claim still holds
    assert _status(world, export_id)["status"] == "processing"
    harness.clock.set(harness.clock.now() + timedelta(seconds=LEASE + 1))
    assert _settled(world, export_id)["status"] == "finished"
    # The crashed process's late finish does not land over the resumed build.
    late = crashed.finish(
        claim,
        file_name="x.xlsx",
        content=b"x",
        file_path=None,
        partial=False,
        finished_at=0,
        expires_at=0,
    )
    assert late is False


def test_concurrent_builders_never_claim_the_same_job(world: World) -> None:
    database = world.harness.services.database
    store = ExportStore(database)
    for index in range(8):
        job = NewExport(
            id=f"{index:032x}",
            principal_kind="user",
            principal_pk=10_000 + index,
            kind=ExportKind.AUTOMATION_JOBS,
            format=ExportFormat.XLSX,
            parameters="{}",
            created_at=_now_ms(world) + 10**9,  # after every job the lifespan's builder sees
            actor=Actor("personal_token", f"user {index}"),
        )
        assert store.create(job, max_unfinished=5) is not None
    claimed: list[Claim] = []
    lock = threading.Lock()

    def builder() -> None:
        claims = ExportClaims(database)
        while (claim := claims.claim(_now_ms(world), 10**9)) is not None:
            with lock:
                claimed.append(claim)

    threads = [threading.Thread(target=builder) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ours = [c.id for c in claimed if c.id.startswith("0000")]
    assert sorted(ours) == sorted(set(ours)) and len(ours) <= 8


def test_a_job_that_cannot_be_built_fails_with_an_error(world: World) -> None:
    store = ExportStore(world.harness.services.database)
    principal = world.harness.services.authenticator.principal(f"Bearer {world.boss}")
    job = NewExport(
        id="f" * 32,
        principal_kind=principal.kind.value,
        principal_pk=principal.pk,
        kind=ExportKind.AUTOMATION_JOBS,
        format=ExportFormat.XLSX,
        parameters="{}",  # no organization: the build raises
        created_at=_now_ms(world),
        actor=principal.actor,
    )
    assert store.create(job, max_unfinished=5) is not None
    shown = _settled(world, "f" * 32)
    assert shown["status"] == "failed" and shown["error"] and shown["fileUrl"] is None


def test_files_in_the_export_dir_are_served_then_deleted(world: World, tmp_path: Path) -> None:
    harness = world.harness
    export_id = _create(world)
    shown = _settled(world, export_id)
    files = list((tmp_path / "files").iterdir())
    assert len(files) == 1 and files[0].name.endswith(".xlsx")
    link = shown["fileUrl"].split("127.0.0.1:8000", 1)[1]
    response = harness.http.get(link)
    assert response.status_code == 200 and response.content == files[0].read_bytes()
    harness.clock.set(harness.clock.now() + timedelta(seconds=61))
    harness.services.export_builder.run_once()
    assert list((tmp_path / "files").iterdir()) == []
    assert harness.http.get(link).status_code == 410


def test_a_crashed_builds_scratch_file_is_swept_once_its_claim_lapses(
    world: World, tmp_path: Path
) -> None:
    harness, builder = world.harness, world.harness.services.export_builder
    export_id = _create(world)
    claim = ExportClaims(harness.services.database).claim(_now_ms(world), int(LEASE * 1000))
    assert claim is not None and claim.id == export_id
    # The process that claimed it died mid-build: its half-written file, no lock held.
    directory = tmp_path / "files"
    directory.mkdir(exist_ok=True)
    leftover = directory / f"{PREFIX}{export_id}-k2j4x9"
    leftover.write_text("half a workbook")
    then = time.time() - 3600
    os.utime(leftover, (then, then))
    assert builder.sweep_scratch() == []  # its claim is live: it may still be writing
    assert leftover.exists()
    harness.clock.set(harness.clock.now() + timedelta(seconds=LEASE + 1))
    assert builder.sweep_scratch() == [leftover.name]
    assert _settled(world, export_id)["status"] == "finished"
    names = [p.name for p in directory.iterdir()]
    assert len(names) == 1 and names[0].endswith(".xlsx"), names


def test_a_file_on_disk_expiring_mid_download_is_served_whole(world: World, tmp_path: Path) -> None:
    harness = world.harness
    export_id = _create(world)
    shown = _settled(world, export_id)
    [path] = (tmp_path / "files").iterdir()
    stored = path.read_bytes()
    query = shown["fileUrl"].split("?", 1)[1]
    started = harness.services.export_links.download(export_id, query)
    assert started.outcome is Outcome.FILE and started.size == len(stored)
    harness.clock.set(harness.clock.now() + timedelta(seconds=61))
    harness.services.export_builder.run_once()  # expires it: the file is deleted
    assert not path.exists()
    assert b"".join(started.body) == stored  # read from the handle the download opened
