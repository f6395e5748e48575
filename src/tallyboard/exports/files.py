"""Export files written from row iterators in bounded memory (spec §9 "Exports").

XLSX through XlsxWriter in ``constant_memory`` mode (each row is flushed to a temporary
file as soon as the next one starts), CSV through the ``csv`` module (RFC 4180, CRLF).
The first row of every sheet is the header. Cells are what the rows hold: ``str`` as
text, ``int``/``float`` as numbers, ``None`` as an empty cell; CSV prints ``Decimal``
exactly (credits), XLSX as a number.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
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


def xlsx_file(sheets: Sequence[Sheet], on_row: Callable[[], None] = lambda: None) -> bytes:
    """The workbook's bytes (``on_row`` runs after every row: the builder's heartbeat)."""
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
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
        with open(path, "rb") as file:
            return file.read()
    finally:
        os.unlink(path)


def _write(worksheet: xlsxwriter.worksheet.Worksheet, row: int, column: int, cell: Cell) -> None:
    if cell is None:
        return
    if isinstance(cell, str):
        worksheet.write_string(row, column, cell)
    else:
        worksheet.write_number(row, column, float(cell))


def csv_file(sheet: Sheet, on_row: Callable[[], None] = lambda: None) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(sheet.header)
    for row in sheet.rows:
        writer.writerow(["" if cell is None else _text(cell) for cell in row])
        on_row()
    return buffer.getvalue().encode("utf-8")


def _text(cell: Cell) -> str:
    if isinstance(cell, Decimal):
        return format(cell.normalize(), "f") if cell else "0"
    return str(cell)
