"""Excel exports laid out like an official report: a merged bold title, a line naming the
jurisdiction, the export date (and who exported, where the export is audited), a bold header
with the panes frozen below it, column widths from the content (CJK counted double), number
formats for hours (0.0) and counts (#,##0), and a 合计 row where the sheet has totals.

Sheets are written in openpyxl's write-only mode so a roster of 100,000 teachers streams; the
widths are measured on the first SAMPLE rows, which are held back until the widths are set
(write-only sheets need their columns before their rows)."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

HOURS = "0.0"
COUNT = "#,##0"
MONEY = "#,##0.00"
PERCENT = "0.0%"
TOTAL_LABEL = "合计"
SAMPLE = 1000
MIN_WIDTH, MAX_WIDTH = 6, 60
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_CENTRE = Alignment(horizontal="center", vertical="center")


@dataclass(frozen=True)
class Number:
    """A number whose format differs from its column's (a mean among counts)."""

    value: int | float | Decimal | None
    number_format: str


def safe_cell(value):
    """Neutralise spreadsheet formula injection in exported text cells."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def display_width(value) -> int:
    """How many Latin character widths a value takes in a cell: CJK and full-width count two."""
    if isinstance(value, Number):
        value = value.value
    if value is None:
        return 0
    if isinstance(value, float | Decimal):
        text = f"{value:,.1f}"
    elif isinstance(value, int) and not isinstance(value, bool):
        text = f"{value:,}"
    elif isinstance(value, dt.datetime):
        text = f"{value:%Y-%m-%d %H:%M}"
    elif isinstance(value, dt.date):
        text = f"{value:%Y-%m-%d}"
    else:
        text = str(value)
    longest = max(text.split("\n"), key=len)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in longest)


def exporter_name(user) -> str:
    """How an audited export names the account that made it."""
    if user is None or not getattr(user, "pk", None):
        return ""
    full = (user.get_full_name() or "").strip() if hasattr(user, "get_full_name") else ""
    return full or user.get_username()


def new_workbook() -> Workbook:
    return Workbook(write_only=True)


def add_table(book: Workbook, *, sheet: str, title: str, jurisdiction: str, header: Sequence[str],
              rows: Iterable[Sequence], formats: Mapping[str, str] | None = None,
              totals: Sequence[str] = (), exported_by: str = "", exported_on: dt.date | None = None) -> int:
    """Write one titled table as a new sheet of a write-only `book`; returns the data row count.

    `formats` maps header labels to number formats (HOURS, COUNT, …); `totals` names the
    columns summed into a closing 合计 row (none: no such row)."""
    formats = formats or {}
    width = max(len(header), 1)
    ws = book.create_sheet(sheet[:31])
    rows = iter(rows)
    sample = [list(row) for row in islice(rows, SAMPLE)]
    widths = [display_width(label) for label in header]
    for row in sample:
        for index, value in enumerate(row[:width]):
            widths[index] = max(widths[index], display_width(value))
    for index, measured in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = min(MAX_WIDTH, max(MIN_WIDTH, measured + 2))
    last = get_column_letter(width)
    ws.merged_cells.add(f"A1:{last}1")
    ws.merged_cells.add(f"A2:{last}2")
    ws.freeze_panes = "A4"

    title_cell = WriteOnlyCell(ws, safe_cell(title))
    title_cell.font, title_cell.alignment = _TITLE, _CENTRE
    ws.append([title_cell])
    exported_on = exported_on or timezone.localdate()
    meta = f"范围：{jurisdiction}　导出日期：{exported_on:%Y-%m-%d}"
    if exported_by:
        meta += f"　导出人：{exported_by}"
    ws.append([safe_cell(meta)])
    header_cells = []
    for label in header:
        cell = WriteOnlyCell(ws, label)
        cell.font, cell.alignment = _BOLD, _CENTRE
        header_cells.append(cell)
    ws.append(header_cells)

    column_formats = [formats.get(label) for label in header]
    summed = [index for index, label in enumerate(header) if label in totals]
    sums: dict[int, Decimal] = dict.fromkeys(summed, Decimal(0))
    count = 0
    for row in _chain(sample, rows):
        cells = []
        for index, value in enumerate(row):
            number_format = column_formats[index] if index < width else None
            if isinstance(value, Number):
                number_format, value = value.number_format, value.value
            value = safe_cell(value)
            if number_format and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                cell = WriteOnlyCell(ws, value)
                cell.number_format = number_format
                cells.append(cell)
            else:
                cells.append(value)
            if index in sums and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
                sums[index] += Decimal(str(value))
        ws.append(cells)
        count += 1
    if summed:
        total_row: list = []
        for index in range(width):
            if index == 0:
                cell = WriteOnlyCell(ws, TOTAL_LABEL)
            elif index in sums:
                total = sums[index]
                cell = WriteOnlyCell(ws, int(total) if total == total.to_integral_value() and column_formats[index] != HOURS
                                     else float(total))
                cell.number_format = column_formats[index] or "General"
            else:
                cell = WriteOnlyCell(ws, None)
            cell.font = _BOLD
            total_row.append(cell)
        ws.append(total_row)
    return count


def write_table(destination, **table) -> int:
    """One titled table in a workbook of its own, saved to a path or binary handle."""
    book = new_workbook()
    count = add_table(book, **table)
    book.save(destination)
    return count


def xlsx_response(book: Workbook, filename: str):
    """A finished workbook as a download (spooled through a temporary file, not held in memory twice)."""
    import tempfile

    from django.http import FileResponse

    handle = tempfile.TemporaryFile()
    book.save(handle)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=filename)


def _chain(sample: list, rest):
    yield from sample
    for row in rest:
        yield list(row)
