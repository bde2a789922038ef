"""Teaching-outcome import (教学成效数据): a county's measured outcomes per teacher and school year
(a classroom-observation score, a student-growth index …), for the comparison of trained teachers
with matched untrained peers (evaluation.comparison).

Each row names a teacher by ID number and name (as the hours import does: the blind index, the
same refusal for an unknown number, one outside the jurisdiction and a wrong name), the measure,
the school year and the value. The whole file is read and checked first: if any row is refused,
nothing is written and every refusal is reported with its row, column and reason. Otherwise the
rows are upserted on teacher + measure + year in one transaction, so the same file imported twice
changes nothing the second time."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import BinaryIO

from django.core.exceptions import PermissionDenied
from django.db import transaction

from access.policy import Action, can, visible
from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record
from credits.external_import import teachers_by_id_number
from evaluation.models import TeachingOutcome
from people.identity import IdNumberError, id_blind_indexes, id_mask, id_parse
from people.models import Teacher
from people.roster.files import RosterFileError, header_row, iter_rows

COLUMNS = ["身份证号", "姓名", "指标", "学年", "数值", "来源"]
REQUIRED_COLUMNS = COLUMNS[:5]
NOT_MATCHED = "身份证号与姓名在本辖区教师名册中未能对应"
MEASURE_MAX = 40
SOURCE_MAX = 100
REJECTIONS_SHOWN = 500


@dataclass
class OutcomeImport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejections: list[dict] = field(default_factory=list)

    @property
    def written(self) -> bool:
        return not self.rejections


class _RowError(Exception):
    def __init__(self, column: str, reason: str):
        super().__init__(reason)
        self.column, self.reason = column, reason


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value if value is not None else "").strip()


def _parse(cell, teachers: dict[str, Teacher], scope: Scope) -> tuple[Teacher, str, int, float, str]:
    try:
        number = id_parse(_text(cell("身份证号"))).number
    except IdNumberError as error:
        raise _RowError("身份证号", str(error)) from None
    teacher = next((teachers[index] for index in id_blind_indexes(number) if index in teachers), None)
    if teacher is None or _text(cell("姓名")) != teacher.name:
        raise _RowError("身份证号", NOT_MATCHED)
    if not can(scope, Action.CHANGE, TeachingOutcome(teacher=teacher, division_path=teacher.division_path)):
        raise _RowError("身份证号", "本级对该教师只有查看权限，不能导入成效数据")
    measure = _text(cell("指标"))
    if not measure or len(measure) > MEASURE_MAX:
        raise _RowError("指标", f"指标不能为空且不超过{MEASURE_MAX}个字")
    try:
        year = int(_text(cell("学年"))[:4])
    except ValueError:
        raise _RowError("学年", "学年应为四位年份（如 2025 表示 2025—2026 学年）") from None
    if not 2000 <= year <= 2100:
        raise _RowError("学年", "学年应在 2000—2100 之间")
    try:
        value = float(_text(cell("数值")))
    except ValueError:
        raise _RowError("数值", "数值应为数字") from None
    if not math.isfinite(value) or abs(value) > 1e6:
        raise _RowError("数值", "数值超出范围")
    source = _text(cell("来源"))
    if len(source) > SOURCE_MAX:
        raise _RowError("来源", f"来源不超过{SOURCE_MAX}个字")
    return teacher, measure, year, value, source


def _sha256(handle: BinaryIO) -> str:
    handle.seek(0)
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    handle.seek(0)
    return digest.hexdigest()


def outcome_import(*, scope: Scope, actor, handle: BinaryIO, name: str, ip: str | None = None) -> OutcomeImport:
    """Import a file of teaching outcomes (Excel or CSV). Raises RosterFileError (Chinese) when
    the file as a whole cannot be read; refused rows are returned and then nothing is written."""
    if not scope.is_division:
        raise PermissionDenied("只有县级及以上管理员可以导入教学成效数据")
    sha256 = _sha256(handle)
    rows = iter_rows(handle, name)
    header, at = header_row(rows, lambda row: "身份证号" in [_text(cell) for cell in row])
    if header is None:
        raise RosterFileError("文件为空")
    names = [_text(cell) for cell in header]
    missing = [column for column in REQUIRED_COLUMNS if column not in names]
    if missing:
        raise RosterFileError(f"缺少列：{'、'.join(missing)}（应有：{'、'.join(COLUMNS)}）")
    index = {column: names.index(column) for column in COLUMNS if column in names}
    numbered = [(number, row) for number, row in enumerate(rows, start=at + 1) if any(_text(value) for value in row)]
    teachers = teachers_by_id_number(scope, [row[index["身份证号"]] if index["身份证号"] < len(row) else "" for _, row in numbered])
    result = OutcomeImport(rows=len(numbered))
    wanted: dict[tuple[int, str, int], tuple[float, str, Teacher]] = {}
    for number, row in numbered:
        def cell(column: str, row=row):
            position = index.get(column)
            return row[position] if position is not None and position < len(row) else ""

        try:
            teacher, measure, year, value, source = _parse(cell, teachers, scope)
            key = (teacher.pk, measure, year)
            if key in wanted:
                raise _RowError("指标", f"文件中重复：该教师的“{measure}”{year}学年已在前面的行中")
            wanted[key] = (value, source, teacher)
        except _RowError as error:
            values = [_text(cell(column)) for column in COLUMNS]
            values[0] = id_mask(values[0])
            result.rejections.append({"row": number, "column": error.column, "reason": error.reason, "values": values})
    if result.rejections:
        return result
    with transaction.atomic():
        teacher_ids = {key[0] for key in wanted}
        existing = {(row.teacher_id, row.measure, row.year): row for row in
                    visible(scope, TeachingOutcome, Action.CHANGE).select_for_update()
                    .filter(teacher_id__in=teacher_ids, measure__in={key[1] for key in wanted},
                            year__in={key[2] for key in wanted})}
        new: list[TeachingOutcome] = []
        changed: list[TeachingOutcome] = []
        for key, (value, source, teacher) in wanted.items():
            held = existing.get(key)
            if held is None:
                new.append(TeachingOutcome(teacher=teacher, measure=key[1], year=key[2], value=value, source=source,
                                           division_path=teacher.division_path))
            elif held.value != value or held.source != source:
                held.value, held.source = value, source
                changed.append(held)
        TeachingOutcome.objects.bulk_create(new, batch_size=1000)
        TeachingOutcome.objects.bulk_update(changed, ["value", "source"], batch_size=1000)
        result.created, result.updated = len(new), len(changed)
        result.unchanged = len(wanted) - len(new) - len(changed)
        audit_record(action=Audit.OUTCOME_IMPORT, actor=actor, ip=ip, scope_path=scope.path or "",
                     object_type="teaching_outcome", object_id="",
                     detail={"file": name[:100], "sha256": sha256, "rows": result.rows, "created": result.created,
                             "updated": result.updated, "unchanged": result.unchanged})
    return result
