"""An organization (or several) with an ingest key, posting events to ``POST
/v1/events`` as a producer does: the ingestion, correction and verification tests
share it."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from tests.support.events import org_document
from tests.support.harness import Harness, LiveServer

__all__ = ["Tenant"]


class Tenant:
    def __init__(self, harness: Harness | LiveServer, *, bound: bool = False, orgs: int = 1):
        document, self.orgs = org_document(bound_key=bound, orgs=orgs)
        self.key = harness.apply(document)["ingestKeys"][0]["key"]
        self.org = self.orgs[0]
        self.harness = harness

    def post(
        self, events: list[dict[str, Any]], *, key: str | None = None, ndjson: bool = False
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key or self.key}"}
        if ndjson:
            headers["Content-Type"] = "application/x-ndjson"
            body = b"\n".join(orjson.dumps(e) for e in events)
        else:
            body = orjson.dumps(events)
        response: httpx.Response = self.harness.http.post(
            "/v1/events", content=body, headers=headers
        )
        return response

    def send(self, events: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
        response = self.post(events, **options)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result
