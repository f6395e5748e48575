"""Routes of the dashboard: the page at ``/`` and its static assets.

The page is plain HTML, CSS and JavaScript with no build step; everything it shows it
fetches from the public GraphQL API with the signed-in user's bearer token.
"""

from __future__ import annotations

from importlib.resources import files

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ["routes"]

_STATIC = str(files("tallyboard.web").joinpath("static"))


async def _index(request: Request) -> Response:
    return FileResponse(f"{_STATIC}/index.html", headers={"Cache-Control": "no-cache"})


def routes() -> list[BaseRoute]:
    return [
        Route("/", _index, methods=["GET"]),
        Mount("/static", StaticFiles(directory=_STATIC), name="static"),
    ]
