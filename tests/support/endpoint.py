"""Raw posts to ``/graphql`` and the shape of its refusals (spec §7): the GraphQL
limit tests send bodies no client library would."""

from __future__ import annotations

import json
from typing import Any

from tests.support.harness import Harness

__all__ = ["executions", "post", "refusal"]


def post(harness: Harness, token: str, body: Any, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return harness.http.post("/graphql", content=content, headers=headers, **kwargs)


def refusal(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert "data" not in body
    assert body["errors"], body
    for error in body["errors"]:
        assert error["extensions"]["code"] == code
        assert error["extensions"]["correlation_id"]
    message: str = body["errors"][0]["message"]
    return message


def executions(harness: Harness) -> float:
    return harness.services.metrics.metering_recorded._value.get()  # type: ignore[no-any-return]
