"""The producer applications the ``producer_overhead`` section serves, metered or not.

``uvicorn --factory bench.producer_apps:trivial`` (or ``:strawberry``) builds the app;
``BENCH_METERED=1`` wraps it in the metering middleware with a :class:`UsageMeter`
pointed at ``TALLYBOARD_URL`` / ``TALLYBOARD_INGEST_KEY`` (closed, so flushed, at
shutdown). The metered and unmetered builds differ in nothing else.

- ``trivial``: a Starlette route (``GET /cards/{card_id}``) answering a few bytes: the
  cheapest request an API serves, so the one where metering weighs most.
- ``strawberry``: the example API of ``examples/metered-graphql-api`` (Strawberry on
  Starlette, API-key check, the Strawberry extension when metered).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tallyboard_client import UsageMeter
from tallyboard_client.asgi import MeteringMiddleware

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "metered-graphql-api" / "api.py"
ORG_HEADER = b"x-org"
TOKEN = "bench"


def example_api() -> ModuleType:
    """``examples/metered-graphql-api/api.py`` (a script directory, not a package)."""
    name = "metered_graphql_api"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, EXAMPLE)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {EXAMPLE}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and Strawberry look their module up
    spec.loader.exec_module(module)
    return module


def _meter() -> UsageMeter | None:
    if os.environ.get("BENCH_METERED") != "1":
        return None
    return UsageMeter(
        os.environ["TALLYBOARD_URL"],
        os.environ["TALLYBOARD_INGEST_KEY"],
        source=os.environ.get("BENCH_SOURCE", "bench"),
        flush_interval=float(os.environ.get("BENCH_FLUSH_INTERVAL", "1")),
    )


def _lifespan(meter: UsageMeter | None) -> Any:
    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        if meter is not None:
            await meter.aclose()

    return lifespan


def _org(scope: Any) -> str | None:
    for name, value in scope["headers"]:
        if name == ORG_HEADER:
            return str(value.decode("latin-1"))
    return None


async def card(request: Request) -> Response:
    return PlainTextResponse(f"card {request.path_params['card_id']}")


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})


def trivial() -> Starlette:
    meter = _meter()
    middleware = []
    if meter is not None:
        middleware.append(
            Middleware(
                MeteringMiddleware,
                meter=meter,
                organization=_org,
                token_name=lambda scope: TOKEN,
            )
        )
    return Starlette(
        routes=[Route("/cards/{card_id:int}", card), Route("/health", health)],
        middleware=middleware,
        lifespan=_lifespan(meter),
    )


def strawberry() -> Starlette:
    meter = _meter()
    app: Starlette = example_api().create_app(meter, _lifespan(meter))
    return app
