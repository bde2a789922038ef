"""Monthly partitions of the statement table (PostgreSQL only; SQLite keeps one plain table).

Statements are partitioned by `stored`, one partition per calendar month (UTC), so a month's
statements sit together, old months can be detached and archived as a whole, and indexes stay
the size of a month. A scheduled task (lrs.tasks.statement_partitions_task) makes the coming
months' partitions ahead of time; a default partition catches anything outside them, and
making a month's partition moves such rows into it, so an insert never fails for want of one.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

TABLE = "lrs_statement"
DEFAULT = f"{TABLE}_default"
MONTHS_AHEAD = 3


def _month_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, 1, tzinfo=dt.UTC)


def _next_month(start: dt.datetime) -> dt.datetime:
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def partition_name(start: dt.datetime) -> str:
    return f"{TABLE}_p{start:%Y%m}"


def _existing(cursor) -> set[str]:
    cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                   "WHERE i.inhparent = %s::regclass", [TABLE])
    return {name for (name,) in cursor.fetchall()}


def _month_add(cursor, start: dt.datetime) -> None:
    """Make one month's partition: as a table of its own, filled with that month's rows from
    the default partition (usually none), then attached, all in the caller's transaction."""
    name, end = partition_name(start), _next_month(start)
    cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS)")
    moved = (f"WITH moved AS (DELETE FROM {DEFAULT} WHERE stored >= %s AND stored < %s RETURNING *) "  # noqa: S608
             f"INSERT INTO {name} SELECT * FROM moved")  # table names of our own making; values are parameters
    cursor.execute(moved, [start, end])
    cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", [start, end])


def statement_partitions_ensure(*, today: dt.date | None = None, ahead: int = MONTHS_AHEAD,
                                since: dt.date | None = None) -> list[str]:
    """Partitions for every month from `since` (default: this month) to `ahead` months after
    this one; the names of those it made. Nothing to do on SQLite."""
    if connection.vendor != "postgresql":
        return []
    today = today or timezone.now().date()
    month = _month_start(since or today)
    last = _month_start(today)
    for _ in range(ahead):
        last = _next_month(last)
    made = []
    with transaction.atomic(), connection.cursor() as cursor:
        # One maker at a time (the beat task and a migration may meet).
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [TABLE])
        existing = _existing(cursor)
        while month <= last:
            if partition_name(month) not in existing:
                _month_add(cursor, month)
                made.append(partition_name(month))
            month = _next_month(month)
    return made


def statement_table_partition(schema_editor) -> None:
    """Migration step: turn the plain statement table into a partitioned one, keeping its rows,
    sequence, indexes and foreign keys (PostgreSQL only)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    old = f"{TABLE}_unpartitioned"
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {old}")
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexdef NOT LIKE %s",
                       [old, "CREATE UNIQUE%"])
        indexes = cursor.fetchall()
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = %s::regclass AND contype = 'f'", [old])
        foreign_keys = cursor.fetchall()
        cursor.execute(f"SELECT min(stored), coalesce(max(seq), 0) FROM {old}")  # noqa: S608 - our table name
        first_stored, last_seq = cursor.fetchone()
        cursor.execute(f"CREATE TABLE {TABLE} (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE (stored)")
        cursor.execute(f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT")
    statement_partitions_ensure(since=first_stored.date() if first_stored else None)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {old}")  # noqa: S608 - our table names
        cursor.execute(f"DROP TABLE {old}")  # with its identity sequence, indexes and keys
        cursor.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (seq, stored)")
        cursor.execute(f"CREATE SEQUENCE {TABLE}_seq_seq OWNED BY {TABLE}.seq")
        cursor.execute(f"SELECT setval('{TABLE}_seq_seq', %s, %s)", [max(last_seq, 1), last_seq > 0])
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN seq SET DEFAULT nextval('{TABLE}_seq_seq')")
        for name, definition in indexes:
            if name.endswith("_pkey"):
                continue
            cursor.execute(definition.replace(f" ON public.{old} ", f" ON public.{TABLE} ")
                           .replace(f" ON {old} ", f" ON {TABLE} "))
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} {definition}")
