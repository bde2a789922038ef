"""The caller's own in-site messages (/api/v1/me/notifications)."""

from __future__ import annotations

import datetime as dt

from ninja import Router, Schema

from access.scope import scope_for_user
from notifications import selectors
from notifications.services import notification_read, notifications_read_all

router = Router(tags=["站内信"])


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    url: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class InboxOut(Schema):
    unread: int
    items: list[NotificationOut]


def _out(n) -> NotificationOut:
    return NotificationOut(id=n.pk, kind=n.kind, title=n.title, body=n.body, url=n.url, created_at=n.created_at,
                           read_at=n.read_at)


@router.get("/me/notifications", response=InboxOut, summary="我的站内信（最新 50 条）与未读数")
def inbox(request, unread_only: bool = False):
    scope = scope_for_user(request.auth)
    return InboxOut(unread=request.auth.unread_notices,
                    items=[_out(n) for n in selectors.inbox(scope, unread_only=unread_only)])


@router.post("/me/notifications/{int:notification_id}/read", response=NotificationOut, summary="标为已读")
def read(request, notification_id: int):
    return _out(notification_read(scope=scope_for_user(request.auth), notification_id=notification_id))


class ReadAllOut(Schema):
    marked: int


@router.post("/me/notifications/read-all", response=ReadAllOut, summary="全部标为已读")
def read_all(request):
    return ReadAllOut(marked=notifications_read_all(scope=scope_for_user(request.auth)))
