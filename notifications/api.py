"""The caller's own in-site messages and notice settings (/api/v1/me/notifications)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from ninja import Query, Router, Schema
from pydantic import Field

from access.scope import scope_for_user
from notifications import selectors
from notifications.digest import recipient_contacts
from notifications.services import notification_read, notifications_read_all, preference_set

router = Router(tags=["站内信"])


class NotificationOut(Schema):
    id: int
    kind: str
    kind_label: str
    title: str
    body: str
    url: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class InboxOut(Schema):
    unread: int
    total: int
    page: int
    pages: int
    items: list[NotificationOut]


class InboxQuery(Schema):
    unread_only: bool = False
    kind: str = Field("", max_length=40, description="站内信类型（见 kind_label），空为全部")
    page: int = Field(1, ge=1)


def _out(n) -> NotificationOut:
    return NotificationOut(id=n.pk, kind=n.kind, kind_label=selectors.KINDS.get(n.kind, n.kind), title=n.title,
                           body=n.body, url=n.url, created_at=n.created_at, read_at=n.read_at)


@router.get("/me/notifications", response=InboxOut, summary="我的站内信（分页，可按类型、未读筛选）与未读数")
def inbox(request, filters: Query[InboxQuery]):
    scope = scope_for_user(request.auth)
    page = selectors.inbox_page(scope, unread_only=filters.unread_only, kind=filters.kind, page=filters.page)
    return InboxOut(unread=request.auth.unread_notices, total=page.paginator.count, page=page.number,
                    pages=page.paginator.num_pages, items=[_out(n) for n in page.object_list])


@router.post("/me/notifications/{int:notification_id}/read", response=NotificationOut, summary="标为已读")
def read(request, notification_id: int):
    return _out(notification_read(scope=scope_for_user(request.auth), notification_id=notification_id))


class ReadAllOut(Schema):
    marked: int


class ReadAllIn(Schema):
    kind: str = Field("", max_length=40)


@router.post("/me/notifications/read-all", response=ReadAllOut, summary="全部（或某一类型）标为已读")
def read_all(request, payload: ReadAllIn | None = None):
    kind = payload.kind if payload else ""
    if kind and kind not in selectors.KINDS:
        raise ValidationError({"kind": "未知的站内信类型"})
    return ReadAllOut(marked=notifications_read_all(scope=scope_for_user(request.auth), kind=kind))


class SettingsOut(Schema):
    digest: bool
    reachable: bool


class SettingsIn(Schema):
    digest: bool


@router.get("/me/notifications/settings", response=SettingsOut, summary="我的通知设置")
def settings_get(request):
    email, phone = recipient_contacts(request.auth)
    return SettingsOut(digest=selectors.digest_wanted(scope_for_user(request.auth)), reachable=bool(email or phone))


@router.post("/me/notifications/settings", response=SettingsOut, summary="修改通知设置（每日汇总开关）")
def settings_set(request, payload: SettingsIn):
    preference = preference_set(scope=scope_for_user(request.auth), actor=request.auth, digest=payload.digest)
    email, phone = recipient_contacts(request.auth)
    return SettingsOut(digest=preference.digest, reachable=bool(email or phone))
