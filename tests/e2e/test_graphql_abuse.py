"""A real ``tallyboard serve`` process under a burst of documents built to cost
exponential time (issue 11, item 1): each is refused cheaply, ``/healthz`` keeps
answering throughout, and the server still stops promptly on SIGTERM."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.support.fleet import ServerProcess, start_server, tenancy, wait_ready

pytestmark = [pytest.mark.sqlite, pytest.mark.slow]

BURST = 45
HEALTHZ_CEILING = 2.0
"""Seconds /healthz may take during the burst; before the fix it never answered."""
STOP_CEILING = 15.0
"""Seconds the server may take to stop after SIGTERM; before the fix, 45 s and more."""


def fan_out(levels: int) -> str:
    parts = ["fragment F0 on Query{__typename}"]
    parts += [f"fragment F{i} on Query{{...F{i - 1} ...F{i - 1}}}" for i in range(1, levels + 1)]
    return "\n".join([*parts, f"query{{...F{levels}}}"])


@pytest.fixture
def server(sqlite_url: str) -> Iterator[ServerProcess]:
    started = start_server(sqlite_url, flush_interval=1.0)
    try:
        wait_ready(started)
        yield started
    finally:
        if started.process.poll() is None:
            started.process.kill()
            started.process.wait(30)
        if started.reader is not None:
            started.reader.join(30)


def test_a_burst_of_fan_out_documents_neither_stalls_the_server_nor_its_shutdown(
    server: ServerProcess, sqlite_url: str
) -> None:
    _, tokens = tenancy(server, sqlite_url)
    headers = {"Authorization": f"Bearer {tokens['bot-1']}"}
    answers: list[httpx.Response | BaseException] = []
    start = threading.Barrier(BURST + 1)

    def attack() -> None:
        start.wait()
        try:
            answers.append(
                httpx.post(
                    f"{server.url}/graphql",
                    json={"query": fan_out(26)},
                    headers=headers,
                    timeout=60,
                )
            )
        except httpx.HTTPError as exc:
            answers.append(exc)

    attackers = [threading.Thread(target=attack) for _ in range(BURST)]
    for thread in attackers:
        thread.start()
    start.wait()
    probes = 0
    while probes < 3 or any(thread.is_alive() for thread in attackers):
        # A timeout here raises: /healthz must answer within the ceiling throughout.
        health = httpx.get(f"{server.url}/healthz", timeout=HEALTHZ_CEILING)
        assert health.status_code == 200
        probes += 1
    for thread in attackers:
        thread.join()

    assert len(answers) == BURST
    for answer in answers:
        assert isinstance(answer, httpx.Response), answer
        assert answer.status_code == 400, answer.text
        error = answer.json()["errors"][0]
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        assert "67,108,864 fields" in error["message"]

    server.process.send_signal(signal.SIGTERM)
    returncode = server.process.wait(STOP_CEILING)
    assert returncode in (0, -signal.SIGTERM), server.log()
