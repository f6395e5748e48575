"""Routes of the dashboard: the page at ``/`` and its static assets.

The page is plain HTML, CSS and JavaScript modules with no build step; everything it
shows it fetches from the public GraphQL API with the signed-in user's bearer token
(kept in the browser's session storage, never in a cookie).

The page's Content-Security-Policy allows scripts and styles from this origin only --
no inline script, no ``eval``, no third-party hosts -- so even a flow or agent name
crafted to look like markup can never run as code. Assets are revalidated on every
load (``no-cache`` with ETags): their names carry no version, so a new release must
never be hidden behind a stale cached copy.
"""

from __future__ import annotations

from importlib.resources import files

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

__all__ = ["CONTENT_SECURITY_POLICY", "routes"]

_STATIC = str(files("tallyboard.web").joinpath("static"))

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


async def _index(request: Request) -> Response:
    return FileResponse(f"{_STATIC}/index.html", headers=_PAGE_HEADERS)


class _Assets:
    """``StaticFiles`` whose responses carry the common headers."""

    def __init__(self, directory: str) -> None:
        self._files = StaticFiles(directory=directory)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _COMMON_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self._files(scope, receive, send_with_headers)


def routes() -> list[BaseRoute]:
    return [
        Route("/", _index, methods=["GET"]),
        Mount("/static", _Assets(_STATIC), name="static"),
    ]
