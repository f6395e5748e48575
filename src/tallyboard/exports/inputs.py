"""The typed input of the export mutations, checked whole before anything else happens
(the style of ``stats/inputs.py``: every problem in one ``INVALID_INPUT``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tallyboard.domain.errors import InvalidInputError, Problem
from tallyboard.domain.exports import ExportFormat
from tallyboard.domain.periods import Period
from tallyboard.stats.inputs import CombinedInput

__all__ = ["AutomationJobsExportInput", "UsageReportExportInput"]

MAX_REPORT_ORGANIZATIONS = 25


def _period(value: str, problems: list[Problem], argument: str) -> Period:
    try:
        return Period(value)
    except ValueError:  # the schema's enum already refuses anything else
        problems.append(Problem(argument, f"unknown period {value!r}"))
        return Period.CURRENT_MONTH


@dataclass(frozen=True, slots=True)
class AutomationJobsExportInput:
    """``createAutomationJobsExport``: one organization by its short id, one period."""

    organization_id: str
    period: Period

    @classmethod
    def parse(cls, organization_id: str, period: str) -> AutomationJobsExportInput:
        problems: list[Problem] = []
        parsed = cls(organization_id, _period(period, problems, "input.filter"))
        if problems:
            raise InvalidInputError(problems)
        return parsed


@dataclass(frozen=True, slots=True)
class UsageReportExportInput:
    """``createUsageReportExport``: 1 to 25 organizations (canonical, first-seen order),
    a period and a file format (XLSX unless given)."""

    organization_uuids: tuple[str, ...]
    period: Period
    format: ExportFormat

    @classmethod
    def parse(
        cls, organization_uuids: Sequence[str], period: str, file_format: str | None
    ) -> UsageReportExportInput:
        problems: list[Problem] = []
        try:
            combined = CombinedInput.parse(
                organization_uuids, period, limit=MAX_REPORT_ORGANIZATIONS
            )
        except InvalidInputError as exc:
            problems.extend(exc.problems)
            combined = None
        try:
            chosen = ExportFormat(file_format or ExportFormat.XLSX.value)
        except ValueError:  # the schema's enum already refuses anything else
            problems.append(Problem("format", f"unknown format {file_format!r}"))
            chosen = ExportFormat.XLSX
        if problems or combined is None:
            raise InvalidInputError(problems)
        return cls(combined.organization_uuids, combined.period, chosen)
