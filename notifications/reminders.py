"""The daily reminder of tomorrow's sessions: every teacher enrolled in a project that holds a
session tomorrow hears its date, place and how to check in — once per (teacher, session).

Set-based so that it holds a province (thousands of sessions, hundreds of thousands of
enrolments): one query for tomorrow's sessions, then the enrolled accounts read in ranges of
account ids and written in batches (`services.notices_write`: one lookup, one bulk insert and
one recount per batch), never a query per teacher."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from catalog.constants import EnrolmentState, Mode, ProjectState
from catalog.models import ProjectSession
from notifications.models import Notification
from notifications.services import Notice, notices_write

ACCOUNT_RANGE = 20000
WEEKDAYS = "一二三四五六日"


def _place(project) -> str:
    if project.mode == Mode.ONLINE:
        return "线上（网络研修）"
    if project.base_id:
        return project.base.name
    if project.institution_id:
        return f"{project.institution.name}（具体地点见主办单位通知）"
    return "见主办单位通知"


def _hint(project, session) -> str:
    if project.mode == Mode.ONLINE:
        return "线上学习，按平台要求完成即可。"
    if session.check_in_code:
        # The code itself is announced on site; the message never carries it.
        return "到场后请在「我的报名」页输入现场公布的签到码签到。"
    return "请按时到场，考勤由主办单位记录。"


def _texts(session, day: dt.date) -> tuple[str, str]:
    project = session.project
    title = f"明日培训：《{project.title}》第{session.number}场"
    body = (f"{day:%Y年%m月%d日}（星期{WEEKDAYS[day.weekday()]}）{session.title}；地点：{_place(project)}；"
            f"具体时间以主办单位通知为准。{_hint(project, session)}")
    return title, body


def sessions_tomorrow_notify(*, today: dt.date | None = None) -> dict[str, int]:
    """Tell every enrolled teacher of each session held the day after `today`."""
    day = (today or timezone.localdate()) + dt.timedelta(days=1)
    # The system's daily sweep over every organiser's sessions, not a viewer's read.
    sessions = list(ProjectSession.objects.dangerously_unscoped()
                    .filter(held_on=day).exclude(project__state=ProjectState.DRAFT)
                    .select_related("project", "project__base", "project__institution").order_by("pk"))
    by_project: dict[int, list[tuple[int, str, str]]] = {}
    for session in sessions:
        title, body = _texts(session, day)
        by_project.setdefault(session.project_id, []).append((session.pk, title, body))
    if not by_project:
        return {"sessions": 0, "told": 0}
    url = reverse("catalog:my_schedule")

    def notices() -> Iterator[Notice]:
        top = User.objects.aggregate(top=Max("pk"))["top"] or 0
        for start in range(0, top, ACCOUNT_RANGE):
            # One query per range of accounts: the enrolled ones and their projects held tomorrow.
            rows = (User.objects.filter(pk__gt=start, pk__lte=start + ACCOUNT_RANGE, is_active=True,
                                        teacher__enrolments__state=EnrolmentState.ENROLLED,
                                        teacher__enrolments__project_id__in=list(by_project))
                    .order_by("pk").values_list("pk", "teacher__enrolments__project_id"))
            for user_id, project_id in rows:
                for session_id, title, body in by_project.get(project_id, ()):
                    yield Notice(user_id, Notification.Kind.SESSION_TOMORROW, title, body, url,
                                 f"session:{session_id}:{day:%Y%m%d}")

    return {"sessions": len(sessions), "told": notices_write(notices())}
