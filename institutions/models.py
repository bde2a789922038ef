"""Training-institution accreditation (准入): an institution's application for a scope (levels,
project categories, modes), reviewed by the accrediting division against versioned criteria,
with its evidence files, its scores and the history of every step.

The state machine is institutions/machine.py; the database holds its invariants too (check
constraints below), so no write path, however it goes wrong, stores an approved row without an
ordered term or a decision by its own applicant."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from access.managers import ScopedManager
from institutions.constants import BASE_SEATS_MAX, INSTITUTION_BASES, AccreditationState, BaseKind
from institutions.machine import HOLDS_TERM
from org.models import path_index


class CriteriaSet(models.Model):
    """One version of the province's accreditation criteria. A review is scored against the
    version current when the application was submitted; later versions never change it."""

    version = models.PositiveIntegerField("版本", unique=True)
    title = models.CharField("名称", max_length=100)
    effective_from = models.DateField("启用日期")
    pass_score = models.PositiveIntegerField("合格线（总分）")

    class Meta:
        ordering = ["-version"]
        verbose_name = "准入认定标准"

    def __str__(self) -> str:
        return f"{self.title}（第{self.version}版）"


class Criterion(models.Model):
    criteria = models.ForeignKey(CriteriaSet, on_delete=models.PROTECT, related_name="items")
    code = models.CharField("编号", max_length=30)
    name = models.CharField("认定项", max_length=100)
    description = models.CharField("说明", max_length=300, blank=True)
    max_score = models.PositiveIntegerField("满分")
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["criteria", "order", "pk"]
        verbose_name = "认定项"
        constraints = [
            models.UniqueConstraint(fields=["criteria", "code"], name="institutions_criterion_unique_code"),
            models.CheckConstraint(condition=Q(max_score__gt=0), name="institutions_criterion_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Accreditation(models.Model):
    institution = models.ForeignKey("org.Institution", on_delete=models.PROTECT, related_name="accreditations")
    # The institution's division path: who sees it (division administrators over the institution).
    division_path = models.CharField(max_length=100, editable=False)
    # The division that decides (province for 省级 scope or a 省直管县's institution, else the city or
    # county at the highest level applied for), and its path, read by the policy.
    accrediting_division = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="+")
    accrediting_path = models.CharField(max_length=100, editable=False)
    levels = models.JSONField("层级", default=list)
    categories = models.JSONField("项目类别", default=list)
    modes = models.JSONField("培训方式", default=list)
    note = models.TextField("申请说明", blank=True)
    state = models.CharField("状态", max_length=20, choices=AccreditationState.choices,
                             default=AccreditationState.DRAFT)
    criteria = models.ForeignKey(CriteriaSet, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The applying unit when a division administrator applied for the institution ("" when its own
    # staff did): no administrator of that unit decides (four eyes).
    applicant_path = models.CharField(max_length=100, blank=True, editable=False)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField("最近一次决定的理由", blank=True)
    valid_from = models.DateField("有效期自", null=True, blank=True)
    valid_until = models.DateField("有效期至", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-pk"]
        verbose_name = "培训机构准入"
        indexes = [
            path_index("institutions_accr_path_like", "division_path"),
            models.Index(fields=["accrediting_path", "state"], name="institutions_accr_review"),
            models.Index(fields=["institution", "state"], name="institutions_accr_inst_state"),
            models.Index(fields=["state", "valid_until"], name="institutions_accr_expiry"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=AccreditationState.values),
                                   name="institutions_accr_known_state"),
            models.CheckConstraint(
                name="institutions_accr_term",
                condition=(Q(state__in=sorted(HOLDS_TERM), valid_from__isnull=False, valid_until__isnull=False,
                             valid_from__lte=F("valid_until"), decided_by__isnull=False)
                           | (~Q(state__in=sorted(HOLDS_TERM)) & Q(valid_from__isnull=True, valid_until__isnull=True)))),
            models.CheckConstraint(name="institutions_accr_four_eyes",
                                   condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("applied_by"))),
        ]

    def __str__(self) -> str:
        return f"{self.institution}准入申请#{self.pk}"

    def save(self, *args, **kwargs):
        self.division_path = self.institution.division_path
        self.accrediting_path = self.accrediting_division.path
        super().save(*args, **kwargs)


class AccreditationEvidence(models.Model):
    accreditation = models.ForeignKey(Accreditation, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField("证明材料", upload_to="accreditation/%Y/%m/")
    name = models.CharField("文件名", max_length=200)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["pk"]
        verbose_name = "准入证明材料"

    def __str__(self) -> str:
        return self.name


class AccreditationScore(models.Model):
    """A reviewer's score of one criterion (the latest review's; a renewal is scored again)."""

    accreditation = models.ForeignKey(Accreditation, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveIntegerField("得分")
    comment = models.CharField("评语", max_length=300, blank=True)
    scored_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    scored_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["criterion__order", "pk"]
        verbose_name = "准入评分"
        constraints = [
            models.UniqueConstraint(fields=["accreditation", "criterion"], name="institutions_score_once"),
        ]

    def __str__(self) -> str:
        return f"{self.criterion_id}: {self.score}"


class AccreditationEvent(models.Model):
    """One step of an accreditation's history (append-only; the audit log holds it too)."""

    accreditation = models.ForeignKey(Accreditation, on_delete=models.CASCADE, related_name="events")
    action = models.CharField("操作", max_length=30)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    reason = models.TextField("理由", blank=True)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["pk"]
        verbose_name = "准入记录"

    def __str__(self) -> str:
        return f"{self.action}: {self.from_state} → {self.to_state}"


class TrainingBase(models.Model):
    """A training base (培训基地) designated by a division: a university, an institution, or an
    exemplary school or kindergarten, with what it offers (跟岗 placements: seats per school term,
    stages, subjects). 跟岗 projects pick a base; the seats they hold in a term count against the
    base's capacity for that term (institutions/bases.py, under a lock on this row)."""

    name = models.CharField("基地名称", max_length=100)
    kind = models.CharField("类型", max_length=20, choices=BaseKind.choices)
    # The designating division: its level is the base's (省级 / 市级 / 县级 基地); its admins keep it.
    division = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="training_bases")
    division_path = models.CharField(max_length=100, editable=False)
    institution = models.ForeignKey("org.Institution", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="bases")
    school = models.ForeignKey("org.School", null=True, blank=True, on_delete=models.PROTECT, related_name="bases")
    stages = models.JSONField("学段", default=list, blank=True)
    subjects = models.JSONField("学科（空为不限）", default=list, blank=True)
    seats_per_term = models.PositiveIntegerField("每学期跟岗名额")
    designated_on = models.DateField("认定日期")
    active = models.BooleanField("有效", default=True)
    note = models.TextField("基地简介", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    objects = ScopedManager()

    class Meta:
        ordering = ["division_path", "name"]
        verbose_name = "培训基地"
        indexes = [path_index("institutions_base_path_like", "division_path")]
        constraints = [
            models.UniqueConstraint(fields=["division", "name"], name="institutions_base_name_per_division"),
            models.CheckConstraint(condition=Q(seats_per_term__lte=BASE_SEATS_MAX), name="institutions_base_seats_sane"),
            models.CheckConstraint(
                name="institutions_base_is_one_thing",
                condition=(Q(kind__in=list(INSTITUTION_BASES), institution__isnull=False, school__isnull=True)
                           | (~Q(kind__in=list(INSTITUTION_BASES)) & Q(school__isnull=False, institution__isnull=True)))),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.division_path = self.division.path
        super().save(*args, **kwargs)
