"""Vocabularies of the training-project library (§二(三) 分层分类培训项目库)."""

from django.db import models


class Level(models.TextChoices):
    PROVINCE = "province", "省级"
    CITY = "city", "市级"
    COUNTY = "county", "县级"
    SCHOOL = "school", "校级"


class ProjectCategory(models.TextChoices):
    NEW_TEACHER = "new_teacher", "新教师规范化培训"
    BACKBONE = "backbone", "骨干教师培训"
    MASTER_TEACHER = "master_teacher", "名师培训"
    PRINCIPAL = "principal", "校（园）长培训"
    RURAL_CHIEF = "rural_chief", "乡村首席教师培训"
    ETHICS = "ethics", "政治理论与师德师风（必修）"
    TOPIC = "topic", "专题培训"
    CAPABILITY = "capability", "能力提升培训"
    ALL_STAFF = "all_staff", "全员培训"
    SCHOOL_BASED = "school_based", "校本研修"


class Topic(models.TextChoices):
    """The topics and the five capabilities named in §二(三)."""

    NATIONAL_SECURITY = "national_security", "国家安全"
    RULE_OF_LAW = "rule_of_law", "法治教育"
    ECOLOGY = "ecology", "生态文明"
    MENTAL_HEALTH = "mental_health", "心理健康"
    STANDARD_SCHOOLING = "standard_schooling", "规范办学"
    CAREER = "career", "生涯规划"
    YOUNG_PIONEERS = "young_pioneers", "少先队工作"
    ANTI_BULLYING = "anti_bullying", "防欺凌"
    IT = "it", "信息技术应用"
    MORAL_IN_SUBJECT = "moral_in_subject", "学科育德能力"
    CLASSROOM = "classroom", "课堂教学能力"
    HOMEWORK = "homework", "作业设计能力"
    EXPERIMENT = "experiment", "实验操作能力"
    FAMILY = "family", "家庭教育指导能力"


class Mode(models.TextChoices):
    CENTRALISED = "centralised", "集中培训"
    ONLINE = "online", "网络研修"
    BLENDED = "blended", "混合式"
    SHADOWING = "shadowing", "跟岗研修"
    OVERSEAS = "overseas", "出国（境）研修"


class ProjectState(models.TextChoices):
    DRAFT = "draft", "草稿"
    OPEN = "open", "报名中"
    CLOSED = "closed", "报名截止"
    FINISHED = "finished", "已结束"


class EnrolmentState(models.TextChoices):
    PENDING = "pending", "待审核"  # holds a seat until decided
    ENROLLED = "enrolled", "已录取"
    WAITING = "waiting", "候补"
    WITHDRAWN = "withdrawn", "已退出"
    REJECTED = "rejected", "未通过"
    COMPLETED = "completed", "已结业"


SEAT_HOLDING = (EnrolmentState.PENDING, EnrolmentState.ENROLLED)
# A teacher hired less than this many years ago counts as a new teacher (新教师).
NEW_TEACHER_YEARS = 3


class PlanState(models.TextChoices):
    DRAFT = "draft", "编制中"
    SUBMITTED = "submitted", "已报送"
    APPROVED = "approved", "已批准"
    RETURNED = "returned", "已退回修改"


PLAN_EDITABLE = (PlanState.DRAFT, PlanState.RETURNED)
# Plans in these states are commitments other planners must see when they check for overlaps.
PLAN_COMMITTED = (PlanState.SUBMITTED, PlanState.APPROVED)
