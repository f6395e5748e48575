"""The ingest client, re-exported from the ``tallyboard-client`` distribution.

The producer-side library (``clients/python``, package :mod:`tallyboard_client`) owns the
ingest client so that there is one implementation of batching and same-id retries: the
server's CLI (``tallyboard ingest --url``) and every producer embedding the library use
the same code. This module keeps ``from tallyboard.client import IngestClient`` working
(docs/decisions/0015-producer-library.md).
"""

from __future__ import annotations

from tallyboard_client.ingest import (
    MAX_BYTES_PER_REQUEST,
    MAX_EVENTS_PER_REQUEST,
    IngestClient,
    IngestError,
    IngestSummary,
    RetryableIngestError,
)

__all__ = [
    "MAX_BYTES_PER_REQUEST",
    "MAX_EVENTS_PER_REQUEST",
    "IngestClient",
    "IngestError",
    "IngestSummary",
    "RetryableIngestError",
]
