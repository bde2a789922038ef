"""A question from asking to resolution: routing, least-loaded assignment, the thread, hours,
notifications, and the refusals."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from access.errors import Forbidden, NotVisible
from access.scope import scope_for_user
from credits.constants import SourceType
from credits.models import LedgerEntry
from guidance import hours
from guidance.models import HoursRule, Question
from guidance.questions import (
    question_answer,
    question_ask,
    question_follow_up,
    question_reassign,
    question_resolve,
)
from guidance.teams import member_save
from notifications.models import Notification

TEXT = "我带三年级两个班，学生写作文总是流水账，怎样指导他们写出具体生动的细节？"


def _ask(teams, text=TEXT, **extra):
    return question_ask(scope=teams.teacher, user=teams.teacher_user, subject="chinese", text=text, **extra)


def _notices(user):
    return list(Notification.objects.dangerously_unscoped().filter(recipient=user).values_list("kind", flat=True))


def test_a_question_goes_to_the_paired_team_and_its_least_loaded_member(teams):
    first = _ask(teams)
    assert first.team_id == teams.team.pk and first.state == "waiting"
    assert first.assignee_id == teams.lead.pk  # both idle: the longest-standing member
    second = _ask(teams, text=TEXT + "（第二个班）")
    assert second.assignee_id == teams.expert.pk  # the lead now holds one open question
    member_save(scope=teams.county, actor=None, team_id=teams.team.pk, teacher_id=teams.expert.teacher_id,
                role="master_teacher", is_available=False)
    third = _ask(teams, text=TEXT + "（第三个班）")
    assert third.assignee_id == teams.lead.pk  # the expert on leave takes no new question
    assert first.due_at - first.created_at == dt.timedelta(hours=48)
    teams.expert_user.refresh_from_db()
    assert _notices(teams.expert_user) == ["question.assigned"] and teams.expert_user.unread_notices == 1


def test_the_whole_thread_and_the_hours_it_earns(teams, users):
    question = _ask(teams)
    lead = scope_for_user(teams.lead_user)
    question_answer(scope=lead, user=teams.lead_user, question_id=question.pk, body="先让学生观察一件具体的事物……")
    question.refresh_from_db()
    assert question.state == "answered" and question.first_answered_at is not None
    question_follow_up(scope=teams.teacher, user=teams.teacher_user, question_id=question.pk, body="低年级也适用吗？")
    question.refresh_from_db()
    assert question.state == "waiting" and question.first_answered_at is not None  # the deadline was met once
    question_answer(scope=lead, user=teams.lead_user, question_id=question.pk, body="适用，可以从句子练起。")
    resolved = question_resolve(scope=teams.teacher, user=teams.teacher_user, question_id=question.pk, rating=5,
                                today=dt.date(2026, 11, 20))
    assert resolved.state == "resolved" and resolved.rating == 5
    entries = LedgerEntry.objects.dangerously_unscoped().filter(source_type=SourceType.GUIDANCE)
    earned = {(e.teacher_id, e.category): e.hours for e in entries}
    assert earned == {(teams.lead.teacher_id, "guidance"): Decimal("0.5"),
                      (users["teacher"].teacher_id, "guidance"): Decimal("0.2")}
    # Written once: awarding again (a retried task, a double click) writes nothing.
    assert hours.award(resolved, today=dt.date(2026, 11, 20)) == {"expert": 0, "asker": 0}
    assert entries.count() == 2
    assert _notices(teams.teacher_user).count("question.answered") == 2


def test_hours_stop_at_the_cap_of_the_rule_in_force(teams, users):
    HoursRule.objects.create(effective_from=dt.date(2026, 1, 1), expert_hours=Decimal("1"), expert_cap=Decimal("1.5"),
                             asker_hours=Decimal("0"), asker_cap=Decimal("0"))
    lead = scope_for_user(teams.lead_user)
    for n in range(3):
        question = _ask(teams, text=f"{TEXT}（{n}）")
        member = question.assignee
        answerer = teams.lead_user if member.pk == teams.lead.pk else teams.expert_user
        scope = lead if answerer == teams.lead_user else scope_for_user(teams.expert_user)
        question_answer(scope=scope, user=answerer, question_id=question.pk, body="解答")
        question_resolve(scope=teams.teacher, user=teams.teacher_user, question_id=question.pk,
                         today=dt.date(2026, 11, 20))
    lead_hours = sum(e.hours for e in LedgerEntry.objects.dangerously_unscoped().filter(
        teacher_id=teams.lead.teacher_id, source_type=SourceType.GUIDANCE))
    assert lead_hours == Decimal("1.5")  # 1 + 0.5, then nothing: the cap
    assert not LedgerEntry.objects.dangerously_unscoped().filter(teacher_id=users["teacher"].teacher_id,
                                                                 source_type=SourceType.GUIDANCE).exists()


def test_refusals_write_nothing(teams, users, province):
    with pytest.raises(ValidationError, match="太短"):
        _ask(teams, text="怎么办")
    with pytest.raises(ValidationError, match="2000"):
        _ask(teams, text="长" * 2001)
    with pytest.raises(ValidationError, match="任教的学科"):
        question_ask(scope=teams.teacher, user=teams.teacher_user, subject="math", text=TEXT)
    bad = SimpleUploadedFile("教案.exe", b"MZ\x90\x00", content_type="application/octet-stream")
    with pytest.raises(ValidationError):
        _ask(teams, attachment=bad)
    with pytest.raises(PermissionDenied):
        question_ask(scope=scope_for_user(users["county_admin"]), user=users["county_admin"], subject="chinese",
                     text=TEXT)
    assert Question.objects.dangerously_unscoped().count() == 0
    # A teacher whose school no team serves is told so.
    sibling = scope_for_user(users["sibling_teacher_user"])
    teams.sibling_team.is_active = False
    teams.sibling_team.save()
    with pytest.raises(ValidationError, match="尚未配备"):
        question_ask(scope=sibling, user=users["sibling_teacher_user"], subject="chinese", text=TEXT)


def test_only_the_teams_experts_answer_and_only_the_asker_resolves(teams, users):
    question = _ask(teams)
    for user in (teams.sibling_expert_user, users["teacher"], users["sibling_teacher_user"]):
        with pytest.raises((NotVisible, Forbidden)):
            question_answer(scope=scope_for_user(user), user=user, question_id=question.pk, body="越权解答")
    with pytest.raises(Forbidden):  # the county sees its teacher's question but does not answer it
        question_answer(scope=teams.county, user=users["county_admin"], question_id=question.pk, body="越权")
    with pytest.raises(ValidationError, match="尚未解答"):
        question_resolve(scope=teams.teacher, user=teams.teacher_user, question_id=question.pk)
    with pytest.raises(Forbidden):
        question_resolve(scope=scope_for_user(teams.lead_user), user=teams.lead_user, question_id=question.pk)
    assert question.messages.count() == 0


def test_reassigning_is_the_leads_or_the_teams_administrators(teams, users):
    question = _ask(teams)
    assert question.assignee_id == teams.lead.pk
    with pytest.raises(Forbidden):
        question_reassign(scope=scope_for_user(teams.expert_user), actor=teams.expert_user, question_id=question.pk,
                          member_id=teams.expert.pk)
    with pytest.raises(ValidationError, match="本团队"):
        question_reassign(scope=teams.county, actor=users["county_admin"], question_id=question.pk,
                          member_id=teams.sibling_team.members.get().pk)
    question_reassign(scope=scope_for_user(teams.lead_user), actor=teams.lead_user, question_id=question.pk,
                      member_id=teams.expert.pk)
    question.refresh_from_db()
    assert question.assignee_id == teams.expert.pk
    with pytest.raises(NotVisible):  # another county's administrator does not even see it
        question_reassign(scope=scope_for_user(users["sibling_admin"]), actor=users["sibling_admin"],
                          question_id=question.pk, member_id=teams.lead.pk)


def test_a_school_without_pairing_falls_to_its_countys_single_team(teams, province, users):
    from org.models import School
    from people.tests.factories import TeacherFactory

    second = School.objects.create(code="4102210002", name="杞县第二小学", division=province.county)
    teacher = TeacherFactory(school=second, name="郑八")
    from accounts.models import Role

    user = users["teacher"].__class__.objects.create(username="teacher-zb", role=Role.TEACHER, teacher=teacher)
    question = question_ask(scope=scope_for_user(user), user=user, subject="chinese", text=TEXT)
    assert question.team_id == teams.team.pk  # 杞县 has exactly one primary-Chinese team
    assert question.created_at <= timezone.now()
