"""The daily digest: each account with unread messages from the last day gets one summary by
e-mail (or SMS), unless it turned the digest off.

Two steps, so that a failing gateway neither loses a digest nor sends one twice:
`digests_prepare` writes one `NoticeDigest` row per account and day (a unique constraint; a
second run of the day adds nothing); `digests_deliver` sends the unsent rows through the
configured sender, records each success, and leaves a failure unsent with its attempt counted,
for the next run (the half-hourly retry task) — up to NOTICE_DIGEST_MAX_ATTEMPTS."""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone

from accounts.mobile import mobile_decrypt
from accounts.models import User
from notifications.models import NoticeDigest, Notification
from notifications.senders import get_sender

log = logging.getLogger(__name__)

ACCOUNT_RANGE = 20000
DELIVER_CHUNK = 200
TITLES_SHOWN = 5


def recipient_contacts(user) -> tuple[str | None, str | None]:
    """Where an account can be reached outside the site: (e-mail, mobile number)."""
    email = (user.email or "").strip() or None
    # Decrypted only here, at the moment of sending (accounts.mobile keeps it encrypted).
    phone = mobile_decrypt(user.mobile_cipher) if user.mobile_cipher else None
    return email, phone


def _reachable() -> Q:
    """The set-based form of recipient_contacts: accounts with somewhere to send to."""
    return ~Q(email="") | ~Q(mobile_cipher="")


def digests_prepare(*, today: dt.date | None = None) -> int:
    """One digest row per reachable, willing account with unread messages from the last day."""
    day = today or timezone.localdate()
    since = timezone.now() - dt.timedelta(days=1)
    top = User.objects.aggregate(top=Max("pk"))["top"] or 0
    written = 0
    for start in range(0, top, ACCOUNT_RANGE):
        counts = (User.objects.filter(_reachable(), pk__gt=start, pk__lte=start + ACCOUNT_RANGE, is_active=True,
                                      notifications__read_at__isnull=True, notifications__created_at__gte=since)
                  .exclude(notice_preference__digest=False)
                  .values("pk").annotate(n=Count("notifications")).order_by("pk").values_list("pk", "n"))
        rows = [NoticeDigest(user_id=uid, day=day, channel=NoticeDigest.Channel.EMAIL, notices=n) for uid, n in counts]
        if rows:
            NoticeDigest.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
            written += len(rows)
    return written


def _compose(count: int, titles: list[str]) -> tuple[str, str]:
    subject = f"研修平台：您有 {count} 条未读站内信"
    lines = [f"您好！过去一天您有 {count} 条未读站内信：", ""]
    lines += [f"· {title}" for title in titles[:TITLES_SHOWN]]
    if count > TITLES_SHOWN:
        lines.append(f"……等共 {count} 条")
    lines += ["", "请登录研修平台，在「站内信」中查看。如不需要每日汇总，可在站内信页面的「通知设置」中关闭。"]
    return subject, "\n".join(lines)


def digests_deliver(*, today: dt.date | None = None) -> dict[str, int]:
    """Send today's and yesterday's unsent digests; a failure is kept for the next run."""
    day = today or timezone.localdate()
    sender = get_sender()
    since = timezone.now() - dt.timedelta(days=1)
    sent = failed = 0
    last = 0
    while True:
        with transaction.atomic():
            # The system's sweep over every account's digest; rows another worker holds are skipped.
            chunk = list(NoticeDigest.objects.dangerously_unscoped()
                         .select_for_update(skip_locked=True, of=("self",))
                         .filter(pk__gt=last, sent_at__isnull=True, day__gte=day - dt.timedelta(days=1),
                                 attempts__lt=settings.NOTICE_DIGEST_MAX_ATTEMPTS)
                         .select_related("user").order_by("pk")[:DELIVER_CHUNK])
            if not chunk:
                break
            last = chunk[-1].pk
            titles: dict[int, list[str]] = {}
            for uid, title in (visible_unread_titles([d.user_id for d in chunk], since)):
                titles.setdefault(uid, []).append(title)
            for digest in chunk:
                ok = _send_one(sender, digest, titles.get(digest.user_id, []))
                sent, failed = sent + ok, failed + (not ok)
            _record(chunk)
    return {"sent": sent, "failed": failed}


def _record(chunk: list[NoticeDigest]) -> None:
    """One UPDATE per channel for the sent (bulk_update's CASE per row costs more than the
    sending); failures, few, row by row."""
    sent: dict[str, list[int]] = {}
    for digest in chunk:
        if digest.sent_at is not None:
            sent.setdefault(digest.channel, []).append(digest.pk)
    for channel, ids in sent.items():
        (NoticeDigest.objects.dangerously_unscoped().filter(pk__in=ids)
         .update(sent_at=timezone.now(), channel=channel, attempts=F("attempts") + 1, last_error=""))
    failed = [digest for digest in chunk if digest.sent_at is None]
    if failed:
        NoticeDigest.objects.bulk_update(failed, ["attempts", "last_error"])


def visible_unread_titles(user_ids: list[int], since: dt.datetime) -> list[tuple[int, str]]:
    """The latest unread titles of these accounts since `since`, newest first (one query)."""
    # Each account's own messages, read for its own digest by the system.
    return list(Notification.objects.dangerously_unscoped()
                .filter(recipient_id__in=user_ids, read_at__isnull=True, created_at__gte=since)
                .order_by("recipient_id", "-created_at", "-id").values_list("recipient_id", "title"))


def _masked(text: str) -> str:
    """A gateway's error may quote the address or number; the row keeps neither."""
    return re.sub(r"\d{7,}", "***", re.sub(r"\S+@\S+", "***@***", text))


def _send_one(sender, digest: NoticeDigest, titles: list[str]) -> bool:
    email, phone = recipient_contacts(digest.user)
    digest.attempts += 1
    subject, body = _compose(digest.notices, titles)
    try:
        if email:
            digest.channel = NoticeDigest.Channel.EMAIL
            sender.send_email(email, subject, body)
        elif phone:
            digest.channel = NoticeDigest.Channel.SMS
            sender.send_sms(phone, f"【研修平台】您有{digest.notices}条未读站内信，请登录查看。")
        else:
            digest.last_error = "账户没有邮箱或手机号"
            digest.attempts = settings.NOTICE_DIGEST_MAX_ATTEMPTS  # nothing to retry
            return False
    except Exception as error:  # noqa: BLE001 - any gateway failure is retried later, never raised
        digest.last_error = _masked(f"{type(error).__name__}: {error}")[:200]
        log.warning("notice digest %s not sent (attempt %d): %s", digest.pk, digest.attempts, type(error).__name__)
        return False
    digest.sent_at, digest.last_error = timezone.now(), ""
    return True
