"""Issue 4, first slice: the project library's validation and seat-safe enrolment
(eligibility with reasons, waiting list, promotion, withdrawal, seat changes)."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from access.errors import NotVisible
from access.scope import scope_for_user
from catalog.constants import EnrolmentState
from catalog.models import Enrolment, Project
from catalog.services import (
    enrol,
    enrolment_decide,
    enrolment_refusals,
    enrolment_withdraw,
    project_create,
    project_seats_change,
)
from catalog.tests.helpers import as_teacher, publish
from institutions.tests.helpers import accredited_institution
from people.tests.factories import TeacherFactory

TODAY = dt.date(2026, 11, 28)


def _project(province, users, *, seats=2, approval=False, audience=None, self_enrolment=True, code="P-1"):
    project = project_create(institution=accredited_institution(),
        scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], code=code, title="杞县小学数学骨干教师研修",
        level="county", category="backbone", mode="blended", organiser=province.county, starts_on=dt.date(2026, 12, 1),
        ends_on=dt.date(2026, 12, 5), seats=seats, hours=24, hour_category="centralised", audience=audience or {},
        self_enrolment=self_enrolment, needs_approval=approval,
    )
    return publish(project)


@pytest.mark.parametrize(("change", "field"), [
    ({"ends_on": dt.date(2026, 11, 1)}, "ends_on"),
    ({"seats": 0}, "seats"),
    ({"hours": -4}, "hours"),
    ({"level": "city"}, "level"),  # a county cannot organise a city-level project
    ({"category": "cooking"}, "category"),
    ({"audience": {"hobbies": ["golf"]}}, "audience"),
])
def test_bad_projects_are_refused_and_nothing_is_written(province, users, change, field):
    values = {"code": "X", "title": "t", "level": "county", "category": "backbone", "mode": "online",
              "organiser": province.county, "starts_on": dt.date(2026, 12, 1), "ends_on": dt.date(2026, 12, 5),
              "seats": 10, "hours": 8, "hour_category": "online", **change}
    with pytest.raises(ValidationError) as error:
        project_create(institution=accredited_institution(), scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], **values)
    assert field in error.value.message_dict
    assert not Project.objects.dangerously_unscoped().exists()


def test_a_county_cannot_create_projects_for_another_county(province, users):
    with pytest.raises(PermissionDenied):
        project_create(institution=accredited_institution(), scope=scope_for_user(users["sibling_admin"]), actor=users["sibling_admin"], code="X", title="t",
                       level="county", category="backbone", mode="online", organiser=province.county,
                       starts_on=dt.date(2026, 12, 1), ends_on=dt.date(2026, 12, 5), seats=1, hours=8, hour_category="online")


def test_ineligible_teachers_are_told_why(province, users):
    project = _project(province, users, audience={"stages": ["junior"], "subjects": ["math"], "new_teachers": True})
    teacher = TeacherFactory(school=province.school, stage="primary", hire_date=dt.date(2010, 9, 1), subjects=["chinese"])
    reasons = enrolment_refusals(project=project, teacher=teacher, today=TODAY)
    assert len(reasons) == 3 and any("学段" in r for r in reasons) and any("新教师" in r for r in reasons)
    with pytest.raises(ValidationError) as error:
        enrol(scope=as_teacher(teacher), project_id=project.pk, teacher=teacher, today=TODAY)
    assert "学段" in error.value.message_dict["teacher"][0]
    assert not Enrolment.objects.dangerously_unscoped().exists()
    fits = TeacherFactory(school=province.school, stage="junior", hire_date=dt.date(2025, 9, 1), subjects=["math"])
    assert enrolment_refusals(project=project, teacher=fits, today=TODAY) == []


def test_seats_then_waiting_list_then_promotion_on_withdrawal(province, users):
    project = _project(province, users, seats=2)
    a, b, c, d = (TeacherFactory(school=province.school) for _ in range(4))
    states = [enrol(scope=as_teacher(t), project_id=project.pk, teacher=t).state for t in (a, b, c, d)]
    assert states == ["enrolled", "enrolled", "waiting", "waiting"]
    assert enrol(scope=as_teacher(a), project_id=project.pk, teacher=a).state == "enrolled"  # idempotent
    first = Enrolment.objects.dangerously_unscoped().get(teacher=a)
    enrolment_withdraw(scope=as_teacher(a), enrolment_id=first.pk)
    assert Enrolment.objects.dangerously_unscoped().get(teacher=c).state == "enrolled"  # first in line moves up
    assert Enrolment.objects.dangerously_unscoped().get(teacher=d).state == "waiting"
    project.refresh_from_db()
    assert project.seats_taken == 2
    with pytest.raises(NotVisible):  # someone else's enrolment
        enrolment_withdraw(scope=as_teacher(a), enrolment_id=Enrolment.objects.dangerously_unscoped().get(teacher=d).pk)


def test_rejection_frees_the_seat_for_the_waiting_list(province, users):
    project = _project(province, users, seats=1, approval=True)
    a, b = TeacherFactory(school=province.school), TeacherFactory(school=province.school)
    pending = enrol(scope=as_teacher(a), project_id=project.pk, teacher=a)
    assert pending.state == EnrolmentState.PENDING and enrol(scope=as_teacher(b), project_id=project.pk, teacher=b).state == "waiting"
    with pytest.raises(NotVisible):  # another county's enrolment: not even seen
        enrolment_decide(enrolment_id=pending.pk, approve=False, scope=scope_for_user(users["sibling_admin"]))
    enrolment_decide(enrolment_id=pending.pk, approve=False, scope=scope_for_user(users["county_admin"]))
    assert Enrolment.objects.dangerously_unscoped().get(teacher=a).state == "rejected"
    assert Enrolment.objects.dangerously_unscoped().get(teacher=b).state == "pending"


def test_seats_never_drop_below_enrolment_and_more_seats_promote(province, users):
    project = _project(province, users, seats=2)
    teachers = [TeacherFactory(school=province.school) for _ in range(3)]
    for teacher in teachers:
        enrol(scope=as_teacher(teacher), project_id=project.pk, teacher=teacher)
    county = scope_for_user(users["county_admin"])
    with pytest.raises(ValidationError, match="不能少于已报名人数"):
        project_seats_change(project_id=project.pk, seats=1, scope=county)
    project_seats_change(project_id=project.pk, seats=3, scope=county)
    assert Enrolment.objects.dangerously_unscoped().get(teacher=teachers[2]).state == "enrolled"
    project.refresh_from_db()
    assert (project.seats, project.seats_taken) == (3, 3)


def test_nomination_is_needed_when_self_enrolment_is_closed(province, users):
    project = _project(province, users, self_enrolment=False)
    teacher = TeacherFactory(school=province.school)
    with pytest.raises(ValidationError, match="自主报名"):
        enrol(scope=as_teacher(teacher), project_id=project.pk, teacher=teacher)
    assert enrol(scope=scope_for_user(users["school_admin"]), project_id=project.pk, teacher=teacher, actor=users["school_admin"], nominated=True).state == "enrolled"


def test_a_teacher_who_completed_cannot_enrol_again(province, users):
    project = _project(province, users)
    enrolment = enrol(scope=as_teacher(province.teacher), project_id=project.pk, teacher=province.teacher)
    Enrolment.objects.dangerously_unscoped().filter(pk=enrolment.pk).update(state=EnrolmentState.COMPLETED)
    with pytest.raises(ValidationError, match="已结业"):
        enrol(scope=as_teacher(province.teacher), project_id=project.pk, teacher=province.teacher)
    assert Enrolment.objects.dangerously_unscoped().get(pk=enrolment.pk).state == EnrolmentState.COMPLETED
