"""Vocabularies of the organisation hierarchy (stored as short English codes)."""

from django.db import models


class DivisionLevel(models.TextChoices):
    PROVINCE = "province", "省"
    CITY = "city", "市"
    COUNTY = "county", "县（市、区）"


class Stage(models.TextChoices):
    KINDERGARTEN = "kindergarten", "学前"
    PRIMARY = "primary", "小学"
    JUNIOR = "junior", "初中"
    SENIOR = "senior", "普通高中"
    SPECIAL = "special", "特殊教育"
    VOCATIONAL = "vocational", "中职"


class InstitutionKind(models.TextChoices):
    PROVINCIAL_INSTITUTE = "provincial_institute", "省基础教育研修院"
    CITY_CENTRE = "city_centre", "市级教师发展中心"
    COUNTY_CENTRE = "county_centre", "县级教师发展中心"
    UNIVERSITY = "university", "高等学校"
    TRAINING_INSTITUTION = "training_institution", "培训机构"
    TRAINING_BASE = "training_base", "教师培训基地"


STAGE_LABELS = dict(Stage.choices)
