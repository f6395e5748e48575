"""An export's file as its signed link serves it (spec §9), looked up in the caller's
transaction: the download and its ``export.download`` audit entry commit together
(§11), so the log holds exactly the files that were served. The lookup reads where the
file is and its size, never its bytes: those stream afterwards, chunk by chunk
(``storage/export_chunks.py``) or from the file in ``TALLYBOARD_EXPORT_DIR``."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from tallyboard.domain.audit import Actor
from tallyboard.domain.exports import ExportKind, ExportStatus
from tallyboard.storage import export_chunks, tenancy_store
from tallyboard.storage.export_tables import export_jobs as j

__all__ = ["StoredFile", "organization_uuid", "stored_file"]


@dataclass(frozen=True, slots=True)
class StoredFile:
    status: ExportStatus
    kind: ExportKind
    file_name: str | None
    file_path: str | None
    chunks: int
    """How many chunks the stored file has (0 when it is in ``file_path``)."""
    size: int
    """The stored file's bytes (0 when it is in ``file_path``)."""
    parameters: str
    """The job's validated input as JSON (which organization the entry names)."""
    actor: Actor
    """Who created the export: the principal its links are issued to."""


def _creator(kind: str | None, name: str | None, principal_kind: str, pk: int) -> Actor:
    if kind is not None and name is not None:
        return Actor(kind, name)
    # A job from before migration 0011: its principal by id (the credential is unknown).
    if principal_kind == "service_account":
        return Actor("service_account", f"service account {pk}")
    return Actor("personal_token", f"user {pk}")


def stored_file(conn: Connection, export_id: str) -> StoredFile | None:
    """An export's file and what its audit entry needs (whoever asks: the signed link
    is the authorization)."""
    row = conn.execute(
        select(
            j.c.status,
            j.c.kind,
            j.c.file_name,
            j.c.file_path,
            j.c.parameters,
            j.c.actor_kind,
            j.c.actor_name,
            j.c.principal_kind,
            j.c.principal_pk,
        ).where(j.c.id == export_id)
    ).one_or_none()
    if row is None:
        return None
    status = ExportStatus(row.status)
    chunks, size = 0, 0
    if status is ExportStatus.FINISHED and row.file_path is None:
        chunks, size = export_chunks.stored_size(conn, export_id)
    return StoredFile(
        status,
        ExportKind(row.kind),
        row.file_name,
        row.file_path,
        chunks,
        size,
        row.parameters,
        _creator(row.actor_kind, row.actor_name, row.principal_kind, row.principal_pk),
    )


def organization_uuid(conn: Connection, stored: StoredFile) -> str | None:
    """The uuid of a single-organization export's organization (None for a usage
    report, which spans several)."""
    org_pk = json.loads(stored.parameters).get("organization_pk")
    if not isinstance(org_pk, int):
        return None
    org = tenancy_store.orgs_by_pk(conn, [org_pk]).get(org_pk)
    return None if org is None else org.uuid
