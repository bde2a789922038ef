"""The high-end task's progress table: one row per teacher, task level and cycle, written when
completion of a high-end project is judged (`quotas.progress`), so the progress views count rows
per division path from an index instead of joining every completion to the teachers.

A teacher counts once per level and cycle, however many high-end projects of that level they
complete in it (the unique constraint). The division path (and school) stored are the teacher's
at the time of the completion that counted: a teacher who moves later still counts for the
division where the training was done. The cycle is the one holding the project's end date, as
the task's rule says ("completed a high-end project of the level ending inside the cycle")."""

from django.db import models
from django.db.models import Q

from access.managers import ScopedManager
from quotas.target_models import TaskLevel

__all__ = ["HighEndCompletion"]


class HighEndCompletion(models.Model):
    # teacher, cycle and school are served by the composite indexes below, so no index of their own.
    teacher = models.ForeignKey(
        "people.Teacher", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    level = models.CharField("层级", max_length=10, choices=TaskLevel.choices)
    cycle = models.ForeignKey(
        "credits.Cycle", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    division_path = models.CharField(max_length=100, editable=False)  # the teacher's, at completion
    school = models.ForeignKey(
        "org.School",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    # The completion that counted (the first recorded); another of the same level and cycle adds nothing.
    enrolment = models.OneToOneField(
        "catalog.Enrolment", on_delete=models.CASCADE, related_name="+"
    )
    project = models.ForeignKey("catalog.Project", on_delete=models.PROTECT, related_name="+")
    completed_at = models.DateTimeField("结业时间", null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["cycle", "level", "division_path"]
        verbose_name = "高端培训完成记录"
        indexes = [
            # "How many per division path under a prefix, for (cycle, level)" and a county's per
            # school: an index-only scan (varchar_pattern_ops serves LIKE 'prefix%').
            models.Index(
                fields=["cycle", "level", "division_path", "school"],
                name="quotas_highend_progress",
                opclasses=["", "", "varchar_pattern_ops", ""],
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["teacher", "level", "cycle"], name="quotas_highend_once_per_cycle"
            ),
            models.CheckConstraint(
                condition=Q(level__in=["province", "city", "county"]),
                name="quotas_highend_level_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.teacher_id} {self.level}@{self.cycle_id}"
