"""Scratch files of export builds (``exports/scratch.py``), with real files and real
processes: what a crashed build leaves is swept, and nothing a live build may still be
writing ever is."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest

from tallyboard.exports.scratch import PREFIX, UNNAMED_GRACE, Scratch, sweep

GRACE = 30.0
_HOLDER = """
import sys, time
from pathlib import Path
from tallyboard.exports.scratch import Scratch
scratch = Scratch(Path(sys.argv[1]), sys.argv[2])
with open(scratch.path, "w") as file:
    file.write("half a file")
print(scratch.path, flush=True)
time.sleep(600)  # a build in progress, until the test kills it
"""


class Builder:
    """Another process in the middle of a build, holding its scratch file."""

    def __init__(self, directory: Path, job: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(directory), job],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.path = Path(self.process.stdout.readline().strip())
        assert self.path.name.startswith(f"{PREFIX}{job}-"), self.path

    def crash(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.crash()
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def builders() -> Iterator[list[Builder]]:
    started: list[Builder] = []
    yield started
    for builder in started:
        builder.stop()


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _sweep(directory: Path, live: Collection[str] = ()) -> list[str]:
    return sweep(directory, lambda: live, grace=GRACE)


def test_a_crashed_builds_file_is_swept_and_a_live_ones_is_not(
    tmp_path: Path, builders: list[Builder]
) -> None:
    crashed, running = Builder(tmp_path, "job1"), Builder(tmp_path, "job2")
    builders += [crashed, running]
    crashed.crash()
    for builder in builders:
        _age(builder.path, GRACE + 60)
    finished = tmp_path / "automation-jobs-job0-17.xlsx"
    finished.write_bytes(b"a finished export")
    _age(finished, UNNAMED_GRACE * 2)

    assert _sweep(tmp_path) == [crashed.path.name]
    assert not crashed.path.exists()
    # The live build's file stays, old and without a live claim: its lock is held.
    assert running.path.read_text() == "half a file"
    assert finished.read_bytes() == b"a finished export"
    running.crash()
    assert _sweep(tmp_path) == [running.path.name]
    assert sorted(os.listdir(tmp_path)) == [finished.name]


def test_an_unlocked_file_stays_while_its_job_is_live_or_it_is_recent(tmp_path: Path) -> None:
    claimed = tmp_path / f"{PREFIX}job1-abc123"
    recent = tmp_path / f"{PREFIX}job2-def456"
    for path in (claimed, recent):
        path.write_text("x")  # no lock: another host's build, or the instant before locking
    _age(claimed, GRACE + 60)
    _age(recent, GRACE - 10)
    assert _sweep(tmp_path, live=["job1"]) == []
    assert _sweep(tmp_path, live=[]) == [claimed.name]
    assert recent.exists()
    _age(recent, GRACE + 1)
    assert _sweep(tmp_path, live=["job1"]) == [recent.name]


def test_a_name_without_a_job_waits_a_day(tmp_path: Path) -> None:
    unnamed = tmp_path / f"{PREFIX}k2j4_x9a"  # as versions before the job id wrote them
    unnamed.write_text("x")
    _age(unnamed, UNNAMED_GRACE - 60)
    assert _sweep(tmp_path) == []
    _age(unnamed, UNNAMED_GRACE + 60)
    assert _sweep(tmp_path) == [unnamed.name]


def test_closing_a_scratch_deletes_it_unless_it_was_renamed(tmp_path: Path) -> None:
    dropped, landed = Scratch(tmp_path, "job1"), Scratch(tmp_path, "job2")
    target = tmp_path / "landed.csv"
    os.replace(landed.path, target)
    dropped.close()
    landed.close()
    assert sorted(os.listdir(tmp_path)) == ["landed.csv"]
    assert _sweep(tmp_path) == [] and _sweep(tmp_path / "missing") == []
