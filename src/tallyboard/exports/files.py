"""Export files written from row iterators in bounded memory (spec §9 "Exports").

Both writers write to a file on disk (``path``) and never hold the file in memory:
XLSX through XlsxWriter in ``constant_memory`` mode (each row is flushed to a temporary
file as soon as the next one starts), CSV through the ``csv`` module (RFC 4180, CRLF).
The first row of every sheet is the header. Cells are what the rows hold: ``str`` as
text, ``int``/``float`` as numbers, ``None`` as an empty cell; CSV prints ``Decimal``
exactly (credits), XLSX as a number.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import xlsxwriter

__all__ = ["Sheet", "csv_file", "xlsx_file"]

Cell = str | int | float | Decimal | None
Row = Sequence[Cell]


@dataclass(frozen=True, slots=True)
class Sheet:
    name: str
    header: Sequence[str]
    rows: Iterable[Row]


def xlsx_file(
    sheets: Sequence[Sheet], path: str, on_row: Callable[[], None] = lambda: None
) -> None:
    """Write the workbook to ``path`` (``on_row`` runs after every row: the builder's
    heartbeat)."""
    workbook = xlsxwriter.Workbook(
        path, {"constant_memory": True, "strings_to_numbers": False, "strings_to_urls": False}
    )
    for sheet in sheets:
        worksheet = workbook.add_worksheet(sheet.name)
        worksheet.write_row(0, 0, list(sheet.header))
        for index, row in enumerate(sheet.rows, start=1):
            for column, cell in enumerate(row):
                _write(worksheet, index, column, cell)
            on_row()
    workbook.close()


def _write(worksheet: xlsxwriter.worksheet.Worksheet, row: int, column: int, cell: Cell) -> None:
    if cell is None:
        return
    if isinstance(cell, str):
        worksheet.write_string(row, column, cell)
    else:
        worksheet.write_number(row, column, float(cell))


def csv_file(sheet: Sheet, path: str, on_row: Callable[[], None] = lambda: None) -> None:
    """Write the sheet to ``path`` as UTF-8 CSV (the file's buffer flushes as it fills)."""
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\r\n")
        writer.writerow(sheet.header)
        for row in sheet.rows:
            writer.writerow(["" if cell is None else _text(cell) for cell in row])
            on_row()


def _text(cell: Cell) -> str:
    if isinstance(cell, Decimal):
        return format(cell.normalize(), "f") if cell else "0"
    return str(cell)
