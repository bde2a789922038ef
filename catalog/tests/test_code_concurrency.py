"""Generated project codes under concurrent creates, on PostgreSQL with real threads: every
create succeeds and the codes run 001, 002, … without a gap or a clash.

In a file of its own: a transactional test flushes the database when it ends."""

import datetime as dt
import threading

import pytest
from django.db import connection

from access.scope import scope_for_user
from catalog.models import Project
from catalog.services import project_create


@pytest.mark.pg_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_simultaneous_creates_get_distinct_codes(province, users):
    admin = users["county_admin"]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def create(n):
        try:
            barrier.wait()
            project_create(scope=scope_for_user(admin), actor=admin, code="", title=f"并发新建{n}", level="county",
                           category="topic", mode="online", organiser=province.county, starts_on=dt.date(2027, 5, 1),
                           ends_on=dt.date(2027, 5, 2), seats=5, hours=8, hour_category="online")
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    codes = sorted(Project.objects.dangerously_unscoped().values_list("code", flat=True))
    assert codes == [f"410221-2027-{n:03d}" for n in range(1, 9)]
