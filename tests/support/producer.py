"""A metered API in its own process, for the end-to-end tests of the producer library.

``python -m tests.support.producer URL INGEST_KEY SEED REQUESTS ORG [ORG ...]`` serves a
small Starlette app behind :class:`tallyboard_client.asgi.MeteringMiddleware` (driven
in-process through httpx's ASGI transport), sends ``REQUESTS`` requests -- GraphQL and
REST, several organizations, tokens and statuses, chosen by ``SEED`` -- closes its meter
and prints one JSON object: what it expects Tallyboard to count (billable calls only, by
organization, operation and token) and the meter's own figures.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from collections import Counter
from collections.abc import Mapping
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tallyboard_client import UsageMeter
from tallyboard_client.asgi import MeteringMiddleware

TOKENS = {"key-mobile": "Mobile App", "key-cli": "CLI", "key-partner": "Partner Sync"}
BILLABLE = {200, 201, 404, 422}
OPERATIONS = ["GetCards", "CreateCards", "GetBoard"]


async def graphql(request: Request) -> Response:
    payload = await request.json()
    return JSONResponse({"data": {"echo": payload["query"][:20]}})


async def card(request: Request) -> Response:
    status = int(request.query_params.get("status", "200"))
    return JSONResponse({"id": request.path_params["card_id"]}, status_code=status)


def _header(scope: Mapping[str, Any], name: bytes) -> str | None:
    return next((v.decode() for k, v in scope["headers"] if k == name), None)


def app(meter: UsageMeter) -> MeteringMiddleware:
    routes = [
        Route("/graphql", graphql, methods=["POST"]),
        Route("/cards/{card_id:int}", card, methods=["GET", "DELETE"]),
    ]
    return MeteringMiddleware(
        Starlette(routes=routes),
        meter=meter,
        organization=lambda scope: _header(scope, b"x-org"),
        token_name=lambda scope: TOKENS.get(_header(scope, b"authorization") or ""),
    )


def plan(seed: int, requests: int, orgs: list[str]) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    out = []
    for _ in range(requests):
        org = rnd.choice(orgs)
        key = rnd.choice(sorted(TOKENS))
        kind = rnd.random()
        if kind < 0.6:
            op = rnd.choice(OPERATIONS)
            body = {"query": f"query {op} {{ cards {{ id }} }}"}
            if rnd.random() < 0.2:
                body = {"query": "{ cards { id } }"}
                op = "Not specified"
            request = {"method": "POST", "url": "/graphql", "json": body, "status": 200}
        else:
            status = rnd.choice([200, 200, 201, 404, 422, 401, 500])
            method = rnd.choice(["GET", "DELETE"])
            request = {"method": method, "url": f"/cards/{rnd.randrange(100)}?status={status}"}
            request["status"] = status
            op = f"{method} /cards/{{card_id}}"
        out.append({**request, "org": org, "key": key, "operation": op})
    return out


async def drive(meter: UsageMeter, requests: list[dict[str, Any]]) -> None:
    transport = httpx.ASGITransport(app=app(meter))
    async with httpx.AsyncClient(transport=transport, base_url="http://producer") as client:
        for r in requests:
            response = await client.request(
                r["method"],
                r["url"],
                json=r.get("json"),
                headers={"x-org": r["org"], "authorization": r["key"]},
            )
            assert response.status_code == r["status"], response.text


def main() -> None:
    url, key, seed, count, *orgs = sys.argv[1:]
    requests = plan(int(seed), int(count), orgs)
    meter = UsageMeter(url, key, "producer-e2e", flush_interval=0.05, close_timeout=120)
    asyncio.run(drive(meter, requests))
    closed = meter.close()
    expected: Counter[str] = Counter()
    for r in requests:
        if r["status"] in BILLABLE:
            token = TOKENS[r["key"]]
            expected[json.dumps([r["org"], "operation_name", r["operation"]])] += 1
            expected[json.dumps([r["org"], "token", token])] += 1
    result = {
        "closed": closed,
        "expected": dict(expected),
        "delivered": meter.delivered,
        "rejected": meter.rejected,
        "dropped": meter.dropped,
        "requests": len(requests),
    }
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
