"""Vocabularies of the hours ledger (§二(五) 学分制, §二(四) online study counts)."""

from decimal import Decimal

from django.db import models


class Category(models.TextChoices):
    CENTRALISED = "centralised", "集中培训"
    ONLINE = "online", "网络研修"
    SCHOOL_BASED = "school_based", "校本研修"
    GUIDANCE = "guidance", "专家/导师指导"
    OTHER = "other", "其他认定活动"


class EntryState(models.TextChoices):
    PENDING = "pending", "待审核"
    APPROVED = "approved", "已认定"
    REJECTED = "rejected", "未通过"
    REVOKED = "revoked", "已撤销"


class SourceType(models.TextChoices):
    PROJECT = "project", "培训项目结业"
    COURSE = "course", "网络课程"
    CLAIM = "claim", "个人申报"
    EXTERNAL = "external", "外部平台导入"
    CORRECTION = "correction", "更正（冲销）"
    SYNTH = "synth", "模拟数据"
    GUIDANCE = "guidance", "专家指导问答"
    INTEGRATION = "integration", "接口写入"


# No single day of training can honestly yield more than this many hours.
MAX_HOURS_PER_DAY = Decimal("12")
CATEGORY_LABELS = dict(Category.choices)


class DecisionStage(models.TextChoices):
    SCHOOL = "school", "学校审核"
    COUNTY = "county", "县级认定"
    REVOKE = "revoke", "撤销"
    CORRECTION = "correction", "更正"


class DecisionState(models.TextChoices):
    CHECKED = "checked", "学校已审核"
    APPROVED = "approved", "已认定"
    REJECTED = "rejected", "未通过"
    REVOKED = "revoked", "已撤销"


# What an API client may write: its own integration's hours. Every other source type is a
# system writer's (project completion, claims, external import, corrections, the learning-record
# store's `course`, synth) and cannot be pre-empted from outside.
API_SOURCE_TYPES = frozenset({SourceType.INTEGRATION})
