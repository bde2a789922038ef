"""Raw SQL as someone with write access to the database (the tables' owner) would run it:
the append-only triggers are switched off around it, on PostgreSQL and on SQLite alike.
Everything is undone with the test's transaction."""

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module

from django.db import connection

triggers = import_module("credits.migrations.0010_ledger_triggers")
TABLES = ("credits_ledgerentry", "credits_ledgerdecision")


@contextmanager
def as_attacker() -> Iterator:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # flush deferred FK checks before ALTER TABLE
            for table in TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            yield cursor
            for table in TABLES:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        else:
            for statement in triggers.SQLITE_DOWN:
                cursor.execute(statement)
            yield cursor
            for statement in triggers.SQLITE_UP:
                cursor.execute(statement)


def seal_of(teacher_id: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute("SELECT entries, decisions, mac FROM credits_ledgerseal WHERE teacher_id = %s", [teacher_id])
        return cursor.fetchone()
