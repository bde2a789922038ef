"""Vocabularies of the three-level trainer pool (三级教师培训专家队伍, §二(五))."""

from django.db import models

from catalog.constants import Topic


class Source(models.TextChoices):
    """Where a trainer is drawn from."""

    RESEARCH_STAFF = "research_staff", "教研员"
    MASTER_TEACHER = "master_teacher", "名师"
    SUBJECT_LEADER = "subject_leader", "学科带头人"
    UNIVERSITY = "university", "高校专家"
    OTHER = "other", "其他"


# Master teachers and subject leaders are teachers: their trainer record is linked to the registry.
TEACHER_SOURCES = (Source.MASTER_TEACHER, Source.SUBJECT_LEADER)


class Grade(models.IntegerChoices):
    """A trainer's grade within their pool (培训师培育): promoted by the pool's owner only."""

    JUNIOR = 1, "初级培训师"
    INTERMEDIATE = 2, "中级培训师"
    SENIOR = 3, "高级培训师"
    CHIEF = 4, "首席培训师"


class PoolLevel(models.TextChoices):
    """A pool's level is its owning division's."""

    PROVINCE = "province", "省级"
    CITY = "city", "市级"
    COUNTY = "county", "县级"


# The five capabilities of §二(三), a subset of the project topics.
CAPABILITIES = (Topic.MORAL_IN_SUBJECT, Topic.CLASSROOM, Topic.HOMEWORK, Topic.EXPERIMENT, Topic.FAMILY)

SOURCE_LABELS = dict(Source.choices)
GRADE_LABELS = dict(Grade.choices)
POOL_LEVEL_LABELS = dict(PoolLevel.choices)
TOPIC_LABELS = dict(Topic.choices)

NAME_MAX = 50
EXPERTISE_MAX = 500
# The longest unavailable period entered at once, and how many periods a trainer may hold.
UNAVAILABLE_MAX_DAYS = 366
UNAVAILABLE_MAX_PERIODS = 50
PROMOTION_REASON_MIN = 4
