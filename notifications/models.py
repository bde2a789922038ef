"""In-site messages (站内信): what happened that a user should know of (a question assigned to
them, an overdue question escalated to them), each for one account. The account keeps an
unread count (accounts.User.unread_notices) so the header shows it without a query."""

from django.db import models

from access.managers import ScopedManager


class Notification(models.Model):
    class Kind(models.TextChoices):
        QUESTION_ASSIGNED = "question.assigned", "新的指导问题"
        QUESTION_ANSWERED = "question.answered", "问题有了解答"
        QUESTION_FOLLOW_UP = "question.follow_up", "问题有追问"
        QUESTION_ESCALATED = "question.escalated", "问题超时未答"
        QUESTION_RESOLVED = "question.resolved", "问题已解决"

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
        indexes = [models.Index(fields=["recipient", "-created_at"], name="notifications_inbox")]

    def __str__(self) -> str:
        return self.title
