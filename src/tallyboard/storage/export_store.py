"""Export jobs in the database (spec §9 "Exports"): created by the mutations, read back
by their principal only, claimed and finished by the builder of any process.

Every method is one short transaction. The unfinished-exports limit is checked in the
transaction that inserts (PostgreSQL serializes one principal's inserts on a
transaction-level advisory lock, SQLite's writer is single), so concurrent requests
cannot exceed it. The ``export.create`` audit entry is appended in that same
transaction (spec §11): an export exists exactly when its creation is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from tallyboard.domain.audit import Actor
from tallyboard.domain.exports import UNFINISHED, ExportFormat, ExportKind, ExportStatus
from tallyboard.storage import audit_store
from tallyboard.storage.database import Database
from tallyboard.storage.export_tables import export_jobs

__all__ = ["ExportStore", "NewExport", "StoredExport"]

_LOCK_NAMESPACE = 0x45585054
"""Advisory-lock namespace of export creation ("EXPT"; +1 for users): far above any
organization pk, which the rollup writer locks on."""

_SUMMARY = (
    export_jobs.c.id,
    export_jobs.c.principal_kind,
    export_jobs.c.principal_pk,
    export_jobs.c.kind,
    export_jobs.c.format,
    export_jobs.c.parameters,
    export_jobs.c.status,
    export_jobs.c.partial,
    export_jobs.c.error,
    export_jobs.c.created_at,
    export_jobs.c.finished_at,
    export_jobs.c.expires_at,
    export_jobs.c.file_name,
)


@dataclass(frozen=True, slots=True)
class NewExport:
    id: str
    principal_kind: str
    principal_pk: int
    kind: ExportKind
    format: ExportFormat
    parameters: str
    created_at: int
    actor: Actor
    """Who creates it, as the audit log names them (kept for its downloads' entries)."""
    audit_organization: str | None = None
    """The ``export.create`` entry's organization uuid (None: several organizations)."""
    audit_details: dict[str, Any] = field(default_factory=dict)
    """The ``export.create`` entry's details: what was asked, never a secret."""


@dataclass(frozen=True, slots=True)
class StoredExport:
    """An export without its file (what its status answers need)."""

    id: str
    principal_kind: str
    principal_pk: int
    kind: ExportKind
    format: ExportFormat
    parameters: str
    status: ExportStatus
    partial: bool
    error: str | None
    created_at: int
    finished_at: int | None
    expires_at: int | None
    file_name: str | None


def _stored(row: object) -> StoredExport:
    values = dict(row._mapping)  # type: ignore[attr-defined]
    values["kind"] = ExportKind(values["kind"])
    values["format"] = ExportFormat(values["format"])
    values["status"] = ExportStatus(values["status"])
    values["partial"] = bool(values["partial"])
    return StoredExport(**values)


class ExportStore:
    def __init__(self, database: Database) -> None:
        self._database = database

    def create(self, job: NewExport, *, max_unfinished: int) -> StoredExport | None:
        """The new export, audited, or None when its principal already has
        ``max_unfinished`` (then nothing is written)."""
        owner = (
            export_jobs.c.principal_kind == job.principal_kind,
            export_jobs.c.principal_pk == job.principal_pk,
        )
        with self._database.write() as conn:
            namespace = _LOCK_NAMESPACE + (job.principal_kind == "user")
            self._database.dialect.lock(conn, namespace, job.principal_pk)
            unfinished = conn.execute(
                select(func.count())
                .select_from(export_jobs)
                .where(*owner, export_jobs.c.status.in_([s.value for s in UNFINISHED]))
            ).scalar_one()
            if unfinished >= max_unfinished:
                return None
            conn.execute(
                export_jobs.insert().values(
                    id=job.id,
                    principal_kind=job.principal_kind,
                    principal_pk=job.principal_pk,
                    kind=job.kind.value,
                    format=job.format.value,
                    parameters=job.parameters,
                    status=ExportStatus.CREATED.value,
                    partial=False,
                    created_at=job.created_at,
                    actor_kind=job.actor.kind,
                    actor_name=job.actor.name,
                )
            )
            row = conn.execute(select(*_SUMMARY).where(export_jobs.c.id == job.id)).one()
            at = datetime.fromtimestamp(job.created_at / 1000, UTC)
            details = {"exportId": job.id, **job.audit_details}
            audit_store.append(
                conn, at, job.actor, "export.create", details, organization=job.audit_organization
            )
        return _stored(row)

    def get(self, export_id: str, principal_kind: str, principal_pk: int) -> StoredExport | None:
        """The principal's export ``export_id`` (None: unknown, or someone else's)."""
        with self._database.read() as conn:
            row = conn.execute(
                select(*_SUMMARY).where(
                    export_jobs.c.id == export_id,
                    export_jobs.c.principal_kind == principal_kind,
                    export_jobs.c.principal_pk == principal_pk,
                )
            ).one_or_none()
        return None if row is None else _stored(row)
