"""The WSGI middleware under Flask (and a bare WSGI generator): names from URL rules,
statuses, bodies the application still reads, the size limit, failing callables."""

from __future__ import annotations

import hashlib
import io
import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from flask import Flask, jsonify, request
from werkzeug.test import Client

from tallyboard_client import UsageMeter
from tallyboard_client.wsgi import MeteringMiddleware
from tests.conftest import ORG, MeterFactory
from tests.fakes import FakeTallyboard

WAIT = 10.0
HEADERS = {"X-Org": ORG, "Authorization": "key-mobile"}
TOKENS = {"key-mobile": "Mobile App"}


def organization(environ: dict[str, Any]) -> str | None:
    if environ.get("HTTP_X_EXPLODE") == "organization":
        raise LookupError("no organization")
    if environ.get("HTTP_X_EXPLODE") == "bytes":
        return b"org"  # type: ignore[return-value]
    return environ.get("HTTP_X_ORG")


def token_name(environ: dict[str, Any]) -> str | None:
    return TOKENS.get(environ.get("HTTP_AUTHORIZATION", ""))


def flask_app() -> Flask:
    app = Flask(__name__)

    @app.get("/cards/<int:card_id>")
    def card(card_id: int) -> Any:
        return jsonify(id=card_id)

    @app.post("/echo")
    def echo() -> Any:
        body = request.get_data()
        return jsonify(sha256=hashlib.sha256(body).hexdigest(), length=len(body))

    @app.post("/graphql")
    def graphql() -> Any:
        payload = request.get_json()
        return jsonify(data={"received": payload["query"]})

    @app.get("/boom")
    def boom() -> Any:
        raise RuntimeError("the application failed")

    return app


def client(meter: UsageMeter, app: Any = None, **options: Any) -> Client:
    """A Werkzeug test client for ``app`` (the Flask app by default) behind the middleware."""
    wrapped = MeteringMiddleware(
        app if app is not None else flask_app(),
        meter=meter,
        organization=organization,
        token_name=token_name,
        **options,
    )
    return Client(wrapped)


def metered_calls(meter: UsageMeter, tallyboard: FakeTallyboard) -> Counter[tuple[Any, ...]]:
    assert meter.flush(WAIT)
    return tallyboard.calls("operationName", "tokenName", "status")


def test_flask_requests_are_named_by_url_rule_or_operation(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    meter = make_meter()
    http = client(meter)
    statuses = [
        http.get("/cards/7?secret=1", headers=HEADERS).status_code,
        http.get("/cards/8", headers=HEADERS).status_code,
        http.get("/missing?q=1", headers=HEADERS).status_code,
        http.post(
            "/graphql", json={"query": "query GetCards { cards }"}, headers=HEADERS
        ).status_code,
        http.post("/graphql", json={"query": "{ cards }"}, headers=HEADERS).status_code,
        http.get("/boom", headers=HEADERS).status_code,
    ]
    assert statuses == [200, 200, 404, 200, 200, 500]
    assert metered_calls(meter, tallyboard) == Counter(
        {
            ("GET /cards/<int:card_id>", "Mobile App", 200): 2,
            ("GET /missing", "Mobile App", 404): 1,
            ("GetCards", "Mobile App", 200): 1,
            ("Not specified", "Mobile App", 200): 1,
            ("GET /boom", "Mobile App", 500): 1,
        }
    )


def test_the_application_reads_the_same_body_under_and_over_the_limit(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    meter = make_meter()
    http = client(meter, max_body_bytes=1024)
    small = orjson.dumps({"query": "query Small { a }"})
    big = orjson.dumps({"query": 'query Big { a(s: "' + "y" * 4000 + '") }'})
    for body in (small, big):
        response = http.post("/echo", data=body, content_type="application/json", headers=HEADERS)
        assert response.json == {"sha256": hashlib.sha256(body).hexdigest(), "length": len(body)}
    # Without Content-Length (chunked, wsgi.input_terminated): read up to the limit, then
    # what was read is replayed before the rest of the stream.
    for body in (small, big):
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/echo",
            "CONTENT_TYPE": "application/json",
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,
            "HTTP_X_ORG": ORG,
            "HTTP_AUTHORIZATION": "key-mobile",
        }
        middleware = MeteringMiddleware(
            _reads_everything,
            meter=meter,
            organization=organization,
            token_name=token_name,
            max_body_bytes=1024,
        )
        chunks = middleware(environ, _start_response)
        assert b"".join(chunks) == hashlib.sha256(body).hexdigest().encode()
    assert metered_calls(meter, tallyboard) == Counter(
        {("Small", "Mobile App", 200): 2, ("Not specified", "Mobile App", 200): 2}
    )


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    return lambda data: None


def _reads_everything(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    stream = environ["wsgi.input"]
    body = stream.readline() + stream.read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [hashlib.sha256(body).hexdigest().encode()]


def _lazy(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    start_response("201 Created", [("Content-Type", "text/plain")])
    yield b"made"


def test_a_generator_application_is_recorded_when_its_response_closes(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    meter = make_meter()
    response = client(meter, _lazy).get("/things", headers=HEADERS)
    assert response.status_code == 201 and response.data == b"made"
    assert metered_calls(meter, tallyboard) == Counter({("GET /things", "Mobile App", 201): 1})


def test_callables_that_fail_never_break_the_request(
    make_meter: MeterFactory, tallyboard: FakeTallyboard, caplog: pytest.LogCaptureFixture
) -> None:
    meter = make_meter()
    http = client(meter)
    with caplog.at_level(logging.WARNING, "tallyboard_client"):
        for kind in ("organization", "bytes", "organization", "bytes"):
            assert http.get("/cards/1", headers={**HEADERS, "X-Explode": kind}).status_code == 200
    assert http.get("/cards/1", headers={"Authorization": "key-mobile"}).status_code == 200
    assert metered_calls(meter, tallyboard) == Counter()
    assert meter.errors == {
        "organization raised LookupError": 2,
        "organization returned bytes, not a string or None": 2,
    }
    assert len([r for r in caplog.records if "not metered" in r.message]) == 2
