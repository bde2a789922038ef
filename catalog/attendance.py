"""Sessions, attendance and completion.

Attendance is recorded once per session and enrolment (a unique constraint;
re-recording is harmless). Completion checks the project's rules — a share
of sessions attended, the assessment passed where there is one — and writes
the project's hours to the ledger, spread over its sessions' dates (no entry
may exceed a day's worth) in the project's hour category. Each entry's
source key names project, teacher and session, so completing twice records
nothing new; each teacher's completion is one transaction. Judging is previewed first
(`completion_preview`) and the confirmation writes exactly what the preview showed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
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
from audit.actions import Action
from audit.services import audit_record
from catalog.constants import EnrolmentState
from catalog.models import Attendance, Enrolment, Project, ProjectSession
from catalog.services import outside_served, project_serving_scope
from credits.constants import MAX_HOURS_PER_DAY, EntryState, SourceType
from credits.services import ledger_entry_record
from institutions import gate
from quotas.progress import completions_record


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


@dataclass(frozen=True)
class CompletionLine:
    enrolment_id: int
    teacher_id: int
    name: str
    school: str
    outcome: str  # complete | already | not_met
    reason: str  # why not (not_met), else ""
    attended: int  # sessions attended, of those held
    hours: Decimal  # what the ledger gets (0 unless complete)


@dataclass(frozen=True)
class CompletionPreview:
    """Exactly what judging completion would write: who completes and why others do not, the
    hours and category each completer gets, per session day, and the totals. `digest` fingerprints
    all of it; the confirmation posts it back and nothing is written if it no longer matches."""

    project: Project
    sessions: list[ProjectSession]
    shares: list[Decimal]  # hours per session, in session order
    lines: list[CompletionLine]
    digest: str
    problem: str = ""  # why nobody can be judged yet (no session held)

    @property
    def completers(self) -> list[CompletionLine]:
        return [line for line in self.lines if line.outcome == "complete"]

    @property
    def not_met(self) -> list[CompletionLine]:
        return [line for line in self.lines if line.outcome == "not_met"]

    @property
    def already(self) -> list[CompletionLine]:
        return [line for line in self.lines if line.outcome == "already"]

    @property
    def total_hours(self) -> Decimal:
        return sum((line.hours for line in self.completers), Decimal(0))

    @property
    def session_days(self) -> list[tuple[ProjectSession, Decimal]]:
        return list(zip(self.sessions, self.shares, strict=True))


def _digest(project: Project, sessions: list[ProjectSession], shares: list[Decimal], lines: list[CompletionLine]) -> str:
    payload = {
        "project": project.pk, "hours": str(project.hours), "category": project.hour_category,
        "sessions": [[s.pk, s.number, s.held_on.isoformat(), str(share)] for s, share in zip(sessions, shares, strict=True)],
        "lines": [[line.enrolment_id, line.teacher_id, line.outcome, str(line.hours)] for line in lines],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def completion_preview(*, scope: Scope, project: Project, today: dt.date | None = None) -> CompletionPreview:
    """Judge every admitted enrolment against the completion rules, writing nothing. A teacher
    no longer in the jurisdiction the project serves (moved away since) gets no hours: an
    organiser writes hours only for its own teachers. Four queries whatever the roster."""
    require(scope, Can.RUN, project)
    today = today or timezone.localdate()
    serving = project_serving_scope(project)
    sessions = list(project.sessions.filter(held_on__lte=today).order_by("number"))
    shares = _session_hours(project, sessions) if sessions else []
    problem = ""
    if not sessions:
        problem = "项目还没有已举行的场次，无法结业"
    elif max(shares) > MAX_HOURS_PER_DAY:
        problem = f"每场次学时超过 {MAX_HOURS_PER_DAY}，请按实际天数设置场次"
    counts: dict[int, int] = {}
    for enrolment_id in (Attendance.objects.visible_to(scope, Can.RUN).filter(session__in=sessions)
                         .values_list("enrolment_id", flat=True)):
        counts[enrolment_id] = counts.get(enrolment_id, 0) + 1
    lines = []
    enrolments = (project.enrolments.filter(state__in=[EnrolmentState.ENROLLED, EnrolmentState.COMPLETED])
                  .select_related("teacher", "teacher__school").order_by("id"))
    for enrolment in enrolments:
        attended = counts.get(enrolment.pk, 0)
        percent = attended * 100 // len(sessions) if sessions else 0
        if enrolment.state == EnrolmentState.COMPLETED:
            outcome, reason = "already", "此前已结业，学时已记入"
        elif problem:
            outcome, reason = "not_met", problem
        elif reason := outside_served(serving, enrolment.teacher):
            outcome, reason = "not_met", f"{reason}（教师已不在主办单位辖区），不能记入学时"
        elif percent < project.min_attendance_percent:
            outcome, reason = "not_met", f"出勤率 {percent}% 低于 {project.min_attendance_percent}%"
        elif project.has_assessment and not enrolment.assessment_passed:
            outcome, reason = "not_met", "结业考核未通过或未记录"
        else:
            outcome, reason = "complete", ""
        lines.append(CompletionLine(
            enrolment_id=enrolment.pk, teacher_id=enrolment.teacher_id, name=enrolment.teacher.name,
            school=enrolment.teacher.school.name if enrolment.teacher.school_id else "", attended=attended,
            outcome=outcome, reason=reason, hours=project.hours if outcome == "complete" else Decimal(0)))
    return CompletionPreview(project=project, sessions=sessions, shares=shares, lines=lines,
                             digest=_digest(project, sessions, shares, lines), problem=problem)


STALE_PREVIEW = "预览之后名单、考勤、考核或场次已有变化，未记入任何学时；请重新预览后再确认"


def project_complete(*, user, scope: Scope, project: Project, today: dt.date | None = None,
                     digest: str | None = None, ip: str | None = None) -> CompletionReport:
    """Write what `completion_preview` shows: each completer's hours spread over the sessions,
    one transaction per teacher (the ledger is idempotent by source key, so judging again
    writes nothing new). `digest`: the preview the caller confirmed; if the roster, attendance,
    assessments or sessions changed since, nothing is written."""
    today = today or timezone.localdate()
    with transaction.atomic():
        # Serialise judging per project, so two confirmations cannot interleave.
        fetch(scope, Project, project.pk, Can.RUN, lock=True)
        preview = completion_preview(scope=scope, project=project, today=today)
        if preview.problem:
            raise ValidationError({"project": preview.problem})
        if digest is not None and not hmac.compare_digest(digest, preview.digest):
            raise ValidationError({"digest": STALE_PREVIEW})
    report = CompletionReport(already=len(preview.already),
                              not_met=[(line.enrolment_id, line.reason) for line in preview.not_met])
    enrolments = {e.pk: e for e in project.enrolments.filter(pk__in=[line.enrolment_id for line in preview.completers])
                  .select_related("teacher")}
    for line in preview.completers:
        enrolment = enrolments[line.enrolment_id]
        try:
            with transaction.atomic():
                first = None
                for session, share in preview.session_days:
                    entry, _ = ledger_entry_record(
                        teacher=enrolment.teacher, category=project.hour_category, hours=share, occurred_on=session.held_on,
                        source_type=SourceType.PROJECT, source_id=f"{project.pk}:{enrolment.teacher_id}:{session.number}",
                        actor=user, state=EntryState.APPROVED, note=f"{project.title}（第{session.number}场）", today=today,
                    )
                    first = first or entry
                enrolment.state, enrolment.completed_at, enrolment.ledger_entry = (
                    EnrolmentState.COMPLETED, timezone.now(), first)
                enrolment.save(update_fields=["state", "completed_at", "ledger_entry"])
                completions_record([enrolment.pk])  # the high-end task's progress table, if it counts
        except ValidationError as error:
            report.not_met.append((enrolment.pk, "；".join(error.messages)))
            continue
        report.completed += 1
    # Judging again repairs the progress table for those completed before (nothing if already there).
    completions_record([line.enrolment_id for line in preview.already])
    with transaction.atomic():
        locked = fetch(scope, Project, project.pk, Can.RUN, lock=True)
        if locked.completion_judged_at is None:
            locked.completion_judged_at = timezone.now()
            locked.save(update_fields=["completion_judged_at"])
        project.completion_judged_at = locked.completion_judged_at
        audit_record(action=Action.PROJECT_COMPLETE, actor=user if user is not None and user.pk else None, ip=ip,
                     scope_path=project.division_path, object_type="project", object_id=project.pk,
                     detail={"completed": report.completed, "already": report.already, "not_met": len(report.not_met),
                             "hours": str(project.hours), "category": project.hour_category,
                             "digest": preview.digest, "confirmed": digest is not None})
    return report
