"""The builder's scratch files in ``TALLYBOARD_EXPORT_DIR`` (spec §9 "Exports"), and
removing the ones a crashed build left behind.

A build streams its file into ``.building-<job id>-<random>`` beside the finished
files and renames it into place when done (or deletes it when it fails). A process
killed mid-build leaves its scratch file behind for good: nothing else would ever
delete it, and every crash adds one, up to the size of a whole export.

:func:`sweep` deletes a scratch file only when all three hold:

1. **No process holds its lock.** The builder takes an exclusive ``flock`` on the
   file as soon as it creates it and keeps the descriptor open until the file is
   renamed or deleted; the kernel drops the lock when the process dies, however it
   dies. A file whose lock the sweeper can take has no live writer on this host.
2. **Its job has no live claim** (``processing`` and refreshed within the lease, read
   from the database after the directory was listed). This covers a directory shared
   by several hosts on a filesystem that does not carry locks between them: a build
   refreshes its claim every few seconds, so a job whose claim is live may still be
   writing its file, wherever it runs. A build whose claim lapsed has lost the job:
   it drops its file when it notices (``_Lost``), so nothing of value goes.
3. **It is older than the grace period** (modified more than ``grace`` seconds ago).
   This covers the instant between creating the file and locking it, and files of
   a build started after the claims were read. A name without a job id
   (``.building-<random>``, written by a version that neither named nor locked its
   scratch files, still running during a rolling upgrade) waits a day instead: such a
   build can only be told apart from a dead one by its age.

A file of a live build fails the first test (and, on a shared directory, the
second), so it is never deleted: at worst a leftover waits for a later sweep.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Callable, Collection
from pathlib import Path

__all__ = ["PREFIX", "UNNAMED_GRACE", "Scratch", "sweep"]

PREFIX = ".building-"
UNNAMED_GRACE = 24 * 3600.0
"""Seconds a scratch file without a job id in its name is left alone."""


class Scratch:
    """A scratch file created and locked (exclusively) for one job's build."""

    def __init__(self, directory: Path | None, job_id: str) -> None:
        self._fd, self.path = tempfile.mkstemp(prefix=f"{PREFIX}{job_id}-", dir=directory)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # new file: nobody else has it

    def close(self) -> None:
        """Delete the file if it was not renamed away, then release the lock (in that
        order: the file is never unlocked while it still has its scratch name)."""
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.close(self._fd)


def job_of(name: str) -> str | None:
    """The job id in a scratch file's name; None for a name without one."""
    if not name.startswith(PREFIX):
        return None
    job, separator, _ = name[len(PREFIX) :].rpartition("-")
    return job if separator and job else None


def sweep(
    directory: Path,
    live_jobs: Callable[[], Collection[str]],
    *,
    grace: float,
    now: Callable[[], float] = time.time,
) -> list[str]:
    """Delete the leftover scratch files in ``directory`` (the rule is the module's
    docstring); the names deleted. ``live_jobs`` is called after the listing."""
    try:
        names = [e.name for e in os.scandir(directory) if e.name.startswith(PREFIX)]
    except FileNotFoundError:
        return []
    if not names:
        return []
    live = set(live_jobs())
    deleted = []
    for name in names:
        job = job_of(name)
        if job in live:
            continue
        wait = grace if job is not None else max(grace, UNNAMED_GRACE)
        if _delete_if_abandoned(directory / name, now() - wait):
            deleted.append(name)
    return deleted


def _delete_if_abandoned(path: Path, older_than: float) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # gone already (renamed into place, or swept by another process)
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a live build holds it
            return False
        if os.fstat(fd).st_mtime > older_than:
            return False
        os.unlink(path)  # still locked by us: no build can have taken it meanwhile
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
