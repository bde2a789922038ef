"""Training projects (the tiered library) and enrolments with seat limits.

A project's `seats_taken` counts the enrolments holding a seat (pending or
enrolled); it moves only under a lock on the project row, in the same
transaction as the enrolment, and a CHECK constraint keeps it within `seats`,
so no interleaving of requests can oversubscribe a project.
"""

from django.db import models

from access.managers import ScopedManager
from catalog.constants import EnrolmentState, Level, Mode, PlanState, ProjectCategory, ProjectState
from credits.constants import Category
from org.models import path_index


class AnnualPlan(models.Model):
    """A unit's training plan for one year (§二(五) 培训规划制度): drafted by the unit,
    submitted, approved or returned by the level above (the province for 省直管县)."""

    division = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="plans")
    school = models.ForeignKey("org.School", null=True, blank=True, on_delete=models.PROTECT, related_name="plans")
    level = models.CharField("层级", max_length=10, choices=Level.choices)
    year = models.PositiveSmallIntegerField("年度")
    division_path = models.CharField(max_length=100, editable=False)
    # The division that decides on the plan: the county for a school, the planning parent for
    # a division (the province for 省直管县), the province itself for its own plan.
    review_path = models.CharField(max_length=100, editable=False)
    state = models.CharField("状态", max_length=10, choices=PlanState.choices, default=PlanState.DRAFT)
    note = models.TextField("编制说明", blank=True)
    review_note = models.TextField("审核意见", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    checked_at = models.DateTimeField("重叠检查时间", null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-year", "division_path"]
        verbose_name = "年度培训计划"
        indexes = [path_index("catalog_plan_path", "division_path", "year")]
        constraints = [
            models.UniqueConstraint(fields=["division", "year"], condition=models.Q(school__isnull=True),
                                    name="catalog_plan_once_per_division_year"),
            models.UniqueConstraint(fields=["school", "year"], condition=models.Q(school__isnull=False),
                                    name="catalog_plan_once_per_school_year"),
            models.CheckConstraint(condition=models.Q(year__gte=2000, year__lte=2100), name="catalog_plan_year_sane"),
        ]

    def __str__(self) -> str:
        owner = self.school.name if self.school_id else self.division.name  # type: ignore[union-attr]
        return f"{owner}{self.year}年度培训计划"


class Project(models.Model):
    # Unique within the organiser (constraints below): another unit's codes are none of its business.
    code = models.CharField("项目编号", max_length=40)
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
    # 跟岗 projects place their trainees at a training base; their seats count against its capacity.
    base = models.ForeignKey("institutions.TrainingBase", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="projects", verbose_name="培训基地")
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
    # When completion was first judged (and hours written): from then on the project counts as 已结束.
    completion_judged_at = models.DateTimeField("结业判定时间", null=True, blank=True, editable=False)
    # The organiser's annual plan holding this project; none: a project outside the plan (计划外).
    plan = models.ForeignKey(AnnualPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="projects",
                             verbose_name="年度计划")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = ScopedManager()

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
            models.UniqueConstraint(fields=["organiser", "code"], condition=models.Q(organiser_school__isnull=True),
                                    name="catalog_project_code_per_division"),
            models.UniqueConstraint(fields=["organiser_school", "code"],
                                    condition=models.Q(organiser_school__isnull=False),
                                    name="catalog_project_code_per_school"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def seats_left(self) -> int:
        return self.seats - self.seats_taken

    @property
    def phase_now(self) -> str:
        """报名中 / 进行中 / 已结束 …: the list's annotation where there is one, else the same rule on the row."""
        from catalog.phase import phase_of

        return getattr(self, "phase", None) or phase_of(self)

    @property
    def phase_label(self) -> str:
        from catalog.phase import phase_label

        return phase_label(self.phase_now)


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

    objects = ScopedManager()

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

    objects = ScopedManager()

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

    objects = ScopedManager()

    class Meta:
        verbose_name = "考勤"
        constraints = [models.UniqueConstraint(fields=["session", "enrolment"], name="catalog_attendance_once")]

    def __str__(self) -> str:
        return f"{self.session_id}:{self.enrolment_id}"


class PlanConflict(models.Model):
    """A project of a plan that looks like another organiser's project: audiences meet,
    dates overlap and the content is similar. Stored by the latest check of the plan."""

    plan = models.ForeignKey(AnnualPlan, on_delete=models.CASCADE, related_name="conflicts")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField("重叠分")
    text_similarity = models.FloatField("内容相似度")
    reasons = models.JSONField(default=list)

    objects = ScopedManager()

    class Meta:
        ordering = ["-score", "id"]
        verbose_name = "疑似重复项目"
        constraints = [models.UniqueConstraint(fields=["plan", "project", "other"], name="catalog_conflict_once")]

    def __str__(self) -> str:
        return f"{self.project_id}~{self.other_id} {self.score:.2f}"
