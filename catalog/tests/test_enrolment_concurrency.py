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
from catalog.services import enrol, enrolment_withdraw, project_create
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


@pytest.mark.pg_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_withdrawals_while_a_full_project_is_rushed_leave_no_seat_free_and_none_oversold(province, users):
    """Waitlisting takes a shared lock, withdrawing an exclusive one: a freed seat always goes
    to someone waiting (or to the teacher who found it free), never to two, never to nobody."""
    project = _project(province, users, seats=3)
    holders = [TeacherFactory(school=province.school) for _ in range(3)]
    held = [enrol(scope=as_teacher(t), project_id=project.pk, teacher=t) for t in holders]
    rushing = [TeacherFactory(school=province.school) for _ in range(24)]
    barrier = threading.Barrier(len(rushing) + len(held))
    errors: list[BaseException] = []

    def run(call):
        try:
            barrier.wait()
            call()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    calls = [lambda t=t: enrol(scope=as_teacher(t), project_id=project.pk, teacher=t) for t in rushing]
    calls += [lambda t=t, e=e: enrolment_withdraw(scope=as_teacher(t), enrolment_id=e.pk) for t, e in zip(holders, held, strict=True)]
    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    project.refresh_from_db()
    rows = Enrolment.objects.dangerously_unscoped().filter(project=project)
    holding = rows.filter(state__in=["enrolled", "pending"]).count()
    assert holding == project.seats_taken == 3
    assert rows.filter(state="waiting").count() == 21
    assert rows.filter(state="withdrawn").count() == 3
