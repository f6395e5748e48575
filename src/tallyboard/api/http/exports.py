"""``GET /v1/exports/{id}/file``: an export's file through its signed link (spec §9).

No bearer token: the link's signature is the authorization (exports/links.py). Answers
the file as an attachment (``.xlsx`` or ``.csv``), 403 for a wrong or expired
signature, 410 once the file is gone. The body streams (a chunk at a time, read on a
worker thread as the client takes it), so a download never holds the file in memory.
"""

from __future__ import annotations

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tallyboard.api.http.errors import json_response
from tallyboard.exports.links import ExportLinks, Outcome
from tallyboard.observability.logging import correlation_id

__all__ = ["ExportFileEndpoint"]

_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
_MESSAGES = {
    Outcome.FORBIDDEN: ("PERMISSION_DENIED", "The link is invalid or has expired"),
    Outcome.NOT_FOUND: ("NOT_FOUND", "No such export file"),
    Outcome.GONE: ("GONE", "The export's file has expired; create the export again"),
}


class ExportFileEndpoint:
    def __init__(self, links: ExportLinks) -> None:
        self._links = links

    async def handle(self, request: Request) -> Response:
        export_id = str(request.path_params["export_id"])
        raw_query = request.url.query
        found = await anyio.to_thread.run_sync(self._links.download, export_id, raw_query)
        if found.outcome is not Outcome.FILE:
            code, message = _MESSAGES[found.outcome]
            body = {
                "error": {"code": code, "message": message, "correlation_id": correlation_id.get()}
            }
            return json_response(body, status=found.outcome.value)
        extension = found.file_name.rsplit(".", 1)[-1]
        return StreamingResponse(
            found.body,
            media_type=_TYPES.get(extension, "application/octet-stream"),
            headers={
                "Content-Length": str(found.size),
                "Content-Disposition": f'attachment; filename="{found.file_name}"',
                "Cache-Control": "no-store",
            },
        )
