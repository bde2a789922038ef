"""Writes of the project library and enrolment.

Every change to who holds a seat happens under a lock on the project row
(`select_for_update`), together with the `seats_taken` counter that a CHECK
constraint bounds by `seats`: concurrent requests for the last seats queue on
the lock, and the database refuses any oversubscription that slipped past.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from access.errors import Forbidden, NotVisible
from access.policy import TEACHER_CHANGE, can, fetch, require
from access.policy import Action as Can
from access.scope import ROLE_OF_LEVEL, Scope
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
from institutions import bases, gate
from notifications import events as notice_events
from org.constants import STAGE_LABELS
from org.models import Division, School
from people.models import Teacher
from quotas.progress import project_completions_resync

LEVEL_OF_DIVISION = {"province": Level.PROVINCE, "city": Level.CITY, "county": Level.COUNTY}
AUDIENCE_KEYS = {"stages", "subjects", "titles", "honours", "divisions", "new_teachers"}


# --- the library --------------------------------------------------------------------------


EDITABLE_FIELDS = ("title", "outline", "category", "topics", "mode", "institution", "base", "audience", "self_enrolment",
                   "needs_approval", "hours", "hour_category", "starts_on", "ends_on", "budget", "is_high_end",
                   "min_attendance_percent", "has_assessment")
# Published projects (enrolling or running) are held to the 准入 gate when these change.
GATED_STATES = (ProjectState.OPEN, ProjectState.CLOSED)
GATE_FIELDS = {"institution", "category", "mode", "starts_on", "ends_on"}
# A 跟岗 project's booking at its base is checked again when these change.
BASE_FIELDS = {"base", "mode", "seats", "starts_on", "ends_on", "audience"}
FLAGS = ("self_enrolment", "needs_approval", "is_high_end", "has_assessment")
OUTLINE_MAX = 5000
CODE_ATTEMPTS = 5


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
    if "audience" not in problems and clean["audience"].get("divisions") and organiser is not None \
            and level in Level.values:
        serving = serving_scope(path=school.division_path if school is not None else organiser.path,
                                school_id=school.pk if school is not None else None, level=level)
        outside = audience_outside(serving, clean["audience"]["divisions"])
        if outside:
            problems["audience"] = (f"培训对象地区 {'、'.join(outside)} 不在主办单位辖区内"
                                    if level != Level.SCHOOL else "校本研修面向本校教师，不能指定地区")
    return problems, clean


def serving_scope(*, path: str, school_id: int | None, level: str, direct_paths: tuple[str, ...] | None = None) -> Scope:
    """The jurisdiction a project serves, as its organiser's administrators hold it: the
    organising school, or the organising division (a city's 省直管县 only read, so not served).
    Its teachers are the only ones who may enrol, be nominated and complete."""
    if school_id is not None:
        return Scope(path=path, school_id=school_id, is_leaf=True, role="school_admin")
    read_only: tuple[str, ...] = ()
    if level == Level.CITY:
        read_only = tuple(p for p in (direct_county_paths() if direct_paths is None else direct_paths)
                          if p.startswith(path))
    return Scope(path=path, read_only_paths=read_only, role=ROLE_OF_LEVEL.get(level, ""))


def project_serving_scope(project: Project, *, direct_paths: tuple[str, ...] | None = None) -> Scope:
    return serving_scope(path=project.division_path, school_id=project.organiser_school_id, level=project.level,
                         direct_paths=direct_paths)


def direct_county_paths() -> tuple[str, ...]:
    """The paths of the 省直管县 (ten in Henan): read once per request that needs them."""
    return tuple(Division.objects.filter(is_direct_county=True).values_list("path", flat=True))


def audience_outside(serving: Scope, codes: list[str]) -> list[str]:
    """Audience division codes the project may not serve (unknown, or outside its jurisdiction)."""
    from access.policy import DIVISION

    divisions = {d.code: d for d in Division.objects.filter(code__in=codes)}
    return [code for code in codes
            if code not in divisions or not DIVISION[Can.CHANGE].test(serving, divisions[code])]


def project_create(*, scope: Scope, actor, code: str, title: str, level: str, category: str, mode: str,
                   organiser: Division, starts_on: dt.date, ends_on: dt.date, seats, hours, hour_category: str,
                   organiser_school: School | None = None, outline: str = "", topics: list | None = None,
                   audience: dict | None = None, institution=None, base=None, self_enrolment: bool = False,
                   needs_approval: bool = True, budget=0, is_high_end: bool = False, min_attendance_percent: int = 80,
                   has_assessment: bool = False, ip: str | None = None, today: dt.date | None = None) -> Project:
    """Create a project in the library (a draft), refusing bad input with Chinese messages.
    Codes are the organiser's own: another unit's codes neither clash nor show. Without a code
    one is generated (`next_project_code`). `today`: refuse a start before it (the page and the
    API pass it; loaders of past projects do not)."""
    problems, clean = project_problems({
        "title": title, "level": level, "category": category, "mode": mode, "organiser": organiser,
        "organiser_school": organiser_school, "topics": topics, "starts_on": starts_on, "ends_on": ends_on,
        "seats": seats, "hours": hours, "budget": budget, "hour_category": hour_category, "audience": audience,
        "min_attendance_percent": min_attendance_percent, "outline": outline, "self_enrolment": self_enrolment,
        "needs_approval": needs_approval, "is_high_end": is_high_end, "has_assessment": has_assessment,
    })
    code = (code or "").strip()
    if len(code) > 40:
        problems["code"] = "项目编号不超过40字"
    if today is not None and isinstance(starts_on, dt.date) and starts_on < today and "starts_on" not in problems:
        problems["starts_on"] = "开始日期不能早于今天"
    path = organiser_school.division_path if organiser_school is not None else organiser.path
    project = Project(
        code=code, title=clean.get("title", title), outline=outline, level=level, category=category,
        topics=clean["topics"], mode=mode, organiser=organiser, organiser_school=organiser_school, division_path=path,
        institution=institution, base=base, audience=clean["audience"], self_enrolment=self_enrolment,
        needs_approval=needs_approval, seats=clean.get("seats", 1), hours=clean.get("hours", 1),
        hour_category=hour_category, starts_on=starts_on, ends_on=ends_on, budget=clean.get("budget", 0),
        is_high_end=is_high_end, min_attendance_percent=clean.get("min_attendance_percent", 80),
        has_assessment=has_assessment, created_by=actor if actor is not None and actor.pk else None,
    )
    if not can(scope, Can.CHANGE, project):
        raise Forbidden("不能为本辖区以外的单位创建项目")
    if problems:
        raise ValidationError(problems)
    for attempt in range(CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                if base is not None and (booked := bases.booking_problems(project, bases.base_locked(base.pk))):
                    raise ValidationError(booked)
                if not code:
                    project.code = next_project_code(scope=scope, organiser=organiser, organiser_school=organiser_school,
                                                     year=starts_on.year)
                project.save(force_insert=True)
                audit_record(action=Action.PROJECT_CREATE, actor=actor, ip=ip, scope_path=path, object_type="project",
                             object_id=project.pk, detail={"code": project.code, "title": project.title})
        except IntegrityError:
            # A typed code is the user's to change; a generated one lost a race: take the next.
            if code or attempt == CODE_ATTEMPTS - 1:
                raise ValidationError({"code": "本单位已有该项目编号，请换一个"}) from None
            project.pk, project._state.adding = None, True
        else:
            return project
    raise AssertionError("unreachable")


def next_project_code(*, scope: Scope, organiser: Division, organiser_school: School | None, year: int) -> str:
    """The organiser's next readable code, <division or school code>-<year>-<sequence>, e.g.
    410222-2027-003. Takes a lock on the organiser's division row, so concurrent creates of one
    organiser queue here; the unique constraint and the caller's retry back it up."""
    Division.objects.select_for_update().filter(pk=organiser.pk).values_list("pk").first()
    prefix = f"{organiser_school.code if organiser_school is not None else organiser.code}-{year}-"
    owned = Project.objects.visible_to(scope).filter(code__startswith=prefix)
    owned = owned.filter(organiser_school=organiser_school) if organiser_school is not None else \
        owned.filter(organiser=organiser, organiser_school__isnull=True)
    numbers = [int(tail) for tail in (c[len(prefix):] for c in owned.values_list("code", flat=True)) if tail.isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


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
        project = fetch(scope, Project, project_id, Can.CHANGE, lock=True)
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
        completed = project.enrolments.filter(state=EnrolmentState.COMPLETED).exists()
        if completed and ({"hours", "hour_category"} & set(changed)):
            problems["hours"] = "已有学员结业、学时已记入账本，不能再修改学时或学时类别"
        if completed and ({"min_attendance_percent", "has_assessment"} & set(changed)):
            # Everyone is judged by the same completion rules.
            problems["min_attendance_percent"] = "已有学员结业，不能再修改结业条件（出勤率、考核）"
        if {"starts_on", "ends_on"} & set(changed) and "starts_on" not in problems and "ends_on" not in problems:
            outside = list(project.sessions.exclude(
                held_on__gte=clean["starts_on"], held_on__lte=clean["ends_on"]).values_list("number", flat=True))
            if outside:
                problems["starts_on"] = f"第{'、'.join(str(n) for n in outside)}场不在新的日期之内，请先调整场次"
        if project.state in GATED_STATES and GATE_FIELDS & set(changed) and not problems:
            # A published project stays within its institution's accreditation.
            proposed = copy.copy(project)
            for name in GATE_FIELDS & set(changed):
                setattr(proposed, name, clean[name])
            if reason := gate.refusal(proposed, today=timezone.localdate(), ahead=True):
                problems["institution"] = f"项目已发布，修改后{reason}"
        base = clean["base"]
        if base is not None and BASE_FIELDS & set(changed) and not problems:
            proposed = copy.copy(project)
            for name in BASE_FIELDS & set(changed):
                setattr(proposed, name, clean[name])
            problems.update(bases.booking_problems(proposed, bases.base_locked(base.pk)))
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
        if {"ends_on", "is_high_end"} & set(fields):  # who counts for the high-end task, in which cycle
            project_completions_resync(project)
        if "seats" in changed:
            project = project_seats_change(scope=scope, project_id=project.pk, seats=clean["seats"])
        if changed:
            audit_record(action=Action.PROJECT_UPDATE, actor=actor, ip=ip, scope_path=project.division_path,
                         object_type="project", object_id=project.pk,
                         detail={name: [str(old), str(new)] for name, (old, new) in changed.items()})
    return project, changed


def project_open(*, scope: Scope, actor, project_id: int, ip: str | None = None) -> Project:
    """Publish a draft for enrolment (its organiser only); a project in an annual plan waits
    for the plan's approval. Publishing again changes nothing."""
    with transaction.atomic():
        project = fetch(scope, Project, project_id, Can.CHANGE, lock=True)
        plan_state = project.plan.state if project.plan_id else None  # type: ignore[union-attr]
        if plan_state is not None and plan_state != PlanState.APPROVED:
            raise ValidationError({"plan": f"所属年度计划尚未批准（{PlanState(plan_state).label}），暂不能发布"})
        if project.state == ProjectState.DRAFT:
            if project.mode == Mode.SHADOWING and project.base_id is None:
                raise ValidationError({"base": "跟岗研修项目须先选择培训基地"})
            if reason := gate.refusal(project, today=timezone.localdate(), ahead=True):
                raise ValidationError({"institution": f"不能发布：{reason}"})
            project.state = ProjectState.OPEN
            project.save(update_fields=["state"])
            audit_record(action=Action.PROJECT_PUBLISH, actor=actor, ip=ip, scope_path=project.division_path,
                         object_type="project", object_id=project.pk)
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
    def of(cls, teacher: Teacher, today: dt.date, *, rule: dict | None = None) -> TeacherFacts:
        """`rule`: only what this audience rule looks at is read (a rule naming no subjects or
        honours needs neither query); without one, everything."""
        prefetched = getattr(teacher, "_prefetched_objects_cache", {})
        subjects: frozenset[str] = frozenset()
        honours: frozenset[str] = frozenset()
        if rule is None or rule.get("subjects"):
            subjects = (frozenset(row.subject for row in teacher.subjects.all()) if "subjects" in prefetched
                        else frozenset(teacher.subjects.values_list("subject", flat=True)))
        if rule is None or rule.get("honours"):
            honours = (frozenset(row.title for row in teacher.honours.all()
                                 if row.expires_on is None or row.expires_on >= today) if "honours" in prefetched
                       else frozenset(teacher.honours.exclude(expires_on__lt=today).values_list("title", flat=True)))
        return cls(stage=teacher.stage, subjects=subjects, title=teacher.title, honours=honours,
                   division_path=teacher.division_path, hire_date=teacher.hire_date, active=teacher.status == "active",
                   school_id=teacher.school_id)


def outside_served(serving: Scope, facts) -> str:
    """Why a teacher (or their facts) is outside the jurisdiction a project serves, or "".
    Holds at enrolment, nomination and completion: a county's project never reaches another
    county's teacher, whatever its audience names."""
    if TEACHER_CHANGE.test(serving, facts):
        return ""
    return "本项目为主办学校的校本研修" if serving.school_id is not None else "本项目面向主办单位辖区内的教师"


def audience_refusals(rule: dict, facts: TeacherFacts, *, today: dt.date, division_paths: dict[str, str],
                      serving: Scope | None = None) -> list[str]:
    """Why a teacher with these facts is outside the rule (empty: eligible)."""
    reasons = []
    if serving is not None and (reason := outside_served(serving, facts)):
        reasons.append(reason)
    if rule.get("stages") and facts.stage not in rule["stages"]:
        reasons.append(f"学段不符（本项目面向：{'、'.join(STAGE_LABELS.get(s, s) for s in rule['stages'])}）")
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
    return audience_refusals(rule, TeacherFacts.of(teacher, today, rule=rule), today=today,
                             division_paths=audience_division_paths([rule]), serving=project_serving_scope(project))


# --- seats ----------------------------------------------------------------------------------


# Seat counts move only on a project row locked by the caller (select_for_update); the CHECK
# constraint on seats_taken refuses any oversubscription that slipped past.
def _take_seat(project: Project) -> None:
    project.seats_taken += 1
    project.save(update_fields=["seats_taken"])


def _free_seat(project: Project) -> None:
    project.seats_taken -= 1
    project.save(update_fields=["seats_taken"])


def _promote_waiting(project: Project) -> int:
    """Give free seats to the waiting list in order; returns how many moved up (each is told)."""
    promoted = []
    while project.seats_taken < project.seats:
        waiting = project.enrolments.filter(state=EnrolmentState.WAITING).order_by("waiting_since", "id").first()
        if waiting is None:
            break
        waiting.state = EnrolmentState.PENDING if project.needs_approval else EnrolmentState.ENROLLED
        waiting.waiting_since = None
        waiting.save(update_fields=["state", "waiting_since"])
        _take_seat(project)
        promoted.append(waiting)
    if promoted:
        notice_events.enrolments_promoted(promoted, project)
    return len(promoted)


class _LockAgain(Exception):
    """Waitlisting under the shared lock found the project changed (or a seat free): decide
    again under the exclusive lock."""


# What a decision to enrol rests on, besides the seats: when any of it changed between the
# unlocked read and the lock, the checks run again on the locked row.
DECISION_FIELDS = ("state", "self_enrolment", "audience", "institution_id", "level", "category", "mode",
                   "starts_on", "ends_on")


def _open_refusal(project: Project, *, nominated: bool, today: dt.date) -> dict | None:
    if project.state != ProjectState.OPEN:
        return {"project": "项目未在报名中"}
    if not nominated and not project.self_enrolment:
        return {"project": "本项目不接受自主报名，请由学校或教育局推荐"}
    if reason := gate.refusal(project, today=today, ahead=True):
        return {"project": f"暂停报名：{reason}"}
    return None


def _judge(project: Project, teacher: Teacher, *, nominated: bool, today: dt.date) -> None:
    if refusal := _open_refusal(project, nominated=nominated, today=today):
        raise ValidationError(refusal)
    if reasons := enrolment_refusals(project=project, teacher=teacher, today=today):
        raise ValidationError({"teacher": reasons})


def _decision(project: Project) -> tuple:
    return tuple(getattr(project, name) for name in DECISION_FIELDS)


def _waitlist_shared(candidate: Project, teacher: Teacher, *, nominated_by) -> Enrolment:
    """A full project's waiting list, joined under a shared lock on the project row: teachers
    who find it full do not queue behind each other, while a withdrawal or a seat change
    (exclusive lock) waits for them, so the seat it frees goes to the waiting list in order.
    PostgreSQL only (the ORM locks FOR UPDATE only)."""
    with transaction.atomic(), connection.cursor() as cursor:
        # The row the caller was allowed to see (`candidate`), read again under the lock.
        cursor.execute(f"SELECT seats, seats_taken, {', '.join(DECISION_FIELDS)} FROM catalog_project "  # noqa: S608 - constant names
                       "WHERE id = %s FOR SHARE", [candidate.pk])
        seats, taken, *decision = cursor.fetchone()
        locked = dict(zip(DECISION_FIELDS, decision, strict=True))
        if isinstance(locked["audience"], str):  # jsonb comes back as text through Django's psycopg set-up
            locked["audience"] = json.loads(locked["audience"])
        if taken < seats or tuple(locked.values()) != _decision(candidate):
            raise _LockAgain
        enrolment = Enrolment(project=candidate, teacher=teacher, nominated_by=nominated_by,
                              state=EnrolmentState.WAITING, waiting_since=timezone.now())
        enrolment.save()
    return enrolment


def enrol(*, scope: Scope, project_id: int, teacher: Teacher, actor=None, nominated: bool = False,
          today: dt.date | None = None, ip: str | None = None, project: Project | None = None) -> Enrolment:
    """Enrol a teacher (themself, or nominated by an administrator who may change their record):
    a seat if one is free, else the waiting list. Idempotent for an active enrolment. A teacher
    who withdrew enrols again on the same row (one per project and teacher), audited.
    `project`: the row the caller already fetched for this scope (saves reading it again)."""
    require(scope, Can.NOMINATE if nominated else Can.ENROL_SELF, teacher)
    today = today or timezone.localdate()
    # Every check that needs no lock first, on the row as read: a refusal never queues for
    # the seat lock, and the lock is held only to count the seat and write the enrolment.
    if project is not None and project.pk == project_id:
        require(scope, Can.VIEW, project)  # the policy decides, not the caller's word for it
        candidate = project
    else:
        candidate = fetch(scope, Project, project_id)
    _judge(candidate, teacher, nominated=nominated, today=today)
    existing = candidate.enrolments.filter(teacher=teacher).first()
    if existing is not None and existing.state in (*SEAT_HOLDING, EnrolmentState.WAITING):
        return existing
    if existing is not None and existing.state == EnrolmentState.COMPLETED:
        raise ValidationError({"teacher": ["已结业，无需再次报名"]})
    nominated_by = actor if nominated else None
    try:
        if existing is None and candidate.seats_taken >= candidate.seats and connection.vendor == "postgresql":
            try:
                return _waitlist_shared(candidate, teacher, nominated_by=nominated_by)
            except _LockAgain:
                pass
        return _enrol_locked(scope, candidate, teacher, existing, nominated_by=nominated_by, nominated=nominated,
                             actor=actor, today=today, ip=ip)
    except IntegrityError:
        # The same teacher's other request (a double click) enrolled them meanwhile: that one stands.
        if (again := candidate.enrolments.filter(teacher=teacher).first()) is not None:
            return again
        raise


def _enrol_locked(scope: Scope, candidate: Project, teacher: Teacher, existing: Enrolment | None, *, nominated_by,
                  nominated: bool, actor, today: dt.date, ip: str | None) -> Enrolment:
    with transaction.atomic():
        project = fetch(scope, Project, candidate.pk, lock=True)
        if _decision(project) != _decision(candidate):  # changed meanwhile: judge again under the lock
            _judge(project, teacher, nominated=nominated, today=today)
        if existing is not None:  # a re-enrolment: the row as it stands under the lock
            existing = project.enrolments.filter(pk=existing.pk).first()
            if existing is not None and existing.state in (*SEAT_HOLDING, EnrolmentState.WAITING):
                return existing
        enrolment = existing or Enrolment(project=project, teacher=teacher)
        again = existing is not None
        enrolment.nominated_by = nominated_by
        if project.seats_taken < project.seats:
            enrolment.state = EnrolmentState.PENDING if project.needs_approval else EnrolmentState.ENROLLED
            enrolment.waiting_since = None
            _take_seat(project)
        else:
            enrolment.state, enrolment.waiting_since = EnrolmentState.WAITING, timezone.now()
        if again:
            enrolment.decided_at = None
        enrolment.save()
        if again:
            audit_record(action=Action.ENROLMENT_REENROL, actor=actor if actor is not None and actor.pk else None, ip=ip,
                         scope_path=project.division_path, object_type="enrolment", object_id=enrolment.pk,
                         detail={"project": project.pk, "teacher": teacher.pk, "state": enrolment.state,
                                 "nominated": nominated})
    return enrolment


def enrolment_withdraw(*, scope: Scope, enrolment_id: int, actor=None, ip: str | None = None) -> Enrolment:
    """Withdraw (by the teacher, or an administrator who may change their record); a freed
    seat goes to the first on the waiting list. Hours already earned stay (a completed
    enrolment is not withdrawn). Audited, so a later re-enrolment keeps the history."""
    with transaction.atomic():
        enrolment = fetch(scope, Enrolment, enrolment_id, Can.WITHDRAW)
        project = fetch(scope, Project, enrolment.project_id, lock=True)  # published, so seen by both parties
        enrolment.refresh_from_db()
        if enrolment.state not in (*SEAT_HOLDING, EnrolmentState.WAITING):
            raise ValidationError({"state": "该报名已结束，无需退出"})
        held = enrolment.state in SEAT_HOLDING
        enrolment.state, enrolment.waiting_since, enrolment.decided_at = EnrolmentState.WITHDRAWN, None, timezone.now()
        enrolment.save(update_fields=["state", "waiting_since", "decided_at"])
        promoted = 0
        if held:
            _free_seat(project)
            promoted = _promote_waiting(project)
        audit_record(action=Action.ENROLMENT_WITHDRAW, actor=actor if actor is not None and actor.pk else None, ip=ip,
                     scope_path=project.division_path, object_type="enrolment", object_id=enrolment.pk,
                     detail={"project": project.pk, "teacher": enrolment.teacher_id, "held_seat": held,
                             "promoted": promoted})
    enrolment.project = project
    return enrolment


def enrolment_decide(*, scope: Scope, enrolment_id: int, approve: bool, project_id: int | None = None,
                     actor=None, ip: str | None = None) -> Enrolment:
    """Approve or reject a pending enrolment (the organiser's administrators); a rejection frees
    its seat for the waiting list. `project_id`: the project the decision was asked on, which
    the enrolment must belong to."""
    with transaction.atomic():
        enrolment = fetch(scope, Enrolment, enrolment_id, Can.DECIDE)
        if project_id is not None and enrolment.project_id != project_id:
            raise NotVisible("该报名不属于本项目")
        project = fetch(scope, Project, enrolment.project_id, lock=True)
        enrolment.refresh_from_db()
        if enrolment.state != EnrolmentState.PENDING:
            raise ValidationError({"state": "只有待审核的报名可以审核"})
        enrolment.state = EnrolmentState.ENROLLED if approve else EnrolmentState.REJECTED
        enrolment.decided_at = timezone.now()
        enrolment.save(update_fields=["state", "decided_at"])
        if not approve:
            _free_seat(project)
            _promote_waiting(project)
        notice_events.enrolment_decided(enrolment, project)
        audit_record(action=Action.ENROLMENT_DECIDE, actor=actor, ip=ip, scope_path=project.division_path,
                     object_type="enrolment", object_id=enrolment.pk,
                     detail={"project": project.pk, "teacher": enrolment.teacher_id, "approved": approve})
    return enrolment


def project_seats_change(*, scope: Scope, project_id: int, seats: int) -> Project:
    """Change the number of seats: never below those already held; more seats promote the waiting list."""
    with transaction.atomic():
        project = fetch(scope, Project, project_id, Can.CHANGE, lock=True)
        if not isinstance(seats, int) or seats < 1:
            raise ValidationError({"seats": "名额应为正整数"})
        if seats < project.seats_taken:
            raise ValidationError({"seats": f"名额不能少于已报名人数（{project.seats_taken}）"})
        if seats > project.seats and project.base_id is not None:
            proposed = copy.copy(project)
            proposed.seats = seats
            if booked := bases.booking_problems(proposed, bases.base_locked(project.base_id)):
                raise ValidationError(booked)
        project.seats = seats
        project.save(update_fields=["seats"])
        _promote_waiting(project)
    return project
