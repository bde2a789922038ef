"""The course library.

- `Provider`: where courses come from (the national platform, the province's, another
  platform, a university, a training institution), registered by a division administrator.
- `Course`: one course of a provider, known by (provider, code) — importing a provider's
  catalogue again updates the same rows. Owned by the division that imported it: that
  division and those above curate it; once published it is open to the teachers of the owner
  division and every division below it. Publishing registers its xAPI activity IRI as a
  credited activity of the LRS (`credited_activity`), so a completion reported to /xapi/
  earns its hours in its ledger category.

Tags are lists of codes of the project's vocabularies. Search and the tag filters go through
the course search index (learning.search): a tsvector column on PostgreSQL, an FTS5 table on
SQLite, both created by migration 0002 outside the model (neither is an ORM field).
"""

import uuid

from django.db import models

from access.managers import ScopedManager
from catalog.constants import Level
from credits.constants import Category
from learning.constants import CourseFormat, CourseState, ProviderKind, SessionEnd, StudyState
from org.models import path_index

# A course plays for at most 100 hours (what the LRS credits at most per activity).
MAX_STUDY_SECONDS = 100 * 3600


class Provider(models.Model):
    code = models.CharField("提供方代码", max_length=40, unique=True)
    name = models.CharField("名称", max_length=100, unique=True)
    kind = models.CharField("类型", max_length=20, choices=ProviderKind.choices)
    # Courses of a catalogue without an IRI of their own get iri_base + their code.
    iri_base = models.CharField("活动 IRI 前缀", max_length=300, blank=True)
    division = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="+", verbose_name="登记区划")
    division_path = models.CharField(max_length=100, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = ScopedManager()

    class Meta:
        ordering = ["name"]
        verbose_name = "课程提供方"
        indexes = [path_index("learning_provider_path", "division_path")]

    def __str__(self) -> str:
        return self.name


class Course(models.Model):
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="courses", verbose_name="提供方")
    code = models.CharField("课程编号", max_length=64)
    title = models.CharField("课程名称", max_length=200)
    description = models.TextField("简介", blank=True)
    stages = models.JSONField("学段", default=list, blank=True)
    subjects = models.JSONField("学科", default=list, blank=True)
    topics = models.JSONField("专题/能力", default=list, blank=True)
    required_content = models.JSONField("必修内容", default=list, blank=True)
    hours = models.DecimalField("学时", max_digits=5, decimal_places=1)
    category = models.CharField("学时类别", max_length=20, choices=Category.choices, default=Category.ONLINE)
    format = models.CharField("形式", max_length=20, choices=CourseFormat.choices, default=CourseFormat.VIDEO)
    level = models.CharField("层级", max_length=10, choices=Level.choices)
    is_featured = models.BooleanField("精品资源共享课", default=False)
    activity_iri = models.TextField("活动 IRI")
    state = models.CharField("状态", max_length=20, choices=CourseState.choices, default=CourseState.DRAFT)
    division = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="+", verbose_name="所属区划")
    division_path = models.CharField(max_length=100, editable=False)
    credited_activity = models.ForeignKey("lrs.CreditedActivity", null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="+", verbose_name="计学时活动")
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged",
                                    verbose_name="合并到")
    # What the platform's own player plays: a video's address and length, or a reading's text
    # and the time it takes (the server's figure, never the browser's: completion is judged by it).
    media_url = models.CharField("媒体地址", max_length=500, blank=True)
    duration_seconds = models.PositiveIntegerField("学习时长（秒）", default=0)
    content = models.TextField("阅读内容", blank=True)
    # Counters kept by the player (completions, ratings).
    rating_sum = models.PositiveIntegerField(default=0)
    rating_count = models.PositiveIntegerField(default=0)
    completion_count = models.PositiveIntegerField("完成人次", default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = ScopedManager()

    class Meta:
        ordering = ["id"]
        verbose_name = "课程"
        indexes = [path_index("learning_course_path", "division_path", "id"),
                   models.Index(fields=["state", "id"], name="learning_course_state")]
        constraints = [
            models.UniqueConstraint(fields=["provider", "code"], name="learning_course_provider_code"),
            models.CheckConstraint(condition=models.Q(hours__gt=0, hours__lte=100), name="learning_course_hours_sane"),
            models.CheckConstraint(condition=models.Q(merged_into__isnull=True) | models.Q(state="retired"),
                                   name="learning_course_merged_retired"),
            models.CheckConstraint(condition=models.Q(duration_seconds__lte=MAX_STUDY_SECONDS),
                                   name="learning_course_duration_sane"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def tag_labels(self) -> dict[str, list[str]]:
        """The tags in Chinese, by kind (unknown codes shown as they are)."""
        from catalog.constants import Topic
        from learning.constants import CAPABILITIES, RequiredContent
        from org.constants import Stage
        from people.constants import Subject

        def named(codes, choices) -> list[str]:
            names = dict(choices)
            return [str(names.get(code, code)) for code in codes or []]

        return {"学段": named(self.stages, Stage.choices), "学科": named(self.subjects, Subject.choices),
                "必修内容": named(self.required_content, RequiredContent.choices),
                "能力": named([t for t in self.topics or [] if t in CAPABILITIES], Topic.choices),
                "专题": named([t for t in self.topics or [] if t not in CAPABILITIES], Topic.choices)}

    @property
    def rating(self) -> float | None:
        return round(self.rating_sum / self.rating_count, 1) if self.rating_count else None


class CourseEnrolment(models.Model):
    """A teacher's own study of a course on the platform's player (not catalog.Enrolment, a
    training project's): progress verified by the server, and the xAPI registration that ties
    the statements the player sends to the LRS together. Seen by the teacher and the
    administrators who see the teacher."""

    teacher = models.ForeignKey("people.Teacher", on_delete=models.PROTECT, related_name="+", verbose_name="教师")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="enrolments", verbose_name="课程")
    registration = models.UUIDField("xAPI registration", default=uuid.uuid4, unique=True, editable=False)
    state = models.CharField("状态", max_length=20, choices=StudyState.choices, default=StudyState.ENROLLED)
    verified_seconds = models.PositiveIntegerField("核验学习时间（秒）", default=0)
    # Media watched, as merged [start, end] intervals in seconds (a handful per teacher and course).
    watched = models.JSONField(default=list, blank=True)
    watched_seconds = models.FloatField("已观看（秒）", default=0)
    position_seconds = models.FloatField("续播位置（秒）", default=0)
    progress_reported = models.PositiveSmallIntegerField(default=0)  # last percent sent to the LRS as progressed
    rating = models.PositiveSmallIntegerField("评分", null=True, blank=True)
    enrolled_at = models.DateTimeField(auto_now_add=True)
    last_studied_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-enrolled_at", "-id"]
        verbose_name = "选学课程"
        constraints = [
            models.UniqueConstraint(fields=["teacher", "course"], name="learning_enrolment_once"),
            models.CheckConstraint(condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                                   name="learning_enrolment_rating_1_5"),
            models.CheckConstraint(condition=models.Q(state="completed", completed_at__isnull=False)
                                   | (~models.Q(state="completed") & models.Q(completed_at__isnull=True)),
                                   name="learning_enrolment_completed_at"),
            models.CheckConstraint(condition=models.Q(rating__isnull=True) | models.Q(state="completed"),
                                   name="learning_enrolment_rated_after_completion"),
        ]
        indexes = [models.Index(fields=["teacher", "-last_studied_at"], name="learning_enrolment_teacher")]

    def __str__(self) -> str:
        return f"{self.teacher_id} {self.course_id}"

    @property
    def percent(self) -> int:
        """Progress as the server judges it: media watched (video) or time verified (reading)."""
        duration = self.course.duration_seconds
        if not duration:
            return 0
        done = self.verified_seconds if self.course.format == CourseFormat.READING else self.watched_seconds
        return min(100, int(done * 100 // duration))


class StudySession(models.Model):
    """One opened player: bound to the Django session that opened it (by a keyed digest, never
    the key itself), taking beats in sequence. A teacher has at most one active session, on
    any course: opening the player again (another tab, another device) ends the others."""

    enrolment = models.ForeignKey(CourseEnrolment, on_delete=models.CASCADE, related_name="sessions")
    teacher = models.ForeignKey("people.Teacher", on_delete=models.PROTECT, related_name="+")
    session_digest = models.CharField(max_length=64)
    started_at = models.DateTimeField()
    last_beat_at = models.DateTimeField()
    last_seq = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    ended_reason = models.CharField(max_length=20, choices=SessionEnd.choices, blank=True)
    credited_seconds = models.PositiveIntegerField(default=0)
    beats = models.PositiveIntegerField(default=0)  # accepted
    # Refused beats by reason code: countable without keeping every beat.
    refusals = models.JSONField(default=dict, blank=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = "学习会话"
        constraints = [
            models.UniqueConstraint(fields=["teacher"], condition=models.Q(active=True),
                                    name="learning_one_active_study_session"),
        ]
        indexes = [models.Index(fields=["enrolment", "-started_at"], name="learning_session_enrolment")]

    def __str__(self) -> str:
        return f"{self.teacher_id} {self.enrolment_id} {self.started_at:%Y-%m-%d %H:%M}"


class TeacherPush(models.Model):
    """A teacher's pushed courses as last computed: [{"course": id, "score": s, "reason": "…",
    "signal": "required"}, …] in rank order. `basis` fingerprints the study history it was computed
    from, so a completion since makes it stale at once; the nightly batch refreshes every list."""

    teacher = models.OneToOneField("people.Teacher", primary_key=True, on_delete=models.CASCADE, related_name="+")
    items = models.JSONField(default=list)
    basis = models.CharField(max_length=64)
    computed_at = models.DateTimeField()

    objects = ScopedManager()

    class Meta:
        verbose_name = "课程推送"

    def __str__(self) -> str:
        return f"{self.teacher_id}: {len(self.items)}"


class PeerPopularity(models.Model):
    """How many teachers of a stage and subject studied a course in the last year (the head of
    each group only): the "同学段同学科的老师常学" signal. Counts, no person in them."""

    stage = models.CharField(max_length=20)
    subject = models.CharField(max_length=20)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    learners = models.PositiveIntegerField()

    class Meta:
        verbose_name = "同伴选课热度"
        constraints = [models.UniqueConstraint(fields=["stage", "subject", "course"], name="learning_peer_unique")]

    def __str__(self) -> str:
        return f"{self.stage}/{self.subject} {self.course_id}: {self.learners}"
