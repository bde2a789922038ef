"""Reading one's own in-site messages."""

from __future__ import annotations

from django.db.models import QuerySet

from access.policy import visible
from access.scope import Scope
from notifications.models import Notification

PAGE_SIZE = 50


def inbox(scope: Scope, *, unread_only: bool = False, limit: int = PAGE_SIZE) -> QuerySet[Notification]:
    rows = visible(scope, Notification).order_by("-created_at", "-id")
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return rows[:limit]
