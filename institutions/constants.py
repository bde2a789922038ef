"""Vocabularies of training-institution accreditation (准入, §二(五))."""

from django.db import models

from catalog.constants import Level, Mode, ProjectCategory


class AccreditationState(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "待审核"
    RETURNED = "returned", "已退回修改"
    REFUSED = "refused", "未通过"
    APPROVED = "approved", "有效"
    RENEWAL_SUBMITTED = "renewal_submitted", "续期待审核"
    SUSPENDED = "suspended", "暂停"
    REVOKED = "revoked", "已撤销"
    EXPIRED = "expired", "已过期"


# The levels an accreditation may cover (a school's own 校本研修 needs none).
SCOPE_LEVELS = (Level.PROVINCE, Level.CITY, Level.COUNTY)
LEVEL_RANK: dict[str, int] = {Level.PROVINCE: 3, Level.CITY: 2, Level.COUNTY: 1}
SCOPE_CATEGORIES = tuple(c for c in ProjectCategory if c != ProjectCategory.SCHOOL_BASED)
SCOPE_MODES = tuple(Mode)
# The longest validity an accrediting division may grant.
MAX_VALIDITY_DAYS = 5 * 366
EVIDENCE_MAX_FILES = 10


class BaseKind(models.TextChoices):
    """What a training base (培训基地) is: the policy names universities, training institutions and
    exemplary schools and kindergartens."""

    UNIVERSITY = "university", "高等院校"
    INSTITUTION = "institution", "培训机构"
    SCHOOL = "school", "优质中小学"
    KINDERGARTEN = "kindergarten", "优质幼儿园"


# Kinds that are an institution of the registry; the others are a school of the roster.
INSTITUTION_BASES = (BaseKind.UNIVERSITY, BaseKind.INSTITUTION)
BASE_SEATS_MAX = 10_000
