"""Divisions, institutions, schools and township research communities.

Every scoped row carries `division_path`, the materialised path of the county
(or city) it belongs to, e.g. "410000.410200.410225."; a jurisdiction is a path
prefix, so "all rows in my subtree" is one indexed LIKE 'prefix%' filter.
"""

from django.db import models

from access.managers import ScopedManager
from org.constants import DivisionLevel, InstitutionKind, Stage


def path_index(name: str, *fields: str) -> models.Index:
    # varchar_pattern_ops lets PostgreSQL use the index for LIKE 'prefix%'
    # whatever the database collation; other backends ignore opclasses.
    opclasses = ["varchar_pattern_ops"] + ["" for _ in fields[1:]]
    return models.Index(fields=list(fields), name=name, opclasses=opclasses)


class Division(models.Model):
    code = models.CharField("区划代码", max_length=6, unique=True)
    name = models.CharField("名称", max_length=50)
    level = models.CharField("层级", max_length=10, choices=DivisionLevel.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=100, unique=True, editable=False)
    is_direct_county = models.BooleanField(
        "省直管县", default=False, help_text="省直管县（市）：规划和经费直接对省，地理上仍属所在市。"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = "行政区划"
        indexes = [path_index("org_division_path_like", "path")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level="province", parent__isnull=True)
                | models.Q(parent__isnull=False),
                name="org_division_parent_unless_province",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def planning_parent_code(self) -> str | None:
        """Where plans and funding report: the province for 省直管县."""
        if self.is_direct_county:
            return self.path.split(".")[0]
        return self.parent.code if self.parent_id else None  # type: ignore[union-attr]


class Institution(models.Model):
    """A body that organises or implements training (not a school)."""

    code = models.CharField("机构代码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=30, choices=InstitutionKind.choices)
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="institutions")
    division_path = models.CharField(max_length=100, editable=False)

    objects = ScopedManager()

    class Meta:
        ordering = ["code"]
        verbose_name = "机构"
        indexes = [path_index("org_institution_path_like", "division_path")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.division_path = self.division.path
        super().save(*args, **kwargs)


class ResearchCommunity(models.Model):
    """乡镇教研共同体: rural schools of one township researching together."""

    name = models.CharField("名称", max_length=100)
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="communities")
    division_path = models.CharField(max_length=100, editable=False)
    chief_teacher = models.ForeignKey(
        "people.Teacher",
        verbose_name="乡村首席教师",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ScopedManager()

    class Meta:
        ordering = ["division_path", "name"]
        verbose_name = "乡镇教研共同体"
        indexes = [path_index("org_community_path_like", "division_path")]
        constraints = [
            models.UniqueConstraint(fields=["division", "name"], name="org_community_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.division_path = self.division.path
        super().save(*args, **kwargs)


class School(models.Model):
    code = models.CharField("学校代码", max_length=10, unique=True)
    name = models.CharField("学校名称", max_length=100)
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="schools")
    division_path = models.CharField(max_length=100, editable=False)
    stages = models.JSONField("学段", default=list)
    is_rural = models.BooleanField("乡村学校", default=False)
    community = models.ForeignKey(
        ResearchCommunity, null=True, blank=True, on_delete=models.SET_NULL, related_name="schools"
    )

    objects = ScopedManager()

    class Meta:
        ordering = ["code"]
        verbose_name = "学校"
        indexes = [path_index("org_school_path_like", "division_path", "code")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.division_path = self.division.path
        super().save(*args, **kwargs)

    @property
    def stage_labels(self) -> list[str]:
        return [Stage(stage).label for stage in self.stages if stage in Stage.values]
