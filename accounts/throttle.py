"""Failed-login lock-out per account and per client address (the log-in form). Only failures
count: a school computer room behind one NAT address signs in a whole class without using up
its address's budget. Counters live in the cache (Redis in production); each counter keeps
when its window ends, so a refusal can say when to try again."""

import math
import time

from django.conf import settings
from django.core.cache import cache


class Throttled(Exception):
    """Too many attempts; pages and the API answer 429 with this (Chinese) message and, when
    known, Retry-After (`retry_after`, seconds)."""

    def __init__(self, message: str = "", *, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def retry_minutes(self) -> int | None:
        return None if self.retry_after is None else max(1, math.ceil(self.retry_after / 60))


def _account_key(account: str) -> str:
    return f"login-fail:account:{account.strip().lower()}"


def _ip_key(ip: str | None) -> str:
    return f"login-fail:ip:{ip or 'unknown'}"


def _count(key: str, seconds: int) -> int:
    """One more failure in the window that began with the first; the window's end is kept."""
    if cache.add(f"{key}:until", time.time() + seconds, seconds):
        cache.set(key, 0, seconds)
    cache.add(key, 0, seconds)
    try:
        return cache.incr(key)
    except ValueError:
        cache.set(key, 1, seconds)
        return 1


def _seconds_left(key: str) -> int:
    until = cache.get(f"{key}:until")
    return max(1, math.ceil(until - time.time())) if until else settings.LOGIN_LOCKOUT_SECONDS


def ip_blocked(ip: str | None) -> int | None:
    """Seconds until the address may try again once it failed too often in the window, else None.
    Looking does not count: a success costs the address nothing."""
    key = _ip_key(ip)
    if (cache.get(key) or 0) >= settings.LOGIN_MAX_FAILURES_PER_IP:
        return _seconds_left(key)
    return None


def ip_failure(ip: str | None) -> int:
    return _count(_ip_key(ip), settings.LOGIN_LOCKOUT_SECONDS)


def account_locked(account: str) -> bool:
    return (cache.get(_account_key(account)) or 0) >= settings.LOGIN_MAX_FAILURES_PER_ACCOUNT


def account_failure(account: str) -> int:
    return _count(_account_key(account), settings.LOGIN_LOCKOUT_SECONDS)


def account_reset(account: str) -> None:
    key = _account_key(account)
    cache.delete_many([key, f"{key}:until"])


def rate_limited(bucket: str, who: str, *, limit: int, seconds: int, peek: bool = False) -> bool:
    """A general counter for exports and other costly calls: True when over the limit.
    With peek=True it only looks (a limit on failures checks first, counts on failure)."""
    if peek:
        return (cache.get(f"rate:{bucket}:{who}") or 0) >= limit
    return rate_count(bucket, who, seconds=seconds) > limit


def export_throttle(user) -> None:
    """Counts one export of the account's and refuses it as too many (429 with Retry-After)
    beyond the hourly allowance: every Excel export calls this first."""
    if rate_limited("export", str(getattr(user, "pk", "")), limit=settings.EXPORT_MAX_PER_HOUR, seconds=3600):
        raise Throttled("导出过于频繁，请稍后再试。", retry_after=3600)


def rate_count(bucket: str, who: str, *, seconds: int) -> int:
    """Count one more call in a fixed window of `seconds` and return the count so far, this
    one included (a caller that must tell the first call over a limit from later ones)."""
    key = f"rate:{bucket}:{who}"
    cache.add(key, 0, seconds)
    try:
        return cache.incr(key)
    except ValueError:
        cache.set(key, 1, seconds)
        return 1
