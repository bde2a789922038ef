"""Writing and reading-off in-site messages. `notify` is what other apps call; it is
idempotent per (recipient, event_key) and keeps the recipients' unread counts exact.

Writes are set-based: a batch of messages is one lookup of those already told, one bulk
insert and one UPDATE that recounts the batch's accounts, whatever its size. Messages are
written in the caller's transaction; nothing here sends e-mail or SMS (the daily digest
task does, notifications.digest)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from django.db import transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from access.errors import Forbidden
from access.policy import Action, fetch, visible
from access.scope import Scope
from accounts.models import User
from notifications.models import NoticePreference, Notification

BATCH = 2000


@dataclass(frozen=True)
class Notice:
    recipient_id: int
    kind: str
    title: str
    body: str
    url: str
    event_key: str

    def row(self) -> Notification:
        return Notification(recipient_id=self.recipient_id, kind=self.kind, title=self.title[:200],
                            body=self.body[:500], url=self.url[:300], event_key=self.event_key[:120])


def notify(*, recipients: Iterable[int | None], kind: str, title: str, body: str = "", url: str = "",
           event_key: str) -> int:
    """Tell each account (by id) once about an event; returns how many were newly told."""
    ids = sorted({int(uid) for uid in recipients if uid})
    return notices_write(Notice(uid, kind, title, body, url, event_key) for uid in ids)


def notices_write(notices: Iterable[Notice]) -> int:
    """Write many messages (of any events) in batches; returns how many were new."""
    told = 0
    for batch in _chunks(notices, BATCH):
        told += _write_batch(batch)
    return told


def _chunks(items: Iterable[Notice], size: int) -> Iterator[list[Notice]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def _write_batch(batch: list[Notice]) -> int:
    with transaction.atomic():
        ids = sorted({n.recipient_id for n in batch})
        # The accounts' rows are locked first (in id order), so a concurrent read-off or notify of
        # the same account waits and the recount below counts what is committed.
        list(User.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
        keys = {n.event_key[:120] for n in batch}
        told = set(Notification.objects.dangerously_unscoped().filter(recipient_id__in=ids, event_key__in=keys)
                   .values_list("recipient_id", "event_key"))
        fresh = []
        for notice in batch:
            key = (notice.recipient_id, notice.event_key[:120])
            if key not in told:
                told.add(key)
                fresh.append(notice.row())
        if not fresh:
            return 0
        # ignore_conflicts: the unique constraint stays the last word on "once per event".
        Notification.objects.bulk_create(fresh, ignore_conflicts=True)
        _recount({row.recipient_id for row in fresh})
    return len(fresh)


def _recount(user_ids: Iterable[int]) -> None:
    """One UPDATE setting each account's unread count from its rows: exact, whatever was skipped."""
    unread = (Notification.objects.dangerously_unscoped().filter(recipient=OuterRef("pk"), read_at__isnull=True)
              .order_by().values("recipient").annotate(n=Count("pk")).values("n"))
    User.objects.filter(pk__in=list(user_ids)).update(unread_notices=Coalesce(Subquery(unread), 0))


def teacher_accounts(teacher_ids: Iterable[int | None]) -> dict[int, int]:
    """Teacher record id -> the active account bound to it (teachers without one are not told)."""
    ids = {t for t in teacher_ids if t}
    if not ids:
        return {}
    return dict(User.objects.filter(teacher_id__in=ids, is_active=True).values_list("teacher_id", "pk"))


def notification_read(*, scope: Scope, notification_id: int) -> Notification:
    with transaction.atomic():
        notice = fetch(scope, Notification, notification_id, Action.CHANGE, lock=True)
        if notice.read_at is None:
            notice.read_at = timezone.now()
            notice.save(update_fields=["read_at"])
            User.objects.filter(pk=notice.recipient_id, unread_notices__gt=0).update(
                unread_notices=F("unread_notices") - 1)
    return notice


def notifications_read_all(*, scope: Scope, kind: str = "") -> int:
    """Mark the caller's unread messages read (of one kind, if given)."""
    with transaction.atomic():
        if scope.user_id is not None:
            list(User.objects.select_for_update().filter(pk=scope.user_id).values_list("pk", flat=True))
        rows = visible(scope, Notification, Action.CHANGE).filter(read_at__isnull=True)
        if kind:
            rows = rows.filter(kind=kind)
        count = rows.update(read_at=timezone.now())
        if scope.user_id is not None:
            if kind:
                User.objects.filter(pk=scope.user_id).update(unread_notices=Coalesce(Subquery(
                    visible(scope, Notification).filter(read_at__isnull=True).order_by()
                    .values("recipient").annotate(n=Count("pk")).values("n")), 0))
            else:
                User.objects.filter(pk=scope.user_id).update(unread_notices=0)
    return count


def preference_set(*, scope: Scope, actor, digest: bool) -> NoticePreference:
    """The caller's own settings (only one's own: the row is keyed by the signed-in account)."""
    if scope.user_id is None or getattr(actor, "pk", None) != scope.user_id:
        raise Forbidden("只能修改本人的通知设置")
    with transaction.atomic():
        preference, _ = visible(scope, NoticePreference, Action.CHANGE).update_or_create(
            user_id=scope.user_id, defaults={"digest": digest})
    return preference
