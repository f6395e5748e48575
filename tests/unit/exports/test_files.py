"""Export file writers (exports/files.py): headers first, cells typed, credits exact."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl

from tallyboard.exports.files import Sheet, csv_file, xlsx_file


def test_csv_is_rfc_4180_with_exact_credits(tmp_path: Path) -> None:
    rows = [("a,b", Decimal(1_500_001) / 1_000_000, None), ('say "hi"', Decimal(100), 7)]
    path = tmp_path / "usage.csv"
    csv_file(Sheet("Usage", ("name", "usage", "limit"), iter(rows)), str(path))
    assert path.read_bytes() == (b'name,usage,limit\r\n"a,b",1.500001,\r\n"say ""hi""",100,7\r\n')


def test_xlsx_sheets_keep_text_as_text_and_numbers_as_numbers(tmp_path: Path) -> None:
    ticks: list[int] = []
    path = tmp_path / "jobs.xlsx"
    xlsx_file(
        [
            Sheet("Jobs", ("time", "jobs"), iter([("2026-11-01T00:00:00Z", 2), ("007", 3)])),
            Sheet("Automations", ("id", "jobs"), iter([])),
        ],
        str(path),
        lambda: ticks.append(1),
    )
    workbook = openpyxl.load_workbook(path, read_only=True)
    assert workbook.sheetnames == ["Jobs", "Automations"]
    rows = list(workbook["Jobs"].iter_rows(values_only=True))
    assert rows == [("time", "jobs"), ("2026-11-01T00:00:00Z", 2), ("007", 3)]
    assert list(workbook["Automations"].iter_rows(values_only=True)) == [("id", "jobs")]
    assert len(ticks) == 2
