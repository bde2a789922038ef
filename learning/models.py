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

from django.db import models

from access.managers import ScopedManager
from catalog.constants import Level
from credits.constants import Category
from learning.constants import CourseFormat, CourseState, ProviderKind
from org.models import path_index


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
    # Counters kept by the player and the LRS in later increments.
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
