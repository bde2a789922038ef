"""Priority rules and ranked nomination lists for high-end projects.

- `PriorityRuleSet`: a division's versioned rule set (the province's default; a city or county
  may publish its own, which applies to its projects). A new version never rewrites an old one:
  lists built with a version keep pointing at it.
- `PriorityRule`: one rule of a version: a kind, its points and its parameters.
- `NominationList`: a division's ranked list for a high-end project, built with one version.
- `NominationPick`: a teacher on the list (selected, reserve or dropped) with rank, points, the
  stored Chinese explanation and, once submitted, the nomination's outcome.
- `NominationOverride`: an administrator's drop or add, with its written reason.
"""

from __future__ import annotations

from django.db import models

from access.managers import ScopedManager
from org.models import path_index


class RuleKind(models.TextChoices):
    NEVER_TRAINED = "never_trained", "从未参加本级高端培训"
    RURAL = "rural", "乡村学校教师"
    HONOUR_PIPELINE = "honour_pipeline", "荣誉梯队（骨干→名师）"
    YEARS_SINCE = "years_since", "距上次高端培训年数"


class PickRole(models.TextChoices):
    SELECTED = "selected", "入选"
    RESERVE = "reserve", "候补"
    DROPPED = "dropped", "已调出"


class OverrideKind(models.TextChoices):
    DROP = "drop", "调出"
    ADD = "add", "增补"


class ListState(models.TextChoices):
    DRAFT = "draft", "待提交"
    SUBMITTED = "submitted", "已提交推荐"


class PriorityRuleSet(models.Model):
    division = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="+", verbose_name="发布单位")
    division_path = models.CharField(max_length=100, editable=False)
    version = models.PositiveIntegerField("版本")
    note = models.CharField("说明", max_length=500, blank=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["division_path", "-version"]
        verbose_name = "优先规则"
        constraints = [
            models.UniqueConstraint(fields=["division", "version"], name="quotas_ruleset_version_once"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="quotas_ruleset_version_positive"),
        ]
        indexes = [path_index("quotas_ruleset_path", "division_path", "version")]

    def __str__(self) -> str:
        return f"{self.division_path} v{self.version}"


class PriorityRule(models.Model):
    rule_set = models.ForeignKey(PriorityRuleSet, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveSmallIntegerField("序号")
    kind = models.CharField("规则", max_length=20, choices=RuleKind.choices)
    points = models.PositiveSmallIntegerField("分值")
    params = models.JSONField("参数", default=dict, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["rule_set", "position"]
        constraints = [
            models.UniqueConstraint(fields=["rule_set", "kind"], name="quotas_rule_kind_once"),
            models.UniqueConstraint(fields=["rule_set", "position"], name="quotas_rule_position_once"),
            models.CheckConstraint(condition=models.Q(points__gte=0, points__lte=1000), name="quotas_rule_points_range"),
            models.CheckConstraint(condition=models.Q(kind__in=[k for k, _ in RuleKind.choices]),
                                   name="quotas_rule_kind_known"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} +{self.points}"


class NominationList(models.Model):
    project = models.ForeignKey("catalog.Project", on_delete=models.PROTECT, related_name="+")
    division = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="+")
    division_path = models.CharField(max_length=100, editable=False)
    rule_set = models.ForeignKey(PriorityRuleSet, on_delete=models.PROTECT, related_name="lists")
    seats = models.PositiveIntegerField("入选名额")
    reserve = models.PositiveIntegerField("候补人数")
    eligible_count = models.PositiveIntegerField("符合条件人数")
    seed = models.BigIntegerField(editable=False)
    state = models.CharField("状态", max_length=10, choices=ListState.choices, default=ListState.DRAFT)
    built_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    built_at = models.DateTimeField(auto_now_add=True)
    submitted_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-built_at", "-id"]
        verbose_name = "推荐名单"
        constraints = [
            models.CheckConstraint(condition=models.Q(seats__gte=1, seats__lte=1000), name="quotas_list_seats_range"),
            models.CheckConstraint(condition=models.Q(reserve__lte=1000), name="quotas_list_reserve_range"),
        ]
        indexes = [path_index("quotas_list_path", "division_path", "project")]

    def __str__(self) -> str:
        return f"{self.project_id}@{self.division_path}"


class NominationPick(models.Model):
    nomination_list = models.ForeignKey(NominationList, on_delete=models.CASCADE, related_name="picks")
    teacher = models.ForeignKey("people.Teacher", on_delete=models.PROTECT, related_name="+")
    rank = models.PositiveIntegerField("排名", null=True, blank=True)  # none: added by an administrator
    points = models.PositiveIntegerField("积分")
    explanation = models.CharField("积分说明", max_length=500)
    role = models.CharField("状态", max_length=10, choices=PickRole.choices)
    added = models.BooleanField("人工增补", default=False)
    outcome = models.CharField("推荐结果", max_length=10, blank=True)
    outcome_reasons = models.JSONField("未能推荐原因", default=list, blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["nomination_list", "rank", "id"]
        constraints = [
            models.UniqueConstraint(fields=["nomination_list", "teacher"], name="quotas_pick_teacher_once"),
            models.UniqueConstraint(fields=["nomination_list", "rank"], name="quotas_pick_rank_once"),
            models.CheckConstraint(condition=models.Q(rank__isnull=False) | models.Q(added=True),
                                   name="quotas_pick_ranked_or_added"),
        ]
        indexes = [models.Index(fields=["nomination_list", "role", "rank"], name="quotas_pick_role")]

    def __str__(self) -> str:
        return f"{self.nomination_list_id}#{self.rank}"


class NominationOverride(models.Model):
    nomination_list = models.ForeignKey(NominationList, on_delete=models.CASCADE, related_name="overrides")
    pick = models.ForeignKey(NominationPick, on_delete=models.CASCADE, related_name="overrides")
    kind = models.CharField("调整", max_length=10, choices=OverrideKind.choices)
    reason = models.CharField("理由", max_length=500)
    # Who moved because of it: the reserve moved up (drop), the pick moved back to reserve (add).
    moved = models.ForeignKey(NominationPick, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(reason=""), name="quotas_override_reason_required"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pick_id}"


__all__ = ["ListState", "NominationList", "NominationOverride", "NominationPick", "OverrideKind", "PickRole",
           "PriorityRule", "PriorityRuleSet", "RuleKind"]
