"""Exactly-once side effects, on PostgreSQL: two completions of the same project at the same moment
leave one set of ledger entries, and each teacher's cycle total counts the hours once.
In a file of its own (a transactional test; see test_enrolment_concurrency.py)."""

import datetime as dt
import threading

import pytest
from django.db import connection

from access.scope import scope_for_user
from catalog.attendance import attendance_record, project_complete, session_add
from catalog.models import Enrolment
from catalog.services import enrol, project_create
from catalog.tests.helpers import as_teacher, publish
from credits.models import CycleTotal, LedgerEntry
from institutions.tests.helpers import accredited_institution
from people.tests.factories import TeacherFactory


@pytest.mark.pg_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_completions_write_the_hours_once(province, users):
    admin = users["county_admin"]
    scope = scope_for_user(admin)
    project = publish(project_create(institution=accredited_institution(),
        scope=scope, actor=admin, code="P-DONE", title="并发结业", level="county", category="backbone", mode="centralised",
        organiser=province.county, starts_on=dt.date(2026, 11, 2), ends_on=dt.date(2026, 11, 3), seats=10, hours=12,
        hour_category="centralised", self_enrolment=True, needs_approval=False))
    sessions = [session_add(scope=scope, project=project, title=f"第{d}天", held_on=dt.date(2026, 11, d))
                for d in (2, 3)]
    teachers = [TeacherFactory(school=province.school) for _ in range(6)]
    enrolments = [enrol(scope=as_teacher(t), project_id=project.pk, teacher=t) for t in teachers]
    for session in sessions:
        attendance_record(user=admin, scope=scope, session_id=session.pk, enrolment_ids=[e.pk for e in enrolments])
    barrier, reports, errors = threading.Barrier(2), [], []

    def complete():
        try:
            barrier.wait()
            reports.append(project_complete(user=admin, scope=scope, project=project, today=dt.date(2026, 11, 28)))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert LedgerEntry.objects.dangerously_unscoped().filter(source_type="project").count() == 6 * 2  # one entry per teacher and session
    assert Enrolment.objects.dangerously_unscoped().filter(project=project, state="completed").count() == 6
    for enrolment in enrolments:
        total = CycleTotal.objects.dangerously_unscoped().filter(teacher=enrolment.teacher, category="centralised").values_list(
            "approved_hours", flat=True).get()
        assert total == 12
