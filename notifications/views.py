"""站内信: the inbox (paged, by kind, unread or all), reading one (which follows its link),
marking one or all read, and the account's digest setting."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import scoped_view
from core.requests import error_text
from notifications import selectors
from notifications.digest import recipient_contacts
from notifications.services import notification_read, notifications_read_all, preference_set


@scoped_view
@require_GET
def inbox(request, scope):
    unread_only = request.GET.get("unread") == "1"
    kind = request.GET.get("kind", "")[:40]
    try:
        page = selectors.inbox_page(scope, unread_only=unread_only, kind=kind, page=request.GET.get("page", 1))
    except ValidationError as problem:
        messages.error(request, error_text(problem))
        kind = ""
        page = selectors.inbox_page(scope, unread_only=unread_only, page=request.GET.get("page", 1))
    return render(request, "notifications/inbox.html", {
        "page": page, "notices": page.object_list, "unread_only": unread_only, "kind": kind,
        "kinds": selectors.KINDS.items(), "filters": _filters(unread_only, kind)})


def _filters(unread_only: bool, kind: str) -> str:
    parts = [f"kind={kind}"] if kind else []
    if unread_only:
        parts.append("unread=1")
    return "&".join(parts)


def _back(request):
    """Back to the inbox page the form was on (only a local inbox address)."""
    back = request.POST.get("next", "")
    if back.startswith(reverse("notifications:inbox")) and url_has_allowed_host_and_scheme(back, allowed_hosts=None):
        return redirect(back)
    return redirect("notifications:inbox")


@scoped_view
@require_POST
def notice_open(request, scope, notification_id: int):
    notice = notification_read(scope=scope, notification_id=notification_id)
    if notice.url and url_has_allowed_host_and_scheme(notice.url, allowed_hosts=None):
        return redirect(notice.url)
    return redirect("notifications:inbox")


@scoped_view
@require_POST
def notice_read(request, scope, notification_id: int):
    notification_read(scope=scope, notification_id=notification_id)
    return _back(request)


@scoped_view
@require_POST
def read_all(request, scope):
    kind = request.POST.get("kind", "")
    notifications_read_all(scope=scope, kind=kind if kind in selectors.KINDS else "")
    return _back(request)


@scoped_view
@require_http_methods(["GET", "POST"])
def settings_view(request, scope):
    if request.method == "POST":
        preference_set(scope=scope, actor=request.user, digest=request.POST.get("digest") == "1")
        messages.success(request, "通知设置已保存。")
        return redirect("notifications:settings")
    email, phone = recipient_contacts(request.user)
    return render(request, "notifications/settings.html", {
        "digest": selectors.digest_wanted(scope), "reachable": bool(email or phone)})
