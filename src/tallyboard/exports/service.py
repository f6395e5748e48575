"""Creating and reading exports (spec §9 "Exports"): input -> policy -> store.

The principal of an export is the service account (any of its tokens) or the user (any
of their personal tokens). Only that principal may read it: anyone else, and any id
that is not one of theirs (malformed or unknown), gets the same ``PERMISSION_DENIED``.

Creating one is audited (``export.create``, spec §11) in the transaction that stores
it, under the principal's credential (``Principal.actor``): the organization's uuid for
a jobs export, none for a usage report (its uuids are in the details).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tallyboard.access.policy import Action, Policy
from tallyboard.access.principal import Principal
from tallyboard.domain.clock import Clock
from tallyboard.domain.errors import PermissionDeniedError, RateLimitedError
from tallyboard.domain.exports import MAX_UNFINISHED, ExportFormat, ExportKind, ExportStatus
from tallyboard.domain.text import character_problem
from tallyboard.exports.inputs import AutomationJobsExportInput, UsageReportExportInput
from tallyboard.storage.export_store import ExportStore, NewExport, StoredExport

__all__ = ["ExportService", "ExportView"]

_ID = re.compile(r"[0-9a-f]{32}")

RETRY_AFTER = 10
"""Seconds a client over the unfinished-exports limit is told to wait."""


@dataclass(frozen=True, slots=True)
class ExportView:
    """What the API shows of an export."""

    id: str
    status: ExportStatus
    format: ExportFormat
    partial: bool
    created_at: datetime
    finished_at: datetime | None
    file_url: str | None
    error: str | None


def _time(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


class ExportService:
    def __init__(
        self,
        store: ExportStore,
        policy: Policy,
        clock: Clock,
        *,
        link: Callable[[StoredExport], str] | None = None,
        max_unfinished: int = MAX_UNFINISHED,
    ) -> None:
        self._store = store
        self._policy = policy
        self._clock = clock
        self._link = link
        self._max_unfinished = max_unfinished

    def create_automation_jobs(
        self, principal: Principal, request: AutomationJobsExportInput
    ) -> ExportView:
        """Needs ``super_admin`` in the organization (unknown ids are denied alike)."""
        if character_problem(request.organization_id) is not None:
            raise PermissionDeniedError
        org = self._policy.require_by_id(
            principal, Action.VIEW_USAGE_DETAILS, request.organization_id
        )
        parameters = {"organization_pk": org.pk, "period": request.period.value}
        audited = {"organizationId": org.id, "period": request.period.value}
        return self._create(
            principal,
            ExportKind.AUTOMATION_JOBS,
            ExportFormat.XLSX,
            parameters,
            audit=(org.uuid, audited),
        )

    def create_usage_report(
        self, principal: Principal, request: UsageReportExportInput
    ) -> ExportView:
        """Organizations the principal may not see are dropped when the file is built
        (``partial``), as the combined statistics drop them."""
        parameters = {
            "organization_uuids": list(request.organization_uuids),
            "period": request.period.value,
        }
        audited = {
            "organizationUuids": list(request.organization_uuids),
            "period": request.period.value,
        }
        return self._create(
            principal, ExportKind.USAGE_REPORT, request.format, parameters, audit=(None, audited)
        )

    def read(self, principal: Principal, export_id: str, kind: ExportKind) -> ExportView:
        if type(export_id) is not str or not _ID.fullmatch(export_id):
            raise PermissionDeniedError
        stored = self._store.get(export_id, principal.kind.value, principal.pk)
        if stored is None or stored.kind is not kind:
            raise PermissionDeniedError
        return self._view(stored)

    def _create(
        self,
        principal: Principal,
        kind: ExportKind,
        file_format: ExportFormat,
        parameters: Mapping[str, object],
        *,
        audit: tuple[str | None, dict[str, Any]],
    ) -> ExportView:
        """Store the job and its ``export.create`` entry (``audit``: the entry's
        organization uuid and details) in one transaction."""
        organization, details = audit
        job = NewExport(
            id=secrets.token_hex(16),
            principal_kind=principal.kind.value,
            principal_pk=principal.pk,
            kind=kind,
            format=file_format,
            parameters=json.dumps(parameters, sort_keys=True),
            created_at=int(self._clock.now().timestamp() * 1000),
            actor=principal.actor,
            audit_organization=organization,
            audit_details={"kind": kind.value, "format": file_format.value, **details},
        )
        stored = self._store.create(job, max_unfinished=self._max_unfinished)
        if stored is None:
            raise RateLimitedError(
                f"At most {self._max_unfinished} unfinished exports per caller; "
                f"retry after {RETRY_AFTER} seconds",
                RETRY_AFTER,
            )
        return self._view(stored)

    def _view(self, stored: StoredExport) -> ExportView:
        finished = stored.status is ExportStatus.FINISHED
        created = _time(stored.created_at)
        assert created is not None
        return ExportView(
            id=stored.id,
            status=stored.status,
            format=stored.format,
            partial=stored.partial,
            created_at=created,
            finished_at=_time(stored.finished_at),
            file_url=self._link(stored) if finished and self._link is not None else None,
            error=stored.error,
        )
