"""Reads from a streaming replica, only where the code says a little lag is harmless.

Rules (PrimaryReplicaRouter):
- writes always go to `default`;
- reads go to `default` unless they run inside `replica_reads()` (a context manager and a
  view decorator used by list pages, dashboards, exports and recommendations);
- inside an atomic block on `default` reads stay on `default` (read-modify-write, TestCase);
- once this request or task wrote anything, its later reads stay on `default`;
- a request from a browser that wrote in the last REPLICA_PIN_SECONDS is pinned to `default`
  (ReplicaPinMiddleware sets a signed cookie), so the page after a save shows the save;
- a replica that is down, not replaying, or more than REPLICA_MAX_LAG seconds behind is skipped:
  a cheap probe, cached REPLICA_HEALTH_SECONDS per process, decides; a connection error met by a
  view under `@replica_reads` marks the replica down and the view runs again on `default`.

Without a `replica` alias in DATABASES (no DATABASE_REPLICA_URL) everything uses `default`.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

REPLICA = "replica"
PIN_COOKIE = "yanxiu_primary_pin"
PIN_SALT = "core.dbrouting.pin"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

log = logging.getLogger(__name__)


@dataclass
class _Routing:
    """What one request (or one task) has done so far, as far as routing cares."""

    depth: int = 0  # nested replica_reads() scopes now open
    pinned: bool = False  # a recent write by this browser, or an unsafe method
    wrote: bool = False  # a write went through the router in this request/task
    used_replica: bool = False  # a read was sent to the replica in this request/task


_routing: contextvars.ContextVar[_Routing | None] = contextvars.ContextVar("yanxiu_db_routing", default=None)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


# -- health ---------------------------------------------------------------------------------

_PROBE_SQL = """
SELECT pg_is_in_recovery(),
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver),
       CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1e9) END
"""


@dataclass(frozen=True)
class ReplicaHealth:
    usable: bool
    reason: str
    lag_seconds: float | None = None


class _HealthCache:
    """One probe per REPLICA_HEALTH_SECONDS per process; every thread shares the answer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._health = ReplicaHealth(usable=False, reason="not probed")

    def current(self) -> ReplicaHealth:
        ttl = getattr(settings, "REPLICA_HEALTH_SECONDS", 5)
        with self._lock:
            if time.monotonic() - self._checked_at < ttl:
                return self._health
            # Claim the slot before probing, so a slow probe is not run by every thread at once.
            self._checked_at = time.monotonic()
        health = probe_replica()
        with self._lock:
            self._health, self._checked_at = health, time.monotonic()
        return health

    def mark_down(self, reason: str) -> None:
        with self._lock:
            self._health, self._checked_at = ReplicaHealth(usable=False, reason=reason), time.monotonic()

    def forget(self) -> None:
        with self._lock:
            self._checked_at = float("-inf")


health_cache = _HealthCache()


def probe_replica() -> ReplicaHealth:
    """Is the replica reachable, still a replica, streaming, and at most REPLICA_MAX_LAG behind?

    Lag is 0 when everything received is replayed (an idle primary writes nothing, so the last
    replayed transaction's age says nothing); otherwise it is the age of the last replayed
    transaction. A replica whose WAL receiver is not running is not following the primary."""
    connection = connections[REPLICA]
    try:
        with connection.cursor() as cursor:
            cursor.execute(_PROBE_SQL)
            in_recovery, receiving, lag = cursor.fetchone()
    except DatabaseError as error:
        _close_quietly()
        log.warning("replica unusable: %s", type(error).__name__)
        return ReplicaHealth(usable=False, reason=f"unreachable: {type(error).__name__}")
    lag = float(lag)
    if not in_recovery:
        return ReplicaHealth(usable=False, reason="not in recovery (promoted?)", lag_seconds=lag)
    if not receiving:
        return ReplicaHealth(usable=False, reason="not streaming from the primary", lag_seconds=lag)
    if lag > settings.REPLICA_MAX_LAG:
        return ReplicaHealth(usable=False, reason=f"{lag:.1f}s behind", lag_seconds=lag)
    return ReplicaHealth(usable=True, reason="ok", lag_seconds=lag)


def _close_quietly() -> None:
    try:
        connections[REPLICA].close()
    except DatabaseError:  # a dead socket may fail to close; it is gone either way
        pass


def mark_replica_down(reason: str) -> None:
    health_cache.mark_down(reason)
    _close_quietly()


# -- scopes -----------------------------------------------------------------------------------


@contextmanager
def _state() -> Iterator[_Routing]:
    """The current request's routing state, or a fresh one for the length of the block."""
    state = _routing.get()
    if state is not None:
        yield state
        return
    token = _routing.set(_Routing())
    try:
        yield _routing.get()  # type: ignore[misc]
    finally:
        _routing.reset(token)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads in this block may come from the replica (a few seconds behind the primary).

    A connection error to the replica inside the block marks it down before it propagates."""
    with _state() as state:
        state.depth += 1
        try:
            yield
        except DatabaseError:
            if state.used_replica:
                mark_replica_down("error during a replica read")
            raise
        finally:
            state.depth -= 1


def replica_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """A view (or API operation) whose reads may come from the replica, on safe methods only.

    If the replica fails mid-way before anything was written, the view runs once more on the
    primary: no page fails because the replica went away."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if getattr(request, "method", "GET") not in SAFE_METHODS or not replica_configured():
            return view(request, *args, **kwargs)
        with _state() as state:
            try:
                with replica_reads():
                    return view(request, *args, **kwargs)
            except DatabaseError:
                if not state.used_replica or state.wrote:
                    raise
                log.warning("replica failed during %s; answering from the primary", request.path)
                state.used_replica = False
                return view(request, *args, **kwargs)

    return wrapped


def use_replica() -> bool:
    state = _routing.get()
    if state is None or state.depth == 0 or state.pinned or state.wrote or not replica_configured():
        return False
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return False
    return health_cache.current().usable


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        if use_replica():
            state = _routing.get()
            if state is not None:
                state.used_replica = True
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str:
        state = _routing.get()
        if state is not None:
            state.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS


# -- read-your-own-writes ---------------------------------------------------------------------


class ReplicaPinMiddleware:
    """Pins a browser to the primary for REPLICA_PIN_SECONDS after a request that wrote.

    The pin is a signed, timestamped cookie: no session write, no shared state between web
    processes, and nothing to forge a pin off someone else's account (it only ever sends
    reads to the primary anyway)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_configured():
            return self.get_response(request)
        seconds = settings.REPLICA_PIN_SECONDS
        pinned = request.method not in SAFE_METHODS
        if not pinned and PIN_COOKIE in request.COOKIES:
            try:
                request.get_signed_cookie(PIN_COOKIE, salt=PIN_SALT, max_age=seconds)
                pinned = True
            except (KeyError, signing.BadSignature):
                pinned = False
        state = _Routing(pinned=pinned)
        token = _routing.set(state)
        try:
            response = self.get_response(request)
        finally:
            _routing.reset(token)
        if request.method not in SAFE_METHODS or state.wrote:
            response.set_signed_cookie(PIN_COOKIE, "1", salt=PIN_SALT, max_age=seconds, httponly=True,
                                       samesite="Lax", secure=request.is_secure())
        return response
