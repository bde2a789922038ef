"""Readiness: may this process be sent traffic? Each check answers "ok" or a short failure word;
the reasons (hosts, errors) go to the log, never into the answer a prober sees."""

import logging
import threading
import time

from django.conf import settings
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

logger = logging.getLogger("yanxiu.health")

OK = "ok"

_migrations_lock = threading.Lock()
_migrations_checked: dict[str, float | str] = {}


# Without these a process cannot serve: a load balancer should take it out. The others (a read
# replica, Redis) have fallbacks (reads go to the primary, the cache to process memory), so their
# failure leaves the process "degraded" but ready: failing readiness for them would take every
# web host out at once while each could still serve.
REQUIRED = frozenset({"database", "migrations"})


def readiness() -> dict[str, str]:
    """Every check by name: the databases, Redis when configured, and unapplied migrations."""
    checks = {f"database:{alias}" if alias != "default" else "database": database_check(alias)
              for alias in settings.DATABASES}
    if settings.REDIS_URL:
        checks["redis"] = redis_check(settings.REDIS_URL)
    if checks.get("database") == OK:
        checks["migrations"] = migrations_check()
    return checks


def database_check(alias: str) -> str:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.warning("readiness: database %s does not answer", alias, exc_info=True,
                       extra={"check": "database"})
        return "unavailable"
    return OK


def redis_check(url: str) -> str:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
    except Exception:
        logger.warning("readiness: Redis does not answer", exc_info=True, extra={"check": "redis"})
        return "unavailable"
    return OK


def migrations_check() -> str:
    """"pending" while a migration on disk is not applied (a deploy half done). Loading the
    migration graph costs tens of milliseconds, so the answer is kept for a few seconds."""
    ttl = settings.READYZ_MIGRATIONS_CACHE_SECONDS
    with _migrations_lock:
        checked_at = _migrations_checked.get("at")
        if isinstance(checked_at, float) and time.monotonic() - checked_at < ttl:
            return str(_migrations_checked["result"])
        try:
            executor = MigrationExecutor(connections["default"])
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
            result = "pending" if plan else OK
        except Exception:
            logger.warning("readiness: migrations could not be checked", exc_info=True,
                           extra={"check": "migrations"})
            result = "unavailable"
        _migrations_checked.update(at=time.monotonic(), result=result)
        return result


def forget_migrations_check() -> None:
    """Tests: the next readiness call looks at the migrations again."""
    with _migrations_lock:
        _migrations_checked.clear()
