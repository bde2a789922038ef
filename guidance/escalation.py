"""Overdue questions climb (run every quarter hour by Celery beat): a question with no first
answer by its deadline is told to its team's lead; still unanswered GUIDANCE_ESCALATE_ABOVE_HOURS
later, to the administrators of the level above the team (a county team's city, a city team's
province). Each step happens once per question (its `escalation` level and the notices' event
keys), so running the task again, or twice at once, tells nobody twice."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from guidance.constants import Escalation, QuestionState
from guidance.models import GuidanceTeam, Question
from notifications.models import Notification
from notifications.services import notify
from org.models import Division

ADMIN_OF_LEVEL = {"province": Role.PROVINCE_ADMIN, "city": Role.CITY_ADMIN, "county": Role.COUNTY_ADMIN}
BATCH = 500


def _overdue(level: int):
    # The sweep is the platform's, over every division.
    return (Question.objects.dangerously_unscoped()
            .filter(state=QuestionState.WAITING, first_answered_at__isnull=True, escalation=level)
            .exclude(team__isnull=True))


def _lead_accounts(team: GuidanceTeam) -> list[int]:
    teacher_ids = team.members.filter(is_lead=True).values_list("teacher_id", flat=True)
    return list(User.objects.filter(teacher_id__in=list(teacher_ids), is_active=True).values_list("pk", flat=True))


def _above_accounts(team: GuidanceTeam) -> list[int]:
    division = team.division
    # A 省直管县 answers to the province directly, as its plans do.
    parent = (Division.objects.filter(parent__isnull=True).first() if division.is_direct_county
              else division.parent)
    if parent is None:
        return []
    return list(User.objects.filter(division=parent, role=ADMIN_OF_LEVEL[parent.level], is_active=True)
                .values_list("pk", flat=True))


def escalate_overdue(now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    above_after = dt.timedelta(hours=settings.GUIDANCE_ESCALATE_ABOVE_HOURS)
    counts = {"team_lead": 0, "level_above": 0}
    told: dict[tuple[str, int], list[int]] = {}
    steps = (
        (Escalation.NONE, Escalation.TEAM_LEAD, {"due_at__lt": now}, _lead_accounts, "team_lead"),
        (Escalation.TEAM_LEAD, Escalation.LEVEL_ABOVE, {"escalated_at__lt": now - above_after}, _above_accounts,
         "level_above"),
    )
    for level, to, when, accounts, name in steps:
        while True:
            with transaction.atomic():
                rows = list(_overdue(level).filter(**when).select_related("team__division")
                            .select_for_update(skip_locked=True, of=("self",)).order_by("due_at")[:BATCH])
                if not rows:
                    break
                for question in rows:
                    question.escalation, question.escalated_at = to, now
                Question.objects.bulk_update(rows, ["escalation", "escalated_at"])
            for question in rows:
                assert question.team is not None  # the sweep selects routed questions only
                key = (name, question.team_id)
                if key not in told:  # one lookup per team and step, however many of its questions are late
                    told[key] = accounts(question.team)
                hours = int((now - question.created_at).total_seconds() // 3600)
                notify(recipients=told[key], kind=Notification.Kind.QUESTION_ESCALATED,
                       title=f"超时未答（已 {hours} 小时）：{question.text[:30]}",
                       body=f"{question.team.name}：请督促解答或改派", url=reverse("guidance:question_detail",
                                                                          args=[question.pk]),
                       event_key=f"question:{question.pk}:escalated:{int(to)}")
            counts[name] += len(rows)
    return counts
