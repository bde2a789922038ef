"""Targets per division, level and cycle, and seat allocations.

- `TargetRate`: the versioned rates of the high-end training task (省级 4 %, 市级 7 %, 县级 20 % of the
  area's full-time teachers), each with the date it takes effect; a cycle uses, per level, the
  latest version in effect on the cycle's first day. Old versions are kept.
- `TargetBaseline`: the area's teacher count frozen at the start of a cycle (one row per division
  and cycle), the denominator of the target from then on.
- `Allocation` and `AllocationShare`: a division's high-end seats of its level for a year handed
  to its children by the largest-remainder method; a new allocation for the same division and
  year supersedes the old (kept, `is_current` false), and every share row keeps the arithmetic.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from access.managers import ScopedManager
from org.models import path_index

__all__ = ["Allocation", "AllocationShare", "TargetBaseline", "TargetRate", "TaskLevel"]


class TaskLevel(models.TextChoices):
    PROVINCE = "province", "省级"
    CITY = "city", "市级"
    COUNTY = "county", "县级"


class TargetRate(models.Model):
    level = models.CharField("层级", max_length=10, choices=TaskLevel.choices)
    version = models.PositiveSmallIntegerField("版本")
    percent = models.DecimalField("比例（%）", max_digits=5, decimal_places=2)
    effective_from = models.DateField("生效日期")
    note = models.TextField("说明", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["level", "-effective_from", "-version"]
        verbose_name = "高端培训比例"
        constraints = [
            models.UniqueConstraint(fields=["level", "version"], name="quotas_rate_level_version"),
            models.CheckConstraint(condition=Q(percent__gt=0, percent__lte=100), name="quotas_rate_percent_range"),
            models.CheckConstraint(condition=Q(level__in=["province", "city", "county"]), name="quotas_rate_level_known"),
        ]

    def __str__(self) -> str:
        return f"{TaskLevel(self.level).label}{self.percent}%（第{self.version}版）"


class TargetBaseline(models.Model):
    division = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="+")
    division_path = models.CharField(max_length=100, editable=False)
    level = models.CharField("层级", max_length=10, choices=TaskLevel.choices)
    cycle = models.ForeignKey("credits.Cycle", on_delete=models.PROTECT, related_name="+")
    teachers = models.PositiveIntegerField("专任教师数")
    counted_on = models.DateField("统计日期")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    objects = ScopedManager()

    class Meta:
        ordering = ["cycle", "division_path"]
        verbose_name = "高端培训基数"
        indexes = [path_index("quotas_baseline_path", "division_path", "cycle")]
        constraints = [models.UniqueConstraint(fields=["division", "cycle"], name="quotas_baseline_once")]

    def __str__(self) -> str:
        return f"{self.division_id}@{self.cycle_id}: {self.teachers}"


class Allocation(models.Model):
    """One version of a division's allocation of its seats for a year."""

    division = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="+")
    division_path = models.CharField(max_length=100, editable=False)
    level = models.CharField("层级", max_length=10, choices=TaskLevel.choices)
    year = models.PositiveSmallIntegerField("年度")
    version = models.PositiveSmallIntegerField("版本")
    total = models.PositiveIntegerField("名额总数")
    basis = models.CharField("分配依据", max_length=10, choices=[("teachers", "教师数"), ("weights", "自定权重")])
    method = models.CharField("算法", max_length=10, choices=[("hamilton", "最大余额法"), ("top_up", "追加分配（已公布名额不减）")])
    within_quota = models.BooleanField("各单位均在份额上下整数之间", default=True)
    is_current = models.BooleanField("现行", default=True)
    supersedes = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="superseded_by")
    note = models.TextField("说明", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-year", "division_path", "-version"]
        verbose_name = "高端培训名额分配"
        indexes = [path_index("quotas_allocation_path", "division_path", "year")]
        constraints = [
            models.UniqueConstraint(fields=["division", "year", "version"], name="quotas_allocation_version"),
            models.UniqueConstraint(fields=["division", "year"], condition=Q(is_current=True),
                                    name="quotas_allocation_one_current"),
            models.CheckConstraint(condition=Q(total__gt=0), name="quotas_allocation_total_positive"),
            models.CheckConstraint(condition=Q(year__gte=2000, year__lte=2100), name="quotas_allocation_year_sane"),
        ]

    def __str__(self) -> str:
        return f"{self.division_id} {self.year} v{self.version}"


class AllocationShare(models.Model):
    """One child's share: a division (its path in `child_path`) or a school (with its county's path)."""

    allocation = models.ForeignKey(Allocation, on_delete=models.CASCADE, related_name="shares")
    child_division = models.ForeignKey("org.Division", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    child_school = models.ForeignKey("org.School", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    child_path = models.CharField(max_length=100, editable=False)
    child_code = models.CharField("代码", max_length=10)
    child_name = models.CharField("名称", max_length=100)
    teachers = models.PositiveIntegerField("教师数")
    weight = models.PositiveIntegerField("权重")
    exact_quota = models.DecimalField("应得份额", max_digits=14, decimal_places=6)
    floor_seats = models.PositiveIntegerField("整数部分")
    remainder = models.DecimalField("余数", max_digits=8, decimal_places=6)
    remainder_rank = models.PositiveIntegerField("余数排名", null=True, blank=True)
    extra = models.IntegerField("余额名额")
    previous_seats = models.PositiveIntegerField("原名额", null=True, blank=True)
    seats = models.PositiveIntegerField("名额")

    objects = ScopedManager()

    class Meta:
        ordering = ["allocation", "child_code"]
        verbose_name = "高端培训名额分配明细"
        indexes = [path_index("quotas_share_path", "child_path", "allocation")]
        constraints = [
            models.CheckConstraint(condition=Q(child_division__isnull=False, child_school__isnull=True)
                                   | Q(child_division__isnull=True, child_school__isnull=False),
                                   name="quotas_share_one_child"),
            models.UniqueConstraint(fields=["allocation", "child_code"], name="quotas_share_child_once"),
            models.CheckConstraint(condition=Q(seats__gte=0), name="quotas_share_seats_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.child_code}: {self.seats}"
