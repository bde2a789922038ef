"""What each role's home page shows. Every part is one query (a count, or a short list), so a
home page costs the same few queries whatever the size of the jurisdiction or the history of
the account; the tests pin the numbers.

- administrators: 待办, the things that wait for them, each a count and a link to the list;
- teachers: cycle progress and what is owed by category, the next sessions (check-in on the
  day), projects open to them, their claims, questions and notices;
- experts: the teacher's page plus their workspace (sessions they teach, questions to answer);
- institution staff: what their implemented projects need (see institutions.registry_views).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from access.policy import Action, visible
from access.scope import Scope
from accounts.models import DIVISION_ROLES
from catalog.constants import SEAT_HOLDING, ProjectState
from catalog.models import Attendance, Enrolment, Project, ProjectSession
from catalog.plan_selectors import plans_to_review
from catalog.schedule import open_to_teacher
from credits.claims import claims_to_check
from credits.constants import SourceType
from credits.models import ExternalImport, LedgerEntry
from guidance import selectors as guidance
from guidance.constants import QuestionState
from institutions import registry
from institutions.selectors import accreditations
from notifications.models import Notification
from people.export_requests import export_requests_to_decide
from people.models import ImportBatch
from trainers.models import TrainerBooking

# An import with rejected rows stays on the list of things to look at for this long.
RECENT_IMPORT_DAYS = 30
SHORT_LIST = 5
# A session held this many days ago or less, with no attendance, is a register still to take.
UNRECORDED_DAYS = 30


@dataclass(frozen=True)
class Todo:
    key: str
    label: str
    count: int
    url: str
    hint: str = ""


def admin_todos(scope: Scope, *, role: str, today: dt.date | None = None) -> list[Todo]:
    """The administrator's 待办: what waits for them, each counted in one query. Only the items
    their role can act on are listed, including those at zero (a settled queue is news too)."""
    today = today or timezone.localdate()
    now = timezone.now()
    since = now - dt.timedelta(days=RECENT_IMPORT_DAYS)
    division = role in DIVISION_ROLES
    items = [
        Todo("claims", "学时申报待审核", claims_to_check(scope=scope).count(), reverse("credits:claims"),
             "学校审核本校教师的申报，县级审定" if not division else "经学校审核的申报与待审定的学时"),
        Todo("exports", "导出申请待审批", export_requests_to_decide(scope=scope).count(),
             reverse("people:export_requests"), "含完整身份证号或大批量的名册导出"),
        Todo("roster_rejects", "名册导入有驳回行", visible(scope, ImportBatch)
             .filter(rejected__gt=0, started_at__gte=since).count(), reverse("people:roster_import"),
             f"近 {RECENT_IMPORT_DAYS} 天的导入中有未通过校验的行"),
        Todo("overdue_questions", "指导问题超时未答", guidance.questions(scope, overdue=True, now=now).count(),
             reverse("guidance:question_list") + "?overdue=1", "超过答复时限仍未答复的教师提问"),
        Todo("completion", "已结束待判定结业", ended_unjudged(scope, today).count(), "#todo-completion",
             "结束日期已过、尚未判定结业的项目"),
        Todo("attendance", "培训场次未记考勤", sessions_without_attendance(scope, today).count(), "#todo-attendance",
             f"近 {UNRECORDED_DAYS} 天已举行、却无一人签到或记录考勤的场次"),
    ]
    if division:  # a school neither reviews plans nor accredits, imports hours or rules on institutions
        items += [
            Todo("plans", "年度计划待审核", plans_to_review(scope=scope).count(),
                 reverse("catalog:plan_list") + "?state=submitted", "下级单位报送的年度培训计划"),
            Todo("external_rejects", "外部学时导入有驳回行", visible(scope, ExternalImport)
                 .filter(rejected__gt=0, started_at__gte=since).count(), reverse("credits:external_import"),
                 f"近 {RECENT_IMPORT_DAYS} 天的导入中有未通过校验的行"),
            Todo("accreditations", "机构准入申请待审核", accreditations(scope, to_decide=True).count(),
                 reverse("institutions:list") + "?to_decide=1", "培训机构的准入与续期申请"),
            Todo("expiring", "准入资格即将到期", registry.expiring(scope, today=today).count(),
                 reverse("institutions:expiring"), f"{registry.EXPIRING_DAYS} 天内到期的机构准入"),
        ]
    return items


def ended_unjudged(scope: Scope, today: dt.date):
    """Published projects this viewer runs whose end date has passed and whose completion has
    not been judged (catalog.phase calls them 已结束 by date): completion is owed."""
    return (visible(scope, Project, Action.RUN)
            .filter(state__in=[ProjectState.OPEN, ProjectState.CLOSED], ends_on__lt=today,
                    completion_judged_at__isnull=True)
            .order_by("ends_on", "pk"))


def sessions_without_attendance(scope: Scope, today: dt.date):
    """Sessions of published projects this viewer runs, held lately, with no attendance at all:
    forgotten registers, which hold up completion and hours."""
    recorded = visible(scope, Attendance, Action.RUN).filter(session=OuterRef("pk"))
    return (visible(scope, ProjectSession, Action.RUN)
            .filter(project__state__in=[ProjectState.OPEN, ProjectState.CLOSED], held_on__lt=today,
                    held_on__gte=today - dt.timedelta(days=UNRECORDED_DAYS))
            .exclude(Exists(recorded)).select_related("project").order_by("held_on", "pk"))


@dataclass(frozen=True)
class UpcomingSession:
    session: ProjectSession
    today: bool
    attended: bool


def upcoming_sessions(scope: Scope, *, teacher_id: int, today: dt.date, limit: int = SHORT_LIST) -> list[UpcomingSession]:
    """The teacher's next sessions (from today on) in projects where they hold a seat."""
    mine = visible(scope, Enrolment).filter(teacher_id=teacher_id, state__in=SEAT_HOLDING, project=OuterRef("project"))
    attended = visible(scope, Attendance).filter(session=OuterRef("pk"), enrolment__teacher_id=teacher_id)
    rows = (visible(scope, ProjectSession).filter(Exists(mine), held_on__gte=today)
            .annotate(attended=Exists(attended)).select_related("project")
            .order_by("held_on", "project_id", "number")[:limit])
    return [UpcomingSession(row, row.held_on == today, row.attended) for row in rows]  # type: ignore[attr-defined]


def recent_claims(scope: Scope, *, teacher_id: int, limit: int = SHORT_LIST) -> list[LedgerEntry]:
    return list(visible(scope, LedgerEntry).filter(teacher_id=teacher_id, source_type=SourceType.CLAIM)
                .order_by("-created_at", "-id")[:limit])


def recent_notices(scope: Scope, *, limit: int = SHORT_LIST) -> list[Notification]:
    return list(visible(scope, Notification).order_by("-created_at", "-id")[:limit])


def open_projects(scope: Scope, *, teacher, today: dt.date, limit: int = SHORT_LIST):
    return open_to_teacher(scope=scope, teacher=teacher, today=today, limit=limit)


def my_open_questions(scope: Scope, *, limit: int = SHORT_LIST):
    return list(guidance.my_questions(scope).exclude(state=QuestionState.RESOLVED)[:limit])


@dataclass(frozen=True)
class ExpertDesk:
    teaching: list  # trainer bookings ahead: the sessions the expert teaches
    to_answer: int
    to_answer_list: list


def expert_desk(scope: Scope, *, teacher_id: int, today: dt.date, limit: int = SHORT_LIST) -> ExpertDesk:
    teaching = list(visible(scope, TrainerBooking).filter(trainer__teacher_id=teacher_id, held_on__gte=today)
                    .select_related("session", "project").order_by("held_on", "pk")[:limit])
    waiting = guidance.questions(scope, mine_to_answer=True, state=QuestionState.WAITING)
    rows = list(waiting[:limit])
    return ExpertDesk(teaching=teaching, to_answer=len(rows) if len(rows) < limit else waiting.count(),
                      to_answer_list=rows)
