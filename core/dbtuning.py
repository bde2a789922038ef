"""Settings a batch job asks of the database for its own transaction or block only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def roomy_transaction(work_mem: str) -> Iterator[None]:
    """A transaction whose sorts and hash tables may each use `work_mem` (e.g. '256MB') before
    spilling to disk: for a nightly job that groups millions of rows at once. On PostgreSQL the
    setting ends with the transaction (`set_config(…, true)` is SET LOCAL); elsewhere it is a plain
    transaction."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('work_mem', %s, true)", [work_mem])
        yield


@contextmanager
def without_jit() -> Iterator[None]:
    """PostgreSQL compiles a query to machine code when the planner expects it to be costly (JIT).
    A batch's many mid-sized grouped queries (a chunk's counts: ~100 ms of compiling for a query
    that then runs in 60) pay more for it than they gain, so it is off for this block on this
    connection, then set back; inside a transaction, until the transaction ends. Elsewhere: nothing."""
    if connection.vendor != "postgresql":
        yield
        return
    local = connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', %s)", [local])
        before = cursor.fetchone()[0]
    try:
        yield
    finally:
        if not local:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('jit', %s, false)", [before])
