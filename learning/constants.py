"""Vocabularies of the course library. Stages (org.constants.Stage), subjects
(people.constants.Subject), topics and the five capabilities (catalog.constants.Topic),
levels (catalog.constants.Level) and ledger categories (credits.constants.Category) are the
project's own; only what they lack is here."""

from django.db import models

from catalog.constants import Topic


class ProviderKind(models.TextChoices):
    NATIONAL = "national", "国家平台"
    PROVINCIAL = "provincial", "省级平台"
    OTHER_PLATFORM = "other_platform", "其他平台"
    UNIVERSITY = "university", "高等学校"
    INSTITUTION = "institution", "培训机构"


class CourseFormat(models.TextChoices):
    VIDEO = "video", "视频课"
    LIVE = "live", "直播课"
    BLENDED = "blended", "混合式"
    READING = "reading", "阅读材料"


class RequiredContent(models.TextChoices):
    """The content every teacher's training must carry (the policy's 必修内容)."""

    XI_THOUGHT = "xi_thought", "习近平新时代中国特色社会主义思想"
    CORE_VALUES = "core_values", "社会主义核心价值观"
    FOUR_HISTORIES = "four_histories", "“四史”教育"
    ETHICS = "ethics", "师德师风"


class CourseState(models.TextChoices):
    DRAFT = "draft", "待发布"
    PUBLISHED = "published", "已发布"
    RETIRED = "retired", "已下架"


# The five capabilities among the topics (the rest are the policy's topics).
CAPABILITIES = (Topic.MORAL_IN_SUBJECT, Topic.CLASSROOM, Topic.HOMEWORK, Topic.EXPERIMENT, Topic.FAMILY)


class StudyState(models.TextChoices):
    ENROLLED = "enrolled", "已选学"
    IN_PROGRESS = "in_progress", "学习中"
    COMPLETED = "completed", "已完成"


class SessionEnd(models.TextChoices):
    """Why a study session stopped taking beats."""

    SUPERSEDED = "superseded", "已在其他页面学习"
    EXPIRED = "expired", "学习会话已超时"


# Formats the platform's own player plays (live and blended courses are studied elsewhere).
PLAYABLE_FORMATS = ("video", "reading")
