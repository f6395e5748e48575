"""Export jobs (spec §9 "Exports"): their kinds, formats and lifecycle.

``created`` -> ``processing`` -> ``finished`` or ``failed``; ``expired`` once the file
is gone. Created and processing jobs are *unfinished*: a principal may hold at most
:data:`MAX_UNFINISHED` of them.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["MAX_UNFINISHED", "UNFINISHED", "ExportFormat", "ExportKind", "ExportStatus"]

MAX_UNFINISHED = 5
"""Unfinished exports one principal may hold; beyond that ``RATE_LIMITED``."""


class ExportKind(StrEnum):
    AUTOMATION_JOBS = "automation_jobs"
    USAGE_REPORT = "usage_report"


class ExportFormat(StrEnum):
    XLSX = "XLSX"
    CSV = "CSV"

    @property
    def extension(self) -> str:
        return "xlsx" if self is ExportFormat.XLSX else "csv"


class ExportStatus(StrEnum):
    CREATED = "created"
    PROCESSING = "processing"
    FINISHED = "finished"
    FAILED = "failed"
    EXPIRED = "expired"


UNFINISHED = (ExportStatus.CREATED, ExportStatus.PROCESSING)
