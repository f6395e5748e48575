"""``python -m tallyboard`` as an operator runs it, against a SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["TALLYBOARD", "run"]

TALLYBOARD = [sys.executable, "-m", "tallyboard"]


def run(args: list[str], db: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TALLYBOARD_DATABASE_URL": f"sqlite:///{db}",
        "TALLYBOARD_LOG_FORMAT": "text",
    }
    result = subprocess.run(
        [*TALLYBOARD, *args], env=env, capture_output=True, text=True, timeout=60
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result
