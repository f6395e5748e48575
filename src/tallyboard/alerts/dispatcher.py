"""Posts recorded alerts to their webhooks (spec §10), in every server process.

Started and stopped by the application lifespan. Each round claims due deliveries
under a lease (``storage/delivery_store.py``), posts them through 16 lanes while the
lease can cover a post, and records every attempt -- status code, error, next attempt --
in one short transaction after the posts (releasing what it did not attempt), so
nothing here holds a database transaction while waiting on a receiver, and a slow or
unreachable receiver never blocks ingestion, metering or queries. A process that dies
between the alert's commit and its delivery loses nothing: the delivery row was
committed with the alert, and a lease left behind expires (decision in
``docs/decisions/0019-webhook-delivery-guarantee.md``).

Every request carries the Standard Webhooks headers; the signature is made by the
reference implementation (``standardwebhooks``). The ``webhook-timestamp`` is the wall
clock's, since receivers compare it with theirs; the schedule follows the injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import anyio.to_thread
import httpx
from standardwebhooks import Webhook

from tallyboard.access.url_safety import url_problem
from tallyboard.domain.clock import Clock
from tallyboard.observability.metrics import Metrics
from tallyboard.storage import delivery_store
from tallyboard.storage.alert_detector import AlertDetector
from tallyboard.storage.database import Database
from tallyboard.storage.delivery_store import AttemptRecord, Claimed

__all__ = ["Attempt", "Dispatcher", "next_step", "signed_headers"]

log = logging.getLogger(__name__)

_ERROR_LENGTH = 500
_LANES = 16
"""Deliveries in flight at once: each lane posts one after the other on its own client."""
_LANE_CONNECTIONS = 8
"""Keep-alive connections a lane keeps (to as many receivers)."""


@functools.lru_cache(maxsize=256)
def _signer(secret: str) -> Webhook:
    """One reference signer per webhook secret (it decodes the secret once)."""
    return Webhook(secret)


def _private_problem(url: str) -> str | None:
    return url_problem(url, allow_private=False)


def signed_headers(claimed: Claimed, timestamp: int) -> dict[str, str]:
    signature = _signer(claimed.secret).sign(
        claimed.alert_id, datetime.fromtimestamp(timestamp, UTC), claimed.body
    )
    return {
        "content-type": "application/json",
        "webhook-id": claimed.alert_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def next_step(
    attempts_before: int, status_code: int | None, delays: Sequence[int], now_ms: int
) -> tuple[str, int | None]:
    """(outcome, next attempt): one attempt plus one per delay, 410 fails at once."""
    if status_code is not None and 200 <= status_code < 300:
        return delivery_store.DELIVERED, None
    made = attempts_before + 1
    if status_code == 410 or made > len(delays):
        return delivery_store.FAILED, None
    return delivery_store.PENDING, now_ms + delays[made - 1] * 1000


class Attempt:
    __slots__ = ("duration_ms", "error", "started_ms", "status_code")

    def __init__(self, started_ms: int) -> None:
        self.started_ms = started_ms
        self.status_code: int | None = None
        self.error: str | None = None
        self.duration_ms = 0


class Dispatcher:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        metrics: Metrics,
        detector: AlertDetector,
        *,
        timeout: float,
        delays: Sequence[int],
        allow_private: bool,
        batch: int = 200,
        poll_interval: float = 1.0,
        forecast_interval: float = 3600.0,
        lanes: int = _LANES,
        lease: float | None = None,
    ) -> None:
        self._db = database
        self._clock = clock
        self._metrics = metrics
        self._detector = detector
        self._timeout = timeout
        self._delays = tuple(delays)
        self._allow_private = allow_private
        self._batch = batch
        self._poll = poll_interval
        self._forecast_interval = forecast_interval
        # Longer than an attempt can take (the post is bounded by the timeout). A round
        # starts posts only within its window, so the last one ends before the lease.
        lease_s = 2 * timeout + 10 if lease is None else lease
        self._lease_ms = int(lease_s * 1000)
        self._window = lease_s - timeout - min(5.0, timeout)
        self._lanes = lanes
        self._task: asyncio.Task[None] | None = None
        self._clients: list[httpx.AsyncClient] = []

    async def start_client(self) -> None:
        """The HTTP clients alone (``run_once`` without the loop: tests, tools).

        One client per lane, each with a single request in flight: httpcore hands a
        queued request a connection that another queued request may take first, and
        the loser retries after polling every connection of the pool -- with 16 posts
        sharing one pool that was most of the dispatcher's CPU. Lanes share one TLS
        context and keep their connections alive between rounds."""
        if not self._clients:
            limits = httpx.Limits(
                max_connections=_LANE_CONNECTIONS, max_keepalive_connections=_LANE_CONNECTIONS
            )
            tls = httpx.create_ssl_context()
            self._clients = [
                httpx.AsyncClient(follow_redirects=False, limits=limits, verify=tls)
                for _ in range(self._lanes)
            ]

    async def start(self) -> None:
        await self.start_client()
        self._task = asyncio.create_task(self._run(), name="tallyboard-webhook-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        clients, self._clients = self._clients, []
        for client in clients:
            await client.aclose()

    async def _run(self) -> None:
        last_sweep = float("-inf")
        while True:
            sent = 0
            try:
                if time.monotonic() - last_sweep >= self._forecast_interval:
                    await anyio.to_thread.run_sync(self.sweep_current_month)
                    last_sweep = time.monotonic()
                sent = await self.run_once()
            except Exception:  # a failed round is retried next time; never kill the loop
                log.exception("webhook dispatch round failed")
            if sent < self._batch:
                await asyncio.sleep(self._poll)

    def sweep_current_month(self) -> int:
        """The hourly evaluation of the forecast (and thresholds) of this month."""
        month = self._clock.now().strftime("%Y-%m")
        with self._db.write() as conn:
            return self._detector.sweep(conn, months=[month])

    async def run_once(self) -> int:
        """Claim what is due, post it, record every attempt; how many were attempted."""
        window_ends = time.monotonic() + self._window  # before the lease is taken
        now_ms = int(self._clock.now().timestamp() * 1000)
        claimed = await anyio.to_thread.run_sync(self._claim, now_ms)
        attempts: list[Attempt | None] = []
        if claimed:
            attempts = await self._post_all(claimed, window_ends)
            await anyio.to_thread.run_sync(self._record, claimed, attempts)
        pending = await anyio.to_thread.run_sync(self._pending)
        self._metrics.webhook_deliveries_pending.set(pending)
        return sum(1 for a in attempts if a is not None)

    def _claim(self, now_ms: int) -> list[Claimed]:
        with self._db.write() as conn:
            return delivery_store.claim(conn, now_ms, self._lease_ms, self._batch)

    def _pending(self) -> int:
        with self._db.read() as conn:
            return delivery_store.pending_count(conn)

    async def _post_all(
        self, claimed: Sequence[Claimed], window_ends: float
    ) -> list[Attempt | None]:
        """Every claimed delivery posted once, one per lane at a time, while the round's
        window lasts (None: not attempted, released). The safety rule is checked once
        per distinct URL of the round (resolving it), not per delivery."""
        if not self._clients:
            raise RuntimeError("the dispatcher's HTTP clients are not started")
        refused = await self._refused({c.url for c in claimed})
        attempts: list[Attempt | None] = [None] * len(claimed)
        queue = iter(range(len(claimed)))

        async def lane(client: httpx.AsyncClient) -> None:
            for index in queue:  # shared: each lane takes the next unposted delivery
                if time.monotonic() >= window_ends:
                    return  # too late to finish within the lease: leave it to a next round
                delivery = claimed[index]
                attempts[index] = await self._attempt(client, delivery, refused.get(delivery.url))

        await asyncio.gather(*(lane(client) for client in self._clients[: len(claimed)]))
        return attempts

    async def _refused(self, urls: set[str]) -> dict[str, str]:
        """Why each refused URL may not be posted to (none when private ones are allowed)."""
        if self._allow_private:
            return {}
        ordered = sorted(urls)
        problems = await asyncio.gather(
            *(anyio.to_thread.run_sync(_private_problem, url) for url in ordered)
        )
        return {url: p for url, p in zip(ordered, problems, strict=True) if p is not None}

    async def _attempt(
        self, client: httpx.AsyncClient, claimed: Claimed, refused: str | None
    ) -> Attempt:
        attempt = Attempt(int(self._clock.now().timestamp() * 1000))
        if refused is not None:
            attempt.error = f"refused: {refused}"
            return attempt
        started = time.perf_counter()
        try:
            # httpx bounds each read and write; the contract bounds the whole answer.
            response = await asyncio.wait_for(
                client.post(
                    claimed.url,
                    content=claimed.body,
                    headers=signed_headers(claimed, int(time.time())),
                    timeout=self._timeout,
                ),
                self._timeout,
            )
            attempt.status_code = response.status_code
        except (httpx.TimeoutException, TimeoutError):
            attempt.error = f"timeout after {self._timeout:g} s"
        except httpx.HTTPError as exc:
            attempt.error = f"{type(exc).__name__}: {exc}"[:_ERROR_LENGTH] or "connection error"
        finally:
            attempt.duration_ms = int((time.perf_counter() - started) * 1000)
        return attempt

    def _record(self, claimed: Sequence[Claimed], attempts: Sequence[Attempt | None]) -> None:
        """Every attempt of a round in one transaction (a commit per attempt would cap
        the throughput at the disk's sync rate); what was not attempted is released."""
        now_ms = int(self._clock.now().timestamp() * 1000)
        records = []
        unattempted = []
        for delivery, attempt in zip(claimed, attempts, strict=True):
            if attempt is None:
                unattempted.append(delivery)
                continue
            outcome, next_at = next_step(
                delivery.attempts, attempt.status_code, self._delays, now_ms
            )
            records.append(
                AttemptRecord(
                    delivery,
                    attempt.started_ms,
                    attempt.duration_ms,
                    attempt.status_code,
                    attempt.error,
                    outcome,
                    next_at,
                )
            )
        with self._db.write() as conn:
            delivery_store.record_attempts(conn, records)
            delivery_store.release(conn, unattempted)
        for record in records:
            label = "retry" if record.outcome == delivery_store.PENDING else record.outcome
            self._metrics.webhook_deliveries.labels(outcome=label).inc()
