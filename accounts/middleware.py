"""Idle timeout and absolute lifetime of signed-in sessions:
administrators are signed out after 30 idle minutes, everyone after
SESSION_COOKIE_AGE since signing in, however active; and the forced
password change after an administrator's reset."""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.models import ADMIN_ROLES

LAST_SEEN_KEY = "yanxiu_last_seen"
SIGNED_IN_KEY = "yanxiu_signed_in"
TOUCH_SECONDS = 60


class IdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            idle_limit = (
                settings.SESSION_IDLE_SECONDS_ADMIN
                if user.role in ADMIN_ROLES or user.role == "institution_staff"
                else settings.SESSION_IDLE_SECONDS_OTHER
            )
            last_seen = request.session.get(LAST_SEEN_KEY)
            # Saving the session (the touch below) renews its server-side expiry,
            # so the absolute lifetime is enforced here from the first signed-in request.
            signed_in = request.session.setdefault(SIGNED_IN_KEY, now)
            if now - int(signed_in) > settings.SESSION_COOKIE_AGE:
                logout(request)
            elif last_seen is not None and now - int(last_seen) > idle_limit:
                logout(request)
            elif last_seen is None or now - int(last_seen) >= TOUCH_SECONDS:
                # Touching the session saves its row; once a minute is precise enough.
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)


PASSWORD_CHANGE_REQUIRED = "password_change_required"  # noqa: S105 - an error code
PASSWORD_CHANGE_MESSAGE = "管理员已重置您的密码，请先设置新密码。"  # noqa: S105 - a message
# What an account that must change its password may still reach: the change itself, log-out,
# and the static assets the page needs.
PASSWORD_CHANGE_OPEN = ("/accounts/password/", "/accounts/logout/", "/api/v1/me/password", "/static/")


class PasswordChangeRequiredMiddleware:
    """After an administrator's reset the account can do nothing but choose a new password:
    pages redirect to the change form, the API answers 403 `password_change_required` (to
    session callers; a token is its owner's integration, not this log-in)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and user.must_change_password
                and not request.path.startswith(PASSWORD_CHANGE_OPEN)):
            if request.path.startswith("/api/"):
                return JsonResponse({"code": PASSWORD_CHANGE_REQUIRED, "detail": PASSWORD_CHANGE_MESSAGE}, status=403)
            return redirect(f"{reverse('accounts:password_change')}?required=1")
        return self.get_response(request)
