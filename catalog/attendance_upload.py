"""Attendance by upload: the sheet 导出报名与考勤 gives, ticked and sent back.

Rows are matched by 报名编号 (the enrolment number the export carries — never an
ID number), cross-checked against 姓名, which every row must give (a mistyped
number would otherwise mark another enrolee present). Two layouts are read:
- wide, as exported: 报名编号, 姓名, …, one column per session headed
  "第N场 …", a mark (出勤, √, ✓, 1, 是, Y) meaning present;
- long: 报名编号, 姓名, 场次序号, one row per attendance.
Good rows are recorded, bad ones come back with row, column and a Chinese
reason; the good rows go in one transaction, under a lock on the project row
(so a withdrawal or a second upload waits), together with the audit event, and
uploading the same sheet again records nothing new (one attendance per session
and enrolment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.db import transaction

from access.policy import Action as Can
from access.policy import fetch, require
from access.scope import Scope
from audit.actions import Action
from audit.services import audit_record
from catalog.attendance import require_runnable
from catalog.constants import EnrolmentState
from catalog.models import Attendance, Enrolment, Project
from core.requests import object_id
from people.roster.files import RosterFileError, header_row, iter_rows

PRESENT_MARKS = {"出勤", "√", "✓", "✔", "1", "是", "y", "yes", "到", "present"}
SESSION_COLUMN = re.compile(r"^第\s*(\d+)\s*场")
ADMITTED = (EnrolmentState.ENROLLED, EnrolmentState.COMPLETED)


@dataclass
class UploadReport:
    rows: int = 0
    recorded: int = 0
    already: int = 0
    refused: list[dict] = field(default_factory=list)  # {"row", "column", "reason"}

    def refuse(self, row: int, column: str, reason: str) -> None:
        self.refused.append({"row": row, "column": column, "reason": reason})


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def attendance_upload(*, user, scope: Scope, project: Project, handle: BinaryIO, name: str,
                      ip: str | None = None) -> UploadReport:
    require(scope, Can.RUN, project)
    require_runnable(project)
    try:
        rows = iter_rows(handle, name)
        first, at = header_row(rows, lambda row: "报名编号" in [_text(cell) for cell in row])
        header = [_text(cell) for cell in first or []]
    except RosterFileError as problem:
        raise ValidationError({"file": str(problem)}) from None
    if "报名编号" not in header or "姓名" not in header:
        raise ValidationError({"file": "缺少“报名编号”或“姓名”列：请使用“导出报名与考勤”得到的表格"})
    sessions = {s.number: s for s in project.sessions.all()}
    enrolments = {e.pk: e for e in project.enrolments.select_related("teacher")}
    id_column, name_column = header.index("报名编号"), header.index("姓名")
    session_columns = {index: int(m.group(1)) for index, title in enumerate(header) if (m := SESSION_COLUMN.match(title))}
    number_column = header.index("场次序号") if "场次序号" in header else None
    if not session_columns and number_column is None:
        raise ValidationError({"file": "缺少场次列（“第N场 …”）或“场次序号”列"})
    missing = sorted(set(session_columns.values()) - set(sessions))
    if missing:
        raise ValidationError({"file": f"表头中的第{'、'.join(map(str, missing))}场不存在：请先添加场次，或重新导出表格"})

    report, marks, row_of = UploadReport(), set[tuple[int, int]](), dict[int, int]()
    for row_number, row in enumerate(rows, start=at + 1):
        cells = [_text(cell) for cell in row]
        if not any(cells):
            continue
        report.rows += 1
        wanted = []
        if number_column is not None:
            raw = cells[number_column] if number_column < len(cells) else ""
            if object_id(raw) not in sessions:  # junk (even "²" or 5,000 digits) is 0: no such session
                report.refuse(row_number, "场次序号", f"场次“{raw[:10]}”不存在")
                continue
            wanted.append(sessions[object_id(raw)])
        for index, number in session_columns.items():
            if index < len(cells) and cells[index].lower() in PRESENT_MARKS:
                wanted.append(sessions[number])
            elif index < len(cells) and cells[index]:
                report.refuse(row_number, header[index], f"无法识别的标记“{cells[index][:10]}”（出勤请填“出勤”或“√”）")
        if not wanted:
            continue  # a row with nothing ticked (a waiting or withdrawn enrolee, say) asks for nothing
        enrolment = _enrolment(cells, row_number, id_column, name_column, enrolments, report)
        if enrolment is not None:
            marks.update((session.pk, enrolment.pk) for session in wanted)
            row_of.setdefault(enrolment.pk, row_number)

    with transaction.atomic():
        fetch(scope, Project, project.pk, Can.RUN, lock=True)
        # An enrolment withdrawn since the sheet was read is refused now, under the lock.
        still = set(project.enrolments.filter(pk__in={e for _, e in marks}, state__in=ADMITTED).values_list("pk", flat=True))
        for enrolment_id in sorted(set(row_of) - still):
            report.refuse(row_of[enrolment_id], "报名编号", f"报名 {enrolment_id} 已不在录取状态，未记考勤")
        marks = {(s, e) for s, e in marks if e in still}
        existing = set(Attendance.objects.visible_to(scope, Can.RUN).filter(session__project=project)
                       .values_list("session_id", "enrolment_id"))
        new = sorted(marks - existing)
        Attendance.objects.bulk_create(
            [Attendance(session_id=s, enrolment_id=e, recorded_by=user if user.pk else None, method="upload") for s, e in new],
            ignore_conflicts=True)
        report.recorded, report.already = len(new), len(marks & existing)
        report.refused.sort(key=lambda refusal: refusal["row"])
        audit_record(action=Action.ATTENDANCE_UPLOAD, actor=user, ip=ip, scope_path=project.division_path,
                     object_type="project", object_id=project.pk,
                     detail={"file": (name or "")[:100], "rows": report.rows, "recorded": report.recorded,
                             "already": report.already, "refused": len(report.refused)})
    return report


def _enrolment(cells: list[str], row_number: int, id_column: int, name_column: int,
               enrolments: dict[int, Enrolment], report: UploadReport) -> Enrolment | None:
    raw = cells[id_column] if id_column < len(cells) else ""
    enrolment = enrolments.get(object_id(raw))
    if enrolment is None:
        report.refuse(row_number, "报名编号", f"“{raw[:20]}”不是本项目的报名")
        return None
    name = cells[name_column] if name_column < len(cells) else ""
    if not name:
        report.refuse(row_number, "姓名", f"请填写姓名，以核对报名编号 {enrolment.pk}")
        return None
    if name != enrolment.teacher.name:
        report.refuse(row_number, "姓名", f"姓名“{name[:20]}”与报名编号 {enrolment.pk} 不符")
        return None
    if enrolment.state not in ADMITTED:
        report.refuse(row_number, "报名编号", f"报名状态为“{EnrolmentState(enrolment.state).label}”，不能记考勤")
        return None
    return enrolment
