"""A small GraphQL API (Strawberry on Starlette) whose every call is metered into Tallyboard.

The API itself is a toy -- cards on a board, kept in memory per organization -- but its
wiring is what a real platform does: an API-key check identifies the caller (which
organization, which integration token), the :class:`MeteringMiddleware` meters every
request once the response starts, and the :class:`MeteringExtension` tells it which
GraphQL operation actually ran. ``create_app(None)`` builds the same API unmetered (the
benchmark compares the two).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import strawberry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.types import Info

from tallyboard_client import UsageMeter
from tallyboard_client.asgi import MeteringMiddleware
from tallyboard_client.strawberry import MeteringExtension

# The demo's organizations (tallyboard demo): Acme Corp and Globex.
ACME = "8a1c4f10-1111-4d2c-9c2a-abc123def456"
GLOBEX = "b27d5e21-2222-4a3b-8d1b-def456abc789"


@dataclass(frozen=True)
class Caller:
    organization: str
    token_name: str


API_KEYS: dict[str, Caller] = {
    "acme-mobile": Caller(ACME, "Mobile App"),
    "acme-backoffice": Caller(ACME, "Back Office"),
    "globex-sync": Caller(GLOBEX, "Partner Sync"),
}


class ApiKeyAuth:
    """``Authorization: Bearer <api key>`` -> ``scope["state"]["caller"]``, else 401
    (``/health`` is open: load balancers have no key, and it is not metered)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/health":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = headers.get(b"authorization", b"").decode("latin-1").removeprefix("Bearer ")
        caller = API_KEYS.get(key)
        if caller is None:
            response = JSONResponse({"errors": [{"message": "unknown API key"}]}, status_code=401)
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, receive, send)


def caller_of(scope: Mapping[str, Any]) -> Caller | None:
    caller = scope.get("state", {}).get("caller")
    return caller if isinstance(caller, Caller) else None


def organization(scope: Mapping[str, Any]) -> str | None:
    caller = caller_of(scope)
    return caller.organization if caller else None  # None: not metered (e.g. a 401)


def token_name(scope: Mapping[str, Any]) -> str | None:
    caller = caller_of(scope)
    return caller.token_name if caller else None


# ---------------------------------------------------------------- the API itself


@strawberry.type
class Card:
    id: strawberry.ID
    title: str
    done: bool = False


_ids = itertools.count(1)
_boards: dict[str, dict[str, Card]] = {}


def _board(info: Info[Any, Any]) -> dict[str, Card]:
    caller = caller_of(info.context["request"].scope)
    assert caller is not None  # ApiKeyAuth let the request in
    return _boards.setdefault(caller.organization, {})


@strawberry.type
class Query:
    @strawberry.field
    def cards(self, info: Info[Any, Any]) -> list[Card]:
        """Every card of the caller's organization."""
        return list(_board(info).values())

    @strawberry.field
    def card(self, info: Info[Any, Any], id: strawberry.ID) -> Card | None:
        """One card, or null."""
        return _board(info).get(str(id))


@strawberry.type
class Mutation:
    @strawberry.mutation
    def create_cards(self, info: Info[Any, Any], titles: list[str]) -> list[Card]:
        """Create one card per title."""
        board = _board(info)
        created = [Card(id=strawberry.ID(str(next(_ids))), title=t) for t in titles[:100]]
        board.update({str(card.id): card for card in created})
        return created

    @strawberry.mutation
    def complete_card(self, info: Info[Any, Any], id: strawberry.ID) -> Card | None:
        """Mark a card done."""
        card = _board(info).get(str(id))
        if card is not None:
            card.done = True
        return card


def create_app(
    meter: UsageMeter | None,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    """The API; metered into Tallyboard when a meter is given."""
    extensions = [MeteringExtension] if meter is not None else []
    schema = strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions)
    middleware = [Middleware(ApiKeyAuth)]
    if meter is not None:  # outermost, so it sees every response, 401s included
        middleware.insert(
            0,
            Middleware(
                MeteringMiddleware,
                meter=meter,
                organization=organization,
                token_name=token_name,
            ),
        )

    async def health(request: Any) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/graphql", GraphQL[Any, Any](schema), methods=["GET", "POST"]),
            Route("/health", health),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
