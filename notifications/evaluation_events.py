"""What evaluation's services tell, and in which words: a supervisor named, a project flagged for
elimination, an appeal filed, a case decided, and the daily reminder to trainees who have not yet
rated a window closing soon. Written inside the service's transaction (as notifications.events)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.urls import reverse

from accounts.models import DIVISION_ROLES, Role, User
from notifications.models import Notification
from notifications.services import Notice, notices_write, notify, teacher_accounts

Kind = Notification.Kind
REMIND_DAYS = 2  # trainees who have not rated hear it this many days before the window closes


def supervisor_named(supervisor, project) -> int:
    """The expert named to supervise a project hears which, and where to record visits."""
    return notify(recipients=[supervisor.user_id], kind=Kind.SUPERVISOR_NAMED,
                  title=f"视导任务：《{project.title}》",
                  body=f"您被指定为该项目的视导专家（{project.starts_on:%Y-%m-%d} 至 {project.ends_on:%Y-%m-%d}），"
                       "请按评分量规记录过程视导和成果评审。",
                  url=reverse("evaluation:supervision_project", args=[project.pk]),
                  event_key=f"supervisor:{supervisor.pk}")


def _answerable(projects: Iterable) -> dict[int, set[int]]:
    """Per project, the accounts that answer for it: the implementing institution's staff and the
    organiser's administrators (the school's, for a school's project)."""
    projects = list(projects)
    staff: dict[int, set[int]] = {}
    for pk, institution_id in User.objects.filter(
            role=Role.INSTITUTION_STAFF, is_active=True,
            institution_id__in={p.institution_id for p in projects if p.institution_id}).values_list("pk",
                                                                                                  "institution_id"):
        staff.setdefault(institution_id, set()).add(pk)
    division_admins: dict[int, set[int]] = {}
    for pk, division_id in User.objects.filter(
            role__in=list(DIVISION_ROLES), is_active=True,
            division_id__in={p.organiser_id for p in projects if not p.organiser_school_id}).values_list("pk",
                                                                                                     "division_id"):
        division_admins.setdefault(division_id, set()).add(pk)
    school_admins: dict[int, set[int]] = {}
    for pk, school_id in User.objects.filter(
            role=Role.SCHOOL_ADMIN, is_active=True,
            school_id__in={p.organiser_school_id for p in projects if p.organiser_school_id}).values_list("pk",
                                                                                                     "school_id"):
        school_admins.setdefault(school_id, set()).add(pk)
    found = {}
    for p in projects:
        organisers = (school_admins.get(p.organiser_school_id, set()) if p.organiser_school_id
                      else division_admins.get(p.organiser_id, set()))
        found[p.pk] = organisers | staff.get(p.institution_id, set())
    return found


def cases_flagged(cases: Iterable, *, appeal_until: dt.date) -> int:
    """A ranking flagged projects: who answers for each hears it, with the appeal deadline."""
    cases = list(cases)
    answerable = _answerable(case.score.project for case in cases)
    notices = []
    for case in cases:
        project = case.score.project
        url = reverse("evaluation:case_detail", args=[case.pk])
        for account in answerable.get(project.pk, ()):
            notices.append(Notice(
                account, Kind.CASE_FLAGGED, f"末位淘汰预警：《{project.title}》",
                f"{case.score.year}年度绩效排名组内第{case.score.rank}/{case.score.group_size}名，列入拟末位淘汰；"
                f"如有异议请于{appeal_until:%Y-%m-%d}前提出申诉。", url, f"case:{case.pk}:flagged"))
    return notices_write(notices)


def case_appealed(case) -> int:
    """An appeal was filed: the province's administrators (who decide it) hear it."""
    deciders = set(User.objects.filter(role=Role.PROVINCE_ADMIN, is_active=True).values_list("pk", flat=True))
    deciders.discard(case.appealed_by_id)
    project = case.score.project
    return notify(recipients=deciders, kind=Kind.CASE_APPEALED, title=f"新的末位淘汰申诉：《{project.title}》",
                  body="请核查申诉理由并作出处理（申诉人不能处理本人的申诉）。",
                  url=reverse("evaluation:case_detail", args=[case.pk]), event_key=f"case:{case.pk}:appealed")


def case_decided(case) -> int:
    """A case was confirmed or overturned (by the province, or by the system after the appeal
    period): who answers for the project and the appellant hear the outcome."""
    project = case.score.project
    recipients = _answerable([project]).get(project.pk, set()) | {case.appealed_by_id}
    recipients.discard(case.decided_by_id)
    title = f"末位淘汰{case.get_state_display()}：《{project.title}》"
    body = case.decision_note[:400]
    if case.sanction:
        body = f"{body}（资质处理：{case.get_sanction_display()}）"
    return notify(recipients=recipients, kind=Kind.CASE_DECIDED, title=title, body=body,
                  url=reverse("evaluation:case_detail", args=[case.pk]), event_key=f"case:{case.pk}:{case.state}")


def rating_reminders(*, today: dt.date) -> int:
    """Daily: trainees of a window open today and closing within REMIND_DAYS who have not rated
    hear it once per window. Who has rated is the participation list, which holds no answers."""
    from catalog.models import Enrolment
    from evaluation.models import RatingParticipation, RatingWindow
    from evaluation.ratings import RATERS

    windows = list(RatingWindow.objects.dangerously_unscoped()
                   .filter(opens_on__lte=today, closes_on__gte=today,
                           closes_on__lte=today + dt.timedelta(days=REMIND_DAYS))
                   .select_related("project").order_by("pk"))
    rated = set(RatingParticipation.objects.dangerously_unscoped().filter(window__in=windows)
                .values_list("window_id", "teacher_id"))
    trainees: dict[int, list[int]] = {}
    for project_id, teacher_id in (Enrolment.objects.dangerously_unscoped()
                                   .filter(project_id__in={w.project_id for w in windows}, state__in=RATERS)
                                   .values_list("project_id", "teacher_id")):
        trainees.setdefault(project_id, []).append(teacher_id)
    accounts = teacher_accounts(t for members in trainees.values() for t in members)
    notices = []
    for window in windows:
        url = reverse("evaluation:rating_form", args=[window.project_id])
        for teacher_id in trainees.get(window.project_id, ()):
            if (window.pk, teacher_id) not in rated and teacher_id in accounts:
                notices.append(Notice(accounts[teacher_id], Kind.RATING_REMINDER,
                                      f"请评价培训项目：《{window.project.title}》",
                                      f"匿名评价将于{window.closes_on:%Y-%m-%d}截止，您的评价不与您的身份关联。",
                                      url, f"rating:{window.pk}:{teacher_id}:remind"))
    return notices_write(notices)
