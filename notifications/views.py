"""站内信: the inbox, reading one (which follows its link) and marking all read."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import scoped_view
from notifications import selectors
from notifications.services import notification_read, notifications_read_all


@scoped_view
@require_GET
def inbox(request, scope):
    unread_only = request.GET.get("unread") == "1"
    return render(request, "notifications/inbox.html", {
        "notices": selectors.inbox(scope, unread_only=unread_only), "unread_only": unread_only})


@scoped_view
@require_POST
def notice_open(request, scope, notification_id: int):
    notice = notification_read(scope=scope, notification_id=notification_id)
    if notice.url and url_has_allowed_host_and_scheme(notice.url, allowed_hosts=None):
        return redirect(notice.url)
    return redirect("notifications:inbox")


@scoped_view
@require_POST
def read_all(request, scope):
    notifications_read_all(scope=scope)
    return redirect("notifications:inbox")
