"""Training projects (the tiered library) and enrolments with seat limits.

A project's `seats_taken` counts the enrolments holding a seat (pending or
enrolled); it moves only under a lock on the project row, in the same
transaction as the enrolment, and a CHECK constraint keeps it within `seats`,
so no interleaving of requests can oversubscribe a project.
"""

from django.db import models

from catalog.constants import EnrolmentState, Level, Mode, ProjectCategory, ProjectState
from credits.constants import Category
from org.models import path_index


class Project(models.Model):
    code = models.CharField("项目编号", max_length=40, unique=True)
    title = models.CharField("项目名称", max_length=200)
    outline = models.TextField("内容简介", blank=True)
    level = models.CharField("层级", max_length=10, choices=Level.choices)
    category = models.CharField("类别", max_length=20, choices=ProjectCategory.choices)
    topics = models.JSONField("专题/能力", default=list, blank=True)
    mode = models.CharField("方式", max_length=20, choices=Mode.choices)
    # The organising division (the planner), and for school-level projects the school.
    organiser = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="projects")
    organiser_school = models.ForeignKey("org.School", null=True, blank=True, on_delete=models.PROTECT, related_name="projects")
    division_path = models.CharField(max_length=100, editable=False)
    institution = models.ForeignKey("org.Institution", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="projects", verbose_name="实施机构")
    # {"stages": [...], "subjects": [...], "titles": [...], "honours": [...], "divisions": [codes], "new_teachers": bool}
    audience = models.JSONField("培训对象", default=dict, blank=True)
    self_enrolment = models.BooleanField("允许自主报名", default=False)
    needs_approval = models.BooleanField("报名需审核", default=True)
    seats = models.PositiveIntegerField("名额")
    seats_taken = models.PositiveIntegerField(default=0, editable=False)
    hours = models.DecimalField("学时", max_digits=6, decimal_places=1)
    hour_category = models.CharField("学时类别", max_length=20, choices=Category.choices)
    starts_on = models.DateField("开始日期")
    ends_on = models.DateField("结束日期")
    budget = models.DecimalField("预算（元）", max_digits=12, decimal_places=2, default=0)
    is_high_end = models.BooleanField("高端培训", default=False)
    # Completion: at least this share of the sessions attended, and the assessment passed if there is one.
    min_attendance_percent = models.PositiveSmallIntegerField("最低出勤率%", default=80)
    has_assessment = models.BooleanField("有结业考核", default=False)
    state = models.CharField("状态", max_length=10, choices=ProjectState.choices, default=ProjectState.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-starts_on", "code"]
        verbose_name = "培训项目"
        indexes = [
            path_index("catalog_project_path", "division_path", "starts_on"),
            models.Index(fields=["level", "category", "starts_on"], name="catalog_project_library"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")), name="catalog_project_dates_in_order"),
            models.CheckConstraint(condition=models.Q(seats_taken__lte=models.F("seats")), name="catalog_project_seats_held"),
            models.CheckConstraint(condition=models.Q(hours__gt=0), name="catalog_project_hours_positive"),
            models.CheckConstraint(condition=models.Q(budget__gte=0), name="catalog_project_budget_not_negative"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def seats_left(self) -> int:
        return self.seats - self.seats_taken


class Enrolment(models.Model):
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="enrolments")
    teacher = models.ForeignKey("people.Teacher", on_delete=models.PROTECT, related_name="enrolments")
    state = models.CharField("状态", max_length=10, choices=EnrolmentState.choices)
    nominated_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Waiting-list order: set when the enrolment starts waiting.
    waiting_since = models.DateTimeField(null=True, blank=True)
    assessment_passed = models.BooleanField("考核合格", null=True, blank=True)
    completed_at = models.DateTimeField("结业时间", null=True, blank=True)
    ledger_entry = models.OneToOneField("credits.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "报名"
        constraints = [models.UniqueConstraint(fields=["project", "teacher"], name="catalog_enrolment_once")]
        indexes = [
            models.Index(fields=["project", "state", "waiting_since"], name="catalog_enrolment_queue"),
            models.Index(fields=["teacher", "state"], name="catalog_enrolment_teacher"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.teacher_id} {self.state}"


class ProjectSession(models.Model):
    """One scheduled session of a project (a day, a half-day, an online unit)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sessions")
    number = models.PositiveIntegerField("序号")
    title = models.CharField("内容", max_length=200)
    held_on = models.DateField("日期")
    check_in_code = models.CharField("签到码", max_length=12, blank=True)

    class Meta:
        ordering = ["project", "number"]
        verbose_name = "培训场次"
        constraints = [models.UniqueConstraint(fields=["project", "number"], name="catalog_session_number_once")]

    def __str__(self) -> str:
        return f"{self.project_id}#{self.number}"


class Attendance(models.Model):
    """Present at a session; recorded once (page, upload or check-in code), never twice."""

    session = models.ForeignKey(ProjectSession, on_delete=models.CASCADE, related_name="attendance")
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="attendance")
    recorded_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    method = models.CharField(max_length=10, default="page")

    class Meta:
        verbose_name = "考勤"
        constraints = [models.UniqueConstraint(fields=["session", "enrolment"], name="catalog_attendance_once")]

    def __str__(self) -> str:
        return f"{self.session_id}:{self.enrolment_id}"
