"""Excel (or CSV) imports of funding figures, with a row-level report, all or nothing, and
idempotent by the file's hash.

Three kinds:
- `division` (区划代码, 年度, 教师工资总额（元）, 培训经费比例（%）, 更正原因): the importing division's
  own figures (a county its own; the policy refuses another's row);
- `school` (学校代码, 年度, 公用经费预算总额（元）, 培训经费预算（元）, 更正原因): a school's figures, by its
  administrator or its county;
- `spend` (项目编号, 金额（元）, 支出日期, 说明): spend on the projects the division organises (no evidence
  file: the spend list marks the entries without one, and the evidence is attached afterwards on the
  entry's page or through the API).

The whole file is checked first; one refused row (its number and a Chinese reason) and nothing is
written. A year already entered is refused unless the row gives 更正原因 (a correction, audited with
its value before). The same file (by SHA-256) imported again by the same unit is refused as
already imported, and nothing is written twice."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, BinaryIO

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from access.policy import Action, can, visible
from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record, audit_record_many
from catalog.models import Project
from funding.models import (
    PAYROLL_MAX,
    SPEND_MAX,
    DivisionFunding,
    FundingImport,
    ProjectSpend,
    SchoolFunding,
)
from funding.services import (
    NOTE_MAX,
    REASON_MAX,
    REASON_MIN,
    check_school_amounts,
    parse_money,
    parse_ratio,
    parse_spent_on,
    parse_year,
)
from org.models import Division, School
from people.roster.files import RosterFileError, header_row, iter_rows

COLUMNS = {
    "division": ["区划代码", "年度", "教师工资总额（元）", "培训经费比例（%）", "更正原因"],
    "school": ["学校代码", "年度", "公用经费预算总额（元）", "培训经费预算（元）", "更正原因"],
    "spend": ["项目编号", "金额（元）", "支出日期", "说明"],
}
REQUIRED = {"division": COLUMNS["division"][:2], "school": COLUMNS["school"][:4], "spend": COLUMNS["spend"][:3]}
KIND_LABELS = {"division": "区划教师工资总额与比例", "school": "学校公用经费与培训经费", "spend": "项目经费支出"}
FIELD_COLUMNS = {"year": "年度", "payroll": "教师工资总额（元）", "ratio_percent": "培训经费比例（%）",
                 "public_budget": "公用经费预算总额（元）", "training_budget": "培训经费预算（元）",
                 "amount": "金额（元）", "spent_on": "支出日期", "reason": "更正原因"}
REJECTIONS_SHOWN = 500


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    created: int = 0
    corrected: int = 0
    already: bool = False
    rejections: list[dict] = field(default_factory=list)

    @property
    def written(self) -> bool:
        return not self.rejections and not self.already


class _RowError(Exception):
    def __init__(self, column: str, reason: str):
        super().__init__(reason)
        self.column, self.reason = column, reason


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    return str(value if value is not None else "").strip()


def _checked(parse, *args, **kwargs):
    try:
        return parse(*args, **kwargs)
    except ValidationError as error:
        key, messages = next(iter(error.message_dict.items()))
        raise _RowError(FIELD_COLUMNS.get(key, key), messages[0]) from None


def _sha256(handle: BinaryIO) -> str:
    handle.seek(0)
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    handle.seek(0)
    return digest.hexdigest()


def _reason(text: str) -> str:
    if text and not REASON_MIN <= len(text) <= REASON_MAX:
        raise _RowError("更正原因", f"更正原因应为{REASON_MIN}—{REASON_MAX}个字")
    return text


def funding_import(*, scope: Scope, actor, kind: str, handle: BinaryIO, name: str, today: dt.date,
                   ip: str | None = None) -> ImportResult:
    """Check the whole file, then write every row in one transaction, or nothing."""
    if kind not in COLUMNS:
        raise RosterFileError("未知的导入类型")
    if scope.path is None or scope.teacher_id is not None or (kind != "school" and not scope.is_division):
        raise PermissionDenied("无权导入该类数据")
    sha256 = _sha256(handle)
    result = ImportResult(kind=kind)
    school_key = scope.school_id or 0
    if visible(scope, FundingImport).filter(kind=kind, scope_path=scope.path, school_id_key=school_key,
                                            file_sha256=sha256).exists():
        result.already = True
        return result
    rows = iter_rows(handle, name)
    header, at = header_row(rows, lambda row: COLUMNS[kind][0] in [_text(cell) for cell in row])
    if header is None:
        raise RosterFileError("文件为空")
    names = [_text(cell) for cell in header]
    missing = [column for column in REQUIRED[kind] if column not in names]
    if missing:
        raise RosterFileError(f"缺少列：{'、'.join(missing)}（应有：{'、'.join(COLUMNS[kind])}）")
    index = {column: names.index(column) for column in COLUMNS[kind] if column in names}
    numbered = [(number, row) for number, row in enumerate(rows, start=at + 1) if any(_text(value) for value in row)]
    result.rows = len(numbered)
    if not numbered:
        raise RosterFileError("文件中没有数据行")

    def cells(row) -> dict[str, Any]:
        return {column: (row[position] if position < len(row) else "") for column, position in index.items()}

    planned = {"division": _plan_divisions, "school": _plan_schools, "spend": _plan_spend}[kind](
        scope, [(number, cells(row)) for number, row in numbered], result, today)
    if result.rejections:
        return result
    try:
        with transaction.atomic():
            FundingImport.objects.create(kind=kind, file_name=name[:255], file_sha256=sha256, actor=actor,
                                         scope_path=scope.path, school_id_key=school_key, rows=result.rows)
            events = planned(actor, ip)
            audit_record(action=Audit.FUNDING_IMPORT, actor=actor, ip=ip, scope_path=scope.path or "",
                         object_type="funding_import", object_id="",
                         detail={"kind": kind, "file": name[:100], "sha256": sha256, "rows": result.rows,
                                 "created": result.created, "corrected": result.corrected})
            audit_record_many(events)
    except IntegrityError:  # the same file at the same moment, or a year written meanwhile
        result.created = result.corrected = 0
        result.rejections.append({"row": 0, "column": "", "reason": "导入时数据已被他人修改或同一文件正在导入，请刷新后重试",
                                  "values": []})
    return result


def _reject(result: ImportResult, number: int, error: _RowError, cells: dict) -> None:
    result.rejections.append({"row": number, "column": error.column, "reason": error.reason,
                              "values": [_text(value) for value in cells.values()]})


# --- what the three kinds share ----------------------------------------------------------------------

def _code(cells: dict, column: str, length: int) -> str:
    return _text(cells.get(column))[:length]


def _by_code(rows: QuerySet, found: list, column: str, length: int) -> dict[str, Any]:
    """The units (divisions, schools, projects) the file names in `column`, by code, among `rows`
    (already narrowed by the access policy): one query; the first of a code wins."""
    units: dict[str, Any] = {}
    for unit in rows.filter(code__in={_code(cells, column, length) for _, cells in found}):
        units.setdefault(unit.code, unit)
    return units


def _checked_rows(found: list, result: ImportResult, check: Callable[[dict], Any]) -> list[tuple[int, dict, Any]]:
    """The row loop of every kind: `check(cells)` turns one row into its values or raises _RowError;
    a refused row goes to the report with its number, column and reason, the others are kept."""
    kept = []
    for number, cells in found:
        try:
            kept.append((number, cells, check(cells)))
        except _RowError as error:
            _reject(result, number, error, cells)
    return kept


def _once_in_file(seen: set, key: tuple, name: str, year: int) -> None:
    if key in seen:
        raise _RowError("年度", f"文件中重复：{name}{year}年已在前面的行中")
    seen.add(key)


# --- divisions ------------------------------------------------------------------------------------------

def _plan_divisions(scope: Scope, found, result: ImportResult, today):
    divisions = _by_code(visible(scope, Division), found, "区划代码", 6)
    seen: set = set()

    def check(cells):
        division = divisions.get(_code(cells, "区划代码", 6))
        if division is None:
            raise _RowError("区划代码", "区划代码不存在或不在本辖区")
        if not can(scope, Action.CHANGE, DivisionFunding(division=division, division_path=division.path)):
            raise _RowError("区划代码", "只能导入本单位自己的数据（下级或省直管县的数据由其自行填报，或由上级在页面上代填）")
        year = _checked(parse_year, _text(cells.get("年度")))
        payroll_text, ratio_text = _text(cells.get("教师工资总额（元）")), _text(cells.get("培训经费比例（%）"))
        if not payroll_text and not ratio_text:
            raise _RowError("教师工资总额（元）", "教师工资总额与培训经费比例至少填写一项")
        payroll = (_checked(parse_money, payroll_text, field="payroll", label="教师工资总额", maximum=PAYROLL_MAX,
                            positive=True) if payroll_text else None)
        ratio = _checked(parse_ratio, ratio_text) if ratio_text else None
        reason = _reason(_text(cells.get("更正原因")))
        _once_in_file(seen, (division.pk, year), division.name, year)
        return division, year, payroll, ratio, reason

    parsed = _checked_rows(found, result, check)
    existing = {(row.division_id, row.year): row for row in visible(scope, DivisionFunding, Action.CHANGE)
                .filter(division_id__in={v[0].pk for *_, v in parsed}, year__in={v[1] for *_, v in parsed})}
    plan = []
    for number, cells, (division, year, payroll, ratio, reason) in parsed:
        held = existing.get((division.pk, year))
        clash = [label for label, old, new in (("教师工资总额", held and held.payroll, payroll),
                                               ("培训经费比例", held and held.ratio_percent, ratio))
                 if new is not None and old is not None and Decimal(old) != new]
        if clash and not reason:
            _reject(result, number, _RowError("年度", f"{division.name}{year}年的{'、'.join(clash)}已填报且不同；"
                                                     "如需更正，请在“更正原因”列说明原因"), cells)
            continue
        plan.append((division, year, payroll, ratio, reason, held))

    def write(actor, ip):
        events = []
        for division, year, payroll, ratio, reason, held in plan:
            row = held or DivisionFunding(division=division, division_path=division.path, year=year)
            before = (str(row.payroll), str(row.ratio_percent))
            row.payroll = payroll if payroll is not None else row.payroll
            row.ratio_percent = ratio if ratio is not None else row.ratio_percent
            row.updated_by = actor
            corrected = held is not None and before != (str(row.payroll), str(row.ratio_percent)) and bool(reason)
            if held is not None and before == (str(row.payroll), str(row.ratio_percent)):
                continue  # the same figures: nothing to write
            row.entered_above_by, row.entered_above_at, row.entered_above_reason = None, None, ""  # its own now
            row.save()
            if corrected:
                result.corrected += 1
            else:
                result.created += 1
            events.append({"action": Audit.FUNDING_CORRECT if corrected else Audit.FUNDING_PAYROLL, "actor": actor,
                           "ip": ip, "scope_path": division.path, "object_type": "division_funding",
                           "object_id": row.pk, "result": "success",
                           "detail": {"division": division.code, "year": year, "payroll": str(row.payroll),
                                      "ratio_percent": str(row.ratio_percent), "import": True,
                                      **({"before": list(before), "reason": reason} if corrected else {})}})
        return events
    return write


# --- schools --------------------------------------------------------------------------------------------

def _plan_schools(scope: Scope, found, result: ImportResult, today):
    schools = _by_code(visible(scope, School), found, "学校代码", 10)
    seen: set = set()

    def check(cells):
        school = schools.get(_code(cells, "学校代码", 10))
        if school is None:
            raise _RowError("学校代码", "学校代码不存在或不在本辖区")
        if not can(scope, Action.CHANGE, SchoolFunding(school=school, division_path=school.division_path)):
            raise _RowError("学校代码", "本单位对该校只有查看权限，不能导入其经费")
        year = _checked(parse_year, _text(cells.get("年度")))
        public, training = _checked(check_school_amounts, _text(cells.get("公用经费预算总额（元）")),
                                    _text(cells.get("培训经费预算（元）")))
        reason = _reason(_text(cells.get("更正原因")))
        _once_in_file(seen, (school.pk, year), school.name, year)
        return school, year, public, training, reason

    parsed = _checked_rows(found, result, check)
    existing = {(row.school_id, row.year): row for row in visible(scope, SchoolFunding, Action.CHANGE)
                .filter(school_id__in={v[0].pk for *_, v in parsed}, year__in={v[1] for *_, v in parsed})}
    new, changed = [], []
    for number, cells, (school, year, public, training, reason) in parsed:
        held = existing.get((school.pk, year))
        if held is None:
            new.append(SchoolFunding(school=school, division_path=school.division_path, year=year,
                                     public_budget=public, training_budget=training))
        elif (held.public_budget, held.training_budget) != (public, training):
            if not reason:
                _reject(result, number, _RowError("年度", f"{school.name}{year}年的经费已填报且不同；"
                                                         "如需更正，请在“更正原因”列说明原因"), cells)
                continue
            changed.append((held, public, training, reason))

    def write(actor, ip):
        for row in new:
            row.updated_by = actor
        SchoolFunding.objects.bulk_create(new, batch_size=1000)
        events = []
        for held, public, training, reason in changed:
            before = [str(held.public_budget), str(held.training_budget)]
            held.public_budget, held.training_budget, held.updated_by = public, training, actor
            events.append({"action": Audit.FUNDING_CORRECT, "actor": actor, "ip": ip,
                           "scope_path": held.division_path, "object_type": "school_funding", "object_id": held.pk,
                           "result": "success", "detail": {"school_id": held.school_id, "year": held.year,
                                                           "before": before, "reason": reason, "import": True,
                                                           "public_budget": str(public),
                                                           "training_budget": str(training)}})
        SchoolFunding.objects.bulk_update([held for held, *_ in changed],
                                          ["public_budget", "training_budget", "updated_by"], batch_size=1000)
        result.created, result.corrected = len(new), len(changed)
        return events
    return write


# --- spend ----------------------------------------------------------------------------------------------

def _plan_spend(scope: Scope, found, result: ImportResult, today):
    projects = _by_code(visible(scope, Project).filter(organiser_school__isnull=True, division_path=scope.path)
                        .select_related("organiser"), found, "项目编号", 40)

    def check(cells):
        project = projects.get(_code(cells, "项目编号", 40))
        if project is None or not can(scope, Action.CHANGE, ProjectSpend(project=project,
                                                                          division_path=project.division_path)):
            raise _RowError("项目编号", "项目编号不存在，或不是本单位主办的项目")
        amount = _checked(parse_money, _text(cells.get("金额（元）")), field="amount", label="支出金额",
                          maximum=SPEND_MAX, positive=True)
        spent_on = _checked(parse_spent_on, cells.get("支出日期"), today)
        note = _text(cells.get("说明"))
        if len(note) > NOTE_MAX:
            raise _RowError("说明", f"说明不超过{NOTE_MAX}个字")
        return ProjectSpend(project=project, division_path=project.division_path, amount=amount, spent_on=spent_on,
                            note=note)

    new = [row for *_, row in _checked_rows(found, result, check)]

    def write(actor, ip):
        for row in new:
            row.created_by = actor
        ProjectSpend.objects.bulk_create(new, batch_size=1000)
        result.created = len(new)
        return []
    return write
