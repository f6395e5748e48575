"""The ASGI middleware: names, statuses, bodies the application still reads, the size
limit, the callables that may fail, and the Strawberry extension."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import orjson
import pytest

from tallyboard_client import UsageMeter
from tallyboard_client.asgi import MeteringMiddleware
from tests import apps
from tests.conftest import ORG, MeterFactory
from tests.fakes import FakeTallyboard

HEADERS = {"x-org": ORG, "authorization": "key-mobile"}
JSON = {**HEADERS, "content-type": "application/json"}
OTHER = "query Other { cards { id } }"
CREATE = 'mutation CreateCards { createCards(titles: ["a"]) { id } }'
WAIT = 10.0


def metered(meter: UsageMeter, app: Any = None, **options: Any) -> MeteringMiddleware:
    return MeteringMiddleware(
        app if app is not None else apps.starlette_app(),
        meter=meter,
        organization=apps.organization,
        token_name=apps.token_name,
        **options,
    )


def send(app: Any, requests: list[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            return [
                await client.request(method, url, **{"headers": HEADERS, **options})
                for method, url, options in requests
            ]

    return asyncio.run(run())


def metered_calls(meter: UsageMeter, tallyboard: FakeTallyboard) -> Counter[tuple[Any, ...]]:
    assert meter.flush(WAIT)
    return tallyboard.calls("operationName", "tokenName", "status")


def test_requests_are_named_by_route_template_never_the_query_string(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    meter = make_meter()
    responses = send(
        metered(meter),
        [
            ("GET", "/cards/1?secret=yes", {}),
            ("GET", "/cards/2", {}),
            ("GET", "/api/orgs/acme/cards/3", {}),
            ("GET", "/static/css/site.css", {}),
            ("GET", "/nowhere/else?x=1", {}),
            ("DELETE", "/cards/1", {}),
            ("GET", "/boom", {}),
        ],
    )
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 404, 405, 500]
    assert metered_calls(meter, tallyboard) == Counter(
        {
            ("GET /cards/{card_id}", "Mobile App", 200): 2,
            ("GET /api/orgs/{org}/cards/{card_id}", "Mobile App", 200): 1,
            ("GET /static/{path}", "Mobile App", 200): 1,
            ("GET /nowhere/else", "Mobile App", 404): 1,  # no route: the path
            ("DELETE /cards/{card_id}", "Mobile App", 405): 1,
            ("GET /boom", "Mobile App", 500): 1,
        }
    )


def test_graphql_requests_are_named_by_operation(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    meter = make_meter()
    query = "query GetCards { cards { id title } }"
    responses = send(
        metered(meter, apps.starlette_app(extension=False)),
        [
            ("POST", "/graphql", {"json": {"query": query}}),
            ("POST", "/graphql", {"json": {"query": "{ cards { id } }"}}),
            (
                "POST",
                "/graphql",
                {
                    "json": {
                        "query": f"{query} query Other {{ cards {{ id }} }}",
                        "operationName": "Other",
                    }
                },
            ),
            ("GET", "/graphql", {"params": {"query": query}}),
            (
                "POST",
                "/graphql",
                {"json": {"query": 'mutation CreateCards { createCards(titles: ["a"]) { id } }'}},
            ),
        ],
    )
    assert all(r.status_code == 200 and "errors" not in r.json() for r in responses)
    assert metered_calls(meter, tallyboard) == Counter(
        {
            ("GetCards", "Mobile App", 200): 2,
            ("Not specified", "Mobile App", 200): 1,
            ("Other", "Mobile App", 200): 1,
            ("CreateCards", "Mobile App", 200): 1,
        }
    )


def test_the_application_reads_the_same_body_and_a_json_post_without_query_is_a_route(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    meter = make_meter()
    graphql_body = orjson.dumps({"query": 'query Echo { echo(text: "héllo") }', "variables": {}})
    plain = orjson.dumps({"search": "shoes", "query_like": 1})
    responses = send(
        metered(meter),
        [
            (
                "POST",
                "/echo",
                {
                    "content": graphql_body,
                    "headers": {**HEADERS, "content-type": "application/json"},
                },
            ),
            (
                "POST",
                "/echo",
                {"content": plain, "headers": JSON},
            ),
            (
                "POST",
                "/graphql",
                {
                    "content": graphql_body,
                    "headers": {**HEADERS, "content-type": "application/json"},
                },
            ),
        ],
    )
    for response, body in zip(responses[:2], [graphql_body, plain], strict=True):
        assert response.json() == {"sha256": hashlib.sha256(body).hexdigest(), "length": len(body)}
    assert responses[2].json() == {"data": {"echo": "héllo"}}
    assert metered_calls(meter, tallyboard) == Counter(
        {("Echo", "Mobile App", 200): 2, ("POST /echo", "Mobile App", 200): 1}
    )


Message = MutableMapping[str, Any]


async def drive(
    app: Callable[..., Awaitable[None]], chunks: list[bytes], headers: list[tuple[bytes, bytes]]
) -> tuple[int, bytes, int]:
    """Send a POST body in several ``http.request`` messages, as servers do for large
    bodies; returns (status, response body, how many messages the app received)."""
    incoming = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    received = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal received
        received += 1
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(3600)  # a real server waits for the disconnect
        raise AssertionError("unreachable")

    async def send_(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/echo",
        "raw_path": b"/echo",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"x-org", ORG.encode()), (b"authorization", b"key-mobile"), *headers],
        "server": ("api.test", 80),
        "client": ("127.0.0.1", 5000),
    }
    await app(scope, receive, send_)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body, received


@pytest.mark.parametrize("declared_length", [True, False])
def test_a_body_over_the_limit_is_streamed_through_and_named_not_specified(
    make_meter: MeterFactory, tallyboard: FakeTallyboard, declared_length: bool
) -> None:
    meter = make_meter()
    document = orjson.dumps({"query": 'query Big { echo(text: "' + "x" * 5000 + '") }'})
    chunks = [document[i : i + 1000] for i in range(0, len(document), 1000)]
    headers = [(b"content-type", b"application/json")]
    if declared_length:
        headers.append((b"content-length", str(len(document)).encode()))
    app = metered(meter, max_body_bytes=2048)
    status, body, _ = asyncio.run(drive(app, chunks, headers))
    assert status == 200
    assert orjson.loads(body) == {
        "sha256": hashlib.sha256(document).hexdigest(),
        "length": len(document),
    }
    assert metered_calls(meter, tallyboard) == Counter({("Not specified", "Mobile App", 200): 1})


def test_a_body_in_one_message_over_the_limit_is_passed_through_and_named_not_specified(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    meter = make_meter()
    document = orjson.dumps({"query": 'query Big { echo(text: "' + "x" * 3000 + '") }'})
    headers = [(b"content-type", b"application/json")]  # no Content-Length: read, then seen
    status, body, received = asyncio.run(
        drive(metered(meter, max_body_bytes=2048), [document], headers)
    )
    assert status == 200
    assert orjson.loads(body)["sha256"] == hashlib.sha256(document).hexdigest()
    assert received == 1
    assert metered_calls(meter, tallyboard) == Counter({("Not specified", "Mobile App", 200): 1})


def test_a_body_in_several_messages_under_the_limit_is_replayed_whole(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    meter = make_meter()
    document = orjson.dumps({"query": "query Chunked { cards { id } }"})
    chunks = [document[:7], document[7:20], document[20:]]
    status, body, _ = asyncio.run(
        drive(metered(meter), chunks, [(b"content-type", b"application/json")])
    )
    assert status == 200
    assert orjson.loads(body)["sha256"] == hashlib.sha256(document).hexdigest()
    assert metered_calls(meter, tallyboard) == Counter({("Chunked", "Mobile App", 200): 1})


def test_the_strawberry_extension_names_what_was_executed(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    # Over the limit, the middleware alone cannot read the name; the extension can.
    document = {"query": "query GetCards { cards { id title } }" + " " * 200}
    results: dict[bool, Counter[tuple[Any, ...]]] = {}
    for extension in (True, False):
        meter = make_meter()
        app = metered(meter, apps.starlette_app(extension=extension), max_body_bytes=64)
        (response,) = send(app, [("POST", "/graphql", {"json": document})])
        assert response.json()["data"]["cards"][0] == {"id": 1, "title": "First"}
        results[extension] = metered_calls(meter, tallyboard)
        tallyboard.events.clear()
    assert results[True] == Counter({("GetCards", "Mobile App", 200): 1})
    assert results[False] == Counter({("Not specified", "Mobile App", 200): 1})


def test_requests_without_an_organization_or_token_are_not_metered(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    meter = make_meter()
    responses = send(
        metered(meter),
        [
            ("GET", "/cards/1", {"headers": {"authorization": "key-mobile"}}),
            ("GET", "/cards/1", {"headers": {"x-org": ORG, "authorization": "unknown"}}),
            ("GET", "/cards/1", {"headers": {**HEADERS, "authorization": "key-cli"}}),
        ],
    )
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert metered_calls(meter, tallyboard) == Counter({("GET /cards/{card_id}", "CLI", 200): 1})
    assert meter.errors == {}


def test_callables_that_raise_or_return_non_strings_never_break_the_request(
    make_meter: MeterFactory, tallyboard: FakeTallyboard, caplog: pytest.LogCaptureFixture
) -> None:
    meter = make_meter()
    explode = [
        ("GET", "/cards/1", {"headers": {**HEADERS, "x-explode": kind}})
        for kind in ("organization", "token", "number", "organization", "number", "token")
    ]
    with caplog.at_level(logging.WARNING, "tallyboard_client"):
        responses = send(metered(meter), [*explode, ("GET", "/cards/1", {})])
    assert [r.status_code for r in responses] == [200] * 7
    assert metered_calls(meter, tallyboard) == Counter(
        {("GET /cards/{card_id}", "Mobile App", 200): 1}
    )
    assert meter.errors == {
        "organization raised KeyError": 2,
        "token_name raised RuntimeError": 2,
        "organization returned int, not a string or None": 2,
    }
    logged = [r for r in caplog.records if "not metered" in r.message]
    assert len(logged) == 3  # once per kind
    assert logged[0].exc_info is not None  # with the traceback of the first failure


def test_graphql_paths_limits_where_bodies_are_read(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    meter = make_meter()
    body = {"query": "query Looks { like(graphql: true) }"}
    send(
        metered(meter, graphql_paths={"/graphql"}),
        [("POST", "/echo", {"json": body}), ("GET", "/cards/1", {"params": {"query": "shoes"}})],
    )
    assert metered_calls(meter, tallyboard) == Counter(
        {("POST /echo", "Mobile App", 200): 1, ("GET /cards/{card_id}", "Mobile App", 200): 1}
    )


def test_non_http_scopes_pass_through(make_meter: MeterFactory) -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    middleware = metered(make_meter(), app)
    asyncio.run(middleware({"type": "lifespan"}, None, None))  # type: ignore[arg-type]
    assert seen == ["lifespan"]


def test_token_names_are_made_safe_every_time_cached_or_not(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    meter = make_meter()
    tokens = iter(["Mobile\nApp", "Mobile\nApp", "T" * 300, "T" * 300, "CLI", "CLI"])
    app = MeteringMiddleware(
        apps.starlette_app(),
        meter=meter,
        organization=apps.organization,
        token_name=lambda scope: next(tokens),
    )
    send(app, [("GET", "/cards/1", {})] * 6)
    assert metered_calls(meter, tallyboard) == Counter(
        {
            ("GET /cards/{card_id}", "Mobile\ufffdApp", 200): 2,
            ("GET /cards/{card_id}", "T" * 256, 200): 2,  # too long to cache: cut each time
            ("GET /cards/{card_id}", "CLI", 200): 2,
        }
    )
