"""Failed-login lock-out per account and attempt limits per client address
(the log-in form). Counters live in the cache (Redis in production)."""

from django.conf import settings
from django.core.cache import cache


def _account_key(username: str) -> str:
    return f"login-fail:account:{username.strip().lower()}"


def _ip_key(ip: str | None) -> str:
    return f"login-attempt:ip:{ip or 'unknown'}"


def ip_attempt_allowed(ip: str | None) -> bool:
    """Count this attempt; False once the address made too many in the window."""
    key = _ip_key(ip)
    cache.add(key, 0, settings.LOGIN_LOCKOUT_SECONDS)
    try:
        attempts = cache.incr(key)
    except ValueError:
        cache.set(key, 1, settings.LOGIN_LOCKOUT_SECONDS)
        attempts = 1
    return attempts <= settings.LOGIN_MAX_ATTEMPTS_PER_IP


def account_locked(username: str) -> bool:
    return (cache.get(_account_key(username)) or 0) >= settings.LOGIN_MAX_FAILURES_PER_ACCOUNT


def account_failure(username: str) -> int:
    key = _account_key(username)
    cache.add(key, 0, settings.LOGIN_LOCKOUT_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:
        cache.set(key, 1, settings.LOGIN_LOCKOUT_SECONDS)
        return 1


def account_reset(username: str) -> None:
    cache.delete(_account_key(username))


class Throttled(Exception):
    """Too many attempts; pages and the API answer 429 with this (Chinese) message."""


def rate_limited(bucket: str, who: str, *, limit: int, seconds: int, peek: bool = False) -> bool:
    """A general counter for exports and other costly calls: True when over the limit.
    With peek=True it only looks (a limit on failures checks first, counts on failure)."""
    if peek:
        return (cache.get(f"rate:{bucket}:{who}") or 0) >= limit
    return rate_count(bucket, who, seconds=seconds) > limit


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
