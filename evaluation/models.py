"""Evaluation (§二(五)): instruments taken before, during and after a project; anonymous trainee
ratings; expert supervision visits, outcome reviews and stakeholder ratings; and the annual
performance score, ranking and bottom-ranked elimination built from those four sources.

Anonymous ratings are two tables that share nothing but the window: `RatingParticipation` says
who has rated (one vote each, the response rate), `RatingResponse` holds answers under a random
id with no account, no time and no address. They are written in one transaction
(evaluation.ratings), and that transaction rewrites the window's responses in a random order
under new ids, so neither row order nor the transaction id stamped on a row ties a response to
the participation written with it."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual

from access.managers import ScopedManager
from evaluation.constants import (
    CaseState,
    Dimension,
    InstrumentKind,
    InstrumentState,
    OutcomeKind,
    Point,
    RubricKind,
    Sanction,
    StakeholderUnit,
)
from org.models import path_index

# --- instruments ------------------------------------------------------------------------------


class Instrument(models.Model):
    """An assessment or a rating questionnaire. A published version is frozen (answers refer to
    it); changing it makes the next version under the same code, and projects keep theirs."""

    code = models.CharField("编号", max_length=40)
    version = models.PositiveSmallIntegerField("版本", default=1)
    kind = models.CharField("类型", max_length=12, choices=InstrumentKind.choices)
    title = models.CharField("名称", max_length=200)
    description = models.TextField("说明", blank=True)
    scale_min = models.PositiveSmallIntegerField("量表最小值", default=1)
    scale_max = models.PositiveSmallIntegerField("量表最大值", default=5)
    division = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="+", verbose_name="所属单位")
    division_path = models.CharField(max_length=100, editable=False)
    state = models.CharField("状态", max_length=10, choices=InstrumentState.choices, default=InstrumentState.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["code", "-version"]
        verbose_name = "测评工具"
        indexes = [path_index("evaluation_instrument_path", "division_path", "state")]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="evaluation_instrument_code_version"),
            models.CheckConstraint(condition=Q(scale_min__lt=F("scale_max")), name="evaluation_instrument_scale"),
            models.CheckConstraint(condition=Q(scale_max__lte=10), name="evaluation_instrument_scale_max"),
            models.CheckConstraint(condition=Q(kind__in=InstrumentKind.values), name="evaluation_instrument_kind"),
            models.CheckConstraint(condition=Q(state__in=InstrumentState.values), name="evaluation_instrument_state"),
        ]

    def __str__(self) -> str:
        return f"{self.title}（第{self.version}版）"

    def save(self, *args, **kwargs):
        if self.division_id and not self.division_path:
            self.division_path = self.division.path
        super().save(*args, **kwargs)


class InstrumentItem(models.Model):
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="items")
    number = models.PositiveSmallIntegerField("题号")
    text = models.CharField("题目", max_length=500)
    dimension = models.CharField("维度", max_length=20, choices=Dimension.choices)
    # A reverse-keyed item counts scale_max + scale_min - answer toward its dimension.
    reverse = models.BooleanField("反向计分", default=False)

    objects = ScopedManager()

    class Meta:
        ordering = ["instrument", "number"]
        verbose_name = "测评题目"
        constraints = [
            models.UniqueConstraint(fields=["instrument", "number"], name="evaluation_item_number"),
            models.CheckConstraint(condition=Q(dimension__in=Dimension.values), name="evaluation_item_dimension"),
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.text}"


class ProjectInstrument(models.Model):
    """An assessment attached to a project at one point, open to its trainees between two dates."""

    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="instruments")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="uses")
    point = models.CharField("测评时点", max_length=4, choices=Point.choices)
    opens_on = models.DateField("开放日期")
    closes_on = models.DateField("截止日期")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["project", "opens_on"]
        verbose_name = "项目测评安排"
        constraints = [
            models.UniqueConstraint(fields=["project", "point"], name="evaluation_projectinstrument_point"),
            models.CheckConstraint(condition=Q(closes_on__gte=F("opens_on")), name="evaluation_projectinstrument_dates"),
            models.CheckConstraint(condition=Q(point__in=Point.values), name="evaluation_projectinstrument_known_point"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.point}"


class AssessmentResponse(models.Model):
    """A trainee's answers to an attached assessment (by name: pre and post are paired)."""

    attachment = models.ForeignKey(ProjectInstrument, on_delete=models.PROTECT, related_name="responses")
    teacher = models.ForeignKey("people.Teacher", on_delete=models.PROTECT, related_name="assessments")
    answers = models.JSONField(default=dict)  # {"item number": answer}
    submitted_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = "测评作答"
        constraints = [
            models.UniqueConstraint(fields=["attachment", "teacher"], name="evaluation_assessment_once"),
        ]
        indexes = [models.Index(fields=["teacher", "attachment"], name="evaluation_assessment_teacher")]

    def __str__(self) -> str:
        return f"{self.attachment_id}:{self.teacher_id}"


class DimensionScore(models.Model):
    """One response's mean score on one dimension (reverse items turned), on the instrument's scale.
    Project and point are copied so a comparison is one indexed read."""

    response = models.ForeignKey(AssessmentResponse, on_delete=models.CASCADE, related_name="scores")
    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="+")
    teacher = models.ForeignKey("people.Teacher", on_delete=models.CASCADE, related_name="+")
    point = models.CharField(max_length=4, choices=Point.choices)
    dimension = models.CharField(max_length=20, choices=Dimension.choices)
    score = models.FloatField()

    objects = ScopedManager()

    class Meta:
        verbose_name = "维度得分"
        constraints = [
            models.UniqueConstraint(fields=["response", "dimension"], name="evaluation_dimensionscore_once"),
        ]
        indexes = [models.Index(fields=["project", "dimension", "point"], name="evaluation_dimscore_project")]

    def __str__(self) -> str:
        return f"{self.dimension}={self.score:.2f}"


class TeachingOutcome(models.Model):
    """A teacher's measured teaching outcome for a school year (a classroom-observation score, a
    student-growth index …), imported from the outcome data a county holds. Trained teachers'
    change is compared with matched untrained peers' over the same years (difference in
    differences)."""

    teacher = models.ForeignKey("people.Teacher", on_delete=models.CASCADE, related_name="outcomes")
    measure = models.CharField("指标", max_length=40)
    year = models.PositiveSmallIntegerField("学年")
    value = models.FloatField("数值")
    source = models.CharField("来源", max_length=100, blank=True)
    division_path = models.CharField(max_length=100, editable=False)

    objects = ScopedManager()

    class Meta:
        verbose_name = "教学成效数据"
        constraints = [
            models.UniqueConstraint(fields=["teacher", "measure", "year"], name="evaluation_outcome_once"),
        ]
        indexes = [path_index("evaluation_outcome_path", "division_path", "measure", "year")]

    def __str__(self) -> str:
        return f"{self.measure} {self.year}"

    def save(self, *args, **kwargs):
        if not self.division_path:
            self.division_path = self.teacher.division_path
        super().save(*args, **kwargs)


# --- anonymous ratings ------------------------------------------------------------------------


class RatingWindow(models.Model):
    """When a project's trainees may rate it anonymously, and with which questionnaire.
    Results are shown only after `closes_on`."""

    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="rating_windows")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="rating_windows")
    opens_on = models.DateField("开始日期")
    closes_on = models.DateField("截止日期")
    # The number of trainees entitled to rate, fixed when the window closes (the rate's base).
    eligible = models.PositiveIntegerField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["project", "opens_on"]
        verbose_name = "匿名评价窗口"
        constraints = [
            models.CheckConstraint(condition=Q(closes_on__gte=F("opens_on")), name="evaluation_ratingwindow_dates"),
        ]
        indexes = [models.Index(fields=["closes_on"], name="evaluation_ratingwindow_close")]

    def __str__(self) -> str:
        return f"{self.opens_on}–{self.closes_on}"


class RatingParticipation(models.Model):
    """That a trainee has rated in a window: one vote each, and the response rate. No answers,
    no time."""

    window = models.ForeignKey(RatingWindow, on_delete=models.CASCADE, related_name="participations")
    teacher = models.ForeignKey("people.Teacher", on_delete=models.PROTECT, related_name="+")

    objects = ScopedManager()

    class Meta:
        verbose_name = "评价参与记录"
        constraints = [
            models.UniqueConstraint(fields=["window", "teacher"], name="evaluation_participation_once"),
        ]

    def __str__(self) -> str:
        return "已评价"


class RatingResponse(models.Model):
    """One anonymous set of answers: a random id, the window, the answers. Nothing else, by design
    (a test holds this model's fields to exactly these)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    window = models.ForeignKey(RatingWindow, on_delete=models.CASCADE, related_name="responses")
    answers = models.JSONField()  # {"item number": answer}

    objects = ScopedManager()

    class Meta:
        verbose_name = "匿名评价答卷"

    def __str__(self) -> str:
        return "匿名答卷"


# --- supervision, outcomes, stakeholders --------------------------------------------------------


class Rubric(models.Model):
    """The criteria a visit, an outcome or a stakeholder is scored on, each with its maximum.
    Versioned like instruments: a published rubric is frozen."""

    code = models.CharField("编号", max_length=40)
    version = models.PositiveSmallIntegerField("版本", default=1)
    kind = models.CharField("类型", max_length=12, choices=RubricKind.choices)
    title = models.CharField("名称", max_length=200)
    criteria = models.JSONField("评分细则", default=list)  # [{"code", "label", "max"}]
    division = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="+", verbose_name="所属单位")
    division_path = models.CharField(max_length=100, editable=False)
    state = models.CharField("状态", max_length=10, choices=InstrumentState.choices, default=InstrumentState.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["kind", "code", "-version"]
        verbose_name = "评分量规"
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="evaluation_rubric_code_version"),
            models.CheckConstraint(condition=Q(kind__in=RubricKind.values), name="evaluation_rubric_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.title}（第{self.version}版）"

    def save(self, *args, **kwargs):
        if self.division_id and not self.division_path:
            self.division_path = self.division.path
        super().save(*args, **kwargs)


class Supervisor(models.Model):
    """An expert named to supervise a project (视导专家): they record its visits and review its
    outcomes."""

    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="supervisors")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="supervising")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    assigned_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = "视导专家"
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="evaluation_supervisor_once")]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.user_id}"


class ScoredRecord(models.Model):
    """What a visit, an outcome review and a stakeholder rating share: a rubric, a score per
    criterion, and the total on 0–100 (the criteria's sum over their maxima)."""

    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="+")
    rubric = models.ForeignKey(Rubric, on_delete=models.PROTECT, related_name="+")
    scores = models.JSONField("各项得分", default=dict)  # {"criterion code": points}
    total = models.DecimalField("得分（百分制）", max_digits=5, decimal_places=1)
    note = models.TextField("意见", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class SupervisionVisit(ScoredRecord):
    visitor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                verbose_name="视导人")
    visited_on = models.DateField("视导日期")

    objects = ScopedManager()

    class Meta:
        ordering = ["project", "-visited_on"]
        verbose_name = "过程视导记录"
        constraints = [models.CheckConstraint(condition=Q(total__gte=0, total__lte=100),
                                              name="evaluation_visit_total_range")]
        indexes = [models.Index(fields=["project", "visited_on"], name="evaluation_visit_project")]

    def __str__(self) -> str:
        return f"视导 {self.visited_on}"


class OutcomeReview(ScoredRecord):
    """A reviewer's score of one training outcome (a lesson plan, a report …)."""

    title = models.CharField("成果名称", max_length=200)
    kind = models.CharField("成果类型", max_length=20, choices=OutcomeKind.choices)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                 verbose_name="评审人")
    # The outcome itself (the lesson plan, the report …), so whoever oversees the project reads what was scored.
    file = models.FileField("成果文件", upload_to="evaluation/outcomes/%Y/%m/", blank=True)
    file_name = models.CharField("成果文件名", max_length=200, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["project", "-created_at"]
        verbose_name = "培训成果评审"
        constraints = [models.CheckConstraint(condition=Q(total__gte=0, total__lte=100),
                                              name="evaluation_outcome_total_range")]
        indexes = [models.Index(fields=["project"], name="evaluation_outcome_project")]

    def __str__(self) -> str:
        return self.title


class StakeholderRating(ScoredRecord):
    """A school's or an education bureau's rating of a project its teachers attended; one per unit."""

    unit_kind = models.CharField("评价单位类型", max_length=10, choices=StakeholderUnit.choices)
    unit_key = models.CharField(max_length=40, editable=False)  # "school:12" / "division:410102"
    unit_label = models.CharField("评价单位", max_length=100)
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name="评价人")

    objects = ScopedManager()

    class Meta:
        ordering = ["project", "unit_kind"]
        verbose_name = "相关利益群体评价"
        constraints = [
            models.UniqueConstraint(fields=["project", "unit_key"], name="evaluation_stakeholder_once"),
            models.CheckConstraint(condition=Q(total__gte=0, total__lte=100), name="evaluation_stakeholder_total_range"),
        ]

    def __str__(self) -> str:
        return self.unit_label


# --- performance score, ranking, elimination ----------------------------------------------------


WEIGHT_SUM = F("supervision") + F("rating") + F("outcome") + F("stakeholder")


class ScoreWeights(models.Model):
    """The weights of the four sources for a year's performance scores, set by the province.
    Versioned: a year's ranking names the version it used; a new version does not rewrite it."""

    year = models.PositiveSmallIntegerField("年度")
    version = models.PositiveSmallIntegerField("版本", default=1)
    supervision = models.DecimalField("专家视导权重", max_digits=4, decimal_places=3)
    rating = models.DecimalField("学员匿名评价权重", max_digits=4, decimal_places=3)
    outcome = models.DecimalField("成果质量权重", max_digits=4, decimal_places=3)
    stakeholder = models.DecimalField("利益群体评价权重", max_digits=4, decimal_places=3)
    bottom_share = models.DecimalField("末位淘汰比例", max_digits=4, decimal_places=3)
    # A level × category with fewer scored projects than this is ranked but nobody is flagged.
    min_group = models.PositiveSmallIntegerField("最少排名项目数", default=5)
    note = models.TextField("说明", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-year", "-version"]
        verbose_name = "绩效评价权重"
        constraints = [
            models.UniqueConstraint(fields=["year", "version"], name="evaluation_weights_year_version"),
            models.CheckConstraint(condition=Q(supervision__gte=0, rating__gte=0, outcome__gte=0, stakeholder__gte=0),
                                   name="evaluation_weights_not_negative"),
            models.CheckConstraint(
                # Within rounding of 1 (SQLite adds decimals as floats); the service demands exactly 1.
                condition=Q(GreaterThanOrEqual(WEIGHT_SUM, Decimal("0.9995")), LessThanOrEqual(WEIGHT_SUM, Decimal("1.0005"))),
                name="evaluation_weights_sum_to_one"),
            models.CheckConstraint(condition=Q(bottom_share__gt=0, bottom_share__lte=Decimal("0.5")),
                                   name="evaluation_weights_bottom_share"),
        ]

    def __str__(self) -> str:
        return f"{self.year} 第{self.version}版"


class ProjectScore(models.Model):
    """A project's performance score for a year under one weights version: each source's score
    (0–100; None where the source has nothing), the weighted composite, its standing within the
    project's level × category, and whether it falls in the bottom share. Organiser, school and
    institution are copied so that each side sees its own rows."""

    project = models.ForeignKey("catalog.Project", on_delete=models.PROTECT, related_name="scores")
    weights = models.ForeignKey(ScoreWeights, on_delete=models.PROTECT, related_name="scores")
    year = models.PositiveSmallIntegerField("年度")
    level = models.CharField(max_length=10)
    category = models.CharField(max_length=20)
    division_path = models.CharField(max_length=100)
    organiser_school = models.ForeignKey("org.School", null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="+")
    institution = models.ForeignKey("org.Institution", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    supervision = models.FloatField(null=True, blank=True)
    rating = models.FloatField(null=True, blank=True)
    outcome = models.FloatField(null=True, blank=True)
    stakeholder = models.FloatField(null=True, blank=True)
    composite = models.FloatField("综合得分")
    # The composite standardised within the level × category (z), and the rank there (1 = best).
    normalised = models.FloatField("组内标准分")
    rank = models.PositiveIntegerField("组内排名")
    group_size = models.PositiveIntegerField("组内项目数")
    flagged = models.BooleanField("末位", default=False)
    computed_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["year", "level", "category", "rank"]
        verbose_name = "项目绩效得分"
        constraints = [
            models.UniqueConstraint(fields=["project", "year"], name="evaluation_score_once_a_year"),
            models.CheckConstraint(condition=Q(rank__gte=1, rank__lte=F("group_size")), name="evaluation_score_rank"),
        ]
        indexes = [
            models.Index(fields=["year", "level", "category", "rank"], name="evaluation_score_ranking"),
            path_index("evaluation_score_path", "division_path", "year"),
            models.Index(fields=["institution", "year"], name="evaluation_score_institution"),
        ]

    def __str__(self) -> str:
        return f"{self.year} #{self.rank}/{self.group_size}"


class EliminationCase(models.Model):
    """A flagged project's path: flagged → (appealed →) overturned or confirmed. A confirmed case
    sanctions the implementing institution's accreditation and keeps the project out of the
    next year's plan."""

    score = models.OneToOneField(ProjectScore, on_delete=models.PROTECT, related_name="case")
    state = models.CharField("状态", max_length=12, choices=CaseState.choices, default=CaseState.FLAGGED)
    appeal_text = models.TextField("申诉理由", blank=True)
    appealed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    appealed_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField("处理意见", blank=True)
    sanction = models.CharField("资质处理", max_length=12, choices=Sanction.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "末位淘汰"
        constraints = [
            models.CheckConstraint(condition=Q(state__in=CaseState.values), name="evaluation_case_known_state"),
            models.CheckConstraint(condition=~Q(state=CaseState.APPEALED) | ~Q(appeal_text=""),
                                   name="evaluation_case_appeal_has_reason"),
            models.CheckConstraint(condition=Q(sanction="") | Q(state=CaseState.CONFIRMED),
                                   name="evaluation_case_sanction_only_confirmed"),
        ]

    def __str__(self) -> str:
        return self.get_state_display()
