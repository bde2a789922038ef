"""One enrolment request is cheap: its queries are counted, every check that needs no lock
runs before the project row is locked, a full project's waiting list is joined without
queueing for the seat lock, and what changed between the read and the lock is judged again."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from access.policy import fetch
from access.scope import scope_for_user
from accounts.services import api_token_create
from catalog.models import Enrolment, Project
from catalog.services import enrol, enrolment_withdraw, project_create, project_update
from catalog.tests.helpers import as_teacher, publish
from institutions.tests.helpers import accredited_institution
from people.tests.factories import TeacherFactory

pytestmark = pytest.mark.django_db


def _project(province, users, *, seats):
    return publish(project_create(institution=accredited_institution(),
        scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], code="P-RUSH", title="热门项目",
        level="county", category="backbone", mode="online", organiser=province.county, starts_on=dt.date(2026, 12, 1),
        ends_on=dt.date(2026, 12, 5), seats=seats, hours=24, hour_category="online", self_enrolment=True,
        needs_approval=False))


def _api_enrol(project, teacher, make_user):
    user = make_user(f"t-{teacher.pk}", "teacher", teacher=teacher)
    _, secret = api_token_create(user=user, name="rush")
    client = Client()
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"/api/v1/projects/{project.pk}/enrolments", {}, content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 201, response.content
    return response.json()["state"], [q["sql"] for q in queries.captured_queries]


def _writes(sqls):
    return [sql.split()[0] for sql in sqls if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def test_one_enrolment_through_the_api_takes_a_counted_number_of_queries(province, users, make_user):
    """The token (with the account and its teacher), its first-use stamp, the project, the
    accreditation, an earlier enrolment; then under the lock: the project row, the seat, the
    enrolment (8). An audience naming no subjects or honours reads neither."""
    project = _project(province, users, seats=1)
    state, seat = _api_enrol(project, TeacherFactory(school=province.school), make_user)
    assert state == "enrolled"
    statements = [sql for sql in seat if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    assert len(statements) == 8
    # The lock is taken last: after it only the seat and the enrolment are written.
    assert _writes(statements[-3:]) == ["SELECT", "UPDATE", "INSERT"]
    assert statements[-3].startswith('SELECT "catalog_project"')
    assert ("FOR UPDATE" in statements[-3]) == (connection.vendor == "postgresql")
    assert not any("FOR UPDATE" in sql for sql in statements[:-3])
    # Full: the same number of queries, and no exclusive lock on PostgreSQL (a shared one).
    state, waiting = _api_enrol(project, TeacherFactory(school=province.school), make_user)
    assert state == "waiting"
    assert len(_writes(waiting)) == 7
    if connection.vendor == "postgresql":
        assert not any("FOR UPDATE" in sql for sql in waiting)
        assert sum("FOR SHARE" in sql for sql in waiting) == 1


def test_a_refusal_never_takes_the_lock(province, users):
    project = _project(province, users, seats=1)
    project_update(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], project_id=project.pk,
                   changes={"self_enrolment": False})
    teacher = TeacherFactory(school=province.school)
    with CaptureQueriesContext(connection) as queries, pytest.raises(ValidationError, match="不接受自主报名"):
        enrol(scope=as_teacher(teacher), project_id=project.pk, teacher=teacher)
    assert not any("FOR UPDATE" in q["sql"] or "FOR SHARE" in q["sql"] for q in queries.captured_queries)


def test_a_seat_freed_between_the_read_and_the_lock_is_taken_not_waited_for(province, users):
    project = _project(province, users, seats=1)
    holder, later = TeacherFactory(school=province.school), TeacherFactory(school=province.school)
    held = enrol(scope=as_teacher(holder), project_id=project.pk, teacher=holder)
    full = fetch(as_teacher(later), Project, project.pk)  # read while full
    enrolment_withdraw(scope=as_teacher(holder), enrolment_id=held.pk, actor=None)
    enrolment = enrol(scope=as_teacher(later), project_id=project.pk, teacher=later, project=full)
    assert enrolment.state == "enrolled"
    project.refresh_from_db()
    assert project.seats_taken == 1


@pytest.mark.parametrize("seats", [1, 2])  # waitlisting (shared lock) and taking a seat (exclusive lock)
def test_a_project_changed_between_the_read_and_the_lock_is_judged_again(province, users, seats):
    project = _project(province, users, seats=seats)
    enrol(scope=as_teacher(first := TeacherFactory(school=province.school)), project_id=project.pk, teacher=first)
    teacher = TeacherFactory(school=province.school)
    stale = fetch(as_teacher(teacher), Project, project.pk)
    project_update(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], project_id=project.pk,
                   changes={"self_enrolment": False})
    with pytest.raises(ValidationError, match="不接受自主报名"):
        enrol(scope=as_teacher(teacher), project_id=project.pk, teacher=teacher, project=stale)
    assert not Enrolment.objects.dangerously_unscoped().filter(teacher=teacher).exists()


def test_enrolling_twice_returns_the_first_enrolment_without_a_lock(province, users):
    project = _project(province, users, seats=1)
    teacher = TeacherFactory(school=province.school)
    first = enrol(scope=as_teacher(teacher), project_id=project.pk, teacher=teacher)
    with CaptureQueriesContext(connection) as queries:
        again = enrol(scope=as_teacher(teacher), project_id=project.pk, teacher=teacher)
    assert again.pk == first.pk
    assert not any("FOR UPDATE" in q["sql"] or "FOR SHARE" in q["sql"] for q in queries.captured_queries)
