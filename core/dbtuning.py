"""Settings a batch job asks of the database for its own transaction or block only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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


@contextmanager
def bound_cursor() -> Iterator[Any]:
    """PostgreSQL: a psycopg cursor on Django's connection (and in its transaction) that sends the
    parameters apart from the query text. Django's own cursors bind on the client: psycopg quotes
    each parameter into the SQL text in Python, which for a large one (a batch of statements as
    one JSON document, ~100 kB) costs more than the query itself. Errors arrive as Django's
    (IntegrityError …). What it runs is not seen by Django's execute wrappers (query logging,
    `CaptureQueriesContext`), so keep it to a hot path's one statement."""
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor
