"""Reading one's own in-site messages and settings."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from access.policy import visible
from access.scope import Scope
from notifications.models import NoticePreference, Notification

PAGE_SIZE = 20
KINDS = dict(Notification.Kind.choices)


def inbox(scope: Scope, *, unread_only: bool = False, kind: str = "") -> QuerySet[Notification]:
    """The caller's messages, newest first; `kind` one of Notification.Kind (else a ValidationError)."""
    rows = visible(scope, Notification).order_by("-created_at", "-id")
    if kind:
        if kind not in KINDS:
            raise ValidationError({"kind": "未知的站内信类型"})
        rows = rows.filter(kind=kind)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return rows


def inbox_page(scope: Scope, *, unread_only: bool = False, kind: str = "", page: int | str = 1,
               per_page: int = PAGE_SIZE) -> Page:
    """One page of the inbox: a count and one query for the page, whatever the page holds."""
    rows = inbox(scope, unread_only=unread_only, kind=kind).only(
        "id", "kind", "title", "body", "url", "created_at", "read_at", "recipient_id")
    return Paginator(rows, per_page).get_page(page)


def digest_wanted(scope: Scope) -> bool:
    """The caller's digest setting (on unless turned off)."""
    preference = visible(scope, NoticePreference).first()
    return preference.digest if preference is not None else True
