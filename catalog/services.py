"""Writes of the project library and enrolment.

Every change to who holds a seat happens under a lock on the project row
(`select_for_update`), together with the `seats_taken` counter that a CHECK
constraint bounds by `seats`: concurrent requests for the last seats queue on
the lock, and the database refuses any oversubscription that slipped past.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.actions import Action
from audit.services import audit_record
from catalog.constants import (
    NEW_TEACHER_YEARS,
    SEAT_HOLDING,
    EnrolmentState,
    Level,
    Mode,
    PlanState,
    ProjectCategory,
    ProjectState,
    Topic,
)
from catalog.models import Enrolment, Project
from credits.constants import Category
from org.models import Division, School
from org.scope import Scope
from people.models import Teacher

LEVEL_OF_DIVISION = {"province": Level.PROVINCE, "city": Level.CITY, "county": Level.COUNTY}
AUDIENCE_KEYS = {"stages", "subjects", "titles", "honours", "divisions", "new_teachers"}


# --- the library --------------------------------------------------------------------------


EDITABLE_FIELDS = ("title", "outline", "category", "topics", "mode", "institution", "audience", "self_enrolment",
                   "needs_approval", "hours", "hour_category", "starts_on", "ends_on", "budget", "is_high_end",
                   "min_attendance_percent", "has_assessment")
FLAGS = ("self_enrolment", "needs_approval", "is_high_end", "has_assessment")
OUTLINE_MAX = 5000


def project_problems(values: dict) -> tuple[dict[str, str], dict]:
    """Check a project's fields; returns (problems by field, the cleaned values). One set of
    rules for creating and editing."""
    problems: dict[str, str] = {}
    clean = dict(values)
    title = str(values.get("title") or "")
    if not title.strip() or len(title) > 200:
        problems["title"] = "项目名称不能为空且不超过200字"
    else:
        clean["title"] = title.strip()
    for name, choices in (("level", Level), ("category", ProjectCategory), ("mode", Mode), ("hour_category", Category)):
        if values.get(name) not in choices.values:
            problems[name] = f"未知的取值：{values.get(name)}"
    level, organiser, school = values.get("level"), values.get("organiser"), values.get("organiser_school")
    if level == Level.SCHOOL:
        if school is None:
            problems["organiser_school"] = "校级项目须指定学校"
        elif organiser is not None and school.division_id != organiser.pk:
            problems["organiser_school"] = "学校不在主办区划内"
    elif level in Level.values and organiser is not None and LEVEL_OF_DIVISION.get(organiser.level) != level:
        problems["level"] = f"{Level(level).label}项目应由{Level(level).label}区划主办"
    unknown_topics = set(values.get("topics") or []) - set(Topic.values)
    if unknown_topics:
        problems["topics"] = f"未知的专题：{'、'.join(sorted(unknown_topics))}"
    clean["topics"] = sorted(set(values.get("topics") or []))
    starts_on, ends_on = values.get("starts_on"), values.get("ends_on")
    if not isinstance(starts_on, dt.date) or not isinstance(ends_on, dt.date):
        problems["starts_on"] = "请填写开始和结束日期"
    elif ends_on < starts_on:
        problems["ends_on"] = "结束日期早于开始日期"
    try:
        seats = int(values.get("seats"))  # type: ignore[arg-type]
        if not 1 <= seats <= 100_000:
            raise ValueError
        clean["seats"] = seats
    except (TypeError, ValueError):
        problems["seats"] = "名额应为 1 到 100000 的整数"
    try:
        hours = Decimal(str(values.get("hours"))).quantize(Decimal("0.1"))
        budget = Decimal(str(values.get("budget", 0))).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        problems["hours"] = "学时和预算应为数字"
    else:
        if not 0 < hours <= 1000:
            problems["hours"] = "学时应大于0且不超过1000"
        if budget < 0:
            problems["budget"] = "预算不能为负"
        clean["hours"], clean["budget"] = hours, budget
    try:
        attendance = int(values.get("min_attendance_percent", 80))
        if not 0 <= attendance <= 100:
            raise ValueError
        clean["min_attendance_percent"] = attendance
    except (TypeError, ValueError):
        problems["min_attendance_percent"] = "最低出勤率应为 0 到 100 的整数"
    outline = values.get("outline", "")
    if not isinstance(outline, str) or len(outline) > OUTLINE_MAX:
        problems["outline"] = f"内容简介应为不超过{OUTLINE_MAX}字的文字"
    for name in FLAGS:
        if name in values and not isinstance(values[name], bool):
            problems[name] = "应为是或否"
    audience = values.get("audience") or {}
    if not isinstance(audience, dict):
        problems["audience"] = "培训对象条件格式有误"
    elif set(audience) - AUDIENCE_KEYS:
        problems["audience"] = f"未知的对象条件：{'、'.join(sorted(set(audience) - AUDIENCE_KEYS))}"
    elif any(not isinstance(value, list) or not all(isinstance(v, str) and v for v in value)
             for key, value in audience.items() if key != "new_teachers") \
            or not isinstance(audience.get("new_teachers", False), bool):
        # A string where a list belongs would match by substring ("primary" contains "ma").
        problems["audience"] = "培训对象条件应为取值列表（仅限新教师为是或否）"
    clean["audience"] = dict(audience) if isinstance(audience, dict) else {}
    return problems, clean


def project_create(*, scope: Scope, actor, code: str, title: str, level: str, category: str, mode: str,
                   organiser: Division, starts_on: dt.date, ends_on: dt.date, seats, hours, hour_category: str,
                   organiser_school: School | None = None, outline: str = "", topics: list | None = None,
                   audience: dict | None = None, institution=None, self_enrolment: bool = False,
                   needs_approval: bool = True, budget=0, is_high_end: bool = False, min_attendance_percent: int = 80,
                   has_assessment: bool = False) -> Project:
    """Create a project in the library (a draft), refusing bad input with Chinese messages."""
    problems, clean = project_problems({
        "title": title, "level": level, "category": category, "mode": mode, "organiser": organiser,
        "organiser_school": organiser_school, "topics": topics, "starts_on": starts_on, "ends_on": ends_on,
        "seats": seats, "hours": hours, "budget": budget, "hour_category": hour_category, "audience": audience,
        "min_attendance_percent": min_attendance_percent, "outline": outline, "self_enrolment": self_enrolment,
        "needs_approval": needs_approval, "is_high_end": is_high_end, "has_assessment": has_assessment,
    })
    if not (code or "").strip() or len(code) > 40:
        problems["code"] = "项目编号不能为空且不超过40字"
    path = organiser_school.division_path if organiser_school is not None else organiser.path
    if not scope.can_write_path(path) or (scope.school_id is not None and (organiser_school is None
                                                                          or organiser_school.pk != scope.school_id)):
        raise PermissionDenied("不能为本辖区以外的单位创建项目")
    if problems:
        raise ValidationError(problems)
    return Project.objects.create(
        code=code.strip(), title=clean["title"], outline=outline, level=level, category=category, topics=clean["topics"],
        mode=mode, organiser=organiser, organiser_school=organiser_school, division_path=path, institution=institution,
        audience=clean["audience"], self_enrolment=self_enrolment, needs_approval=needs_approval, seats=clean["seats"],
        hours=clean["hours"], hour_category=hour_category, starts_on=starts_on, ends_on=ends_on, budget=clean["budget"],
        is_high_end=is_high_end, min_attendance_percent=clean["min_attendance_percent"], has_assessment=has_assessment,
        created_by=actor if actor is not None and actor.pk else None,
    )


def project_update(*, scope: Scope, actor, project_id: int, changes: dict, ip: str | None = None) -> tuple[Project, dict]:
    """Edit a project the scope organises, with the rules of `project_problems`. Level,
    organiser and code never change; seats go through `project_seats_change`. Once anyone
    has completed, hours and their category are fixed (the ledger already holds them); dates
    must keep every session; a finished project is closed; a project in a submitted plan is
    frozen and one in an approved plan keeps its category. All or nothing, under a lock on
    the project row, audited in the same transaction. Returns the project and the fields
    changed as {field: [old, new]}."""
    unknown = set(changes) - {*EDITABLE_FIELDS, "seats"}
    if unknown:
        raise ValidationError({"__all__": f"不可修改的字段：{'、'.join(sorted(unknown))}"})
    with transaction.atomic():
        project = Project.objects.select_for_update().filter(pk=project_id).first()
        if project is None or not scope.can_write_path(project.division_path) or (
                scope.school_id is not None and project.organiser_school_id != scope.school_id):
            raise PermissionDenied("项目不存在或不由本辖区主办")
        if project.state == ProjectState.FINISHED:
            raise ValidationError({"state": "项目已结束，不能修改"})
        current = {name: getattr(project, name) for name in EDITABLE_FIELDS}
        values = {**current, **changes, "level": project.level, "organiser": project.organiser,
                  "organiser_school": project.organiser_school, "seats": changes.get("seats", project.seats)}
        problems, clean = project_problems(values)
        changed = {name: [current[name], clean[name]] for name in EDITABLE_FIELDS if clean[name] != current[name]}
        if "seats" not in problems and clean["seats"] != project.seats:
            changed["seats"] = [project.seats, clean["seats"]]
            if clean["seats"] < project.seats_taken:
                problems["seats"] = f"名额不能少于已报名人数（{project.seats_taken}）"
        completed = Enrolment.objects.filter(project=project, state=EnrolmentState.COMPLETED).exists()
        if completed and ({"hours", "hour_category"} & set(changed)):
            problems["hours"] = "已有学员结业、学时已记入账本，不能再修改学时或学时类别"
        if completed and ({"min_attendance_percent", "has_assessment"} & set(changed)):
            # Everyone is judged by the same completion rules.
            problems["min_attendance_percent"] = "已有学员结业，不能再修改结业条件（出勤率、考核）"
        if {"starts_on", "ends_on"} & set(changed) and "starts_on" not in problems and "ends_on" not in problems:
            from catalog.models import ProjectSession

            outside = list(ProjectSession.objects.filter(project=project).exclude(
                held_on__gte=clean["starts_on"], held_on__lte=clean["ends_on"]).values_list("number", flat=True))
            if outside:
                problems["starts_on"] = f"第{'、'.join(str(n) for n in outside)}场不在新的日期之内，请先调整场次"
        plan_state = project.plan.state if project.plan_id else None  # type: ignore[union-attr]
        if changed and plan_state == PlanState.SUBMITTED:
            problems["plan"] = "所属年度计划正在审核，暂不能修改"
        elif "category" in changed and plan_state == PlanState.APPROVED:
            problems["category"] = "所属年度计划已批准，不能修改类别"
        if problems:
            raise ValidationError(problems)
        fields = [name for name in changed if name != "seats"]
        for name in fields:
            setattr(project, name, clean[name])
        if fields:
            project.save(update_fields=fields)
        if "seats" in changed:
            project = project_seats_change(project_id=project.pk, seats=clean["seats"], scope=scope)
        if changed:
            audit_record(action=Action.PROJECT_UPDATE, actor=actor, ip=ip, scope_path=project.division_path,
                         object_type="project", object_id=project.pk,
                         detail={name: [str(old), str(new)] for name, (old, new) in changed.items()})
    return project, changed


def project_open(*, project: Project) -> Project:
    """Publish a draft for enrolment; a project in an annual plan waits for the plan's approval."""
    plan_state = Project.objects.filter(pk=project.pk).values_list("plan__state", flat=True).first()
    if plan_state is not None and plan_state != PlanState.APPROVED:
        raise ValidationError({"plan": f"所属年度计划尚未批准（{PlanState(plan_state).label}），暂不能发布"})
    Project.objects.filter(pk=project.pk, state=ProjectState.DRAFT).update(state=ProjectState.OPEN)
    project.refresh_from_db()
    return project


# --- who may enrol --------------------------------------------------------------------------


@dataclass(frozen=True)
class TeacherFacts:
    """What an audience rule looks at, read once per teacher (so a list of projects can be
    judged without a query each)."""

    stage: str
    subjects: frozenset[str]
    title: str
    honours: frozenset[str]  # unexpired
    division_path: str
    hire_date: dt.date
    active: bool
    school_id: int | None = None

    @classmethod
    def of(cls, teacher: Teacher, today: dt.date) -> TeacherFacts:
        return cls(stage=teacher.stage, subjects=frozenset(teacher.subjects.values_list("subject", flat=True)),
                   title=teacher.title, honours=frozenset(teacher.honours.exclude(expires_on__lt=today)
                                                          .values_list("title", flat=True)),
                   division_path=teacher.division_path, hire_date=teacher.hire_date, active=teacher.status == "active",
                   school_id=teacher.school_id)


def project_home(project: Project) -> tuple[str, int | None]:
    """Where a project's teachers work when its audience names no divisions: the organiser's
    jurisdiction (a county trains its own teachers), or for a school's project that school."""
    return project.division_path, project.organiser_school_id


def audience_refusals(rule: dict, facts: TeacherFacts, *, today: dt.date, division_paths: dict[str, str],
                      home: tuple[str, int | None] | None = None) -> list[str]:
    """Why a teacher with these facts is outside the rule (empty: eligible)."""
    reasons = []
    if home is not None and not rule.get("divisions"):
        path, school_id = home
        if not facts.division_path.startswith(path):
            reasons.append("本项目面向主办单位辖区内的教师")
        elif school_id is not None and facts.school_id != school_id:
            reasons.append("本项目为主办学校的校本研修")
    if rule.get("stages") and facts.stage not in rule["stages"]:
        reasons.append(f"学段不符（本项目面向：{'、'.join(rule['stages'])}）")
    if rule.get("subjects") and not facts.subjects & set(rule["subjects"]):
        reasons.append("任教学科不在本项目培训对象之内")
    if rule.get("titles") and facts.title not in rule["titles"]:
        reasons.append("职称不在本项目培训对象之内")
    if rule.get("honours") and not facts.honours & set(rule["honours"]):
        reasons.append("须具有相应荣誉称号（如骨干教师、名师）")
    if rule.get("divisions"):
        paths = [division_paths[code] for code in rule["divisions"] if code in division_paths]
        if not any(facts.division_path.startswith(path) for path in paths):
            reasons.append("所在地区不在本项目范围内")
    if rule.get("new_teachers") and facts.hire_date < today.replace(year=today.year - NEW_TEACHER_YEARS):
        reasons.append(f"本项目面向入职 {NEW_TEACHER_YEARS} 年内的新教师")
    if not facts.active:
        reasons.append("教师不在岗")
    return reasons


def audience_division_paths(rules) -> dict[str, str]:
    codes = {code for rule in rules for code in (rule or {}).get("divisions") or []}
    return dict(Division.objects.filter(code__in=codes).values_list("code", "path")) if codes else {}


def enrolment_refusals(*, project: Project, teacher: Teacher, today: dt.date | None = None) -> list[str]:
    """Why the teacher is outside the project's audience (empty: eligible)."""
    today = today or timezone.localdate()
    rule = project.audience or {}
    return audience_refusals(rule, TeacherFacts.of(teacher, today), today=today,
                             division_paths=audience_division_paths([rule]), home=project_home(project))


# --- seats ----------------------------------------------------------------------------------


def _locked(project_id: int) -> Project:
    project = Project.objects.select_for_update().filter(pk=project_id).first()
    if project is None:
        raise ValidationError({"project": "项目不存在"})
    return project


def _take_seat(project: Project) -> None:
    Project.objects.filter(pk=project.pk).update(seats_taken=F("seats_taken") + 1)
    project.seats_taken += 1


def _promote_waiting(project: Project) -> int:
    """Give free seats to the waiting list in order; returns how many moved up."""
    promoted = 0
    while project.seats_taken < project.seats:
        waiting = (Enrolment.objects.filter(project=project, state=EnrolmentState.WAITING)
                   .order_by("waiting_since", "id").first())
        if waiting is None:
            break
        waiting.state = EnrolmentState.PENDING if project.needs_approval else EnrolmentState.ENROLLED
        waiting.waiting_since = None
        waiting.save(update_fields=["state", "waiting_since"])
        _take_seat(project)
        promoted += 1
    return promoted


def enrol(*, project_id: int, teacher: Teacher, actor=None, nominated: bool = False,
          today: dt.date | None = None) -> Enrolment:
    """Enrol a teacher (self-enrolment, or nomination by their school/county): a seat if one
    is free, else the waiting list. Idempotent for an active enrolment."""
    # Eligibility first, outside the lock: the seat queue only waits for seat-keeping.
    candidate = Project.objects.filter(pk=project_id).first()
    if candidate is None:
        raise ValidationError({"project": "项目不存在"})
    reasons = enrolment_refusals(project=candidate, teacher=teacher, today=today)
    if reasons:
        raise ValidationError({"teacher": reasons})
    with transaction.atomic():
        project = _locked(project_id)
        if project.state != ProjectState.OPEN:
            raise ValidationError({"project": "项目未在报名中"})
        if not nominated and not project.self_enrolment:
            raise ValidationError({"project": "本项目不接受自主报名，请由学校或教育局推荐"})
        if project.audience != candidate.audience:  # changed meanwhile: judge again under the lock
            reasons = enrolment_refusals(project=project, teacher=teacher, today=today)
            if reasons:
                raise ValidationError({"teacher": reasons})
        existing = Enrolment.objects.filter(project=project, teacher=teacher).first()
        if existing is not None and existing.state in (*SEAT_HOLDING, EnrolmentState.WAITING):
            return existing
        if existing is not None and existing.state == EnrolmentState.COMPLETED:
            raise ValidationError({"teacher": ["已结业，无需再次报名"]})
        enrolment = existing or Enrolment(project=project, teacher=teacher)
        enrolment.nominated_by = actor if nominated else None
        if project.seats_taken < project.seats:
            enrolment.state = EnrolmentState.PENDING if project.needs_approval else EnrolmentState.ENROLLED
            enrolment.waiting_since = None
            _take_seat(project)
        else:
            enrolment.state, enrolment.waiting_since = EnrolmentState.WAITING, timezone.now()
        enrolment.save()
    return enrolment


def enrolment_withdraw(*, enrolment_id: int, teacher: Teacher | None = None, scope: Scope | None = None) -> Enrolment:
    """Withdraw (by the teacher, or an administrator of their jurisdiction); a freed seat
    goes to the first on the waiting list."""
    with transaction.atomic():
        enrolment = Enrolment.objects.select_related("teacher").filter(pk=enrolment_id).first()
        if enrolment is None or not _may_act(enrolment, teacher=teacher, scope=scope):
            raise PermissionDenied("报名不存在或不在本辖区")
        project = _locked(enrolment.project_id)
        enrolment.refresh_from_db()
        if enrolment.state not in (*SEAT_HOLDING, EnrolmentState.WAITING):
            raise ValidationError({"state": "该报名已结束，无需退出"})
        held = enrolment.state in SEAT_HOLDING
        enrolment.state, enrolment.waiting_since, enrolment.decided_at = EnrolmentState.WITHDRAWN, None, timezone.now()
        enrolment.save(update_fields=["state", "waiting_since", "decided_at"])
        if held:
            Project.objects.filter(pk=project.pk).update(seats_taken=F("seats_taken") - 1)
            project.seats_taken -= 1
            _promote_waiting(project)
    return enrolment


def enrolment_decide(*, enrolment_id: int, approve: bool, scope: Scope) -> Enrolment:
    """Approve or reject a pending enrolment; a rejection frees its seat for the waiting list."""
    with transaction.atomic():
        enrolment = Enrolment.objects.select_related("teacher", "project").filter(pk=enrolment_id).first()
        if enrolment is None or not scope.can_write_path(enrolment.project.division_path):
            raise PermissionDenied("报名不存在或不在本辖区")
        project = _locked(enrolment.project_id)
        enrolment.refresh_from_db()
        if enrolment.state != EnrolmentState.PENDING:
            raise ValidationError({"state": "只有待审核的报名可以审核"})
        enrolment.state = EnrolmentState.ENROLLED if approve else EnrolmentState.REJECTED
        enrolment.decided_at = timezone.now()
        enrolment.save(update_fields=["state", "decided_at"])
        if not approve:
            Project.objects.filter(pk=project.pk).update(seats_taken=F("seats_taken") - 1)
            project.seats_taken -= 1
            _promote_waiting(project)
    return enrolment


def project_seats_change(*, project_id: int, seats: int, scope: Scope) -> Project:
    """Change the number of seats: never below those already held; more seats promote the waiting list."""
    with transaction.atomic():
        project = _locked(project_id)
        if not scope.can_write_path(project.division_path):
            raise PermissionDenied("项目不在本辖区")
        if not isinstance(seats, int) or seats < 1:
            raise ValidationError({"seats": "名额应为正整数"})
        if seats < project.seats_taken:
            raise ValidationError({"seats": f"名额不能少于已报名人数（{project.seats_taken}）"})
        Project.objects.filter(pk=project.pk).update(seats=seats)
        project.seats = seats
        _promote_waiting(project)
    return project


def _may_act(enrolment: Enrolment, *, teacher: Teacher | None, scope: Scope | None) -> bool:
    if teacher is not None:
        return enrolment.teacher_id == teacher.pk
    return scope is not None and scope.can_write_row(path=enrolment.teacher.division_path, school_id=enrolment.teacher.school_id)
