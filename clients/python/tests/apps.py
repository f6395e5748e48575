"""Small applications behind the middleware under test: Starlette routes and mounts, a
Strawberry schema, and the callables that find the organization and the token."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from strawberry.asgi import GraphQL
from strawberry.extensions import SchemaExtension

from tallyboard_client.strawberry import MeteringExtension

TOKENS = {"key-mobile": "Mobile App", "key-cli": "CLI"}


def header(scope: Mapping[str, Any], name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def organization(scope: Mapping[str, Any]) -> str | None:
    if header(scope, b"x-explode") == "organization":
        raise KeyError("no organization in this request")
    if header(scope, b"x-explode") == "number":
        return 42  # type: ignore[return-value]
    return header(scope, b"x-org")


def token_name(scope: Mapping[str, Any]) -> str | None:
    if header(scope, b"x-explode") == "token":
        raise RuntimeError("token lookup failed")
    return TOKENS.get(header(scope, b"authorization") or "")


@strawberry.type
class Card:
    id: int
    title: str


@strawberry.type
class Query:
    @strawberry.field
    def cards(self) -> list[Card]:
        return [Card(id=1, title="First"), Card(id=2, title="Second")]

    @strawberry.field
    def echo(self, text: str) -> str:
        return text

    @strawberry.field
    def fail(self) -> str:
        raise ValueError("this resolver always fails")


@strawberry.type
class Mutation:
    @strawberry.mutation
    def create_cards(self, titles: list[str]) -> list[Card]:
        return [Card(id=i, title=t) for i, t in enumerate(titles)]


def schema(*extensions: type[SchemaExtension]) -> strawberry.Schema:
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=list(extensions))


async def echo(request: Request) -> Response:
    """Proves the application read exactly the body the client sent."""
    body = await request.body()
    return JSONResponse({"sha256": hashlib.sha256(body).hexdigest(), "length": len(body)})


async def card(request: Request) -> Response:
    return JSONResponse({"id": request.path_params["card_id"]})


async def boom(request: Request) -> Response:
    raise RuntimeError("the application failed")


async def static(scope: Any, receive: Any, send: Any) -> None:
    await PlainTextResponse("static")(scope, receive, send)


def starlette_app(*, extension: bool = True) -> Starlette:
    graphql = GraphQL[None, None](schema(MeteringExtension) if extension else schema())
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/echo", echo, methods=["POST"]),
            Route("/cards/{card_id:int}", card),
            Route("/boom", boom),
            Mount("/api", routes=[Route("/orgs/{org}/cards/{card_id:int}", card)]),
            Mount("/static", app=static),
        ]
    )
