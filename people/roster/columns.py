"""The one roster format shared by export and import, so an exported list can
be edited in Excel and imported back unchanged."""

from __future__ import annotations

import datetime as dt
import re

from org.constants import Stage
from people.constants import HonourLevel, HonourTitle, Status, Subject, Title

COLUMNS = ["编号", "姓名", "身份证号", "学校代码", "学段", "任教学科", "职称", "入职日期", "状态", "荣誉"]
SUBJECT_SEPARATOR = "、"
HONOUR_SEPARATOR = "；"

_by_label = {
    "stage": {choice.label: choice.value for choice in Stage},
    "subject": {choice.label: choice.value for choice in Subject},
    "title": {choice.label: choice.value for choice in Title},
    "status": {choice.label: choice.value for choice in Status},
}
# Old titles (before the 2015 reform) still appear in school spreadsheets.
_by_label["title"].update({"中学高级": "senior", "中学一级": "first", "小学高级": "first", "中学二级": "second", "小学一级": "second", "中学三级": "third", "小学二级": "third", "小学三级": "third", "": "none"})
_by_label["status"][""] = "active"

_level_labels = sorted(((c.label, c.value) for c in HonourLevel), key=lambda item: -len(item[0]))
_title_labels = {c.label: c.value for c in HonourTitle}
HONOUR_PATTERN = re.compile(r"^(?P<name>[^()（）]+)[(（](?P<awarded>\d{4}-\d{2}-\d{2})(?:[~至](?P<expires>\d{4}-\d{2}-\d{2}))?[)）]$")


class CellError(ValueError):
    def __init__(self, column: str, reason: str):
        super().__init__(reason)
        self.column, self.reason = column, reason


def code_from_label(kind: str, column: str, label: str) -> str:
    label = (label or "").strip()
    if label in _by_label[kind]:
        return _by_label[kind][label]
    if label in _by_label[kind].values():  # codes are accepted too
        return label
    raise CellError(column, f"无法识别的{column}：{label}" if label else f"{column}不能为空")


def parse_date(column: str, value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip().replace("/", "-").replace(".", "-")
    if not text:
        raise CellError(column, f"{column}不能为空")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CellError(column, f"{column}格式应为 YYYY-MM-DD，或日期不存在：{text}") from None


def parse_subjects(text: str) -> list[str]:
    parts = [part.strip() for part in re.split(r"[、,，;；/]", text or "") if part.strip()]
    if not parts:
        raise CellError("任教学科", "任教学科不能为空")
    return [code_from_label("subject", "任教学科", part) for part in parts]


def parse_honours(text: str):
    from people.services import HonourData

    honours = []
    for part in re.split(r"[;；]", text or ""):
        part = part.strip()
        if not part:
            continue
        match = HONOUR_PATTERN.match(part)
        if not match:
            raise CellError("荣誉", f"荣誉格式应为“省级骨干教师(2021-09-01~2026-08-31)”：{part}")
        name = match["name"].strip()
        level = next((value for label, value in _level_labels if name.startswith(label)), None)
        title = _title_labels.get(name[len(next((label for label, _ in _level_labels if name.startswith(label)), "")):])
        if level is None or title is None:
            raise CellError("荣誉", f"无法识别的荣誉：{name}")
        awarded = parse_date("荣誉", match["awarded"])
        expires = parse_date("荣誉", match["expires"]) if match["expires"] else None
        honours.append(HonourData(title=title, level=level, awarded_on=awarded, expires_on=expires))
    return tuple(honours)


def format_honours(honours) -> str:
    parts = []
    for honour in honours:
        span = honour.awarded_on.isoformat() + (f"~{honour.expires_on.isoformat()}" if honour.expires_on else "")
        parts.append(f"{HonourLevel(honour.level).label}{HonourTitle(honour.title).label}({span})")
    return HONOUR_SEPARATOR.join(parts)


def teacher_row(teacher, *, id_number: str) -> list[str]:
    return [
        str(teacher.pk),
        teacher.name,
        id_number,
        teacher.school.code,
        Stage(teacher.stage).label,
        SUBJECT_SEPARATOR.join(Subject(row.subject).label for row in teacher.subjects.all()),
        Title(teacher.title).label,
        teacher.hire_date.isoformat(),
        Status(teacher.status).label,
        format_honours(teacher.honours.all()),
    ]
