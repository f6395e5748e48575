"""``tallyboard.client`` keeps working: it is the producer library's ingest client."""

from __future__ import annotations

import tallyboard_client
import tallyboard_client.ingest
from tallyboard import client


def test_the_server_re_exports_the_producer_librarys_ingest_client() -> None:
    assert client.IngestClient is tallyboard_client.IngestClient
    assert client.IngestError is tallyboard_client.IngestError
    assert client.IngestSummary is tallyboard_client.IngestSummary
    assert client.MAX_EVENTS_PER_REQUEST == tallyboard_client.ingest.MAX_EVENTS_PER_REQUEST
    assert set(client.__all__) <= set(dir(client))
