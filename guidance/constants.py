"""Vocabularies of the expert guidance teams (codes stored, Chinese labels shown)."""

from django.db import models


class MemberRole(models.TextChoices):
    RESEARCH_STAFF = "research_staff", "教研员"
    MASTER_TEACHER = "master_teacher", "一线名师"
    TECH_LEAD = "tech_lead", "学科技术带头人"


class QuestionState(models.TextChoices):
    WAITING = "waiting", "待解答"
    ANSWERED = "answered", "已解答"
    RESOLVED = "resolved", "已解决"


class Escalation(models.IntegerChoices):
    NONE = 0, "未升级"
    TEAM_LEAD = 1, "已提醒组长"
    LEVEL_ABOVE = 2, "已上报上级"


OPEN_STATES = (QuestionState.WAITING, QuestionState.ANSWERED)
MEMBER_ROLE_LABELS = dict(MemberRole.choices)
QUESTION_STATE_LABELS = dict(QuestionState.choices)

# A question is 10–2000 characters: shorter says nothing an expert can answer, longer is a document.
QUESTION_MIN_CHARS = 10
QUESTION_MAX_CHARS = 2000
MESSAGE_MAX_CHARS = 4000
