"""Hours earned on other platforms (the national platform's hour certificates and
exports) imported in bulk (issue 3 item 2).

Each row names a teacher by ID number and name, the training, its organiser,
hours, category, date and (if the platform gives one) the certificate number.
The organiser must map to one canonical institution (`OrganiserAlias`);
unknown organisers are listed so an administrator maps them once, then the
same file is imported again. The source id is the certificate number, or else
a keyed digest of what identifies the record (teacher, institution, training,
date, hours), so the same external record imported twice — the same file, a
different file, another administrator — is one ledger entry. The ledger's key for it also
names the teacher (credits.services.source_key_for): the same certificate number is the
same record only for the same teacher.

The whole file is read and checked first; accepted rows are then written one
by one through `ledger_entry_record` (each its own transaction and idempotent,
so an interrupted import simply runs again).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from access.policy import Action as Can
from access.policy import can, visible
from access.scope import Scope
from audit.actions import Action
from audit.services import audit_record
from credits.constants import CATEGORY_LABELS, Category, EntryState, SourceType
from credits.models import ExternalImport, OrganiserAlias
from credits.services import SourceConflict, ledger_entry_record
from org.models import Institution
from people.identity import (
    IdNumberError,
    id_blind_indexes,
    id_integrity_digest,
    id_mask,
    id_parse,
    keyed_digest,
)
from people.models import Teacher
from people.roster.files import RosterFileError, header_row, iter_rows

COLUMNS = ["身份证号", "姓名", "培训名称", "主办单位", "学时", "类别", "完成日期", "证书编号"]
REQUIRED_COLUMNS = COLUMNS[:5] + ["完成日期"]
DEFAULT_CATEGORY = Category.ONLINE  # the national platform's courses are online study (§二(四))
REJECTIONS_KEPT = 5000
NOT_MATCHED = "身份证号与姓名在本辖区教师名册中未能对应"
CATEGORY_BY_TEXT = {**{label: code for code, label in CATEGORY_LABELS.items()}, **{code: code for code in Category.values},
                    "专家指导": Category.GUIDANCE, "导师指导": Category.GUIDANCE, "网络培训": Category.ONLINE,
                    "线上研修": Category.ONLINE, "面授培训": Category.CENTRALISED, "其他": Category.OTHER}


def organiser_normalise(name) -> str:
    """One spelling per organiser: full-width to half-width, spaces removed, brackets unified."""
    text = unicodedata.normalize("NFKC", str(name or ""))
    return re.sub(r"\s+", "", text).replace("(", "（").replace(")", "）")[:200]


@dataclass
class ImportResult:
    batch: ExternalImport
    rejections: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class _Record:
    row: int
    teacher: Teacher
    category: str
    hours: Decimal
    occurred_on: dt.date
    source_id: str
    note: str
    values: list


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value if value is not None else "").strip()


def _date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _cell_text(value).replace("/", "-").replace(".", "-")
    try:
        return dt.date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
    except ValueError:
        raise ValueError("日期格式应为 YYYY-MM-DD") from None


class _RowError(Exception):
    def __init__(self, column: str, reason: str):
        super().__init__(reason)
        self.column, self.reason = column, reason


def _header_index(header: list) -> dict[str, int]:
    names = [_cell_text(cell) for cell in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise RosterFileError(f"缺少列：{'、'.join(missing)}（应有：{'、'.join(COLUMNS)}）")
    return {name: names.index(name) for name in COLUMNS if name in names}


def _row_values(row: list, index: dict[str, int]) -> list[str]:
    """The row in COLUMNS order (whatever the file's order), ID number masked: what a
    rejection keeps and the error download shows — never the full number at rest."""
    values = [_cell_text(row[index[name]]) if name in index and index[name] < len(row) else "" for name in COLUMNS]
    values[0] = id_mask(values[0])
    return values


def _parse(row: list, index: dict[str, int], *, number: int, scope: Scope, aliases: dict[str, int],
           teachers: dict[str, Teacher]) -> _Record:
    def cell(name: str):
        position = index.get(name)
        return row[position] if position is not None and position < len(row) else ""

    try:
        id_number = id_parse(_cell_text(cell("身份证号"))).number
    except IdNumberError as error:
        raise _RowError("身份证号", str(error)) from None
    teacher = next((teachers[index] for index in id_blind_indexes(id_number) if index in teachers), None)
    # An unknown number, one outside the jurisdiction and one whose name differs get the same
    # answer in the same column: a file of guessed numbers tells nothing about who exists.
    if teacher is None or _cell_text(cell("姓名")) != teacher.name:
        raise _RowError("身份证号", NOT_MATCHED)
    if not can(scope, Can.RECORD_APPROVED, teacher):
        raise _RowError("身份证号", "本级对该教师只有查看权限，不能记入学时")
    training = _cell_text(cell("培训名称"))
    if not training or len(training) > 200:
        raise _RowError("培训名称", "培训名称不能为空且不超过200字")
    organiser = organiser_normalise(cell("主办单位"))
    if not organiser:
        raise _RowError("主办单位", "主办单位不能为空")
    institution_id = aliases.get(organiser)
    if institution_id is None:
        raise _RowError("主办单位", f"主办单位未对应机构：{organiser}")
    try:
        hours = Decimal(_cell_text(cell("学时"))).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        raise _RowError("学时", "学时应为数字") from None
    category_text = _cell_text(cell("类别"))
    category = CATEGORY_BY_TEXT.get(category_text) if category_text else DEFAULT_CATEGORY
    if category is None:
        raise _RowError("类别", f"未知的学时类别：{category_text}")
    try:
        occurred_on = _date(cell("完成日期"))
    except ValueError as error:
        raise _RowError("完成日期", str(error)) from None
    certificate = _cell_text(cell("证书编号"))[:80]
    if certificate:
        source_id = f"national:{certificate}"
    else:  # what identifies the record on the other platform, keyed so nobody can forge a key;
        # the number under the integrity key (not the stored index), so a blind-index rotation keeps it
        digest = keyed_digest("credits.external", "|".join([
            id_integrity_digest(id_number), str(institution_id), training, occurred_on.isoformat(), str(hours)]))
        source_id = f"national:h:{digest[:40]}"
    note = f"{training}（{organiser}）"[:500]
    return _Record(row=number, teacher=teacher, category=category, hours=hours, occurred_on=occurred_on,
                   source_id=source_id, note=note, values=_row_values(row, index))


def teachers_by_id_number(scope: Scope, id_cells: list) -> dict[str, Teacher]:
    """The file's teachers within the scope, by blind index, a thousand per query (the
    teaching-outcome import identifies its rows the same way)."""
    indexes = set()
    for value in id_cells:
        try:
            indexes.update(id_blind_indexes(id_parse(_cell_text(value)).number))
        except IdNumberError:
            continue
    found: dict[str, Teacher] = {}
    ordered = sorted(indexes)
    for start in range(0, len(ordered), 1000):
        for teacher in visible(scope, Teacher).filter(id_index__in=ordered[start:start + 1000]):
            found[teacher.id_index] = teacher
    return found


def _file_sha256(handle: BinaryIO) -> str:
    handle.seek(0)
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    handle.seek(0)
    return digest.hexdigest()


def external_hours_import(*, scope: Scope, actor, handle: BinaryIO, name: str, ip: str | None = None,
                          today: dt.date | None = None) -> ImportResult:
    """Import a file of external hours. Raises RosterFileError (Chinese) if the file
    as a whole cannot be read; bad rows are rejected one by one."""
    if scope.path is None or scope.teacher_id is not None:
        raise PermissionDenied("当前角色不能导入学时")
    today = today or timezone.localdate()
    sha256 = _file_sha256(handle)
    rows = iter_rows(handle, name)
    header, at = header_row(rows, lambda row: "身份证号" in [_cell_text(cell) for cell in row])
    if header is None:
        raise RosterFileError("文件为空")
    index = _header_index(header)
    aliases = dict(OrganiserAlias.objects.values_list("name", "institution_id"))
    numbered = [(number, row) for number, row in enumerate(rows, start=at + 1) if any(_cell_text(value) for value in row)]
    teachers = teachers_by_id_number(scope, [row[index["身份证号"]] if index["身份证号"] < len(row) else "" for _, row in numbered])
    records: list[_Record] = []
    rejections: list[dict] = []
    unmapped: set[str] = set()
    count = len(numbered)
    for number, row in numbered:
        try:
            records.append(_parse(row, index, number=number, scope=scope, aliases=aliases, teachers=teachers))
        except _RowError as error:
            if error.reason.startswith("主办单位未对应机构"):
                unmapped.add(organiser_normalise(row[index["主办单位"]] if index["主办单位"] < len(row) else ""))
            rejections.append({"row": number, "column": error.column, "reason": error.reason,
                               "values": _row_values(row, index)})

    batch = ExternalImport.objects.create(file_name=name[:255], file_sha256=sha256, actor=actor if actor and actor.pk else None,
                                          scope_path=scope.path or "", rows=count)
    created = duplicates = 0
    for record in records:
        try:
            _, new = ledger_entry_record(
                teacher=record.teacher, category=record.category, hours=record.hours, occurred_on=record.occurred_on,
                source_type=SourceType.EXTERNAL, source_id=record.source_id, actor=actor, state=EntryState.APPROVED,
                note=record.note, today=today, ip=ip,
            )
        except SourceConflict:
            rejections.append({"row": record.row, "column": "证书编号", "reason": "该证书编号已导入为不同的内容",
                               "values": record.values})
            continue
        except ValidationError as error:
            field_name, messages = next(iter(error.message_dict.items()))
            column = {"hours": "学时", "occurred_on": "完成日期", "category": "类别", "teacher": "身份证号"}.get(field_name, "证书编号")
            rejections.append({"row": record.row, "column": column, "reason": messages[0], "values": record.values})
            continue
        created += new
        duplicates += not new
    rejections.sort(key=lambda item: item["row"])
    with transaction.atomic():
        batch.created, batch.duplicates, batch.rejected = created, duplicates, len(rejections)
        batch.rejections = rejections[:REJECTIONS_KEPT]
        batch.unmapped_organisers = sorted(unmapped)
        batch.finished_at = timezone.now()
        batch.save()
        audit_record(action=Action.LEDGER_IMPORT, actor=actor, ip=ip, scope_path=scope.path or "",
                     object_type="external_import", object_id=batch.pk,
                     detail={"file": name[:100], "sha256": sha256, "rows": count, "created": created,
                             "duplicates": duplicates, "rejected": len(rejections)})
    return ImportResult(batch=batch, rejections=rejections)


def organiser_map(*, scope: Scope, actor, name: str, institution_id: int, may_replace: bool,
                  ip: str | None = None) -> OrganiserAlias:
    """Map an organiser's name to an institution. Any division administrator may add a
    mapping; changing an existing one is for the province (it changes every import after)."""
    normalised = organiser_normalise(name)
    if not normalised:
        raise ValidationError({"name": "主办单位不能为空"})
    institution = visible(scope, Institution, Can.ASSIGN).filter(pk=institution_id).first()
    if institution is None:
        raise ValidationError({"institution": "机构不存在"})
    with transaction.atomic():
        existing = OrganiserAlias.objects.select_for_update().filter(name=normalised).first()
        if existing is not None and existing.institution_id != institution.pk and not may_replace:
            raise PermissionDenied("该主办单位已对应其他机构，只有省级管理员可以修改")
        alias, _ = OrganiserAlias.objects.update_or_create(
            name=normalised, defaults={"institution": institution, "created_by": actor})
        audit_record(action=Action.ORGANISER_MAP, actor=actor, ip=ip, scope_path=institution.division_path,
                     object_type="organiser_alias", object_id=alias.pk,
                     detail={"name": normalised, "institution": institution.code,
                             "replaced": existing.institution_id if existing and existing.institution_id != institution.pk else None})
    return alias
