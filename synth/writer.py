"""Bulk inserts of tuples: COPY on PostgreSQL, executemany elsewhere.

Callers give database column values in column order; ids are assigned by the
caller (so child rows can reference them) and sequences are reset afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import connection

SQLITE_BATCH = 5000


def _sqlite_value(value):
    if isinstance(value, dt.datetime):
        # As Django stores it (USE_TZ): naive UTC, "YYYY-MM-DD HH:MM:SS[.ffffff]", so it compares and sorts
        # with rows the ORM writes.
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def insert_rows(table: str, columns: list[str], rows: Iterable[tuple]) -> int:
    count = 0
    column_sql = ", ".join(connection.ops.quote_name(column) for column in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({column_sql}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {connection.ops.quote_name(table)} ({column_sql}) VALUES ({placeholders})"  # noqa: S608 - internal table names, quoted
        batch: list[tuple] = []
        for row in rows:
            batch.append(tuple(_sqlite_value(value) for value in row))
            if len(batch) >= SQLITE_BATCH:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def next_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {connection.ops.quote_name(table)}")  # noqa: S608
        return int(cursor.fetchone()[0])


def reset_sequence(table: str) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite continues after MAX(rowid) by itself
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST((SELECT MAX(id) FROM {connection.ops.quote_name(table)}), 1))",  # noqa: S608
            [table],
        )
