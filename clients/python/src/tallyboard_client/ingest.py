"""A small client for the ingest API: batch events, send them, retry until acknowledged.

Retrying is safe because ingestion is exactly-once per (organization, source, id): a
batch whose response was lost is simply sent again with the same event ids, and what
the server had already committed comes back as ``duplicates``. The client therefore
retries every outcome that may be transient -- ``408`` (the body did not reach the
server in time), ``429`` (honouring ``Retry-After``),
``5xx``, timeouts and connection failures -- with exponential backoff, and never
re-encodes or re-identifies an event between attempts. Events without an ``id`` get
a random one *before* the first attempt, for the same reason.

Only ``httpx`` and ``orjson`` are needed::

    with IngestClient("https://tallyboard.internal", "tb_ing_...") as client:
        summary = client.send(events)
    print(summary.accepted, summary.duplicates, summary.rejected)

:meth:`IngestClient.post_once` is one attempt with the outcome classified (acknowledged,
worth retrying, refused), for callers that run their own retry loop, such as the
:class:`~tallyboard_client.UsageMeter`'s flusher, which must stay interruptible.
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

__all__ = [
    "MAX_BYTES_PER_REQUEST",
    "MAX_EVENTS_PER_REQUEST",
    "IngestClient",
    "IngestError",
    "IngestSummary",
    "RetryableIngestError",
]

MAX_EVENTS_PER_REQUEST = 10_000
MAX_BYTES_PER_REQUEST = 5 * 1024 * 1024


class IngestError(Exception):
    """A batch that cannot be delivered: refused by the server, or retries exhausted."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class RetryableIngestError(IngestError):
    """One attempt failed in a way that may pass: ``408``, ``429``, ``5xx``, a timeout or a
    connection failure. Resending the same bytes is safe (the server deduplicates by
    id); ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one."""

    def __init__(
        self, message: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


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
    """Sends events to ``POST {url}/v1/events`` with an ingest key, in batches, retrying
    each batch with the same bytes until it is acknowledged (see the module docstring)."""

    def __init__(
        self,
        url: str,
        ingest_key: str,
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
                "Authorization": f"Bearer {ingest_key}",
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
            try:
                return self.post_once(body)
            except RetryableIngestError as exc:
                last_problem = exc.message
                delay = exc.retry_after
            if attempt + 1 < self._max_attempts:
                self._sleep(delay if delay is not None else self._delay(attempt))
        raise IngestError(f"gave up after {self._max_attempts} attempts; last: {last_problem}")

    def post_once(self, body: bytes) -> dict[str, Any]:
        """One attempt at one NDJSON body: the server's response once acknowledged.

        Raises :class:`RetryableIngestError` when the same body may be sent again
        (``408``, ``429``, ``5xx``, timeouts, connection failures) and :class:`IngestError` when the
        server refused the request as such (``400``, ``401``, ``413``...).
        """
        try:
            response = self._http.post(self._path, content=body)
        except httpx.TransportError as exc:  # timeouts, refused/reset connections
            raise RetryableIngestError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 200:
            return _acknowledgement(response)
        problem = f"HTTP {response.status_code}: {_message(response)}"
        if response.status_code in (408, 429) or response.status_code >= 500:
            raise RetryableIngestError(problem, response.status_code, _retry_after(response))
        raise IngestError(problem, response.status_code)

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
        return chunk_lines(lines, self.batch_size, self.max_batch_bytes)

    def _delay(self, attempt: int) -> float:
        return backoff_delay(attempt, self._backoff, self._max_backoff)


def chunk_lines(lines: Iterable[bytes], max_events: int, max_bytes: int) -> Iterator[list[bytes]]:
    """Group encoded events into request bodies of at most ``max_events`` lines and
    ``max_bytes`` bytes (newlines included), in order."""
    batch: list[bytes] = []
    size = 0
    for line in lines:
        if len(line) + 1 > max_bytes:
            raise IngestError(f"an event of {len(line)} bytes exceeds max_batch_bytes")
        if batch and (len(batch) >= max_events or size + len(line) + 1 > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(line)
        size += len(line) + 1
    if batch:
        yield batch


def backoff_delay(attempt: int, base: float, ceiling: float) -> float:
    """Exponential backoff with jitter: in [c/2, c] for c = min(ceiling, base * 2**attempt)."""
    top = min(ceiling, base * 2 ** min(attempt, 32))
    return random.uniform(top / 2, top)


def _encode(event: Mapping[str, Any]) -> bytes:
    if "id" not in event:
        event = {**event, "id": str(uuid.uuid4())}
    return orjson.dumps(event)


def _acknowledgement(response: httpx.Response) -> dict[str, Any]:
    """The ``200`` answer of the ingest API; anything else answering ``200`` (a proxy's
    page, a wrong URL) is treated as a failed attempt, never as an acknowledgement."""
    try:
        result = response.json()
    except ValueError:
        result = None
    if (
        not isinstance(result, dict)
        or not isinstance(result.get("accepted"), int)
        or not isinstance(result.get("duplicates"), int)
        or not isinstance(result.get("rejected"), list)
    ):
        raise RetryableIngestError(
            f"HTTP 200 without an ingest acknowledgement: {response.text[:200]!r}", 200
        )
    return result


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
