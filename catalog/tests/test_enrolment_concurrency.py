"""Seats under concurrent requests (issue 4 item 3), on PostgreSQL with real threads.

In a file of its own: a transactional test flushes the database when it ends,
and pytest-django runs such tests last only when their file holds nothing else
(xdist --dist loadfile schedules whole files)."""

import datetime as dt
import threading

import pytest
from django.db import connection

from access.scope import scope_for_user
from catalog.models import Enrolment
from catalog.services import enrol, project_create
from catalog.tests.helpers import as_teacher, publish
from institutions.tests.helpers import accredited_institution
from people.tests.factories import TeacherFactory


def _project(province, users, *, seats):
    return publish(project_create(institution=accredited_institution(),
        scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], code="P-PAR", title="并发报名",
        level="county", category="backbone", mode="online", organiser=province.county, starts_on=dt.date(2026, 12, 1),
        ends_on=dt.date(2026, 12, 5), seats=seats, hours=24, hour_category="online", self_enrolment=True,
        needs_approval=False,
    ))


@pytest.mark.pg_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_requests_never_oversubscribe(province, users):
    project = _project(province, users, seats=5)
    teachers = [TeacherFactory(school=province.school) for _ in range(40)]
    barrier = threading.Barrier(len(teachers))
    errors: list[BaseException] = []

    def request(teacher):
        try:
            barrier.wait()
            enrol(scope=as_teacher(teacher), project_id=project.pk, teacher=teacher)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=request, args=(t,)) for t in teachers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    project.refresh_from_db()
    holding = Enrolment.objects.dangerously_unscoped().filter(project=project, state__in=["enrolled", "pending"]).count()
    assert holding == project.seats_taken == 5
    assert Enrolment.objects.dangerously_unscoped().filter(project=project, state="waiting").count() == 35
