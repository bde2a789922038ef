"""In-site messages (站内信): what happened that a user should know of (a question assigned to
them, an enrolment decided, a plan returned, a session tomorrow), each for one account. The
account keeps an unread count (accounts.User.unread_notices) so the header shows it without a
query. Once a day an account with unread messages may get one summary by e-mail or SMS
(`NoticeDigest`), unless it turned that off (`NoticePreference`)."""

from django.db import models

from access.managers import ScopedManager


class Notification(models.Model):
    class Kind(models.TextChoices):
        QUESTION_ASSIGNED = "question.assigned", "新的指导问题"
        QUESTION_ANSWERED = "question.answered", "问题有了解答"
        QUESTION_FOLLOW_UP = "question.follow_up", "问题有追问"
        QUESTION_ESCALATED = "question.escalated", "问题超时未答"
        QUESTION_RESOLVED = "question.resolved", "问题已解决"
        ENROLMENT_DECIDED = "enrolment.decided", "报名已审核"
        ENROLMENT_PROMOTED = "enrolment.promoted", "候补转正"
        ENROLMENT_NOMINATED = "enrolment.nominated", "被推荐参训"
        SESSION_TOMORROW = "session.tomorrow", "明日培训提醒"
        PLAN_DECIDED = "plan.decided", "年度计划已审核"
        EXPORT_DECIDED = "export.decided", "导出申请已审批"
        CLAIM_DECIDED = "claim.decided", "学时申报已审核"
        ACCREDITATION_DECISION = "accreditation.decision", "准入申请进展"
        ACCREDITATION_PROJECTS_HELD = "accreditation.projects_held", "项目因准入暂停"
        SUPERVISOR_NAMED = "evaluation.supervisor_named", "视导任务"
        CASE_FLAGGED = "evaluation.case_flagged", "末位淘汰预警"
        CASE_APPEALED = "evaluation.case_appealed", "末位淘汰申诉"
        CASE_DECIDED = "evaluation.case_decided", "末位淘汰处理结果"
        RATING_REMINDER = "evaluation.rating_reminder", "匿名评价提醒"

    recipient = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField("类型", max_length=40, choices=Kind.choices)
    title = models.CharField("标题", max_length=200)
    body = models.CharField("内容", max_length=500, blank=True)
    url = models.CharField("链接", max_length=300, blank=True)
    # Makes a periodic sender idempotent: the same event is told to the same account once.
    event_key = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "站内信"
        constraints = [
            models.UniqueConstraint(fields=["recipient", "event_key"], name="notifications_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notifications_inbox"),
            # Recounting an account's unread messages (services._recount) reads only these.
            models.Index(fields=["recipient"], condition=models.Q(read_at__isnull=True), name="notifications_unread"),
        ]

    def __str__(self) -> str:
        return self.title


class NoticePreference(models.Model):
    """An account's choices about being told outside the site; no row means the defaults."""

    user = models.OneToOneField("accounts.User", on_delete=models.CASCADE, related_name="notice_preference")
    digest = models.BooleanField("每日汇总（邮件/短信）", default=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = "通知设置"

    def __str__(self) -> str:
        return f"{self.user_id}: {'digest' if self.digest else 'no digest'}"


class NoticeDigest(models.Model):
    """One day's summary for one account: written before it is sent, so a second run of the
    day's task finds it and sends nothing twice; a failed send stays unsent and is retried."""

    class Channel(models.TextChoices):
        EMAIL = "email", "电子邮件"
        SMS = "sms", "短信"

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="notice_digests")
    day = models.DateField("日期")
    channel = models.CharField("渠道", max_length=10, choices=Channel.choices)
    notices = models.PositiveIntegerField("未读条数")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-day", "-id"]
        verbose_name = "每日汇总"
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="notifications_digest_once_a_day")]
        indexes = [models.Index(fields=["day"], condition=models.Q(sent_at__isnull=True),
                                name="notifications_digest_unsent")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}"
