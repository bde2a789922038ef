"""Sessions, attendance and completion (issue 4 item 4).

Attendance is recorded once per session and enrolment (a unique constraint;
re-recording is harmless). Completion checks the project's rules — a share
of sessions attended, the assessment passed where there is one — and writes
the project's hours to the ledger, spread over its sessions' dates (no entry
may exceed a day's worth) in the project's hour category. Each entry's
source key names project, teacher and session, so completing twice records
nothing new; each teacher's completion is one transaction.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from access.errors import NotVisible
from access.policy import Action as Can
from access.policy import can, fetch, require
from access.scope import Scope
from accounts.throttle import Throttled, rate_limited
from catalog.constants import EnrolmentState
from catalog.models import Attendance, Enrolment, Project, ProjectSession
from catalog.services import outside_served, project_serving_scope
from credits.constants import MAX_HOURS_PER_DAY, EntryState, SourceType
from credits.services import ledger_entry_record
from institutions import gate


def may_run_project(*, scope: Scope, project: Project) -> bool:
    """Administrators who may change the project (a school's: its own school's projects only),
    and the staff of its implementing institution."""
    return can(scope, Can.RUN, project)


def require_runnable(project: Project, today: dt.date | None = None) -> None:
    """Sessions run only while the implementing institution's accreditation is in force (the
    准入 gate); hours already earned stay."""
    if reason := gate.refusal(project, today=today or timezone.localdate()):
        raise ValidationError({"session": f"暂停开班：{reason}"})


def session_add(*, scope: Scope, project: Project, title: str, held_on: dt.date) -> ProjectSession:
    require(scope, Can.RUN, project)
    if not project.starts_on <= held_on <= project.ends_on:
        raise ValidationError({"held_on": "场次日期不在项目日期之内"})
    if not (title or "").strip():
        raise ValidationError({"title": "请填写场次内容"})
    with transaction.atomic():
        fetch(scope, Project, project.pk, Can.RUN, lock=True)
        number = project.sessions.count() + 1
        return ProjectSession.objects.create(project=project, number=number, title=title.strip()[:200], held_on=held_on,
                                             check_in_code=f"{secrets.randbelow(10**6):06d}")


@dataclass
class AttendanceReport:
    recorded: int = 0
    already: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)  # (enrolment id or teacher id, reason)


def attendance_record(*, user, scope: Scope, session_id: int, enrolment_ids: list[int], method: str = "page",
                      project_id: int | None = None) -> AttendanceReport:
    """Mark these enrolments present at the session. Enrolments that are not admitted to the
    project are refused with a reason; nothing else is written for them. `project_id`: the
    project the request was made on, which the session must belong to."""
    session = fetch(scope, ProjectSession, session_id, Can.RUN, select_related=("project",))
    if project_id is not None and session.project_id != project_id:
        raise NotVisible("场次不属于本项目")
    require_runnable(session.project)
    report = AttendanceReport()
    admitted = dict(session.project.enrolments.filter(pk__in=enrolment_ids).values_list("pk", "state"))
    present = set(session.attendance.filter(enrolment_id__in=enrolment_ids).values_list("enrolment_id", flat=True))
    rows = []
    for enrolment_id in dict.fromkeys(enrolment_ids):
        state = admitted.get(enrolment_id)
        if state is None:
            report.refused.append((enrolment_id, "不是本项目的报名"))
        elif state not in (EnrolmentState.ENROLLED, EnrolmentState.COMPLETED):
            report.refused.append((enrolment_id, f"报名状态为“{EnrolmentState(state).label}”，不能记考勤"))
        elif enrolment_id in present:
            report.already += 1
        else:
            rows.append(Attendance(session=session, enrolment_id=enrolment_id, recorded_by=user if user.pk else None, method=method))
    Attendance.objects.bulk_create(rows, ignore_conflicts=True)
    report.recorded = len(rows)
    return report


def check_in(*, scope: Scope, teacher, code: str, today: dt.date | None = None) -> ProjectSession:
    """A teacher checks in with the code shown at today's session. Six digits are guessable,
    so wrong codes are counted per teacher and, past CHECK_IN_MAX_FAILURES in a quarter of an
    hour, refused (Throttled) before any lookup."""
    require(scope, Can.ENROL_SELF, teacher)
    today = today or timezone.localdate()
    code = (code or "").strip()
    failures_key = f"check-in-fail:{teacher.pk}"
    if rate_limited(failures_key, "", limit=settings.CHECK_IN_MAX_FAILURES, seconds=900, peek=True):
        raise Throttled("签到码错误次数过多，请15分钟后再试")
    own = teacher.enrolments.filter(state=EnrolmentState.ENROLLED)
    enrolment = (own.filter(project__sessions__check_in_code=code, project__sessions__held_on=today)
                 .select_related("project").first() if code.isdigit() else None)
    if enrolment is None:
        rate_limited(failures_key, "", limit=settings.CHECK_IN_MAX_FAILURES, seconds=900)
        raise ValidationError({"code": "签到码无效，或今天没有你报名的该场次"})
    require_runnable(enrolment.project, today)
    session = enrolment.project.sessions.get(check_in_code=code, held_on=today)
    session.attendance.get_or_create(enrolment=enrolment, defaults={"method": "code"})
    return session


def assessment_record(*, scope: Scope, enrolment_id: int, passed: bool, project_id: int | None = None) -> Enrolment:
    enrolment = fetch(scope, Enrolment, enrolment_id, Can.RUN)
    if project_id is not None and enrolment.project_id != project_id:
        raise NotVisible("该报名不属于本项目")
    enrolment.assessment_passed = passed
    enrolment.save(update_fields=["assessment_passed"])
    return enrolment


def _session_hours(project: Project, sessions: list[ProjectSession]) -> list[Decimal]:
    """The project's hours spread over its sessions, in tenths; the last takes the remainder."""
    share = (project.hours / len(sessions)).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    hours = [share] * len(sessions)
    hours[-1] = project.hours - share * (len(sessions) - 1)
    return hours


@dataclass
class CompletionReport:
    completed: int = 0
    already: int = 0
    not_met: list[tuple[int, str]] = field(default_factory=list)  # (enrolment id, reason)


def project_complete(*, user, scope: Scope, project: Project, today: dt.date | None = None) -> CompletionReport:
    """Judge every admitted enrolment against the completion rules; completers get the hours.
    A teacher no longer in the jurisdiction the project serves (moved away since) gets none:
    an organiser writes hours only for its own teachers."""
    require(scope, Can.RUN, project)
    today = today or timezone.localdate()
    serving = project_serving_scope(project)
    sessions = list(project.sessions.filter(held_on__lte=today).order_by("number"))
    if not sessions:
        raise ValidationError({"project": "项目还没有已举行的场次，无法结业"})
    hours = _session_hours(project, sessions)
    if max(hours) > MAX_HOURS_PER_DAY:
        raise ValidationError({"project": f"每场次学时超过 {MAX_HOURS_PER_DAY}，请按实际天数设置场次"})
    counts: dict[int, int] = {}
    for enrolment_id in (Attendance.objects.visible_to(scope, Can.RUN).filter(session__in=sessions)
                         .values_list("enrolment_id", flat=True)):
        counts[enrolment_id] = counts.get(enrolment_id, 0) + 1
    report = CompletionReport()
    enrolments = project.enrolments.filter(state__in=[EnrolmentState.ENROLLED, EnrolmentState.COMPLETED])
    for enrolment in enrolments.select_related("teacher"):
        if enrolment.state == EnrolmentState.COMPLETED:
            report.already += 1
            continue
        if reason := outside_served(serving, enrolment.teacher):
            report.not_met.append((enrolment.pk, f"{reason}（教师已不在主办单位辖区），不能记入学时"))
            continue
        attended = counts.get(enrolment.pk, 0) * 100 // len(sessions)
        if attended < project.min_attendance_percent:
            report.not_met.append((enrolment.pk, f"出勤率 {attended}% 低于 {project.min_attendance_percent}%"))
            continue
        if project.has_assessment and not enrolment.assessment_passed:
            report.not_met.append((enrolment.pk, "结业考核未通过或未记录"))
            continue
        try:
            with transaction.atomic():
                first = None
                for session, share in zip(sessions, hours, strict=True):
                    entry, _ = ledger_entry_record(
                        teacher=enrolment.teacher, category=project.hour_category, hours=share, occurred_on=session.held_on,
                        source_type=SourceType.PROJECT, source_id=f"{project.pk}:{enrolment.teacher_id}:{session.number}",
                        actor=user, state=EntryState.APPROVED, note=f"{project.title}（第{session.number}场）", today=today,
                    )
                    first = first or entry
                enrolment.state, enrolment.completed_at, enrolment.ledger_entry = (
                    EnrolmentState.COMPLETED, timezone.now(), first)
                enrolment.save(update_fields=["state", "completed_at", "ledger_entry"])
        except ValidationError as error:
            report.not_met.append((enrolment.pk, "；".join(error.messages)))
            continue
        report.completed += 1
    return report
