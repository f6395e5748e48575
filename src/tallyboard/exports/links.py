"""Signed download links of finished exports (spec §9 "Exports").

A link is ``{public URL}/v1/exports/{id}/file?expires={unix seconds}&signature={hex}``:
an HMAC-SHA256, under a per-instance secret, of the id and the expiry. It is valid for
:data:`LINK_LIFETIME` seconds and is signed afresh on every read, so reading an export
a second later gives a different link. No bearer token is needed: the signature is the
authorization. A changed character anywhere in the query fails the check (403); a
file past its TTL is gone (410).

A served file is audited (``export.download``, spec §11) in the transaction that read
it. With no bearer token, the entry's actor is the export's creator as its
``export.create`` entry named them -- the only principal that can obtain a link -- and
its details say it came through a signed link (with the link's expiry, never its
signature).

The file's bytes are not read in that transaction: it records what is served (which
file, its size) and commits; the body then streams chunk by chunk, each chunk in a
short read transaction of its own (a file in ``TALLYBOARD_EXPORT_DIR`` streams from the
handle opened inside the transaction). Holding the transaction for the whole download
would hold SQLite's only write lock -- or a pooled PostgreSQL connection -- for as long
as the slowest client takes. A file that expires between the commit and its last
chunk is still served whole: its chunks outlive the expiry by the builder's
``DOWNLOAD_GRACE`` (``ExportClaims.expire``), and a file on disk streams from its open
handle. Only a download still running that long after the expiry ends short of its
``Content-Length``: the client sees a failed download, never a wrong file.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import BinaryIO
from urllib.parse import urlencode

from sqlalchemy.engine import Connection

from tallyboard.domain.clock import Clock
from tallyboard.domain.event_time import format_ms
from tallyboard.domain.exports import ExportStatus
from tallyboard.storage import audit_store, export_chunks, export_downloads
from tallyboard.storage.database import Database
from tallyboard.storage.export_downloads import StoredFile
from tallyboard.storage.instance_secret_store import get_or_create_secret

__all__ = ["LINK_LIFETIME", "Download", "ExportLinks", "Outcome"]

LINK_LIFETIME = 3600
_READ_SIZE = export_chunks.CHUNK_SIZE
"""Bytes per read of a file in the export dir."""
_SECRET_NAME = "export-link-hmac-v1"  # noqa: S105 (the stored secret's name)


class Outcome(Enum):
    FILE = 200
    FORBIDDEN = 403
    NOT_FOUND = 404
    GONE = 410


@dataclass(frozen=True, slots=True)
class Download:
    outcome: Outcome
    file_name: str = ""
    size: int = 0
    """The file's bytes (its ``Content-Length``)."""
    body: Iterable[bytes] = ()
    """The file, streamed in pieces of at most a chunk (read as it is iterated)."""


class ExportLinks:
    def __init__(self, database: Database, clock: Clock, base_url: str) -> None:
        self._database = database
        self._clock = clock
        self._base = base_url.rstrip("/")
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def _secret(self) -> bytes:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    stored = get_or_create_secret(
                        self._database, _SECRET_NAME, lambda: secrets.token_hex(32)
                    )
                    self._key = bytes.fromhex(stored)
        return self._key

    def _signature(self, export_id: str, expires: str) -> str:
        message = f"{export_id}\n{expires}".encode()
        return hmac.new(self._secret(), message, hashlib.sha256).hexdigest()

    def link(self, export_id: str) -> str:
        expires = str(int(self._clock.now().timestamp()) + LINK_LIFETIME)
        query = urlencode({"expires": expires, "signature": self._signature(export_id, expires)})
        return f"{self._base}/v1/exports/{export_id}/file?{query}"

    def _expiry(self, export_id: str, raw_query: str) -> int | None:
        """The link's expiry (unix seconds) when its query is exactly as signed and not
        past it; else None."""
        fields = dict(p.split("=", 1) for p in raw_query.split("&") if "=" in p)
        expires, signature = fields.get("expires", ""), fields.get("signature", "")
        expected = f"expires={expires}&signature={signature}"
        if (
            raw_query != expected
            or not expires.isdigit()
            or not hmac.compare_digest(signature, self._signature(export_id, expires))
            or int(expires) < self._clock.now().timestamp()
        ):
            return None
        return int(expires)

    def download(self, export_id: str, raw_query: str) -> Download:
        """The file a link names, after checking its query exactly as signed; a served
        file and its audit entry commit in one transaction."""
        expires = self._expiry(export_id, raw_query)
        if expires is None:
            return Download(Outcome.FORBIDDEN)
        with self._database.write() as conn:
            stored = export_downloads.stored_file(conn, export_id)
            found = self._served(export_id, stored)
            if found.outcome is Outcome.FILE and stored is not None:
                _audit(conn, self._clock.now(), export_id, stored, expires)
        return found

    def _served(self, export_id: str, stored: StoredFile | None) -> Download:
        """What a valid link answers for this stored export."""
        if stored is None:
            return Download(Outcome.NOT_FOUND)
        if stored.status is ExportStatus.EXPIRED:
            return Download(Outcome.GONE)
        if stored.status is not ExportStatus.FINISHED or stored.file_name is None:
            return Download(Outcome.NOT_FOUND)
        if stored.file_path is None:
            body = self._chunks(export_id, stored.chunks)
            return Download(Outcome.FILE, stored.file_name, stored.size, body)
        try:
            file = open(stored.file_path, "rb")  # noqa: SIM115 (closed by _read)
        except FileNotFoundError:
            return Download(Outcome.GONE)
        size = os.fstat(file.fileno()).st_size
        return Download(Outcome.FILE, stored.file_name, size, _read(file))

    def _chunks(self, export_id: str, count: int) -> Iterator[bytes]:
        for seq in range(count):
            data = export_chunks.read_chunk(self._database, export_id, seq)
            if data is None:  # expired since the download was audited: cut the body short
                raise RuntimeError(f"export {export_id} expired while it was downloaded")
            yield data


def _read(file: BinaryIO) -> Iterator[bytes]:
    with file:
        while data := file.read(_READ_SIZE):
            yield data


def _audit(
    conn: Connection, at: datetime, export_id: str, stored: StoredFile, expires: int
) -> None:
    details = {
        "exportId": export_id,
        "kind": stored.kind.value,
        "fileName": stored.file_name,
        "via": "signed_link",
        "linkExpiresAt": format_ms(expires * 1000),
    }
    organization = export_downloads.organization_uuid(conn, stored)
    audit_store.append(
        conn, at, stored.actor, "export.download", details, organization=organization
    )
