"""Overdue questions go to the team lead, then to the level above, once each."""

import datetime as dt

from django.utils import timezone

from accounts.models import Role
from guidance.escalation import escalate_overdue
from guidance.models import Question
from guidance.questions import question_answer, question_ask
from notifications.models import Notification

TEXT = "班上有几个学生识字量明显不足，阅读课跟不上，怎样在课堂上兼顾他们？"


def _escalated(user):
    return Notification.objects.dangerously_unscoped().filter(recipient=user, kind="question.escalated").count()


def test_overdue_questions_climb_once_per_step(teams, users, make_user, province):
    asked = timezone.now() - dt.timedelta(hours=50)
    overdue = question_ask(scope=teams.teacher, user=teams.teacher_user, subject="chinese", text=TEXT, now=asked)
    fresh = question_ask(scope=teams.teacher, user=teams.teacher_user, subject="chinese", text=TEXT + "二")
    answered = question_ask(scope=teams.teacher, user=teams.teacher_user, subject="chinese", text=TEXT + "三",
                            now=asked)
    answerer = teams.lead_user if answered.assignee_id == teams.lead.pk else teams.expert_user
    from access.scope import scope_for_user

    question_answer(scope=scope_for_user(answerer), user=answerer, question_id=answered.pk, body="解答")
    city_admin = users["city_admin"]

    now = timezone.now()
    assert escalate_overdue(now) == {"team_lead": 1, "level_above": 0}
    assert escalate_overdue(now) == {"team_lead": 0, "level_above": 0}  # again: nothing new
    overdue.refresh_from_db()
    fresh.refresh_from_db()
    assert overdue.escalation == 1 and fresh.escalation == 0
    assert _escalated(teams.lead_user) == 1 and _escalated(city_admin) == 0

    later = now + dt.timedelta(hours=25)
    assert escalate_overdue(later) == {"team_lead": 0, "level_above": 1}
    assert _escalated(city_admin) == 1  # 杞县's team answers to 开封市
    assert _escalated(users["province_admin"]) == 0
    assert escalate_overdue(later + dt.timedelta(hours=100))["level_above"] == 0
    assert Question.objects.dangerously_unscoped().get(pk=answered.pk).escalation == 0


def test_a_direct_countys_team_escalates_to_the_province(province, users, make_user):
    from access.scope import scope_for_user
    from guidance.teams import member_save, schools_pair, team_create
    from people.tests.factories import TeacherFactory

    admin = users["direct_admin"]
    scope = scope_for_user(admin)
    team = team_create(scope=scope, actor=admin, division=province.direct, name="兰考县小学语文团队", stage="primary",
                       subject="chinese")
    lead = TeacherFactory(school=province.direct_school, name="兰考组长")
    member_save(scope=scope, actor=admin, team_id=team.pk, teacher_id=lead.pk, role="research_staff", is_lead=True)
    schools_pair(scope=scope, actor=admin, team_id=team.pk, school_ids=[province.direct_school.pk])
    asker = make_user("teacher-lk", Role.TEACHER, teacher=province.direct_teacher)
    question_ask(scope=scope_for_user(asker), user=asker, subject="chinese", text=TEXT,
                 now=timezone.now() - dt.timedelta(hours=100))
    escalate_overdue(timezone.now())
    escalate_overdue(timezone.now() + dt.timedelta(hours=30))
    assert _escalated(users["province_admin"]) == 1 and _escalated(users["city_admin"]) == 0
