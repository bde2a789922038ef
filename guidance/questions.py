"""A teacher's question from asking to resolution.

ask → routed to the team serving the teacher's school for that subject, assigned to its
least-loaded available member, first answer due in GUIDANCE_FIRST_ANSWER_HOURS → the expert
answers (state 已解答) → the teacher follows up (back to 待解答, the same expert) or resolves it
and rates it → hours for both under the province's rule (guidance.hours).

A teacher who accepts an already-answered question shown as an instant answer gets their
question stored as resolved at once, matched to that one, and no expert is troubled.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from access.policy import Action, fetch, visible
from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record
from credits.claims import evidence_problem
from guidance import hours, routing
from guidance.bank import encode_text
from guidance.constants import (
    MESSAGE_MAX_CHARS,
    QUESTION_MAX_CHARS,
    QUESTION_MIN_CHARS,
    QuestionState,
)
from guidance.models import Question, QuestionMessage
from notifications.models import Notification
from notifications.services import notify
from people.models import Teacher


def _url(question: Question) -> str:
    return reverse("guidance:question_detail", args=[question.pk])


def _account_of(teacher_id: int | None) -> list[int]:
    from accounts.models import User

    if teacher_id is None:
        return []
    return list(User.objects.filter(teacher_id=teacher_id, is_active=True).values_list("pk", flat=True))


def _text(text: str, *, field: str = "text") -> str:
    text = (text or "").strip()
    if len(text) < QUESTION_MIN_CHARS:
        raise ValidationError({field: f"问题太短：请至少写 {QUESTION_MIN_CHARS} 个字，说清楚情境和困惑"})
    if len(text) > QUESTION_MAX_CHARS:
        raise ValidationError({field: f"问题不能超过 {QUESTION_MAX_CHARS} 字，可把材料作为附件上传"})
    return text


def _body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "回复内容不能为空"})
    if len(body) > MESSAGE_MAX_CHARS:
        raise ValidationError({"body": f"回复不能超过 {MESSAGE_MAX_CHARS} 字"})
    return body


def subjects_of(teacher: Teacher) -> list[str]:
    return list(teacher.subjects.order_by("-is_main", "id").values_list("subject", flat=True))


def question_ask(*, scope: Scope, user, subject: str, text: str, attachment=None, shareable: bool = True,
                 accept_id: int | None = None, now: dt.datetime | None = None) -> Question:
    """A teacher asks. `accept_id`: the already-answered question they accepted instead."""
    if scope.teacher_id is None:
        raise PermissionDenied("只有教师可以向专家指导团队提问")
    teacher = fetch(scope, Teacher, scope.teacher_id, select_related=("school",))
    text = _text(text)
    problems: dict[str, str] = {}
    if subject not in subjects_of(teacher):
        problems["subject"] = "请选择您任教的学科"
    if attachment is not None and (problem := evidence_problem(attachment)):
        problems["attachment"] = problem
    if problems:
        raise ValidationError(problems)
    now = now or timezone.now()
    question = Question(created_at=now, teacher=teacher, division_path=teacher.division_path, school_id=teacher.school_id,
                        stage=teacher.stage, subject=subject, text=text, shareable=shareable)
    if accept_id is not None:
        matched = (visible(scope, Question, Action.CONSULT)
                   .filter(pk=accept_id, stage=teacher.stage, subject=subject).first())
        if matched is None:
            raise ValidationError({"accept": "所选的已答问题不存在或不属于该学段学科"})
        question.matched, question.state, question.resolved_at = matched, QuestionState.RESOLVED, now
        question.vector = encode_text(text)
        question.save(force_insert=True)
        return question
    with transaction.atomic():
        team = routing.team_for(school_id=teacher.school_id, school_path=teacher.division_path,
                                stage=teacher.stage, subject=subject)
        if team is None:
            raise ValidationError({"subject": "您学校的该学段学科尚未配备专家指导团队，请联系县级管理员"})
        team = routing.lock_team(team.pk)
        question.team = team
        question.assignee = routing.least_loaded_member(team)
        question.due_at = now + dt.timedelta(hours=settings.GUIDANCE_FIRST_ANSWER_HOURS)
        question.vector = encode_text(text)
        if attachment is not None:
            question.attachment = attachment
        question.save(force_insert=True)
    told = question.assignee.teacher_id if question.assignee else _lead_teacher(question)
    notify(recipients=_account_of(told), kind=Notification.Kind.QUESTION_ASSIGNED,
           title=f"新的指导问题：{text[:30]}", body=f"请在 {question.due_at:%m-%d %H:%M} 前首次解答",
           url=_url(question), event_key=f"question:{question.pk}:assigned:{told}")
    return question


def _lead_teacher(question: Question) -> int | None:
    lead = question.team.members.filter(is_lead=True).values_list("teacher_id", flat=True).first() if question.team else None
    return lead


def question_answer(*, scope: Scope, user, question_id: int, body: str, now: dt.datetime | None = None) -> QuestionMessage:
    """An expert of the team replies; the first reply is the first answer."""
    body = _body(body)
    now = now or timezone.now()
    with transaction.atomic():
        question = fetch(scope, Question, question_id, Action.ANSWER, lock=True)
        if question.state == QuestionState.RESOLVED:
            raise ValidationError({"body": "问题已解决，不能再回复"})
        member = question.team.members.filter(teacher_id=scope.teacher_id).first()
        message = question.messages.create(author=user, is_answer=True, member=member, body=body)
        fields = ["state"]
        question.state = QuestionState.ANSWERED
        if question.first_answered_at is None:
            question.first_answered_at = now
            fields.append("first_answered_at")
        if question.assignee_id is None and member is not None:
            question.assignee = member
            fields.append("assignee")
        question.save(update_fields=fields)
    notify(recipients=_account_of(question.teacher_id), kind=Notification.Kind.QUESTION_ANSWERED,
           title=f"您的问题有了解答：{question.text[:30]}", url=_url(question),
           event_key=f"question:{question.pk}:message:{message.pk}")
    return message


def question_follow_up(*, scope: Scope, user, question_id: int, body: str) -> QuestionMessage:
    """The asker asks more; the question waits for its expert again."""
    body = _body(body)
    with transaction.atomic():
        question = fetch(scope, Question, question_id, Action.CHANGE, lock=True)
        if question.state == QuestionState.RESOLVED:
            raise ValidationError({"body": "问题已解决；如有新的困惑，请重新提问"})
        if question.team_id is None:
            raise ValidationError({"body": "该问题已由已答问题解决"})
        message = question.messages.create(author=user, is_answer=False, body=body)
        question.state = QuestionState.WAITING
        question.save(update_fields=["state"])
    told = question.assignee.teacher_id if question.assignee else _lead_teacher(question)
    notify(recipients=_account_of(told), kind=Notification.Kind.QUESTION_FOLLOW_UP,
           title=f"问题有追问：{question.text[:30]}", url=_url(question),
           event_key=f"question:{question.pk}:message:{message.pk}")
    return message


def question_resolve(*, scope: Scope, user, question_id: int, rating: int | None = None,
                     today: dt.date | None = None) -> Question:
    """The asker marks an answered question solved (with an optional 1–5 rating); hours follow."""
    if rating is not None and not 1 <= rating <= 5:
        raise ValidationError({"rating": "满意度为 1 到 5 星"})
    with transaction.atomic():
        question = fetch(scope, Question, question_id, Action.CHANGE, lock=True)
        if question.state == QuestionState.RESOLVED:
            raise ValidationError({"state": "问题已经解决"})
        if question.first_answered_at is None:
            raise ValidationError({"state": "专家尚未解答，不能标为已解决"})
        question.state, question.resolved_at, question.rating = QuestionState.RESOLVED, timezone.now(), rating
        question.save(update_fields=["state", "resolved_at", "rating"])
    hours.award(question, today=today)
    told = question.assignee.teacher_id if question.assignee else None
    notify(recipients=_account_of(told), kind=Notification.Kind.QUESTION_RESOLVED,
           title=f"问题已解决：{question.text[:30]}", body=f"满意度 {rating} 星" if rating else "",
           url=_url(question), event_key=f"question:{question.pk}:resolved")
    return question


def question_rate(*, scope: Scope, question_id: int, rating: int) -> Question:
    if not 1 <= rating <= 5:
        raise ValidationError({"rating": "满意度为 1 到 5 星"})
    with transaction.atomic():
        question = fetch(scope, Question, question_id, Action.CHANGE, lock=True)
        if question.state != QuestionState.RESOLVED or question.matched_id is not None:
            raise ValidationError({"rating": "只能为专家解答并已解决的问题评价"})
        question.rating = rating
        question.save(update_fields=["rating"])
    return question


def question_reassign(*, scope: Scope, actor, question_id: int, member_id: int, ip: str | None = None) -> Question:
    """The team lead or the team's administrators hand a question to another member of its team."""
    with transaction.atomic():
        question = fetch(scope, Question, question_id, Action.ASSIGN, lock=True)
        if question.state == QuestionState.RESOLVED:
            raise ValidationError({"member": "问题已解决"})
        member = question.team.members.filter(pk=member_id).first()
        if member is None:
            raise ValidationError({"member": "只能改派给本团队的成员"})
        previous = question.assignee_id
        question.assignee = member
        question.save(update_fields=["assignee"])
        audit_record(action=Audit.GUIDANCE_REASSIGN, actor=actor, ip=ip, scope_path=question.team.division_path,
                     object_type="guidance_question", object_id=question.pk,
                     detail={"from": previous, "to": member.pk})
    notify(recipients=_account_of(member.teacher_id), kind=Notification.Kind.QUESTION_ASSIGNED,
           title=f"改派给您的指导问题：{question.text[:30]}", url=_url(question),
           event_key=f"question:{question.pk}:reassigned:{member.teacher_id}:{timezone.now().timestamp()}")
    return question

