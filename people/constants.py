"""Teacher vocabularies. Codes are English; labels are what users see."""

from django.db import models


class Title(models.TextChoices):
    NONE = "none", "未评职称"
    THIRD = "third", "三级教师"
    SECOND = "second", "二级教师"
    FIRST = "first", "一级教师"
    SENIOR = "senior", "高级教师"
    FULL_SENIOR = "full_senior", "正高级教师"


class Subject(models.TextChoices):
    # 义务教育课程方案 (2022) plus kindergarten, senior-secondary and special-education needs.
    PRESCHOOL = "preschool", "学前教育"
    MORALITY_LAW = "morality_law", "道德与法治"
    POLITICS = "politics", "思想政治"
    CHINESE = "chinese", "语文"
    MATH = "math", "数学"
    ENGLISH = "english", "英语"
    JAPANESE = "japanese", "日语"
    RUSSIAN = "russian", "俄语"
    HISTORY = "history", "历史"
    GEOGRAPHY = "geography", "地理"
    SCIENCE = "science", "科学"
    PHYSICS = "physics", "物理"
    CHEMISTRY = "chemistry", "化学"
    BIOLOGY = "biology", "生物学"
    IT = "it", "信息科技"
    PE = "pe", "体育与健康"
    MUSIC = "music", "音乐"
    ART = "art", "美术"
    LABOUR = "labour", "劳动"
    PRACTICE = "practice", "综合实践活动"
    PSYCHOLOGY = "psychology", "心理健康"
    SPECIAL_ED = "special_ed", "特殊教育"
    VOCATIONAL = "vocational", "专业课"


class HonourTitle(models.TextChoices):
    MASTER_TEACHER = "master_teacher", "名师"
    BACKBONE = "backbone", "骨干教师"
    SUBJECT_LEADER = "subject_leader", "学科带头人"
    CHIEF_TEACHER = "chief_teacher", "乡村首席教师"
    MASTER_PRINCIPAL = "master_principal", "名校长"


class HonourLevel(models.TextChoices):
    NATIONAL = "national", "国家级"
    PROVINCE = "province", "省级"
    CITY = "city", "市级"
    COUNTY = "county", "县级"


class Sex(models.TextChoices):
    MALE = "M", "男"
    FEMALE = "F", "女"


class Status(models.TextChoices):
    ACTIVE = "active", "在岗"
    LEAVE = "leave", "离岗"
    RETIRED = "retired", "退休"
    LEFT = "left", "调出"


NEW_TEACHER_YEARS = 3  # 新教师: within three years of hire (规范化培训期)


# Plain dicts for hot paths (list pages render thousands of labels; enum and
# get_FOO_display look-ups cost more than the query).
SUBJECT_LABELS = dict(Subject.choices)
TITLE_LABELS = dict(Title.choices)
STATUS_LABELS = dict(Status.choices)
HONOUR_TITLE_LABELS = dict(HonourTitle.choices)
HONOUR_LEVEL_LABELS = dict(HonourLevel.choices)
