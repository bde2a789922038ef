"""Expert guidance teams (专家指导团队) and the questions teachers put to them.

- `GuidanceTeam`: a city's or a county's team for one stage and subject, owned by that
  division; its `TeamMember`s are teachers (research staff, master teachers, subject
  technology leads), one of them the team lead.
- `TeamSchool`: the "one-to-one" pairing of a team with a school for its stage and subject.
  The database allows one team per (school, stage, subject), so a teacher is mapped to
  exactly one team for each subject they teach.
- `Question`: a teacher's question, routed to the team serving their school and assigned to
  the least-loaded available member; `QuestionMessage` is its thread (answers, follow-ups).
  A question carries its asker's division path and school, so administrators see the
  questions of their jurisdiction's teachers, whichever team answers.
- `HoursRule`: how many continuing-education hours answering and asking earn, with caps per
  cycle, as versioned data the province sets.
- `ProblemCluster`: a common problem found among a period's questions of a division, stage and
  subject (guidance.clustering), which an administrator can turn into an offline project draft.
"""

from django.db import models
from django.utils import timezone

from access.managers import ScopedManager
from guidance.constants import Escalation, MemberRole, QuestionState
from org.constants import Stage
from org.models import path_index
from people.constants import Subject


class GuidanceTeam(models.Model):
    name = models.CharField("团队名称", max_length=100)
    division = models.ForeignKey("org.Division", on_delete=models.PROTECT, related_name="+", verbose_name="所属区划")
    division_path = models.CharField(max_length=100, editable=False)
    stage = models.CharField("学段", max_length=20, choices=Stage.choices)
    subject = models.CharField("学科", max_length=20, choices=Subject.choices)
    is_active = models.BooleanField("在岗", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["division_path", "stage", "subject", "name"]
        verbose_name = "专家指导团队"
        indexes = [path_index("guidance_team_path", "division_path", "stage", "subject")]
        constraints = [models.UniqueConstraint(fields=["division", "name"], name="guidance_team_unique_name")]

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    team = models.ForeignKey(GuidanceTeam, on_delete=models.CASCADE, related_name="members")
    teacher = models.ForeignKey("people.Teacher", on_delete=models.PROTECT, related_name="guidance_memberships")
    role = models.CharField("身份", max_length=20, choices=MemberRole.choices)
    is_lead = models.BooleanField("组长", default=False)
    # An expert on leave is kept on the team but gets no new questions.
    is_available = models.BooleanField("可接收问题", default=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-is_lead", "id"]
        verbose_name = "团队成员"
        constraints = [
            models.UniqueConstraint(fields=["team", "teacher"], name="guidance_member_once"),
            models.UniqueConstraint(fields=["team"], condition=models.Q(is_lead=True), name="guidance_one_lead"),
        ]

    def __str__(self) -> str:
        return f"{self.team_id}:{self.teacher_id}"


class TeamSchool(models.Model):
    team = models.ForeignKey(GuidanceTeam, on_delete=models.CASCADE, related_name="pairings")
    school = models.ForeignKey("org.School", on_delete=models.CASCADE, related_name="+")
    # Copied from the team, so the database itself holds one team per school, stage and subject.
    stage = models.CharField(max_length=20, choices=Stage.choices)
    subject = models.CharField(max_length=20, choices=Subject.choices)
    division_path = models.CharField(max_length=100, editable=False)  # the team's
    paired_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = "结对学校"
        constraints = [
            models.UniqueConstraint(fields=["school", "stage", "subject"], name="guidance_one_team_per_school_subject"),
        ]
        indexes = [models.Index(fields=["team"], name="guidance_pairing_team")]

    def __str__(self) -> str:
        return f"{self.team_id}:{self.school_id}"


class Question(models.Model):
    teacher = models.ForeignKey("people.Teacher", on_delete=models.PROTECT, related_name="guidance_questions")
    division_path = models.CharField(max_length=100, editable=False)  # the asker's
    school = models.ForeignKey("org.School", on_delete=models.PROTECT, related_name="+")  # the asker's
    stage = models.CharField("学段", max_length=20, choices=Stage.choices)
    subject = models.CharField("学科", max_length=20, choices=Subject.choices)
    text = models.TextField("问题")
    attachment = models.FileField("附件", upload_to="guidance/%Y/%m/", blank=True)
    team = models.ForeignKey(GuidanceTeam, null=True, blank=True, on_delete=models.PROTECT, related_name="questions")
    assignee = models.ForeignKey(TeamMember, null=True, blank=True, on_delete=models.SET_NULL, related_name="questions")
    state = models.CharField("状态", max_length=10, choices=QuestionState.choices, default=QuestionState.WAITING)
    created_at = models.DateTimeField("提问时间", default=timezone.now)
    due_at = models.DateTimeField("应答期限", null=True, blank=True)
    first_answered_at = models.DateTimeField("首次解答", null=True, blank=True)
    resolved_at = models.DateTimeField("解决时间", null=True, blank=True)
    # Resolved at once by accepting an already-answered question (即时解答), without an expert.
    matched = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    escalation = models.PositiveSmallIntegerField("升级", choices=Escalation.choices, default=Escalation.NONE)
    escalated_at = models.DateTimeField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField("满意度", null=True, blank=True)
    # Whether the asker lets the answered question be shown (without their name) as an instant answer.
    shareable = models.BooleanField("允许匿名共享", default=True)
    # The text's vector for similar-question lookup (guidance.matching), stored as bytes.
    vector = models.BinaryField(null=True, blank=True, editable=False)

    objects = ScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "指导问题"
        indexes = [
            path_index("guidance_question_path", "division_path", "created_at"),
            models.Index(fields=["team", "state"], name="guidance_question_team_state"),
            models.Index(fields=["assignee", "state"], name="guidance_question_assignee"),
            # Assignment counts each member's open questions: a small index of open ones only.
            models.Index(fields=["assignee"], condition=models.Q(state__in=["waiting", "answered"]),
                         name="guidance_question_open"),
            models.Index(fields=["state", "due_at"], name="guidance_question_due"),
            models.Index(fields=["stage", "subject", "state"], name="guidance_question_bank"),
            models.Index(fields=["teacher", "-created_at"], name="guidance_question_teacher"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                                   name="guidance_question_rating_1_5"),
            models.CheckConstraint(condition=~models.Q(state="resolved") | models.Q(resolved_at__isnull=False),
                                   name="guidance_question_resolved_when"),
            models.CheckConstraint(condition=models.Q(matched__isnull=True) | models.Q(state="resolved"),
                                   name="guidance_question_matched_resolved"),
        ]

    def __str__(self) -> str:
        return self.text[:40]


class QuestionMessage(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="messages")
    # The account that wrote it (none for imported or demo threads; the member says who answered).
    author = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # An expert's reply (counts as an answer) rather than the asker's follow-up.
    is_answer = models.BooleanField(default=False)
    member = models.ForeignKey(TeamMember, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField("内容")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "问题回复"
        indexes = [models.Index(fields=["question", "created_at"], name="guidance_message_thread")]

    def __str__(self) -> str:
        return self.body[:40]


class HoursRule(models.Model):
    """One version of the province's rule for guidance hours; the latest in force applies."""

    effective_from = models.DateField("生效日期", unique=True)
    expert_hours = models.DecimalField("专家每解决一个问题计学时", max_digits=4, decimal_places=2)
    expert_cap = models.DecimalField("专家每周期上限", max_digits=5, decimal_places=1)
    asker_hours = models.DecimalField("教师每解决一个问题计学时", max_digits=4, decimal_places=2)
    asker_cap = models.DecimalField("教师每周期上限", max_digits=5, decimal_places=1)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-effective_from"]
        verbose_name = "专家指导学时规则"
        constraints = [
            models.CheckConstraint(condition=models.Q(expert_hours__gte=0, asker_hours__gte=0, expert_cap__gte=0,
                                                      asker_cap__gte=0), name="guidance_hours_rule_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.effective_from}"


class ProblemCluster(models.Model):
    division = models.ForeignKey("org.Division", on_delete=models.CASCADE, related_name="+")
    division_path = models.CharField(max_length=100, editable=False)
    stage = models.CharField("学段", max_length=20, choices=Stage.choices)
    subject = models.CharField("学科", max_length=20, choices=Subject.choices)
    period_start = models.DateField("起")
    period_end = models.DateField("止")
    size = models.PositiveIntegerField("问题数")
    keywords = models.JSONField("关键词", default=list)
    examples = models.JSONField("代表性问题", default=list)  # [{"id": .., "text": ..}]
    question_ids = models.JSONField(default=list)
    computed_at = models.DateTimeField(auto_now_add=True)
    project = models.ForeignKey("catalog.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = ScopedManager()

    class Meta:
        ordering = ["-size", "id"]
        verbose_name = "共性问题"
        indexes = [path_index("guidance_cluster_path", "division_path", "stage", "subject")]

    def __str__(self) -> str:
        return "、".join(self.keywords[:3])
