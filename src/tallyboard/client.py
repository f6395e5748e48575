"""A small client for the ingest API: batch events, send them, retry until acknowledged.

Retrying is safe because ingestion is exactly-once per (organization, source, id): a
batch whose response was lost is simply sent again with the same event ids, and what
the server had already committed comes back as ``duplicates``. The client therefore
retries every outcome that may be transient -- ``408`` (the body did not reach the
server in time), ``429`` (honouring ``Retry-After``), ``5xx``, timeouts and connection
failures -- with exponential backoff, and never
re-encodes or re-identifies an event between attempts. Events without an ``id`` get
a random one *before* the first attempt, for the same reason.

Only ``httpx`` and ``orjson`` are needed, so the module can be copied into a producer::

    with IngestClient("https://tallyboard.internal", "tb_ing_...") as client:
        summary = client.send(events)
    print(summary.accepted, summary.duplicates, summary.rejected)
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx
import orjson

__all__ = ["IngestClient", "IngestError", "IngestSummary"]

MAX_EVENTS_PER_REQUEST = 10_000
MAX_BYTES_PER_REQUEST = 5 * 1024 * 1024


class IngestError(Exception):
    """A batch that cannot be delivered: refused by the server, or retries exhausted."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class IngestSummary:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    """Rejections as the server reported them, ``index`` counted across all batches."""
    batches: int = 0
    retries: int = 0

    def add(self, response: Mapping[str, Any], offset: int) -> None:
        self.accepted += int(response["accepted"])
        self.duplicates += int(response["duplicates"])
        for rejection in response["rejected"]:
            self.rejected.append({**rejection, "index": rejection["index"] + offset})
        self.batches += 1


class IngestClient:
    def __init__(
        self,
        url: str,
        key: str,
        *,
        path: str = "/v1/events",
        batch_size: int = 1000,
        max_batch_bytes: int = 4 * 1024 * 1024,
        timeout: float = 30.0,
        max_attempts: int = 10,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 1 <= batch_size <= MAX_EVENTS_PER_REQUEST:
            raise ValueError(f"batch_size must be 1 to {MAX_EVENTS_PER_REQUEST}")
        if not 1024 <= max_batch_bytes <= MAX_BYTES_PER_REQUEST:
            raise ValueError(f"max_batch_bytes must be 1024 to {MAX_BYTES_PER_REQUEST}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._http = httpx.Client(
            base_url=url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/x-ndjson",
            },
        )
        self._path = path
        self.batch_size = batch_size
        self.max_batch_bytes = max_batch_bytes
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._sleep = sleep

    # ------------------------------------------------------------ public API

    def send(
        self,
        events: Iterable[Mapping[str, Any]],
        on_batch: Callable[[int, IngestSummary], None] | None = None,
    ) -> IngestSummary:
        """Send events in batches; returns once every batch is acknowledged."""
        return self.send_lines((_encode(event) for event in events), on_batch)

    def send_lines(
        self,
        lines: Iterable[bytes],
        on_batch: Callable[[int, IngestSummary], None] | None = None,
    ) -> IngestSummary:
        """Send pre-encoded events (one JSON object per item, no newlines).

        ``on_batch(events_in_batch, summary)`` is called after each acknowledgement.
        """
        summary = IngestSummary()
        offset = 0
        for batch in self._batches(lines):
            response = self.send_batch(batch, summary)
            summary.add(response, offset)
            offset += len(batch)
            if on_batch is not None:
                on_batch(len(batch), summary)
        return summary

    def send_batch(
        self, lines: Sequence[bytes], summary: IngestSummary | None = None
    ) -> dict[str, Any]:
        """One request, retried until acknowledged; returns the server's response."""
        body = b"\n".join(lines)
        last_problem = ""
        for attempt in range(self._max_attempts):
            if attempt and summary is not None:
                summary.retries += 1
            delay: float | None = None
            try:
                response = self._http.post(self._path, content=body)
            except httpx.TransportError as exc:  # timeouts, refused/reset connections
                last_problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    result: dict[str, Any] = response.json()
                    return result
                last_problem = f"HTTP {response.status_code}: {_message(response)}"
                if response.status_code not in (408, 429) and response.status_code < 500:
                    raise IngestError(last_problem, response.status_code)
                delay = _retry_after(response)
            if attempt + 1 < self._max_attempts:
                self._sleep(delay if delay is not None else self._delay(attempt))
        raise IngestError(f"gave up after {self._max_attempts} attempts; last: {last_problem}")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> IngestClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------ internals

    def _batches(self, lines: Iterable[bytes]) -> Iterator[list[bytes]]:
        batch: list[bytes] = []
        size = 0
        for line in lines:
            if len(line) + 1 > self.max_batch_bytes:
                raise IngestError(f"an event of {len(line)} bytes exceeds max_batch_bytes")
            if batch and (
                len(batch) >= self.batch_size or size + len(line) + 1 > self.max_batch_bytes
            ):
                yield batch
                batch, size = [], 0
            batch.append(line)
            size += len(line) + 1
        if batch:
            yield batch

    def _delay(self, attempt: int) -> float:
        ceiling = min(self._max_backoff, self._backoff * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)


def _encode(event: Mapping[str, Any]) -> bytes:
    if "id" not in event:
        event = {**event, "id": str(uuid.uuid4())}
    return orjson.dumps(event)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        return str(error.get("message") or response.text[:200])
    except (ValueError, AttributeError):
        return response.text[:200]
