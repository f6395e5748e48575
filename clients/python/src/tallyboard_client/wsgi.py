"""WSGI middleware (Flask, Django, any WSGI app) that meters every request.

    app.wsgi_app = MeteringMiddleware(
        app.wsgi_app,
        meter=meter,
        organization=lambda environ: environ.get("HTTP_X_ORGANIZATION"),
        token_name=lambda environ: token_names.get(environ.get("HTTP_AUTHORIZATION", "")),
    )

``organization`` and ``token_name`` receive the WSGI environ when the application calls
``start_response`` -- inside Flask's request context, after routing and authentication --
and return a string, or ``None`` for a request that is not metered. The status is the
response's (``500`` when the application raised before starting one).

Naming follows the ASGI middleware (:mod:`tallyboard_client.asgi`): GraphQL requests by
operation; others ``"<METHOD> <route>"`` with Flask's URL rule when there is one, else
``"<METHOD> <path>"``. A JSON ``POST`` body is read first and handed to the application
as an identical ``wsgi.input``; one over ``max_body_bytes`` is streamed through (what was
read is replayed, the rest comes from the original stream) and named ``"Not specified"``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

from tallyboard_client._request import (
    CURRENT_OPERATION,
    DEFAULT_MAX_BODY_BYTES,
    OVER_LIMIT,
    CurrentOperation,
    _OverLimit,
    guarded,
    name_of_graphql_request,
)
from tallyboard_client.meter import UsageMeter
from tallyboard_client.naming import MAX_NAME_LENGTH, safe_name

__all__ = ["MeteringMiddleware"]

_MAX_CACHED_NAMES = 10_000

if TYPE_CHECKING:  # the standard WSGI types (PEP 3333), as typeshed spells them
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    Environ = WSGIEnvironment
else:
    Environ = dict


class MeteringMiddleware:
    def __init__(
        self,
        app: WSGIApplication,
        *,
        meter: UsageMeter,
        organization: Callable[[Environ], str | None],
        token_name: Callable[[Environ], str | None],
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

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        request = _Request(self, environ)
        current = request.current
        # Only a request that may be GraphQL gets a slot for the extension (as in ASGI).
        reset = None if current is None else CURRENT_OPERATION.set(current)

        def metered_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None, /
        ) -> Callable[[bytes], object]:
            request.started(status)
            return start_response(status, headers, exc_info)

        try:
            result = self.app(environ, metered_start_response)
        except Exception:
            request.failed()
            raise
        finally:
            if reset is not None:
                CURRENT_OPERATION.reset(reset)
        if request.status is not None:
            request.record()
            return result
        return _RecordWhenDone(result, request)  # start_response comes with the body

    def _may_be_graphql(self, environ: Environ) -> bool:
        return self.graphql_paths is None or _path(environ) in self.graphql_paths

    def _route_name(self, environ: Environ) -> str:
        """``"<METHOD> <rule>"`` with Flask's URL rule (cached), else the path."""
        method = environ.get("REQUEST_METHOD", "GET")
        request = environ.get("werkzeug.request")  # Flask / Werkzeug, during the request
        rule = getattr(getattr(request, "url_rule", None), "rule", None)
        if not isinstance(rule, str):
            return safe_name(f"{method} {_path(environ)}")
        mounted = environ.get("SCRIPT_NAME", "")
        key = (method, mounted, rule)
        name = self._route_names.get(key)
        if name is None:
            name = safe_name(f"{method} {mounted}{rule}")
            if len(self._route_names) < _MAX_CACHED_NAMES:
                self._route_names[key] = name
        return name

    def _safe_token(self, token: str) -> str:
        safe = self._safe_tokens.get(token)
        if safe is None:
            safe = safe_name(token)
            if len(token) <= MAX_NAME_LENGTH and len(self._safe_tokens) < _MAX_CACHED_NAMES:
                self._safe_tokens[token] = safe
        return safe


class _Request:
    """One request: what is known before the application runs, then at its response."""

    __slots__ = ("body", "current", "environ", "middleware", "names", "query", "status")

    def __init__(self, middleware: MeteringMiddleware, environ: Environ) -> None:
        self.middleware = middleware
        self.environ = environ
        self.status: int | None = None
        # organization, token, route name; None: not metered; _UNRESOLVED: not looked up
        self.names: tuple[str, str, str] | None = _UNRESOLVED
        self.current: CurrentOperation | None = None
        self.body: bytes | _OverLimit | None = None
        self.query: str | None = None
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "POST":
            self.current = CurrentOperation()
            if "json" in environ.get("CONTENT_TYPE", "").lower() and middleware._may_be_graphql(
                environ
            ):
                self.body = _read_body(environ, middleware.max_body_bytes)
        elif method == "GET":
            query = environ.get("QUERY_STRING", "")
            if "query=" in query and middleware._may_be_graphql(environ):
                self.current = CurrentOperation()
                self.query = query

    def started(self, status: str) -> None:
        """``start_response``: the framework's request context is still there (Flask's
        URL rule, ``g``), so this is when the callables and the route are read."""
        try:
            self.status = int(status[:3])
        except ValueError:
            self.status = 500
        if self.names is _UNRESOLVED:
            self.names = self._names()

    def failed(self) -> None:
        if self.status is None:
            self.status = 500
            self.record()

    def record(self) -> None:
        meter = self.middleware.meter
        try:
            names = self.names
            if names is _UNRESOLVED:
                names = self.names = self._names()
            if names is None or self.status is None:
                return
            organization, token, name = names
            current = self.current
            if current is not None:
                name = name_of_graphql_request(current, self.body, self.query) or name
            meter.record(organization, name, token, self.status)
        except Exception as exc:  # metering never breaks the application's response
            meter.note_error(f"metering raised {type(exc).__name__}", exc)

    def _names(self) -> tuple[str, str, str] | None:
        middleware, environ = self.middleware, self.environ
        organization = guarded(middleware.meter, "organization", middleware.organization, environ)
        if organization is None:
            return None
        token = guarded(middleware.meter, "token_name", middleware.token_name, environ)
        if token is None:
            return None
        return organization, middleware._safe_token(token), middleware._route_name(environ)


_UNRESOLVED: Any = ("", "", "")  # compared by identity: the names not looked up yet


class _RecordWhenDone:
    """The response of an application that calls ``start_response`` lazily (a generator):
    recorded once it has been iterated to the end, or closed by the server."""

    def __init__(self, result: Iterable[bytes], request: _Request) -> None:
        self._result = result
        self._request = request
        self._recorded = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._result
        except Exception:
            self._recorded = True
            self._request.failed()
            raise
        self._record()

    def close(self) -> None:
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            self._record()

    def _record(self) -> None:
        if not self._recorded and self._request.status is not None:
            self._recorded = True
            self._request.record()


def _path(environ: Environ) -> str:
    return str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", "")) or "/"


def _read_body(environ: Environ, limit: int) -> bytes | _OverLimit | None:
    """Read a body of known length (up to ``limit``) and put an identical stream back."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        length = None
    stream: IO[bytes] = environ["wsgi.input"]
    if length is None:
        if not environ.get("wsgi.input_terminated"):
            return None  # reading could block past the body: leave the stream alone
        length = -1
    elif length > limit:
        return OVER_LIMIT
    chunks: list[bytes] = []
    size = 0
    while length < 0 or size < length:
        want = min(65536, limit + 1 - size) if length < 0 else min(65536, length - size)
        chunk = stream.read(want)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            environ["wsgi.input"] = io.BufferedReader(_Replay(b"".join(chunks), stream))
            return OVER_LIMIT
    body = b"".join(chunks)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


class _Replay(io.RawIOBase):
    """What was already read, then the rest of the original stream."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        super().__init__()
        self._head = io.BytesIO(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._head.read(len(view)) or self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)
