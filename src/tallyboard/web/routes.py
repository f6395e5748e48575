"""Routes of the dashboard (the page at ``/`` and its static assets) and of GraphiQL
(the page at ``GET /graphql`` and its assets under ``/graphiql/``).

The page is plain HTML, CSS and JavaScript modules with no build step; everything it
shows it fetches from the public GraphQL API with the signed-in user's bearer token
(kept in the browser's session storage, never in a cookie).

The page's Content-Security-Policy allows scripts and styles from this origin only --
no inline script, no ``eval``, no third-party hosts -- so even a flow or agent name
crafted to look like markup can never run as code. Assets are revalidated on every
load (``no-cache`` with ETags): their names carry no version, so a new release must
never be hidden behind a stale cached copy.

GraphiQL is vendored (``web/graphiql/vendor``: pinned builds of GraphiQL, React and
ReactDOM with their licences and a manifest of SHA-256 digests; ``scripts/update-graphiql``
replaces them) and served from this origin under the same kind of policy, so it works
offline and runs no third-party code from elsewhere. Its policy differs from the
dashboard's only where GraphiQL needs it: see :data:`GRAPHIQL_POLICY`.
"""

from __future__ import annotations

from importlib.resources import files

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

__all__ = ["CONTENT_SECURITY_POLICY", "GRAPHIQL_POLICY", "routes"]

_STATIC = str(files("tallyboard.web").joinpath("static"))
_GRAPHIQL = str(files("tallyboard.web").joinpath("graphiql"))

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

GRAPHIQL_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        # No 'unsafe-inline': React sets styles through the CSSOM, which the policy
        # allows. The one <style> GraphiQL injects (Radix's scroll lock while a dialog is
        # open) is refused, harmlessly: the page fills the window and never scrolls.
        "style-src 'self'",
        # GraphiQL's stylesheet embeds its fonts and icons as data: URLs.
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

_COMMON_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

_PAGE_HEADERS = {
    **_COMMON_HEADERS,
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


_GRAPHIQL_HEADERS = {**_PAGE_HEADERS, "Content-Security-Policy": GRAPHIQL_POLICY}


async def _index(request: Request) -> Response:
    return FileResponse(f"{_STATIC}/index.html", headers=_PAGE_HEADERS)


async def _graphiql(request: Request) -> Response:
    return FileResponse(f"{_GRAPHIQL}/index.html", headers=_GRAPHIQL_HEADERS)


class _Assets:
    """``StaticFiles`` whose responses carry the given headers."""

    def __init__(self, directory: str, headers: dict[str, str]) -> None:
        self._files = StaticFiles(directory=directory)
        self._headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self._headers.items():
                    headers[name] = value
            await send(message)

        await self._files(scope, receive, send_with_headers)


def routes() -> list[BaseRoute]:
    return [
        Route("/", _index, methods=["GET"]),
        Mount("/static", _Assets(_STATIC, _COMMON_HEADERS), name="static"),
        Route("/graphql", _graphiql, methods=["GET"]),
        # The page itself is reachable here too (index.html): every file gets its policy.
        Mount("/graphiql", _Assets(_GRAPHIQL, _GRAPHIQL_HEADERS), name="graphiql"),
    ]
