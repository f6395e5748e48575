"""What happens to a meter's counts at interpreter exit and across fork()."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import Counter

import pytest

from tallyboard_client import UsageMeter
from tests.conftest import ORG
from tests.fakes import FakeTallyboard, http_tallyboard

SCRIPT = """
import sys
from tallyboard_client import UsageMeter

meter = UsageMeter(sys.argv[1], "tb_ing_test", "exit-test", flush_interval=3600)
for i in range(7):
    meter.record("{org}", "GetCards", "t", count=i + 1)
{ending}
"""


@pytest.mark.parametrize(
    ("ending", "calls"),
    [
        ("", 28),  # never closed: the atexit hook delivers
        ("meter.close()", 28),
        ("with meter:\n    meter.record('{org}', 'GetCards', 't', count=2)", 30),
    ],
)
def test_nothing_recorded_is_lost_at_interpreter_exit(ending: str, calls: int) -> None:
    fake = FakeTallyboard()
    script = SCRIPT.format(org=ORG, ending=ending.format(org=ORG))
    with http_tallyboard(fake) as url:
        run = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script), url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert run.returncode == 0, run.stderr
    assert fake.total() == calls


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX only")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() with threads (3.12+)
def test_a_forked_child_starts_afresh_and_the_parent_keeps_its_counts() -> None:
    fake = FakeTallyboard()
    with http_tallyboard(fake) as url:
        meter = UsageMeter(url, "tb_ing_test", "fork-test", flush_interval=3600)
        meter.record(ORG, "Parent", "t", count=5)
        pid = os.fork()
        if pid == 0:  # the child: its own ids, none of the parent's counts
            code = 1
            try:
                assert meter.pending == 0
                meter.record(ORG, "Child", "t", count=3)
                code = 0 if meter.close() else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert meter.close()
    assert fake.calls("operationName") == Counter({("Parent",): 5, ("Child",): 3})
    assert len({event_id.rsplit("-", 1)[0] for event_id in fake.events}) == 2
