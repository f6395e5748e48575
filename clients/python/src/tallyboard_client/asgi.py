"""ASGI middleware (Starlette, FastAPI, any ASGI app) that meters every HTTP request.

    app.add_middleware(
        MeteringMiddleware,
        meter=meter,
        organization=lambda scope: scope["state"].get("org_uuid"),
        token_name=lambda scope: scope["state"].get("token_name"),
    )

``organization`` and ``token_name`` receive the ASGI scope when the response starts --
after routing and authentication ran, so whatever they stored in the scope (``state``,
``user``, ``auth``) is there -- and return a string, or ``None`` for a request that is not
metered. The status is the response's (``500`` when the application raised or sent no
response).

Naming (§12): a ``POST`` with a JSON body that has a ``query`` string, or a ``GET`` with a
``query`` parameter, is a GraphQL request, named by the executed operation when the
Strawberry extension reports it, else ``operationName``, else its single named operation,
else ``"Not specified"``. Every other request is ``"<METHOD> <route template>"`` (the
Starlette/FastAPI route, mounts included), else ``"<METHOD> <path>"`` (never the query).

To read a JSON body the middleware receives it before the application does and then hands
the application exactly the same bytes; a body over ``max_body_bytes`` (by its
``Content-Length``, or while reading) is not buffered but streamed through unchanged, and
its request named ``"Not specified"``. ``graphql_paths`` restricts that reading to the
given paths (by default every path may carry GraphQL, as the contract says).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

from tallyboard_client._request import (
    CURRENT_OPERATION,
    DEFAULT_MAX_BODY_BYTES,
    OVER_LIMIT,
    CurrentOperation,
    _OverLimit,
    checked,
    name_of_graphql_request,
)
from tallyboard_client.meter import UsageMeter
from tallyboard_client.naming import MAX_NAME_LENGTH, safe_name

__all__ = ["MeteringMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_MAX_CACHED_NAMES = 10_000


class MeteringMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        meter: UsageMeter,
        organization: Callable[[Scope], str | None],
        token_name: Callable[[Scope], str | None],
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        graphql_paths: Collection[str] | None = None,
    ) -> None:
        self.app = app
        self.meter = meter
        self.organization = organization
        self.token_name = token_name
        self.max_body_bytes = max_body_bytes
        self.graphql_paths = None if graphql_paths is None else frozenset(graphql_paths)
        self._route_names: dict[tuple[str, str, str], str] = {}
        self._safe_tokens: dict[str, str] = {}  # token name -> as the ingest API takes it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        # ``find``, not ``in``: CPython's ``bytes.__contains__`` first tries its operand as
        # an integer, building and discarding a TypeError (~2,000 instructions a request).
        if method == "POST" or (
            method == "GET"
            and scope.get("query_string", b"").find(b"query=") != -1
            and self._may_be_graphql(scope)
        ):
            await self._call_graphql(scope, receive, send, method)
            return
        # Every other request is named by its route: nothing to read, no slot for the
        # extension; the only per-request cost is ``send`` wrapped to see the status.
        root = scope.get("root_path", "")
        started = False

        def metered_send(message: Message) -> Awaitable[None]:
            # A plain function handing back send()'s awaitable: no coroutine of its own.
            nonlocal started
            if not started and message["type"] == "http.response.start":
                started = True
                self._record(scope, root, message["status"])
            return send(message)

        try:
            await self.app(scope, receive, metered_send)
        except Exception:
            if not started:
                started = True
                self._record(scope, root, 500)
            raise
        if not started:  # no response at all: the server answers 500
            self._record(scope, root, 500)

    async def _call_graphql(self, scope: Scope, receive: Receive, send: Send, method: str) -> None:
        """A request that may be GraphQL: the extension gets a slot to report the executed
        operation in, and a JSON ``POST`` body is read (and replayed) to name it."""
        body: bytes | _OverLimit | None = None
        query: str | None = None
        current = CurrentOperation()
        if method == "POST":
            # Any POST may reach a GraphQL server (JSON, or multipart uploads).
            if self._may_be_graphql(scope):
                is_json, length = _json_and_length(scope["headers"])
                if is_json:
                    receive, body = await self._read_body(length, receive)
        else:
            query = scope["query_string"].decode("latin-1")
        root = scope.get("root_path", "")
        started = False

        def metered_send(message: Message) -> Awaitable[None]:
            nonlocal started
            if not started and message["type"] == "http.response.start":
                started = True
                self._record(scope, root, message["status"], current, body, query)
            return send(message)

        reset = CURRENT_OPERATION.set(current)
        try:
            await self.app(scope, receive, metered_send)
        except Exception:
            if not started:
                started = True
                self._record(scope, root, 500, current, body, query)
            raise
        finally:
            CURRENT_OPERATION.reset(reset)
        if not started:
            self._record(scope, root, 500, current, body, query)

    # ------------------------------------------------------------ internals

    def _may_be_graphql(self, scope: Scope) -> bool:
        return self.graphql_paths is None or scope.get("path") in self.graphql_paths

    async def _read_body(self, length: int | None, receive: Receive) -> tuple[Receive, Any]:
        """Receive the body (up to the limit) and a ``receive`` that replays it."""
        if length is not None and length > self.max_body_bytes:
            return receive, OVER_LIMIT
        message = await receive()
        if message["type"] == "http.request" and not message.get("more_body", False):
            # The usual case, a body in one message: replayed as it came, nothing copied.
            body = message.get("body", b"")
            over = len(body) > self.max_body_bytes
            return _replaying([message], receive), OVER_LIMIT if over else body
        messages: list[Message] = [message]
        size = 0
        while True:
            if message["type"] != "http.request":  # disconnected while sending
                return _replaying(messages, receive), None
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                return _replaying(messages, receive), OVER_LIMIT
            if not message.get("more_body", False):
                break
            message = await receive()
            messages.append(message)
        body = b"".join(m.get("body", b"") for m in messages)
        whole: Message = {"type": "http.request", "body": body, "more_body": False}
        return _replaying([whole], receive), body

    def _record(
        self,
        scope: Scope,
        root: str,
        status: int,
        current: CurrentOperation | None = None,
        body: bytes | _OverLimit | None = None,
        query: str | None = None,
    ) -> None:
        meter = self.meter
        try:
            organization = self.organization(scope)
        except Exception as exc:
            meter.note_error(f"organization raised {type(exc).__name__}", exc)
            return
        if organization.__class__ is not str:
            organization = checked(meter, "organization", organization)
            if organization is None:
                return
        try:
            token = self.token_name(scope)
        except Exception as exc:
            meter.note_error(f"token_name raised {type(exc).__name__}", exc)
            return
        if token.__class__ is not str:
            token = checked(meter, "token_name", token)
            if token is None:
                return
        try:
            name = None if current is None else name_of_graphql_request(current, body, query)
            if name is None:  # the route's name, from the cache when it was seen before
                template = getattr(scope.get("route"), "path_format", None)
                if template.__class__ is str:
                    mounted = scope.get("root_path", "")
                    name = self._route_names.get((scope["method"], template, mounted))
                if name is None:
                    name = self._route_name(scope, root)
            safe = self._safe_tokens.get(token)
            if safe is None:
                safe = safe_name(token)
                if len(token) <= MAX_NAME_LENGTH and len(self._safe_tokens) < _MAX_CACHED_NAMES:
                    self._safe_tokens[token] = safe
            meter.record(organization, name, safe, status)
        except Exception as exc:  # metering never breaks the application's response
            meter.note_error(f"metering raised {type(exc).__name__}", exc)

    def _route_name(self, scope: Scope, root: str) -> str:
        """``"<METHOD> <template>"`` from the route the framework matched, else the path."""
        template = getattr(scope.get("route"), "path_format", None)
        if template.__class__ is not str:
            return safe_name(f"{scope['method']} {scope.get('path') or '/'}")
        mounted = scope.get("root_path", "")
        key = (scope["method"], template, mounted)
        name = self._route_names.get(key)
        if name is None:
            name = self._template_name(scope, root, template, mounted)
            if len(self._route_names) < _MAX_CACHED_NAMES:
                self._route_names[key] = name
        return name

    @staticmethod
    def _template_name(scope: Scope, root: str, template: str, mounted: str) -> str:
        prefix = mounted[len(root) :] if mounted.startswith(root) else ""
        if hasattr(scope.get("route"), "routes"):  # the mount itself answered
            return safe_name(f"{scope['method']} {prefix}/{{path}}")
        return safe_name(f"{scope['method']} {prefix}{template}")


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    pending = deque(messages)

    async def replay() -> Message:
        if pending:
            return pending.popleft()
        return await receive()

    return replay


def _json_and_length(headers: Any) -> tuple[bool, int | None]:
    """Whether the (first) ``Content-Type`` is JSON, and the (first) ``Content-Length``:
    one pass over the headers."""
    content_type: bytes | None = None
    length: bytes | None = None
    for name, value in headers:
        if name == b"content-type":
            if content_type is None:
                content_type = value
        elif name == b"content-length" and length is None:
            length = value
    if content_type is None or b"json" not in content_type.lower():
        return False, None
    if length is None:
        return True, None
    try:
        return True, int(length)
    except ValueError:
        return True, None
