"""Reading request bodies without trusting their size."""

from __future__ import annotations

from starlette.requests import Request

from tallyboard.domain.errors import PayloadTooLargeError

__all__ = ["read_body"]


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing (before buffering it) anything over ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"The request body exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"The request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
