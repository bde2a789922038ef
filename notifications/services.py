"""Writing and reading-off in-site messages. `notify` is what other apps call; it is
idempotent per (recipient, event_key) and keeps the recipient's unread count in step."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from access.policy import Action, fetch, visible
from access.scope import Scope
from accounts.models import User
from notifications.models import Notification


def notify(*, recipients: Iterable[int], kind: str, title: str, body: str = "", url: str = "",
           event_key: str) -> int:
    """Tell each account (by id) once about an event; returns how many were newly told."""
    told = 0
    for user_id in sorted(set(recipients)):
        try:
            with transaction.atomic():
                Notification.objects.create(
                    recipient_id=user_id, kind=kind, title=title[:200], body=body[:500], url=url[:300],
                    event_key=event_key[:120])
                User.objects.filter(pk=user_id).update(unread_notices=F("unread_notices") + 1)
        except IntegrityError:
            continue  # already told of this event
        told += 1
    return told


def notification_read(*, scope: Scope, notification_id: int) -> Notification:
    with transaction.atomic():
        notice = fetch(scope, Notification, notification_id, Action.CHANGE, lock=True)
        if notice.read_at is None:
            notice.read_at = timezone.now()
            notice.save(update_fields=["read_at"])
            User.objects.filter(pk=notice.recipient_id, unread_notices__gt=0).update(
                unread_notices=F("unread_notices") - 1)
    return notice


def notifications_read_all(*, scope: Scope) -> int:
    with transaction.atomic():
        count = (visible(scope, Notification, Action.CHANGE).filter(read_at__isnull=True)
                 .update(read_at=timezone.now()))
        if scope.user_id is not None:
            User.objects.filter(pk=scope.user_id).update(unread_notices=0)
    return count
