"""Teacher registry. The ID number is stored only encrypted plus a keyed blind
index; birth date and sex are kept as fields for statistics and checks."""


from django.db import models
from django.utils import timezone

from access.managers import ScopedManager
from org.constants import STAGE_LABELS, Stage
from org.models import School, path_index
from people.constants import (
    HONOUR_LEVEL_LABELS,
    HONOUR_TITLE_LABELS,
    NEW_TEACHER_YEARS,
    STATUS_LABELS,
    SUBJECT_LABELS,
    TITLE_LABELS,
    HonourLevel,
    HonourTitle,
    Sex,
    Status,
    Subject,
    Title,
)
from people.identity import id_decrypt, id_mask


class Teacher(models.Model):
    name = models.CharField("姓名", max_length=50)
    id_cipher = models.CharField(max_length=120, editable=False)
    id_index = models.CharField(max_length=64, unique=True, editable=False)
    birth_date = models.DateField("出生日期")
    sex = models.CharField("性别", max_length=1, choices=Sex.choices)
    stage = models.CharField("学段", max_length=20, choices=Stage.choices)
    title = models.CharField("职称", max_length=20, choices=Title.choices, default=Title.NONE)
    hire_date = models.DateField("入职日期")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="teachers")
    division_path = models.CharField(max_length=100, editable=False)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.ACTIVE)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = "教师"
        indexes = [
            path_index("people_teacher_path_id", "division_path", "id"),
            models.Index(fields=["school", "id"], name="people_teacher_school_id"),
            path_index("people_teacher_name_like", "name"),
            # Active teachers per division path (and per school of a county), counted by the
            # high-end task's views and allocations: an index-only scan of this partial index.
            models.Index(fields=["division_path", "school"], name="people_teacher_active_path",
                         opclasses=["varchar_pattern_ops", ""], condition=models.Q(status="active")),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(hire_date__gt=models.F("birth_date")), name="people_teacher_hired_after_birth"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def id_number(self) -> str:
        return id_decrypt(self.id_cipher)

    @property
    def id_number_masked(self) -> str:
        return id_mask(self.id_number)

    @property
    def is_new_teacher(self) -> bool:
        return (timezone.localdate() - self.hire_date).days < 365 * NEW_TEACHER_YEARS

    @property
    def subject_codes(self) -> list[str]:
        return [row.subject for row in self.subjects.all()]

    @property
    def subject_labels(self) -> list[str]:
        return [SUBJECT_LABELS.get(code, code) for code in self.subject_codes]

    @property
    def stage_label(self) -> str:
        return STAGE_LABELS.get(self.stage, self.stage)

    @property
    def title_label(self) -> str:
        return TITLE_LABELS.get(self.title, self.title)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


class TeacherSubject(models.Model):
    teacher = models.ForeignKey(Teacher, on_delete=models.CASCADE, related_name="subjects")
    subject = models.CharField("学科", max_length=20, choices=Subject.choices)
    is_main = models.BooleanField("主教学科", default=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-is_main", "subject"]
        constraints = [
            models.UniqueConstraint(fields=["teacher", "subject"], name="people_teachersubject_unique"),
        ]
        indexes = [models.Index(fields=["subject", "teacher"], name="people_subject_teacher")]

    def __str__(self) -> str:
        return self.get_subject_display()


class TeacherHonour(models.Model):
    teacher = models.ForeignKey(Teacher, on_delete=models.CASCADE, related_name="honours")
    title = models.CharField("称号", max_length=20, choices=HonourTitle.choices)
    level = models.CharField("级别", max_length=10, choices=HonourLevel.choices)
    awarded_on = models.DateField("认定日期")
    expires_on = models.DateField("有效期至", null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["awarded_on"]
        constraints = [
            models.UniqueConstraint(fields=["teacher", "title", "level", "awarded_on"], name="people_honour_unique"),
            models.CheckConstraint(
                condition=models.Q(expires_on__isnull=True) | models.Q(expires_on__gt=models.F("awarded_on")),
                name="people_honour_dates_in_order",
            ),
        ]
        indexes = [models.Index(fields=["title", "level", "teacher"], name="people_honour_lookup")]

    def __str__(self) -> str:
        return f"{HONOUR_LEVEL_LABELS.get(self.level, self.level)}{HONOUR_TITLE_LABELS.get(self.title, self.title)}"


class ImportBatch(models.Model):
    """One roster import. Chunks commit with `rows_done`, so a crashed import of
    the same file by the same account resumes where it stopped."""

    class State(models.TextChoices):
        RUNNING = "running", "进行中"
        DONE = "done", "完成"
        FAILED = "failed", "失败"

    file_name = models.CharField("文件名", max_length=255)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    actor = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    scope_path = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-id"]
        verbose_name = "名册导入"

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_state_display()})"


class ImportRejection(models.Model):
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rejections")
    row_number = models.PositiveIntegerField("行号")
    column = models.CharField("列", max_length=20)
    reason = models.CharField("原因", max_length=200)
    # The row as uploaded, with the ID number masked so the report is safe to pass on.
    values = models.JSONField(default=list)

    objects = ScopedManager()

    class Meta:
        ordering = ["row_number", "id"]

    def __str__(self) -> str:
        return f"第{self.row_number}行 {self.column}: {self.reason}"


class ExportRequest(models.Model):
    """An export with full ID numbers, or a bulk one (more than EXPORT_BULK_ROWS):
    asked for by one administrator, approved by another whose jurisdiction
    covers it, downloaded once before it expires."""

    class State(models.TextChoices):
        PENDING = "pending", "待审批"
        APPROVED = "approved", "已批准"
        REJECTED = "rejected", "已驳回"
        USED = "used", "已下载"

    requested_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    scope_path = models.CharField(max_length=100)
    # A school administrator's request covers that school only; approvers must cover it too.
    school = models.ForeignKey("org.School", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    filters = models.JSONField(default=dict)
    reason = models.CharField("用途", max_length=200)
    full_ids = models.BooleanField("包含完整身份证号", default=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-id"]
        verbose_name = "完整证件号导出申请"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decided_by__isnull=True) | ~models.Q(decided_by=models.F("requested_by")),
                name="people_export_request_second_person",
            )
        ]

    def __str__(self) -> str:
        return f"{self.requested_by} {self.get_state_display()}"
