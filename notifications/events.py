"""What other apps' services tell, and in which words: each function takes the rows the
service already holds (inside its transaction) and writes the messages through
`notices_write`, so a decision and its message commit or roll back together."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.urls import reverse
from django.utils import timezone

from catalog.constants import EnrolmentState, PlanState
from notifications.models import Notification
from notifications.services import Notice, notices_write, notify, teacher_accounts

Kind = Notification.Kind


def _stamp(moment: dt.datetime | None) -> str:
    return (moment or timezone.now()).strftime("%Y%m%d%H%M%S%f")


def enrolment_decided(enrolment, project) -> int:
    """The organiser approved or refused a pending enrolment: the teacher hears which."""
    account = teacher_accounts([enrolment.teacher_id]).get(enrolment.teacher_id)
    approved = enrolment.state == EnrolmentState.ENROLLED
    title = (f"报名已录取：《{project.title}》" if approved else f"报名未通过：《{project.title}》")
    body = (f"培训时间 {project.starts_on:%Y-%m-%d} 至 {project.ends_on:%Y-%m-%d}，请按时参加。" if approved
            else "主办单位未通过您的报名；如有疑问请联系学校或主办单位。")
    return notify(recipients=[account], kind=Kind.ENROLMENT_DECIDED, title=title, body=body,
                  url=reverse("catalog:project_detail", args=[project.pk]),
                  event_key=f"enrolment:{enrolment.pk}:{enrolment.state}:{_stamp(enrolment.decided_at)}")


def enrolments_promoted(enrolments: Iterable, project) -> int:
    """Seats freed: each teacher moved up from the waiting list hears it."""
    enrolments = list(enrolments)
    accounts = teacher_accounts(e.teacher_id for e in enrolments)
    url = reverse("catalog:project_detail", args=[project.pk])
    stamp = _stamp(None)
    notices = []
    for enrolment in enrolments:
        if enrolment.teacher_id not in accounts:
            continue
        pending = enrolment.state == EnrolmentState.PENDING
        notices.append(Notice(
            accounts[enrolment.teacher_id], Kind.ENROLMENT_PROMOTED,
            f"候补转正：《{project.title}》" + ("（待审核）" if pending else "（已录取）"),
            "有名额空出，您已从候补名单递补" + ("，等待主办单位审核。" if pending else "，请按时参加培训。"),
            url, f"enrolment:{enrolment.pk}:promoted:{stamp}"))
    return notices_write(notices)


def enrolments_nominated(enrolments: Iterable, project, actor) -> int:
    """An administrator put teachers on a project: each hears where they stand."""
    enrolments = list(enrolments)
    accounts = teacher_accounts(e.teacher_id for e in enrolments)
    url = reverse("catalog:project_detail", args=[project.pk])
    stamp = _stamp(None)
    standing = {"enrolled": "已录取，请按时参加", "pending": "待主办单位审核", "waiting": "名额已满，已列入候补"}
    notices = [
        Notice(accounts[e.teacher_id], Kind.ENROLMENT_NOMINATED, f"您被推荐参加《{project.title}》",
               f"培训时间 {project.starts_on:%Y-%m-%d} 至 {project.ends_on:%Y-%m-%d}；{standing.get(e.state, '')}。",
               url, f"enrolment:{e.pk}:nominated:{stamp}")
        for e in enrolments if e.teacher_id in accounts]
    return notices_write(notices)


def plan_decided(plan) -> int:
    """A plan approved or returned: the planning unit's administrators and its creator, with the note."""
    from accounts.models import DIVISION_ROLES, Role, User

    admins = (User.objects.filter(role=Role.SCHOOL_ADMIN, school_id=plan.school_id) if plan.school_id
              else User.objects.filter(role__in=list(DIVISION_ROLES), division_id=plan.division_id))
    recipients = set(admins.filter(is_active=True).values_list("pk", flat=True))
    recipients |= {uid for uid in (plan.created_by_id, plan.submitted_by_id) if uid}
    recipients.discard(plan.decided_by_id)
    approved = plan.state == PlanState.APPROVED
    title = f"{plan.year}年度培训计划" + ("已批准" if approved else "被退回修改")
    body = f"审核意见：{plan.review_note}" if plan.review_note else ("" if approved else "请按审核意见修改后重新报送。")
    return notify(recipients=recipients, kind=Kind.PLAN_DECIDED, title=title, body=body,
                  url=reverse("catalog:plan_detail", args=[plan.pk]),
                  event_key=f"plan:{plan.pk}:{plan.state}:{_stamp(plan.decided_at)}")


def export_decided(request) -> int:
    """An export request approved or refused: the administrator who asked hears it."""
    approved = request.state == "approved"
    title = "导出申请已批准" if approved else "导出申请被驳回"
    body = (f"用途：{request.reason}。请在 {timezone.localtime(request.expires_at):%m-%d %H:%M} 前下载，仅可下载一次。"
            if approved and request.expires_at else f"用途：{request.reason}。")
    return notify(recipients=[request.requested_by_id], kind=Kind.EXPORT_DECIDED, title=title, body=body,
                  url=reverse("people:export_requests"), event_key=f"export:{request.pk}:{request.state}")
