"""Meter an API into Tallyboard.

- :class:`IngestClient` sends usage events to ``POST /v1/events`` in batches and retries
  them with the same ids until acknowledged (ingestion is exactly-once per id).
- :class:`UsageMeter` counts API calls in memory (``record()`` does no I/O) and sends one
  pre-aggregated ``api.call`` event per (organization, UTC day, operation, token, status)
  every ``flush_interval`` from a background thread.
- :mod:`tallyboard_client.asgi` and :mod:`tallyboard_client.wsgi` hold the middleware that
  calls ``record()`` for every request; :mod:`tallyboard_client.strawberry` an extension
  that tells it the executed GraphQL operation.

Runtime requirements: ``httpx`` and ``orjson`` only.
"""

from __future__ import annotations

from tallyboard_client.ingest import (
    IngestClient,
    IngestError,
    IngestSummary,
    RetryableIngestError,
)
from tallyboard_client.meter import UsageMeter

__all__ = [
    "IngestClient",
    "IngestError",
    "IngestSummary",
    "RetryableIngestError",
    "UsageMeter",
]

__version__ = "0.1.0"
