"""The three-level trainer pool (三级教师培训专家队伍): trainers of the province's, a city's and
a county's pool, their unavailable periods, the record of their grade, and their bookings on
project sessions.

A pool is a division's: a trainer belongs to exactly one (its `division`), and the pool's level is
that division's. A trainer who is a teacher is linked to the registry (one trainer record per
teacher). A booking occupies the trainer's whole day: the database holds one booking per trainer
and day (`trainers_booking_one_a_day`), so no write path, however it races, double-books."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from access.managers import ScopedManager
from org.constants import STAGE_LABELS
from org.models import path_index
from people.constants import SUBJECT_LABELS
from trainers.constants import (
    EXPERTISE_MAX,
    GRADE_LABELS,
    NAME_MAX,
    POOL_LEVEL_LABELS,
    SOURCE_LABELS,
    TOPIC_LABELS,
    Grade,
    PoolLevel,
    Source,
)


def tags_of(stages, subjects, topics, source: str) -> str:
    """The searchable tags of a trainer, one column: "|stage:primary|subject:math|topic:homework|
    source:master_teacher|". A filter is a `contains` on "|kind:code|" (see trainers.selectors)."""
    parts = [f"stage:{code}" for code in sorted(stages or ())]
    parts += [f"subject:{code}" for code in sorted(subjects or ())]
    parts += [f"topic:{code}" for code in sorted(topics or ())]
    parts.append(f"source:{source}")
    return "|" + "|".join(parts) + "|"


def tag(kind: str, code: str) -> str:
    return f"|{kind}:{code}|"


class Trainer(models.Model):
    division = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="trainers",
                                 verbose_name="所属专家库")
    # The owning division's path and level, copied on save: who sees the row, and its pool's level.
    division_path = models.CharField(max_length=100, editable=False)
    pool_level = models.CharField("层级", max_length=10, choices=PoolLevel.choices, editable=False)
    teacher = models.OneToOneField("people.Teacher", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="trainer", verbose_name="对应教师")
    name = models.CharField("姓名", max_length=NAME_MAX)
    source = models.CharField("来源", max_length=20, choices=Source.choices)
    organisation = models.CharField("工作单位", max_length=100, blank=True)
    expertise = models.TextField("专长简介", blank=True, max_length=EXPERTISE_MAX)
    stages = models.JSONField("学段", default=list, blank=True)
    subjects = models.JSONField("学科", default=list, blank=True)
    topics = models.JSONField("专题与能力", default=list, blank=True)
    grade = models.PositiveSmallIntegerField("等级", choices=Grade.choices, default=Grade.JUNIOR)
    active = models.BooleanField("在库", default=True)
    # Stages, subjects, topics and source as one searchable column (tags_of); written on save.
    tags = models.CharField(max_length=600, editable=False, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-grade", "pk"]
        verbose_name = "培训专家"
        indexes = [
            path_index("trainers_trainer_path", "division_path", "id"),
            models.Index(fields=["pool_level", "grade"], name="trainers_trainer_level"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(grade__gte=Grade.JUNIOR, grade__lte=Grade.CHIEF),
                                   name="trainers_trainer_known_grade"),
            models.CheckConstraint(condition=Q(source__in=Source.values), name="trainers_trainer_known_source"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.fill_derived()
        super().save(*args, **kwargs)

    def fill_derived(self) -> None:
        """The copied columns (also for rows written in bulk, which skip save)."""
        self.division_path = self.division.path
        self.pool_level = self.division.level
        self.tags = tags_of(self.stages, self.subjects, self.topics, self.source)

    @property
    def grade_label(self) -> str:
        return GRADE_LABELS.get(self.grade, str(self.grade))

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source, self.source)

    @property
    def pool_label(self) -> str:
        return POOL_LEVEL_LABELS.get(self.pool_level, self.pool_level)

    @property
    def stage_labels(self) -> list[str]:
        return [STAGE_LABELS.get(code, code) for code in self.stages]

    @property
    def subject_labels(self) -> list[str]:
        return [SUBJECT_LABELS.get(code, code) for code in self.subjects]

    @property
    def topic_labels(self) -> list[str]:
        return [TOPIC_LABELS.get(code, code) for code in self.topics]


class TrainerUnavailability(models.Model):
    """A period (whole days, both ends included) in which the trainer takes no booking."""

    trainer = models.ForeignKey(Trainer, on_delete=models.CASCADE, related_name="unavailable")
    starts_on = models.DateField("开始日期")
    ends_on = models.DateField("结束日期")
    reason = models.CharField("说明", max_length=100, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    objects = ScopedManager()

    class Meta:
        ordering = ["starts_on", "pk"]
        verbose_name = "培训专家不可安排时段"
        indexes = [models.Index(fields=["trainer", "starts_on"], name="trainers_unavail_trainer")]
        constraints = [
            models.CheckConstraint(condition=Q(starts_on__lte=F("ends_on")), name="trainers_unavail_in_order"),
        ]

    def __str__(self) -> str:
        return f"{self.starts_on} – {self.ends_on}"


class TrainerLevelChange(models.Model):
    """One grade decision (append-only; the audit log holds it too): the grade given on entry to
    the pool (from 0), and each promotion by the pool's owner."""

    trainer = models.ForeignKey(Trainer, on_delete=models.PROTECT, related_name="level_changes")
    from_grade = models.PositiveSmallIntegerField("原等级", default=0)
    to_grade = models.PositiveSmallIntegerField("新等级", choices=Grade.choices)
    reason = models.CharField("理由", max_length=500, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["pk"]
        verbose_name = "培训专家等级记录"
        constraints = [
            models.CheckConstraint(condition=Q(to_grade__gt=F("from_grade")), name="trainers_level_up_only"),
        ]

    def __str__(self) -> str:
        return f"{self.from_grade} → {self.to_grade}"

    @property
    def from_label(self) -> str:
        return GRADE_LABELS.get(self.from_grade, "")


class TrainerBooking(models.Model):
    """A trainer staffed on a project session. `held_on` is the session's date, copied (and kept in
    step when the session moves, trainers.signals) so that the database holds one booking per
    trainer and day; `project` is the session's, copied for the access policy."""

    trainer = models.ForeignKey(Trainer, on_delete=models.PROTECT, related_name="bookings")
    session = models.ForeignKey("catalog.ProjectSession", on_delete=models.CASCADE, related_name="trainer_bookings")
    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="trainer_bookings")
    held_on = models.DateField("日期")
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    booked_at = models.DateTimeField(auto_now_add=True)
    # The learners' rating of this session's trainer, once the evaluation app exists (nothing writes
    # it yet; pages show "暂无评价").
    rating = models.DecimalField("评价", max_digits=3, decimal_places=1, null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["held_on", "pk"]
        verbose_name = "培训专家授课安排"
        constraints = [
            models.UniqueConstraint(fields=["trainer", "held_on"], name="trainers_booking_one_a_day"),
            models.CheckConstraint(condition=Q(rating__isnull=True) | Q(rating__gte=0, rating__lte=5),
                                   name="trainers_booking_rating_range"),
        ]
        indexes = [
            models.Index(fields=["held_on", "trainer"], name="trainers_booking_day"),
            models.Index(fields=["session"], name="trainers_booking_session"),
        ]

    def __str__(self) -> str:
        return f"{self.trainer_id}@{self.held_on}"
