"""The fuzz sends the same requests in every session (tests/support/fuzz/runner.py).

Hypothesis would otherwise mix constants from whatever local modules a session imported
into its draws: the file run alone and the whole suite would send different requests,
and a failure seen in CI could not be reproduced with the file alone. Each run here is a
fresh interpreter whose working directory holds a module full of constants (local code,
to hypothesis), imported or not.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]

_CONSTANTS = """
WORDS = ["alpha", "ENABLED", "usage", "current_month", "", "0", "a\\x00b", "Op" * 30]
NUMBERS = [1, 17, 25, 26, 255, 1000, 2**31, -1, 4000, 12000, 21]
"""

_SCRIPT = """
import hashlib, sys
sys.path.insert(0, sys.argv[1])
if sys.argv[2] == "with":
    import constants_here  # noqa: F401  (local code with many constants)
from tests.support.fuzz.graphql_suites import graphql_suites
from tests.support.fuzz.runner import run_suites
from tests.support.fuzz.server import World

uuids = [f"219e5a7b-78ba-46e0-beb9-6c89be2cf55{n}" for n in range(3)]
world = World(
    url="", admin_token="adm", org_ids=["a", "b", "c"], org_uuids=uuids,
    tokens={"super": "s", "member": "m", "viewer": "v", "personal": "p"},
    client=("cid", "secret"), ingest_keys={"all": "k", "bound": "b"}, cursor="abc.def",
    flow_ids=["flow-1"], agent_ids=["agt-1"], suffix="x",
)
digest = hashlib.sha256()
run_suites(graphql_suites(world)[1:4], lambda sent: digest.update(sent.body))
print(digest.hexdigest())
"""


def _digest(directory: Path, modules: str) -> str:
    result = subprocess.run(
        [sys.executable, "fuzz_digest.py", str(ROOT), modules],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip()


def test_the_fuzz_sends_the_same_requests_whatever_the_session_imported(tmp_path: Path) -> None:
    (tmp_path / "constants_here.py").write_text(_CONSTANTS)
    (tmp_path / "fuzz_digest.py").write_text(_SCRIPT)
    alone = _digest(tmp_path, "without")
    assert len(alone) == 64
    assert _digest(tmp_path, "with") == alone
