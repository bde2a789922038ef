"""The vocabulary of evaluation: assessment points, dimensions, the four sources of a project's
performance score, and the thresholds below which results are not shown."""

from decimal import Decimal

from django.db import models


class Point(models.TextChoices):
    """When an instrument is taken (训前、训中、训后)."""

    PRE = "pre", "训前"
    MID = "mid", "训中"
    POST = "post", "训后"


class InstrumentKind(models.TextChoices):
    ASSESSMENT = "assessment", "能力测评"  # taken by name, compared before and after
    RATING = "rating", "匿名评价问卷"  # answered anonymously about the project


class InstrumentState(models.TextChoices):
    DRAFT = "draft", "草稿"
    PUBLISHED = "published", "已发布"  # frozen: a change is a new version
    RETIRED = "retired", "已停用"


class Dimension(models.TextChoices):
    """What an item measures: the five capabilities of §二(三), and three general ones."""

    MORAL_IN_SUBJECT = "moral_in_subject", "学科育德能力"
    CLASSROOM = "classroom", "课堂教学能力"
    HOMEWORK = "homework", "作业设计能力"
    EXPERIMENT = "experiment", "实验操作能力"
    FAMILY = "family", "家庭教育指导能力"
    ETHICS = "ethics", "师德师风"
    IT = "it", "信息技术应用"
    KNOWLEDGE = "knowledge", "学科专业知识"
    # Rating questionnaires: what a trainee judges of the project.
    CONTENT = "content", "培训内容"
    DELIVERY = "delivery", "授课质量"
    ORGANISATION = "organisation", "组织管理"
    OVERALL = "overall", "总体满意度"


DIMENSION_LABELS = dict(Dimension.choices)


class RubricKind(models.TextChoices):
    VISIT = "visit", "专家过程视导"
    OUTCOME = "outcome", "培训成果质量"
    STAKEHOLDER = "stakeholder", "相关利益群体评价"


class OutcomeKind(models.TextChoices):
    LESSON_PLAN = "lesson_plan", "教学设计"
    REPORT = "report", "研修报告"
    CASE = "case", "教学案例"
    LESSON_VIDEO = "lesson_video", "课堂实录"
    OTHER = "other", "其他成果"


class StakeholderUnit(models.TextChoices):
    SCHOOL = "school", "参训教师所在学校"
    COUNTY = "county", "县级教育行政部门"
    CITY = "city", "市级教育行政部门"


class Source(models.TextChoices):
    """The four sources of a project's performance score (§二(五))."""

    SUPERVISION = "supervision", "专家过程视导评价"
    RATING = "rating", "学员网络匿名评价"
    OUTCOME = "outcome", "培训成果质量评价"
    STAKEHOLDER = "stakeholder", "相关利益群体评价"


class CaseState(models.TextChoices):
    FLAGGED = "flagged", "拟末位淘汰"
    APPEALED = "appealed", "申诉中"
    OVERTURNED = "overturned", "申诉成立（撤销）"
    CONFIRMED = "confirmed", "确认淘汰"


class Sanction(models.TextChoices):
    """What a confirmed elimination does to the implementing institution's accreditation: a
    first year in the bottom share warns, a second in a row suspends, a third revokes."""

    WARNING = "warning", "警告"
    SUSPENSION = "suspension", "暂停资质"
    REVOCATION = "revocation", "撤销资质"


# Paired comparisons are not shown for fewer pairs than this (a mean of three is one teacher's).
MIN_PAIRS = 5
# Anonymous rating results: at least this many responses and this response rate, at every level.
RATING_MIN_RESPONSES = 10
RATING_MIN_RATE = Decimal("0.5")
# The share of a level × category's ranked projects flagged for elimination, unless the weights say.
DEFAULT_BOTTOM_SHARE = Decimal("0.05")
