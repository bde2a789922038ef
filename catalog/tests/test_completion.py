"""Issue 4 item 4: attendance per session and completion that writes the project's
hours to the ledger exactly once, in its category."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from access.errors import NotVisible
from access.scope import scope_for_user
from accounts.models import Role
from catalog.attendance import (
    assessment_record,
    attendance_record,
    check_in,
    project_complete,
    session_add,
)
from catalog.models import Attendance, Enrolment
from catalog.services import enrol, project_create
from catalog.tests.helpers import as_teacher, publish
from credits.models import CycleTotal, LedgerEntry
from credits.services import credits_reconcile
from institutions.tests.helpers import accredit
from org.models import Institution
from people.tests.factories import TeacherFactory

TODAY = dt.date(2026, 12, 10)


@pytest.fixture
def run(province, users, make_user):
    institution = Institution.objects.create(code="410221-JSFZ", name="杞县教师发展中心", kind="county_centre", division=province.county)
    accredit(institution)
    staff = make_user("staff-qx", Role.INSTITUTION_STAFF, institution=institution)
    admin = users["county_admin"]
    project = publish(project_create(
        scope=scope_for_user(admin), actor=admin, code="QX-1", title="杞县新教师规范化培训", level="county",
        category="new_teacher", mode="centralised", organiser=province.county, institution=institution,
        starts_on=dt.date(2026, 12, 1), ends_on=dt.date(2026, 12, 3), seats=10, hours=20, hour_category="centralised",
        self_enrolment=True, needs_approval=False,
    ))
    scope = scope_for_user(staff)
    sessions = [session_add(scope=scope, project=project, title=f"第{n}天", held_on=dt.date(2026, 12, n))
                for n in (1, 2, 3)]
    teachers = [TeacherFactory(school=province.school) for _ in range(3)]
    enrolments = [enrol(scope=as_teacher(t), project_id=project.pk, teacher=t) for t in teachers]
    return {"project": project, "staff": staff, "scope": scope, "sessions": sessions, "teachers": teachers,
            "enrolments": enrolments}


def test_completion_writes_the_hours_once_spread_over_the_sessions(run):
    r = run
    for session in r["sessions"]:
        attendance_record(user=r["staff"], scope=r["scope"], session_id=session.pk, enrolment_ids=[r["enrolments"][0].pk])
    attendance_record(user=r["staff"], scope=r["scope"], session_id=r["sessions"][0].pk, enrolment_ids=[r["enrolments"][1].pk])
    report = project_complete(user=r["staff"], scope=r["scope"], project=r["project"], today=TODAY)
    assert report.completed == 1 and [reason for _, reason in report.not_met] == ["出勤率 33% 低于 80%", "出勤率 0% 低于 80%"]
    entries = LedgerEntry.objects.dangerously_unscoped().filter(teacher=r["teachers"][0]).order_by("occurred_on")
    assert [e.hours for e in entries] == [Decimal("6.6"), Decimal("6.6"), Decimal("6.8")]  # 20 hours over 3 days
    assert {e.category for e in entries} == {"centralised"} and {e.source_type for e in entries} == {"project"}
    assert Enrolment.objects.dangerously_unscoped().get(pk=r["enrolments"][0].pk).state == "completed"
    again = project_complete(user=r["staff"], scope=r["scope"], project=r["project"], today=TODAY)
    assert again.completed == 0 and again.already == 1
    assert LedgerEntry.objects.dangerously_unscoped().filter(teacher=r["teachers"][0]).count() == 3
    assert CycleTotal.objects.dangerously_unscoped().get(teacher=r["teachers"][0], category="centralised").approved_hours == 20
    assert credits_reconcile() == []


def test_assessment_is_required_where_the_project_has_one(run):
    r = run
    r["project"].has_assessment = True
    r["project"].save()
    for session in r["sessions"]:
        attendance_record(user=r["staff"], scope=r["scope"], session_id=session.pk, enrolment_ids=[e.pk for e in r["enrolments"]])
    assessment_record(scope=r["scope"], enrolment_id=r["enrolments"][0].pk, passed=True)
    assessment_record(scope=r["scope"], enrolment_id=r["enrolments"][1].pk, passed=False)
    report = project_complete(user=r["staff"], scope=r["scope"], project=r["project"], today=TODAY)
    assert report.completed == 1 and len(report.not_met) == 2


def test_attendance_refuses_unknown_sessions_and_outsiders(run, province):
    r = run
    with pytest.raises(NotVisible):  # no such session
        attendance_record(user=r["staff"], scope=r["scope"], session_id=999999, enrolment_ids=[r["enrolments"][0].pk])
    report = attendance_record(user=r["staff"], scope=r["scope"], session_id=r["sessions"][0].pk,
                               enrolment_ids=[r["enrolments"][0].pk, r["enrolments"][0].pk, 424242])
    assert report.recorded == 1 and report.refused == [(424242, "不是本项目的报名")]
    again = attendance_record(user=r["staff"], scope=r["scope"], session_id=r["sessions"][0].pk, enrolment_ids=[r["enrolments"][0].pk])
    assert (again.recorded, again.already) == (0, 1) and Attendance.objects.dangerously_unscoped().count() == 1


def test_only_the_implementing_institution_or_organiser_runs_the_project(run, users, make_user, province):
    r = run
    other = Institution.objects.create(code="410222-JSFZ", name="通许县教师发展中心", kind="county_centre", division=province.sibling)
    stranger = make_user("staff-tx", Role.INSTITUTION_STAFF, institution=other)
    with pytest.raises(NotVisible):  # another institution does not see the project's sessions
        attendance_record(user=stranger, scope=scope_for_user(stranger), session_id=r["sessions"][0].pk, enrolment_ids=[])
    with pytest.raises(PermissionDenied):  # the published project is seen, not run
        project_complete(user=users["sibling_admin"], scope=scope_for_user(users["sibling_admin"]), project=r["project"])


def test_sessions_stay_within_the_project_dates(run):
    with pytest.raises(ValidationError, match="不在项目日期之内"):
        session_add(scope=run["scope"], project=run["project"], title="x", held_on=dt.date(2027, 1, 1))


def test_check_in_code_marks_the_teacher_present(run):
    session = run["sessions"][1]
    assert check_in(scope=as_teacher(run["teachers"][2]), teacher=run["teachers"][2], code=session.check_in_code, today=session.held_on) == session
    assert Attendance.objects.dangerously_unscoped().filter(session=session, enrolment=run["enrolments"][2], method="code").exists()
    with pytest.raises(ValidationError, match="签到码无效"):
        check_in(scope=as_teacher(run["teachers"][2]), teacher=run["teachers"][2], code="000000" if session.check_in_code != "000000" else "111111",
                 today=session.held_on)
