"""Reading and writing roster files safely.

Uploads are checked before parsing: allowed extension confirmed
by magic bytes, a size cap, zip-bomb limits on .xlsx members, a row cap; rows
are then streamed, never loaded whole. defusedxml is installed, and openpyxl
uses it when it reads XML; reading sheets is done by calamine, whose XML
reader expands no entities.
"""

from __future__ import annotations

import codecs
import csv
import io
import struct
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from core.excel import FORMULA_PREFIXES, safe_cell  # noqa: F401 (importers unescape by these)

XLSX_MAGIC = b"PK\x03\x04"
MAX_UNCOMPRESSED_BYTES = 400 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200


class RosterFileError(ValueError):
    """The file as a whole cannot be read; message is Chinese."""


def detect_format(name: str, head: bytes) -> str:
    extension = Path(name).suffix.lower()
    if extension == ".xlsx":
        if not head.startswith(XLSX_MAGIC):
            raise RosterFileError("文件扩展名为 .xlsx，但内容不是 Excel 文件")
        return "xlsx"
    if extension == ".csv":
        if head.startswith(XLSX_MAGIC) or b"\x00" in head:
            raise RosterFileError("文件扩展名为 .csv，但内容不是文本")
        return "csv"
    raise RosterFileError("只接受 .xlsx 或 .csv 文件")


def _check_zip(handle: BinaryIO) -> None:
    try:
        with zipfile.ZipFile(handle) as archive:
            total = 0
            for member in archive.infolist():
                total += member.file_size
                if member.compress_size and member.file_size / member.compress_size > MAX_COMPRESSION_RATIO:
                    raise RosterFileError("Excel 文件压缩比异常，疑似压缩炸弹，已拒绝")
            if total > MAX_UNCOMPRESSED_BYTES:
                raise RosterFileError("Excel 文件解压后过大，已拒绝")
    except RosterFileError:
        raise
    except (zipfile.BadZipFile, NotImplementedError, UnicodeDecodeError, ValueError, EOFError, OSError,
            struct.error) as error:
        # A damaged central directory surfaces as any of these, not only BadZipFile.
        raise RosterFileError("Excel 文件已损坏，无法读取") from error
    handle.seek(0)


def _text_stream(handle: BinaryIO) -> io.TextIOWrapper:
    # Excel in China saves CSV as GB18030 (GBK); other tools write UTF-8 (with BOM).
    head = handle.read(65536)
    handle.seek(0)
    encoding = "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        encoding = "gb18030"
    return io.TextIOWrapper(handle, encoding=encoding, newline="", errors="strict")


def iter_rows(handle: BinaryIO, name: str) -> Iterator[list]:
    """Yield each row (header first) as a list of cell values.

    Every RosterFileError is raised before the first row is yielded: callers that
    read the header inside `try` and the rest outside it still never see one late."""
    handle.seek(0, io.SEEK_END)
    size = handle.tell()
    handle.seek(0)
    if size > settings.UPLOAD_MAX_BYTES:
        raise RosterFileError(f"文件超过 {settings.UPLOAD_MAX_BYTES // (1024 * 1024)} MB 上限")
    if size == 0:
        raise RosterFileError("文件为空")
    kind = detect_format(name, handle.read(8192))
    handle.seek(0)
    limit = settings.IMPORT_MAX_ROWS + 1
    if kind == "xlsx":
        _check_zip(handle)
        yield from _xlsx_rows(handle, limit)
        return
    # Streamed twice rather than held in memory: the first pass finds an unreadable
    # part anywhere (encoding, an over-long cell, the row cap) before any row is used.
    for _ in _csv_rows(handle, limit):
        pass
    handle.seek(0)
    yield from _csv_rows(handle, limit)


def _csv_rows(handle: BinaryIO, limit: int) -> Iterator[list]:
    text = _text_stream(handle)
    count = 0
    try:
        for count, row in enumerate(csv.reader(text), start=1):
            if count > limit:
                raise RosterFileError(f"行数超过上限 {settings.IMPORT_MAX_ROWS}")
            yield row
    except UnicodeDecodeError as error:
        raise RosterFileError("CSV 文件编码无法识别（请使用 UTF-8 或 GBK）") from error
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise RosterFileError(
                f"第 {count + 1} 行单元格内容过长（超过 {csv.field_size_limit()} 个字符），请检查文件"
            ) from error
        raise RosterFileError(f"CSV 文件第 {count + 1} 行格式有误，无法读取") from error
    finally:
        text.detach()


def _xlsx_cell(value):
    # Numbers typed into Excel come back as floats: 4102210001.0 is the code 4102210001.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return "" if value is None else value


def _xlsx_rows(handle: BinaryIO, limit: int) -> Iterator[list]:
    """Rows of the first sheet, read by calamine (Rust; its XML reader expands no
    entities, and it is several times faster than openpyxl for large sheets)."""
    from python_calamine import CalamineWorkbook

    workbook = None
    try:
        workbook = CalamineWorkbook.from_filelike(handle)
        # calamine reads and parses the whole sheet here, so a broken one fails now.
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.iter_rows()
    except Exception as error:  # calamine raises its own error types for broken files
        if workbook is not None:
            workbook.close()
        raise RosterFileError(f"无法读取 Excel 文件：{type(error).__name__}") from error
    # iter_rows starts at the first row of the sheet, whatever the first used one.
    if sheet.end is not None and sheet.end[0] + 1 > limit:
        workbook.close()
        raise RosterFileError(f"行数超过上限 {settings.IMPORT_MAX_ROWS}")
    try:
        for count, row in enumerate(rows, start=1):
            if count > limit:
                raise RosterFileError(f"行数超过上限 {settings.IMPORT_MAX_ROWS}")
            yield [_xlsx_cell(cell) for cell in row]
    except RosterFileError:
        raise
    except Exception as error:  # broken or hostile sheet XML further down the file
        raise RosterFileError(f"无法读取 Excel 文件：{type(error).__name__}") from error
    finally:
        workbook.close()


def header_row(rows: Iterator[list], is_header: Callable[[list], bool]) -> tuple[list | None, int]:
    """The header and its row number. A titled export (core.excel) puts a title and a line
    naming the jurisdiction above its header, so a file exported here reads back as it is;
    when no row of the first three is a header, the first row is returned for the caller's
    own complaint. (None, 0) for an empty file."""
    first = None
    for number in range(1, 4):  # one at a time: the rows after the header stay in `rows`
        row = next(rows, None)
        if row is None:
            break
        if is_header(row):
            return row, number
        first = row if first is None else first
    return (first, 1) if first is not None else (None, 0)


def write_rows(path_or_handle, kind: str, header: list[str], rows) -> int:
    """Write header + rows as csv, or as a bare xlsx sheet (an import template; reports go
    through core.excel). Streamed, write-only. Returns the row count."""
    count = 0
    if kind == "csv":
        handle = path_or_handle if hasattr(path_or_handle, "write") else open(path_or_handle, "w", encoding="utf-8-sig", newline="")
        try:
            writer = csv.writer(handle)
            writer.writerow(header)
            for row in rows:
                writer.writerow([safe_cell(value) for value in row])
                count += 1
        finally:
            if handle is not path_or_handle:
                handle.close()
        return count
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("名册")
    sheet.append(header)
    for row in rows:
        # Typed as text so Excel keeps ID numbers and codes exactly.
        sheet.append([safe_cell(value) for value in row])
        count += 1
    workbook.save(path_or_handle)
    return count


def store_upload(upload) -> Path:
    """Keep an upload outside the web root for a background import (the worker deletes it)."""
    import uuid

    suffix = Path(upload.name).suffix.lower()
    if suffix not in {".xlsx", ".csv"}:
        suffix = ".bin"  # the importer refuses it with a clear message
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex}{suffix}"
    with target.open("wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return target
