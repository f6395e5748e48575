"""How ``tallyboard serve`` (and ``demo``, and the tests' live server) runs uvicorn."""

from __future__ import annotations

import functools
import resource
from typing import Any

from tallyboard.api.http.server import TallyboardHttpProtocol
from tallyboard.settings import Settings

__all__ = ["raise_open_files_limit", "server_options"]


def server_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn options every Tallyboard server runs with: the header and body
    deadlines and the JSON connection-limit answer of ``TallyboardHttpProtocol``,
    keep-alive, connection limit and backlog (docs/operations.md)."""
    # A partial of an importable class pickles, so ``--workers`` processes get it too.
    protocol = functools.partial(
        TallyboardHttpProtocol,
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
    )
    return {
        "loop": "uvloop",
        "http": protocol,
        "lifespan": "on",
        "access_log": False,
        "log_config": None,
        "timeout_keep_alive": settings.keep_alive_timeout,
        "limit_concurrency": settings.limit_concurrency,
        "backlog": settings.backlog,
        "timeout_graceful_shutdown": 30,
    }


def raise_open_files_limit() -> tuple[int, int]:
    """Every connection costs a file descriptor: lift the soft limit to the hard one
    (workers inherit it) and return (soft, hard). The header deadline and the
    connection limit bound what a client can hold; this only keeps a low default soft
    limit (often 1,024) from being the ceiling (docs/operations.md)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard and (hard == resource.RLIM_INFINITY or soft < hard):
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (OSError, ValueError):  # a sandbox may refuse: keep the soft limit
            return soft, hard
        return target, hard
    return soft, hard
