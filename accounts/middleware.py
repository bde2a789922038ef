"""Idle timeout and absolute lifetime of signed-in sessions:
administrators are signed out after 30 idle minutes, everyone after
SESSION_COOKIE_AGE since signing in, however active."""

import time

from django.conf import settings
from django.contrib.auth import logout

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
