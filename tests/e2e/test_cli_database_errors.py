"""Every command that uses the database says what failed and how to fix it -- no Python
traceback -- and exits non-zero, when the database cannot be reached or opened
(issue 11, item 17). Real processes, a closed port and an impossible SQLite path."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

TALLYBOARD = [sys.executable, "-m", "tallyboard"]

COMMANDS = [
    ["migrate"],
    ["serve", "--port", "0"],
    ["admin", "apply", "{doc}"],
    ["admin", "token", "create"],
    ["admin", "token", "list"],
    ["admin", "token", "revoke", "1"],
    ["ingest", "{events}"],
    ["backfill", "{events}"],
]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens on it any more: connections are refused


def _run(args: list[str], url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    doc = tmp_path / "doc.yaml"
    doc.write_text("organizations: []\n")
    events = tmp_path / "events.ndjson"
    events.write_text("")
    argv = [a.format(doc=doc, events=events) for a in args]
    env = {**os.environ, "TALLYBOARD_DATABASE_URL": url, "TALLYBOARD_LOG_FORMAT": "text"}
    env.pop("TALLYBOARD_INGEST_KEY", None)
    return subprocess.run([*TALLYBOARD, *argv], env=env, capture_output=True, text=True, timeout=60)


def _assert_explained(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert result.stderr.startswith("Cannot use the database "), result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr
    assert "TALLYBOARD_DATABASE_URL" in result.stderr


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:3]))
def test_an_unreachable_postgresql_is_explained(args: list[str], tmp_path: Path) -> None:
    port = _closed_port()
    result = _run(args, f"postgresql://tally:secret@127.0.0.1:{port}/tallyboard", tmp_path)
    _assert_explained(
        result, f"127.0.0.1:{port}", "Connection refused", "Is the database server running"
    )
    assert "secret" not in result.stderr  # the password is never printed


@pytest.mark.sqlite
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:3]))
def test_an_unopenable_sqlite_path_is_explained(args: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "no-such-directory" / "tallyboard.db"
    result = _run(args, f"sqlite:///{missing}", tmp_path)
    _assert_explained(result, str(missing), "SQLITE_CANTOPEN", "directory exists")
    assert not missing.parent.exists()


def test_demo_explains_a_path_it_cannot_create(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = subprocess.run(
        [*TALLYBOARD, "demo", "--no-serve", "--path", str(blocker / "demo.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"Cannot create the directory {blocker}" in result.stderr
    assert "--path" in result.stderr
