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

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from catalog.constants import EnrolmentState
from catalog.models import Attendance, Enrolment, Project, ProjectSession
from credits.constants import MAX_HOURS_PER_DAY, EntryState, SourceType
from credits.services import ledger_entry_record
from org.scope import Scope


def may_run_project(*, user, scope: Scope, project: Project) -> bool:
    """The implementing institution's staff, or administrators of the organising jurisdiction."""
    if user.role == Role.INSTITUTION_STAFF:
        return project.institution_id is not None and project.institution_id == user.institution_id
    # A school administrator runs their school's own projects only, not the county's.
    return scope.can_write_row(path=project.division_path, school_id=project.organiser_school_id)


def _require(user, scope: Scope, project: Project) -> None:
    if not may_run_project(user=user, scope=scope, project=project):
        raise PermissionDenied("只有实施机构或主办单位可以管理本项目")


def session_add(*, user, scope: Scope, project: Project, title: str, held_on: dt.date) -> ProjectSession:
    _require(user, scope, project)
    if not project.starts_on <= held_on <= project.ends_on:
        raise ValidationError({"held_on": "场次日期不在项目日期之内"})
    if not (title or "").strip():
        raise ValidationError({"title": "请填写场次内容"})
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        number = ProjectSession.objects.filter(project=project).count() + 1
        return ProjectSession.objects.create(project=project, number=number, title=title.strip()[:200], held_on=held_on,
                                             check_in_code=f"{secrets.randbelow(10**6):06d}")


@dataclass
class AttendanceReport:
    recorded: int = 0
    already: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)  # (enrolment id or teacher id, reason)


def attendance_record(*, user, scope: Scope, session_id: int, enrolment_ids: list[int], method: str = "page") -> AttendanceReport:
    """Mark these enrolments present at the session. Unknown sessions and enrolments that
    are not admitted to the project are refused with a reason; nothing else is written for them."""
    session = ProjectSession.objects.select_related("project").filter(pk=session_id).first()
    if session is None:
        raise ValidationError({"session": "场次不存在"})
    _require(user, scope, session.project)
    report = AttendanceReport()
    admitted = dict(Enrolment.objects.filter(project=session.project, pk__in=enrolment_ids).values_list("pk", "state"))
    present = set(Attendance.objects.filter(session=session, enrolment_id__in=enrolment_ids).values_list("enrolment_id", flat=True))
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


def check_in(*, teacher, code: str, today: dt.date | None = None) -> ProjectSession:
    """A teacher checks in with the code shown at today's session."""
    today = today or timezone.localdate()
    code = (code or "").strip()
    session = (ProjectSession.objects.filter(check_in_code=code, held_on=today, project__enrolments__teacher=teacher,
                                             project__enrolments__state=EnrolmentState.ENROLLED).first() if code else None)
    if session is None:
        raise ValidationError({"code": "签到码无效，或今天没有你报名的该场次"})
    enrolment = Enrolment.objects.get(project=session.project, teacher=teacher)
    Attendance.objects.get_or_create(session=session, enrolment=enrolment, defaults={"method": "code"})
    return session


def assessment_record(*, user, scope: Scope, enrolment_id: int, passed: bool) -> Enrolment:
    enrolment = Enrolment.objects.select_related("project").filter(pk=enrolment_id).first()
    if enrolment is None:
        raise ValidationError({"enrolment": "报名不存在"})
    _require(user, scope, enrolment.project)
    Enrolment.objects.filter(pk=enrolment.pk).update(assessment_passed=passed)
    enrolment.assessment_passed = passed
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
    """Judge every admitted enrolment against the completion rules; completers get the hours."""
    _require(user, scope, project)
    today = today or timezone.localdate()
    sessions = list(ProjectSession.objects.filter(project=project, held_on__lte=today).order_by("number"))
    if not sessions:
        raise ValidationError({"project": "项目还没有已举行的场次，无法结业"})
    hours = _session_hours(project, sessions)
    if max(hours) > MAX_HOURS_PER_DAY:
        raise ValidationError({"project": f"每场次学时超过 {MAX_HOURS_PER_DAY}，请按实际天数设置场次"})
    counts: dict[int, int] = {}
    for enrolment_id in Attendance.objects.filter(session__in=sessions).values_list("enrolment_id", flat=True):
        counts[enrolment_id] = counts.get(enrolment_id, 0) + 1
    report = CompletionReport()
    enrolments = Enrolment.objects.filter(project=project, state__in=[EnrolmentState.ENROLLED, EnrolmentState.COMPLETED])
    for enrolment in enrolments.select_related("teacher"):
        if enrolment.state == EnrolmentState.COMPLETED:
            report.already += 1
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
                Enrolment.objects.filter(pk=enrolment.pk).update(state=EnrolmentState.COMPLETED, completed_at=timezone.now(),
                                                                  ledger_entry=first)
        except ValidationError as error:
            report.not_met.append((enrolment.pk, "；".join(error.messages)))
            continue
        report.completed += 1
    return report
