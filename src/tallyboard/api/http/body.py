"""Reading request bodies without trusting their size (or their pace).

The pace is bounded once for every endpoint by :class:`~tallyboard.api.http.middleware.
CorrelationMiddleware`, which gives each request ``body_timeout`` seconds for its body
(then ``RequestTimeoutError``: 408). Here the size is bounded, and an endpoint that
holds bodies for longer (ingest) may charge every chunk to a shared byte budget.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

from tallyboard.domain.errors import PayloadTooLargeError

__all__ = ["read_body"]


async def read_body(
    request: Request, limit: int, charge: Callable[[int], None] | None = None
) -> bytes:
    """The whole body, refusing (before buffering it) anything over ``limit`` bytes.

    ``charge(n)`` is called for every chunk as it arrives, before it is kept; it may
    raise (e.g. ``OverloadedError`` when the process holds too many bytes already).
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"The request body exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"The request body exceeds the limit of {limit} bytes")
        if charge is not None and chunk:
            charge(len(chunk))
        chunks.append(chunk)
    return b"".join(chunks)
