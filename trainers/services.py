"""Writes to the trainer pool: add a trainer, edit one, promote one (the pool's owner only), record
and withdraw unavailable periods, book a trainer on a project session and cancel the booking, and
move bookings with their session when its date changes. Every write asks the access policy, runs
in one transaction with its audit row and, refused, is a Chinese message that writes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from access.errors import Forbidden, NotVisible
from access.policy import Action, can, fetch, visible
from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record
from catalog.constants import ProjectState, Topic
from catalog.models import Project, ProjectSession
from org.constants import Stage
from org.models import Division
from people.constants import Status, Subject
from people.models import Teacher
from trainers.constants import (
    EXPERTISE_MAX,
    GRADE_LABELS,
    NAME_MAX,
    PROMOTION_REASON_MIN,
    TEACHER_SOURCES,
    UNAVAILABLE_MAX_DAYS,
    UNAVAILABLE_MAX_PERIODS,
    Grade,
    Source,
)
from trainers.models import Trainer, TrainerBooking, TrainerLevelChange, TrainerUnavailability

PROFILE_FIELDS = ("name", "source", "organisation", "expertise", "stages", "subjects", "topics")
EDITABLE_FIELDS = (*PROFILE_FIELDS, "active")


# --- the profile ----------------------------------------------------------------------------

def _codes(values: Iterable | None, allowed: Iterable[str], field: str, label: str, problems: dict) -> list[str]:
    if isinstance(values, str):
        values = [values]
    chosen = sorted({str(value) for value in values or ()})
    if any(value not in set(allowed) for value in chosen):
        problems[field] = f"{label}不在可选范围内"
    return chosen


def profile_problems(values: dict[str, Any], teacher: Teacher | None) -> tuple[dict[str, str], dict[str, Any]]:
    """The problems of a trainer's profile, field by field, and the cleaned values. A teacher's
    trainer takes the teacher's name, and the teacher's stage and subjects when none are given."""
    problems: dict[str, str] = {}
    source = str(values.get("source") or "")
    if source not in Source.values:
        problems["source"] = "请选择来源（教研员、名师、学科带头人、高校专家或其他）"
    elif source in TEACHER_SOURCES and teacher is None:
        problems["teacher"] = "名师和学科带头人应关联教师名册中的教师"
    name = teacher.name if teacher is not None else str(values.get("name") or "").strip()
    if not name:
        problems["name"] = "请填写姓名"
    elif len(name) > NAME_MAX:
        problems["name"] = f"姓名不超过{NAME_MAX}个字"
    organisation = str(values.get("organisation") or "").strip()
    if len(organisation) > 100:
        problems["organisation"] = "工作单位不超过100个字"
    expertise = str(values.get("expertise") or "").strip()
    if len(expertise) > EXPERTISE_MAX:
        problems["expertise"] = f"专长简介不超过{EXPERTISE_MAX}个字"
    stages = _codes(values.get("stages"), Stage.values, "stages", "学段", problems)
    subjects = _codes(values.get("subjects"), Subject.values, "subjects", "学科", problems)
    topics = _codes(values.get("topics"), Topic.values, "topics", "专题与能力", problems)
    if teacher is not None:
        stages = stages or [teacher.stage]
        subjects = subjects or sorted(teacher.subject_codes)
    if "stages" not in problems and not stages:
        problems["stages"] = "请至少选择一个学段"
    if "subjects" not in problems and "topics" not in problems and not subjects and not topics:
        problems["topics"] = "请至少选择一个学科或专题"
    clean = {"name": name, "source": source, "organisation": organisation, "expertise": expertise,
             "stages": stages, "subjects": subjects, "topics": topics}
    return problems, clean


def _grade(value) -> int:
    try:
        grade = int(value)
    except (TypeError, ValueError):
        grade = 0
    if grade not in Grade.values:
        raise ValidationError({"grade": "请选择等级（初级、中级、高级或首席培训师）"})
    return grade


def _pool_division(scope: Scope, division_id: int | None) -> Division:
    """The division whose pool a new trainer joins: the one asked for, if the viewer sees it;
    else the administrator's own."""
    if not scope.is_division:
        raise Forbidden("只有县级及以上管理员可以管理培训专家库")
    if division_id:
        return fetch(scope, Division, division_id)
    own = Division.objects.filter(path=scope.path).first()
    if own is None:
        raise Forbidden("账户未绑定区划")
    return own


def trainer_create(*, scope: Scope, actor, division_id: int | None = None, teacher_id: int | None = None,
                   name: str = "", source: str = "", organisation: str = "", expertise: str = "",
                   stages: Iterable[str] = (), subjects: Iterable[str] = (), topics: Iterable[str] = (),
                   grade: int | str = Grade.JUNIOR, ip: str | None = None) -> Trainer:
    """A trainer joins a pool (the administrator's own division's, or one below it they may write).
    A teacher is looked up through the policy and must be in post and within the pool's division;
    entry above 初级 is a grade decision, the pool owner's alone."""
    division = _pool_division(scope, division_id)
    row = Trainer(division=division, created_by=actor if getattr(actor, "pk", None) else None)
    row.fill_derived()
    if not can(scope, Action.CHANGE, row):
        raise Forbidden("只能在本辖区（可写）的专家库中添加培训专家")
    teacher = None
    if teacher_id:
        teacher = fetch(scope, Teacher, teacher_id)
    problems, clean = profile_problems({"name": name, "source": source, "organisation": organisation,
                                        "expertise": expertise, "stages": stages, "subjects": subjects,
                                        "topics": topics}, teacher)
    if teacher is not None:
        if teacher.status != Status.ACTIVE:
            problems["teacher"] = "该教师不在岗，不能入库"
        elif not teacher.division_path.startswith(division.path):
            problems["teacher"] = f"该教师不在{division.name}辖区内"
    try:
        given = _grade(grade)
    except ValidationError as error:
        problems.update({key: messages[0] for key, messages in error.message_dict.items()})
        given = Grade.JUNIOR
    if given > Grade.JUNIOR and not can(scope, Action.DECIDE, row):
        problems["grade"] = "入库等级高于初级的，只能由本级专家库的管理员评定；请以初级入库，再由其晋升"
    if problems:
        raise ValidationError(problems)
    for field, value in clean.items():
        setattr(row, field, value)
    row.teacher, row.grade = teacher, given
    with transaction.atomic():
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            raise ValidationError({"teacher": "该教师已在培训专家库中（每位教师只入一个专家库）"}) from None
        TrainerLevelChange.objects.create(trainer=row, from_grade=0, to_grade=given, reason="入库",
                                          decided_by=row.created_by)
        audit_record(action=Audit.TRAINER_CREATE, actor=actor, ip=ip, scope_path=row.division_path,
                     object_type="trainer", object_id=row.pk,
                     detail={"name": row.name, "division": division.code, "source": row.source, "grade": given,
                             "teacher": teacher.pk if teacher else None})
    return row


def trainer_update(*, scope: Scope, actor, trainer_id: int, changes: dict[str, Any], ip: str | None = None,
                   today: dt.date | None = None) -> Trainer:
    """Edit a trainer's profile or take them out of the pool (出库) and back. The grade changes only
    by promotion; the pool and the teacher link stay as they were made. All or nothing, audited
    with the old and new values."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({"__all__": f"不可修改的字段：{'、'.join(sorted(unknown))}"})
    today = today or timezone.localdate()
    with transaction.atomic():
        row = fetch(scope, Trainer, trainer_id, Action.CHANGE, select_related=("teacher",), lock=True)
        current = {name: getattr(row, name) for name in EDITABLE_FIELDS}
        problems, clean = profile_problems({**current, **{k: v for k, v in changes.items() if k != "active"}},
                                           row.teacher)
        active = current["active"] if "active" not in changes else changes["active"]
        if not isinstance(active, bool):
            problems["active"] = "在库状态应为是或否"
        clean["active"] = active
        if current["active"] and active is False:
            ahead = row.bookings.filter(held_on__gte=today).count()
            if ahead:
                problems["active"] = f"该培训专家还有 {ahead} 场未举行的授课安排，请先取消安排再出库"
        if problems:
            raise ValidationError(problems)
        changed = {name: [current[name], clean[name]] for name in EDITABLE_FIELDS if clean[name] != current[name]}
        if changed:
            for name in changed:
                setattr(row, name, clean[name])
            row.save()
            audit_record(action=Audit.TRAINER_UPDATE, actor=actor, ip=ip, scope_path=row.division_path,
                         object_type="trainer", object_id=row.pk, detail={"changed": changed})
    return row


def trainer_promote(*, scope: Scope, actor, trainer_id: int, grade: int | str, reason: str,
                    ip: str | None = None) -> Trainer:
    """The pool's owner raises a trainer's grade, with a reason: a level-change row and an audit row
    in the same transaction."""
    with transaction.atomic():
        row = fetch(scope, Trainer, trainer_id, Action.DECIDE, lock=True)
        given = _grade(grade)
        reason = (reason or "").strip()
        problems = {}
        if not row.active:
            problems["grade"] = "已出库的培训专家不能晋升"
        elif given <= row.grade:
            problems["grade"] = f"只能晋升到更高的等级（当前为{GRADE_LABELS[row.grade]}）"
        if len(reason) < PROMOTION_REASON_MIN:
            problems["reason"] = f"请填写晋升理由（至少{PROMOTION_REASON_MIN}个字）"
        elif len(reason) > 500:
            problems["reason"] = "晋升理由不超过500字"
        if problems:
            raise ValidationError(problems)
        before = row.grade
        row.grade = given
        row.save(update_fields=["grade", "updated_at"])
        TrainerLevelChange.objects.create(trainer=row, from_grade=before, to_grade=given, reason=reason,
                                          decided_by=actor if getattr(actor, "pk", None) else None)
        audit_record(action=Audit.TRAINER_PROMOTE, actor=actor, ip=ip, scope_path=row.division_path,
                     object_type="trainer", object_id=row.pk,
                     detail={"name": row.name, "from": before, "to": given, "reason": reason[:200]})
    return row


# --- availability -----------------------------------------------------------------------------

def unavailability_add(*, scope: Scope, actor, trainer_id: int, starts_on: dt.date | None, ends_on: dt.date | None,
                       reason: str = "", ip: str | None = None, today: dt.date | None = None) -> TrainerUnavailability:
    """A period in which the trainer takes no booking. Refused: dates missing or out of order, too
    long, wholly past, or a day already booked."""
    today = today or timezone.localdate()
    reason = (reason or "").strip()
    problems: dict[str, str] = {}
    if not isinstance(starts_on, dt.date) or not isinstance(ends_on, dt.date):
        raise ValidationError({"starts_on": "请填写开始和结束日期（YYYY-MM-DD）"})
    if ends_on < starts_on:
        problems["ends_on"] = "结束日期不能早于开始日期"
    elif (ends_on - starts_on).days >= UNAVAILABLE_MAX_DAYS:
        problems["ends_on"] = f"一次登记的不可安排时段不超过{UNAVAILABLE_MAX_DAYS}天"
    elif ends_on < today:
        problems["ends_on"] = "不可安排时段已经过去，无需登记"
    if len(reason) > 100:
        problems["reason"] = "说明不超过100字"
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        trainer = fetch(scope, Trainer, trainer_id, Action.CHANGE, lock=True)
        if trainer.unavailable.count() >= UNAVAILABLE_MAX_PERIODS:
            raise ValidationError({"starts_on": f"不可安排时段最多登记{UNAVAILABLE_MAX_PERIODS}段，请先删除过去的时段"})
        booked = trainer.bookings.filter(held_on__gte=starts_on, held_on__lte=ends_on).order_by("held_on").first()
        if booked is not None:
            raise ValidationError({"starts_on": f"该培训专家在 {booked.held_on:%Y-%m-%d} 已有授课安排，请先取消安排再登记"})
        row = TrainerUnavailability.objects.create(trainer=trainer, starts_on=starts_on, ends_on=ends_on,
                                                   reason=reason, created_by=actor if getattr(actor, "pk", None) else None)
        audit_record(action=Audit.TRAINER_UNAVAILABLE, actor=actor, ip=ip, scope_path=trainer.division_path,
                     object_type="trainer", object_id=trainer.pk,
                     detail={"starts_on": starts_on, "ends_on": ends_on, "reason": reason})
    return row


def unavailability_remove(*, scope: Scope, actor, trainer_id: int, unavailability_id: int,
                          ip: str | None = None) -> None:
    with transaction.atomic():
        trainer = fetch(scope, Trainer, trainer_id, Action.CHANGE, lock=True)
        row = trainer.unavailable.filter(pk=unavailability_id).first() if _is_key(unavailability_id) else None
        if row is None:
            raise NotVisible("该不可安排时段不存在")
        row.delete()
        audit_record(action=Audit.TRAINER_AVAILABLE, actor=actor, ip=ip, scope_path=trainer.division_path,
                     object_type="trainer", object_id=trainer.pk,
                     detail={"starts_on": row.starts_on, "ends_on": row.ends_on})


# --- bookings ---------------------------------------------------------------------------------

def _is_key(value) -> bool:
    """A database id (an id from a path that the database could not even compare matches nothing)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**62


def _day(day: dt.date) -> str:
    return f"{day:%Y-%m-%d}"


def _clash_text(scope: Scope, trainer: Trainer, other: TrainerBooking) -> str:
    """The refusal for a day already taken, naming the other session only to a viewer who sees its project."""
    project = visible(scope, Project).filter(pk=other.project_id).only("title").first()
    where = f"《{project.title}》第{other.session.number}场" if project is not None else "其他项目的场次"
    return f"该培训专家（{trainer.name}）在 {_day(other.held_on)} 已有安排：{where}"


def booking_refusal(scope: Scope, trainer: Trainer, session: ProjectSession) -> str | None:
    """Why `trainer` cannot take `session` (checked again under the database's constraint), or None."""
    if session.project.state == ProjectState.FINISHED:
        return "项目已结束，不能再调整授课安排"
    if not trainer.active:
        return "该培训专家已出库，不能安排"
    off = trainer.unavailable.filter(starts_on__lte=session.held_on, ends_on__gte=session.held_on).first()
    if off is not None:
        because = f"（{off.reason}）" if off.reason else ""
        return f"该培训专家在 {_day(session.held_on)} 不可安排{because}"
    other = trainer.bookings.filter(held_on=session.held_on).select_related("session").first()
    if other is not None:
        if other.session_id == session.pk:
            return "该培训专家已安排在这一场"
        return _clash_text(scope, trainer, other)
    return None


def booking_create(*, scope: Scope, actor, trainer_id: int, session_id: int, ip: str | None = None) -> TrainerBooking:
    """Staff a session with a trainer: an administrator who may change the session's project and
    has the trainer in their writable pool jurisdiction. A trainer takes one session a day; the
    trainer's row lock orders concurrent bookings and the database's unique (trainer, day) holds
    whatever slips past."""
    with transaction.atomic():
        trainer = fetch(scope, Trainer, trainer_id, lock=True)
        session = fetch(scope, ProjectSession, session_id, select_related=("project",))
        booking = TrainerBooking(trainer=trainer, session=session, project=session.project, held_on=session.held_on,
                                 booked_by=actor if getattr(actor, "pk", None) else None)
        if not can(scope, Action.CHANGE, booking):
            raise Forbidden("只有可以管理该项目、且该培训专家在本辖区（可写）专家库中的管理员可以安排")
        refusal = booking_refusal(scope, trainer, session)
        if refusal is not None:
            raise ValidationError({"trainer": refusal})
        try:
            with transaction.atomic():
                booking.save(force_insert=True)
        except IntegrityError:
            other = trainer.bookings.filter(held_on=session.held_on).select_related("session").first()
            raise ValidationError({"trainer": _clash_text(scope, trainer, other) if other else
                                   f"该培训专家在 {_day(session.held_on)} 已有安排"}) from None
        audit_record(action=Audit.TRAINER_BOOK, actor=actor, ip=ip, scope_path=trainer.division_path,
                     object_type="trainer", object_id=trainer.pk,
                     detail={"name": trainer.name, "project": session.project_id, "session": session.pk,
                             "number": session.number, "held_on": session.held_on})
    return booking


def booking_delete(*, scope: Scope, actor, trainer_id: int, session_id: int, ip: str | None = None) -> None:
    """Cancel a trainer's booking on a session (not once the project has finished: what was
    delivered stays on record)."""
    with transaction.atomic():
        rows = visible(scope, TrainerBooking).select_related("trainer", "session", "project")
        booking = (rows.select_for_update(of=("self",)).filter(trainer_id=trainer_id, session_id=session_id).first()
                   if _is_key(trainer_id) and _is_key(session_id) else None)
        if booking is None:
            raise NotVisible("授课安排不存在或不在您的管辖范围内")
        if not can(scope, Action.CHANGE, booking):
            raise Forbidden("只有可以管理该项目、且该培训专家在本辖区（可写）专家库中的管理员可以取消安排")
        if booking.project.state == ProjectState.FINISHED:
            raise ValidationError({"trainer": "项目已结束，不能再调整授课安排"})
        booking.delete()
        audit_record(action=Audit.TRAINER_UNBOOK, actor=actor, ip=ip, scope_path=booking.trainer.division_path,
                     object_type="trainer", object_id=trainer_id,
                     detail={"name": booking.trainer.name, "project": booking.project_id, "session": session_id,
                             "held_on": booking.held_on})


# --- a session moves --------------------------------------------------------------------------

def session_move_refusal(session: ProjectSession) -> str | None:
    """Before a booked session is saved with another date: why its trainers cannot follow it (a
    trainer booked elsewhere or unavailable that day), or None. Rows reached from the session the
    caller holds (its bookings, their trainers')."""
    if session.pk is None:
        return None
    for booking in session.trainer_bookings.exclude(held_on=session.held_on).select_related("trainer"):
        trainer = booking.trainer
        if trainer.bookings.filter(held_on=session.held_on).exclude(session_id=session.pk).exists():
            return f"培训专家{trainer.name}在 {_day(session.held_on)} 已有其他授课安排，请先调整该场次的授课安排"
        if trainer.unavailable.filter(starts_on__lte=session.held_on, ends_on__gte=session.held_on).exists():
            return f"培训专家{trainer.name}在 {_day(session.held_on)} 不可安排，请先调整该场次的授课安排"
    return None


def bookings_follow_session(session: ProjectSession) -> int:
    """After a session was saved: its bookings take its date (in the caller's transaction)."""
    moving = session.trainer_bookings.exclude(held_on=session.held_on)
    trainers = list(moving.values_list("trainer_id", flat=True))
    if not trainers:
        return 0
    moved = moving.update(held_on=session.held_on)
    audit_record(action=Audit.TRAINER_RESCHEDULE, scope_path=session.project.division_path, object_type="session",
                 object_id=session.pk, detail={"held_on": session.held_on, "trainers": trainers})
    return moved
