"""The ingest client: batching, and retries that resend exactly the same events."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from tallyboard_client import IngestClient, IngestError


class FlakyServer:
    """Answers with the scripted statuses first, then acknowledges every batch."""

    def __init__(self, script: list[int | type[Exception]]) -> None:
        self.script = list(script)
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.content)
        assert request.headers["authorization"] == "Bearer tb_ing_test"
        assert request.headers["content-type"] == "application/x-ndjson"
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, type):
                raise step("scripted failure")
            headers = {"Retry-After": "7"} if step == 429 else {}
            return httpx.Response(step, json={"error": {"message": "busy"}}, headers=headers)
        events = request.content.split(b"\n")
        return httpx.Response(200, json={"accepted": len(events), "duplicates": 0, "rejected": []})


def client(server: FlakyServer, sleeps: list[float], **options: Any) -> IngestClient:
    return IngestClient(
        "http://tallyboard.test",
        "tb_ing_test",
        transport=httpx.MockTransport(server),
        sleep=sleeps.append,
        **options,
    )


def test_retries_408_429_5xx_and_timeouts_with_the_same_body_honouring_retry_after() -> None:
    server = FlakyServer([429, 408, 503, httpx.ReadTimeout, httpx.ConnectError])
    sleeps: list[float] = []
    events = [{"source": "s", "type": "api.call"} for _ in range(3)]
    with client(server, sleeps, backoff=0.5) as c:
        summary = c.send(events)
    assert summary.accepted == 3 and summary.retries == 5 and summary.batches == 1
    assert len(set(server.bodies)) == 1, "every attempt must resend the same ids"
    ids = [orjson.loads(line)["id"] for line in server.bodies[0].split(b"\n")]
    assert len(set(ids)) == 3
    assert sleeps[0] == 7.0  # Retry-After
    assert all(0.25 <= s <= 8 for s in sleeps[1:])  # exponential backoff with jitter


def test_batches_respect_count_and_bytes_and_rejections_get_global_indexes() -> None:
    rejected = {"index": 1, "id": "x", "code": "INVALID_EVENT", "message": "m"}

    def handler(request: httpx.Request) -> httpx.Response:
        lines = request.content.split(b"\n")
        sizes.append(len(lines))
        return httpx.Response(200, json={"accepted": 0, "duplicates": 0, "rejected": [rejected]})

    sizes: list[int] = []
    with IngestClient(
        "http://t", "tb_ing_test", batch_size=4, transport=httpx.MockTransport(handler)
    ) as c:
        summary = c.send({"id": str(i), "pad": "x" * 10} for i in range(10))
    assert sizes == [4, 4, 2]
    assert [r["index"] for r in summary.rejected] == [1, 5, 9]

    sizes.clear()
    with IngestClient(
        "http://t", "k", max_batch_bytes=2048, transport=httpx.MockTransport(handler)
    ) as c:
        c.send({"id": str(i), "pad": "x" * 500} for i in range(10))
    assert sizes == [3, 3, 3, 1]


def test_a_refused_batch_is_not_retried_and_retries_are_bounded() -> None:
    sleeps: list[float] = []
    server = FlakyServer([413])
    with client(server, sleeps) as c, pytest.raises(IngestError, match="HTTP 413") as caught:
        c.send([{"id": "1"}])
    assert caught.value.status == 413 and len(server.bodies) == 1 and not sleeps
    server = FlakyServer([500] * 5)
    with (
        client(server, sleeps, max_attempts=3) as c,
        pytest.raises(IngestError, match="3 attempts"),
    ):
        c.send([{"id": "1"}])
    assert len(server.bodies) == 3
