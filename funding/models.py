"""Teacher training funding: payroll and public budgets, local ratios, budgets and spend.

The law's two ratios: a city or county spends on teacher training at least its committed share
(1.5 %–2.5 %) of the local teacher payroll (教师工资总额); a school spends 5 % of its annual
public operating budget (年度公用经费预算总额). One row per division and year, one per school and
year (unique in the database); the ratios and the bounds on money are database constraints too."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from access.managers import ScopedManager

RATIO_MIN = Decimal("1.50")  # per cent of the payroll
RATIO_MAX = Decimal("2.50")
SCHOOL_SHARE = Decimal("5")  # per cent of a school's public budget
# Ceilings on what a person can mean (a typo of three zeros is refused, not stored):
PAYROLL_MAX = Decimal("50000000000")  # ¥500亿: a whole city of 150,000 teachers at ¥300k is ¥450亿
SCHOOL_BUDGET_MAX = Decimal("1000000000")  # ¥10亿 of public budget for one school in a year
BUDGET_ENTRY_MAX = Decimal("10000000000")  # ¥100亿 for one direct training budget entry
SPEND_MAX = Decimal("1000000000")  # ¥10亿 for one spend entry on a project
YEAR_MIN, YEAR_MAX = 2000, 2100


class YearFigure(models.Model):
    """What every per-year figure carries: the materialised division path its rules read and the year
    (each model keeps its own constraints: their names are the database's)."""

    division_path = models.CharField(max_length=100, editable=False)
    year = models.PositiveSmallIntegerField("年度")

    class Meta:
        abstract = True


class EnteredAbove(models.Model):
    """Figures of a division that has not reported, entered on its behalf by the level above (the
    province, or a city for its counties; never for a 省直管县 but by the province): who, when, why.
    A write by the division itself clears the mark (it has then reported the row itself)."""

    entered_above_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="+", verbose_name="上级代填人")
    entered_above_at = models.DateTimeField("上级代填时间", null=True, blank=True)
    entered_above_reason = models.CharField("上级代填原因", max_length=200, blank=True)

    class Meta:
        abstract = True

    @property
    def is_entered_above(self) -> bool:
        return self.entered_above_at is not None


class Correctable(models.Model):
    """An entry (a direct budget, a spend) put right or withdrawn with a written reason. A deleted
    entry stays in the table (with its evidence) and leaves every list and sum: the access policy
    shows live entries only. The audit row keeps each value before and after."""

    corrected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name="更正人")
    corrected_at = models.DateTimeField("更正时间", null=True, blank=True)
    correction_reason = models.CharField("更正原因", max_length=200, blank=True)
    deleted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name="删除人")
    deleted_at = models.DateTimeField("删除时间", null=True, blank=True)
    delete_reason = models.CharField("删除原因", max_length=200, blank=True)

    class Meta:
        abstract = True


class DivisionFunding(YearFigure, EnteredAbove):
    """A city's or county's figures for a year: the teacher payroll total and the committed ratio."""

    division = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="+")
    payroll = models.DecimalField("教师工资总额（元）", null=True, blank=True, max_digits=16, decimal_places=2)
    ratio_percent = models.DecimalField("培训经费比例（%）", max_digits=4, decimal_places=2, null=True, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["division_path", "year"]
        verbose_name = "区划年度经费基数"
        indexes = [models.Index(fields=["division_path", "year"], name="funding_division_path_year")]
        constraints = [
            models.UniqueConstraint(fields=["division", "year"], name="funding_division_one_per_year"),
            models.CheckConstraint(condition=models.Q(year__gte=YEAR_MIN, year__lte=YEAR_MAX),
                                   name="funding_division_year_range"),
            models.CheckConstraint(condition=models.Q(payroll__isnull=True)
                                   | models.Q(payroll__gte=0, payroll__lte=PAYROLL_MAX),
                                   name="funding_division_payroll_range"),
            models.CheckConstraint(condition=models.Q(ratio_percent__isnull=True)
                                   | models.Q(ratio_percent__gte=RATIO_MIN, ratio_percent__lte=RATIO_MAX),
                                   name="funding_division_ratio_range"),
        ]

    def __str__(self) -> str:
        return f"{self.division_id}:{self.year}"


class SchoolFunding(YearFigure):
    """A school's public operating budget and its teacher-training budget for a year."""

    school = models.ForeignKey("org.School", on_delete=models.PROTECT, related_name="+")
    public_budget = models.DecimalField("年度公用经费预算总额（元）", max_digits=16, decimal_places=2)
    training_budget = models.DecimalField("教师培训经费预算（元）", max_digits=16, decimal_places=2)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["division_path", "school_id", "year"]
        verbose_name = "学校年度培训经费"
        indexes = [models.Index(fields=["year", "division_path"], name="funding_school_year_path")]
        constraints = [
            models.UniqueConstraint(fields=["school", "year"], name="funding_school_one_per_year"),
            models.CheckConstraint(condition=models.Q(year__gte=YEAR_MIN, year__lte=YEAR_MAX),
                                   name="funding_school_year_range"),
            models.CheckConstraint(condition=models.Q(public_budget__gte=0, public_budget__lte=SCHOOL_BUDGET_MAX),
                                   name="funding_school_public_range"),
            models.CheckConstraint(condition=models.Q(training_budget__gte=0,
                                                      training_budget__lte=models.F("public_budget")),
                                   name="funding_school_training_within_public"),
        ]

    def __str__(self) -> str:
        return f"{self.school_id}:{self.year}"


class TrainingBudget(YearFigure, EnteredAbove, Correctable):
    """A division's direct teacher-training budget entry (beyond its projects' budgets)."""

    division = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField("金额（元）", max_digits=16, decimal_places=2)
    purpose = models.CharField("用途", max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["division_path", "year", "pk"]
        verbose_name = "培训经费预算"
        indexes = [models.Index(fields=["division", "year"], name="funding_budget_division_year")]
        constraints = [
            models.CheckConstraint(condition=models.Q(year__gte=YEAR_MIN, year__lte=YEAR_MAX),
                                   name="funding_budget_year_range"),
            models.CheckConstraint(condition=models.Q(amount__gt=0, amount__lte=BUDGET_ENTRY_MAX),
                                   name="funding_budget_amount_range"),
        ]

    def __str__(self) -> str:
        return self.purpose


class ProjectSpend(Correctable):
    """Money actually spent on a project organised by a division, with its evidence."""

    project = models.ForeignKey("catalog.Project", on_delete=models.PROTECT, related_name="+")
    division_path = models.CharField(max_length=100, editable=False)
    amount = models.DecimalField("金额（元）", max_digits=16, decimal_places=2)
    spent_on = models.DateField("支出日期")
    note = models.CharField("说明", max_length=200, blank=True)
    evidence = models.FileField("凭证", upload_to="funding/%Y/%m/", blank=True)
    evidence_name = models.CharField("凭证文件名", max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["project_id", "spent_on", "pk"]
        verbose_name = "项目经费支出"
        indexes = [models.Index(fields=["project", "spent_on"], name="funding_spend_project_day")]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0, amount__lte=SPEND_MAX),
                                   name="funding_spend_amount_range"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.amount}"


class FundingImport(models.Model):
    """One imported file: its hash (the same file twice is refused as already imported)."""

    kind = models.CharField(max_length=20)
    file_name = models.CharField("文件名", max_length=255)
    file_sha256 = models.CharField(max_length=64)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    scope_path = models.CharField(max_length=100, blank=True)
    school_id_key = models.PositiveIntegerField(default=0)  # the importing school (0: a division)
    rows = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-pk"]
        verbose_name = "培训经费导入"
        constraints = [
            models.UniqueConstraint(fields=["kind", "scope_path", "school_id_key", "file_sha256"],
                                    name="funding_import_once_per_file"),
        ]

    def __str__(self) -> str:
        return self.file_name
