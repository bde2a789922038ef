"""Settings a batch job asks of the database for its own transaction only."""

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
