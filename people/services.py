"""Writes to the teacher registry. Each write checks the actor's Scope and is
audited in the same transaction; the ID number is only ever stored encrypted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from access.errors import Forbidden
from access.policy import Action as Can
from access.policy import can, fetch, require
from access.scope import Scope
from audit.actions import Action
from audit.services import audit_record
from org.models import School
from people.id_lookup import id_lookup_charge
from people.identity import (
    IdNumberError,
    id_blind_index,
    id_blind_indexes,
    id_encrypt,
    id_mask,
    id_parse,
)
from people.models import Teacher, TeacherHonour, TeacherSubject

MIN_HIRE_AGE_YEARS = 16
# One answer whenever an ID number is already registered, wherever that is: the refusal must
# not say in which jurisdiction, nor name the teacher (their 编号), so it tells no more than
# the uniqueness of a number inevitably does.
ID_TAKEN_MESSAGE = "该身份证号已登记，不能重复登记；如教师调入，请原单位办理调出"


@dataclass(frozen=True)
class HonourData:
    title: str
    level: str
    awarded_on: dt.date
    expires_on: dt.date | None = None


@dataclass
class TeacherData:
    name: str
    id_number: str
    school: School
    stage: str
    subjects: list[str]
    title: str
    hire_date: dt.date
    status: str = "active"
    honours: tuple[HonourData, ...] = ()


def teacher_data_problems(data: TeacherData, *, today: dt.date | None = None) -> dict[str, str]:
    """Field -> Chinese reason for every rule the data breaks (empty when valid)."""
    problems: dict[str, str] = {}
    today = today or timezone.localdate()
    if not data.name.strip() or len(data.name) > 50:
        problems["name"] = "姓名不能为空且不超过50字"
    try:
        parsed = id_parse(data.id_number, today=today)
    except IdNumberError as error:
        problems["id_number"] = str(error)
        parsed = None
    if data.hire_date > today:
        problems["hire_date"] = "入职日期晚于今天"
    elif parsed and data.hire_date < _add_years(parsed.birth_date, MIN_HIRE_AGE_YEARS):
        problems["hire_date"] = "入职时未满16周岁，日期不合理"
    for honour in data.honours:
        if honour.expires_on and honour.expires_on <= honour.awarded_on:
            problems["honours"] = "荣誉有效期应晚于认定日期"
        elif honour.awarded_on > today:
            problems["honours"] = "荣誉认定日期晚于今天"
    if not data.subjects:
        problems["subjects"] = "至少填写一个任教学科"
    return problems


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _require_writable(scope: Scope, school: School) -> None:
    if not can(scope, Can.CHANGE, school):
        raise Forbidden("学校不在本辖区")


def _id_taken(id_number: str, *, other_than: int | None = None) -> bool:
    # ID numbers are unique across the province, so this one lookup is unscoped on purpose.
    # Asked only by _id_registered (counted, audited), and again under the row lock.
    taken = Teacher.objects.dangerously_unscoped().filter(id_index__in=id_blind_indexes(id_number))
    if other_than is not None:
        taken = taken.exclude(pk=other_than)
    return taken.exists()


def _id_registered(*, scope: Scope, actor, number: str, other_than: int | None = None, ip: str | None = None) -> bool:
    """Whether `number` belongs to another teacher anywhere in the province, asked when a
    teacher is created or given a new number. "Already registered" answers a search by
    number, so it is one: counted against the account's limit and audited in its own
    transaction, which stays when the refusal that follows undoes the rest. The event names
    the teacher being edited, never the holder (who may be outside the actor's jurisdiction)."""
    id_lookup_charge(scope=scope, actor=actor, channel="edit", ip=ip)
    with transaction.atomic():
        taken = _id_taken(number, other_than=other_than)
        audit_record(action=Action.ID_LOOKUP, actor=actor, ip=ip, scope_path=scope.path or "",
                     object_type="teacher", object_id=other_than or "",
                     detail={"channel": "edit", "matched": taken})
    return taken


def teacher_snapshot(teacher: Teacher) -> dict:
    """What an audit diff compares: masked ID, never the full number."""
    return {
        "name": teacher.name,
        "id_number": id_mask(teacher.id_number) if teacher.id_cipher else "",
        "school": teacher.school.code if teacher.school_id else "",
        "stage": teacher.stage,
        "title": teacher.title,
        "hire_date": teacher.hire_date.isoformat() if teacher.hire_date else "",
        "status": teacher.status,
        "subjects": sorted(row.subject for row in teacher.subjects.all()) if teacher.pk else [],
        "honours": sorted(
            f"{row.level}:{row.title}:{row.awarded_on}:{row.expires_on or ''}" for row in teacher.honours.all()
        )
        if teacher.pk
        else [],
    }


def _apply(teacher: Teacher, data: TeacherData) -> None:
    parsed = id_parse(data.id_number)
    teacher.name = data.name.strip()
    teacher.birth_date, teacher.sex = parsed.birth_date, parsed.sex
    teacher.id_index = id_blind_index(parsed.number)
    if not teacher.id_cipher or teacher.id_number != parsed.number:
        teacher.id_cipher = id_encrypt(parsed.number)
    teacher.school = data.school
    teacher.division_path = data.school.division_path
    teacher.stage, teacher.title, teacher.hire_date, teacher.status = data.stage, data.title, data.hire_date, data.status


def _replace_children(teacher: Teacher, data: TeacherData) -> None:
    teacher.subjects.all().delete()
    teacher.honours.all().delete()
    TeacherSubject.objects.bulk_create(
        TeacherSubject(teacher=teacher, subject=code, is_main=index == 0) for index, code in enumerate(dict.fromkeys(data.subjects))
    )
    TeacherHonour.objects.bulk_create(
        TeacherHonour(teacher=teacher, title=h.title, level=h.level, awarded_on=h.awarded_on, expires_on=h.expires_on)
        for h in dict.fromkeys(data.honours)
    )


def teacher_create(*, scope: Scope, actor, data: TeacherData, ip: str | None = None) -> Teacher:
    problems = teacher_data_problems(data)
    if problems:
        raise ValidationError(problems)
    _require_writable(scope, data.school)
    if _id_registered(scope=scope, actor=actor, number=id_parse(data.id_number).number, ip=ip):
        raise ValidationError({"id_number": ID_TAKEN_MESSAGE})
    return _teacher_create(scope=scope, actor=actor, data=data, ip=ip)


@transaction.atomic
def _teacher_create(*, scope: Scope, actor, data: TeacherData, ip: str | None) -> Teacher:
    if _id_taken(data.id_number):
        raise ValidationError({"id_number": ID_TAKEN_MESSAGE})
    teacher = Teacher()
    _apply(teacher, data)
    teacher.save()
    _replace_children(teacher, data)
    audit_record(
        action=Action.TEACHER_CREATE, actor=actor, ip=ip, scope_path=teacher.division_path,
        object_type="teacher", object_id=teacher.pk, detail={"after": teacher_snapshot(teacher)},
    )
    return teacher


def teacher_update(*, scope: Scope, actor, teacher: Teacher, data: TeacherData, ip: str | None = None) -> Teacher:
    """Change a teacher; both the old and the new school must be writable by the actor.
    A new ID number is first checked as a search by number (counted and audited, the
    record kept even when the number is refused as already registered)."""
    problems = teacher_data_problems(data)
    if problems:
        raise ValidationError(problems)
    current = fetch(scope, Teacher, teacher.pk, Can.CHANGE)
    _require_writable(scope, data.school)
    number = id_parse(data.id_number).number
    if number != current.id_number and _id_registered(scope=scope, actor=actor, number=number, other_than=current.pk, ip=ip):
        raise ValidationError({"id_number": ID_TAKEN_MESSAGE})
    return _teacher_update(scope=scope, actor=actor, teacher=current, data=data, ip=ip)


@transaction.atomic
def _teacher_update(*, scope: Scope, actor, teacher: Teacher, data: TeacherData, ip: str | None) -> Teacher:
    teacher = fetch(scope, Teacher, teacher.pk, Can.CHANGE, lock=True)
    _require_writable(scope, data.school)
    if _id_taken(data.id_number, other_than=teacher.pk):
        raise ValidationError({"id_number": ID_TAKEN_MESSAGE})
    before = teacher_snapshot(teacher)
    _apply(teacher, data)
    teacher.save()
    _replace_children(teacher, data)
    after = teacher_snapshot(teacher)
    changed = {key: {"before": before[key], "after": after[key]} for key in after if before[key] != after[key]}
    if changed:
        audit_record(
            action=Action.TEACHER_UPDATE, actor=actor, ip=ip, scope_path=teacher.division_path,
            object_type="teacher", object_id=teacher.pk, detail={"changed": changed},
        )
    return teacher


def teacher_may_reveal_id(*, scope: Scope, teacher: Teacher) -> bool:
    """Administrators of the teacher's jurisdiction, and the teacher themself."""
    return can(scope, Can.REVEAL_ID, teacher)


@transaction.atomic
def teacher_reveal_id(*, scope: Scope, actor, teacher: Teacher, ip: str | None = None) -> str:
    require(scope, Can.REVEAL_ID, teacher)
    audit_record(
        action=Action.ID_REVEAL, actor=actor, ip=ip, scope_path=teacher.division_path,
        object_type="teacher", object_id=teacher.pk,
    )
    return teacher.id_number
