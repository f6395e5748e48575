"""The recording cost per call of the metering middleware, in-process (``producer_overhead``).

Each middleware wraps an application that does nothing but answer (it reads the body of
a ``POST``, and sets a Starlette-like ``route`` in the ASGI scope, so naming takes the
path it takes under Starlette), and the callables return constants: what is timed is
the library's own work per request -- wrapping ``send``/``start_response``, naming, the
``UsageMeter.record`` increment -- not the application's, nor a server's. Metered and
unmetered calls alternate in rounds (each going first in turn), timed in this thread's
CPU time, so time spent descheduled on a shared machine counts for neither; the figure
is the median of the per-round differences.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

import orjson

from bench.producer_micro import ORG, _idle_meter
from tallyboard_client import UsageMeter
from tallyboard_client import asgi as metered_asgi
from tallyboard_client import wsgi as metered_wsgi

Message = MutableMapping[str, Any]
GRAPHQL_BODY = orjson.dumps({"query": "query GetCards { cards { id title done } }"})
START: Message = {"type": "http.response.start", "status": 200, "headers": []}
ANSWER: Message = {"type": "http.response.body", "body": b"ok"}


class _Route:
    """What Starlette puts in ``scope["route"]``, as far as naming reads it."""

    path_format = "/cards/{card_id}"


ROUTE = _Route()


async def _asgi_app(scope: Any, receive: Any, send: Any) -> None:
    if scope["method"] == "POST":
        while (await receive()).get("more_body"):
            pass
    scope["route"] = ROUTE
    await send(START)
    await send(ANSWER)


def _wsgi_app(environ: Any, start_response: Any) -> Iterable[bytes]:
    if environ["REQUEST_METHOD"] == "POST":
        environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _asgi_scope(method: str) -> dict[str, Any]:
    headers = [(b"host", b"api.test"), (b"x-org", ORG.encode())]
    if method == "POST":
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(GRAPHQL_BODY)).encode()),
        ]
    path = "/graphql" if method == "POST" else "/cards/1"
    return {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"",
            "headers": headers}  # fmt: skip


async def _time_asgi(app: Any, method: str, n: int) -> float:
    body = GRAPHQL_BODY if method == "POST" else b""

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        pass

    scope = _asgi_scope(method)
    started = time.thread_time_ns()
    for _ in range(n):
        await app(scope, receive, send)
    return (time.thread_time_ns() - started) / n / 1000


def _time_wsgi(app: Any, n: int) -> float:
    import io

    environ = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/cards/1",
               "QUERY_STRING": "", "HTTP_X_ORG": ORG, "wsgi.input": io.BytesIO()}  # fmt: skip

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        return None

    started = time.thread_time_ns()
    for _ in range(n):
        for _chunk in app(environ, start_response):
            pass
    return (time.thread_time_ns() - started) / n / 1000


def _cases(meter: UsageMeter, n: int) -> dict[str, tuple[Callable[[Any], float], Any, Any]]:
    """Per case: how to time ``n`` requests of an app, the app, and the app metered."""
    org: Callable[[Any], str] = lambda _: ORG  # noqa: E731 - constants: no app work
    token: Callable[[Any], str] = lambda _: "bench"  # noqa: E731
    asgi = metered_asgi.MeteringMiddleware(
        _asgi_app, meter=meter, organization=org, token_name=token
    )
    wsgi = metered_wsgi.MeteringMiddleware(
        _wsgi_app, meter=meter, organization=org, token_name=token
    )
    return {
        "asgi_route": (lambda a: asyncio.run(_time_asgi(a, "GET", n)), _asgi_app, asgi),
        "asgi_graphql": (lambda a: asyncio.run(_time_asgi(a, "POST", n)), _asgi_app, asgi),
        "wsgi_route": (lambda a: _time_wsgi(a, n), _wsgi_app, wsgi),
    }


def recording_costs(quick: bool) -> dict[str, Any]:
    """µs per request the middleware adds (metered minus unmetered), per case."""
    n = 2_000 if quick else 50_000
    rounds = 3 if quick else 11
    meter = _idle_meter()
    result: dict[str, Any] = {"requests": n, "rounds": rounds}
    for name, (timed, bare, metered) in _cases(meter, n).items():
        pairs = []
        for i in range(rounds):
            if i % 2 == 0:
                a, b = timed(bare), timed(metered)
            else:
                b, a = timed(metered), timed(bare)
            pairs.append((a, b))
        result[name] = {
            "bare_us": round(statistics.median(p[0] for p in pairs), 3),
            "metered_us": round(statistics.median(p[1] for p in pairs), 3),
            "added_us": round(statistics.median(p[1] - p[0] for p in pairs), 3),
        }
    meter.close()
    return result
