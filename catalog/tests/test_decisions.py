"""Withdrawing says what happens and can be undone by enrolling again; judging completion is
previewed and the confirmation writes exactly the preview; a project's phase follows its dates."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from access.scope import scope_for_user
from audit.models import AuditEvent
from catalog.attendance import attendance_record, completion_preview, project_complete, session_add
from catalog.models import Enrolment, Project
from catalog.phase import phase_of, with_phase
from catalog.selectors import project_queryset
from catalog.services import enrol, project_create
from catalog.tests.helpers import as_teacher, publish
from credits.models import LedgerEntry
from institutions.tests.helpers import accredited_institution
from people.tests.factories import TeacherFactory


def _project(users, province, code="QX-D", seats=1, starts=dt.date(2026, 12, 1), ends=dt.date(2026, 12, 3), **extra):
    admin = users["county_admin"]
    return publish(project_create(
        scope=scope_for_user(admin), actor=admin, code=code, title=f"杞县骨干研修{code}", level="county",
        category="backbone", mode="centralised", organiser=province.county, institution=accredited_institution(),
        starts_on=starts, ends_on=ends, seats=seats, hours=12, hour_category="centralised",
        self_enrolment=True, needs_approval=False, **extra))


# --- withdrawing --------------------------------------------------------------------------------

def test_withdrawing_asks_on_a_page_then_the_seat_goes_to_the_waiting_list(users, client_for, province):
    project = _project(users, province)
    mine = enrol(scope=as_teacher(province.teacher), project_id=project.pk, teacher=province.teacher)
    other = TeacherFactory(school=province.school)
    waiting = enrol(scope=as_teacher(other), project_id=project.pk, teacher=other)
    assert (mine.state, waiting.state) == ("enrolled", "waiting")
    teacher = client_for(users["teacher"])
    listing = teacher.get("/projects/mine/").content.decode()
    assert "退出项目…" in listing and ">退出</a>" not in listing  # never a bare 退出 on the button
    page = teacher.get(f"/projects/mine/withdraw/?enrolment={mine.pk}")
    body = page.content.decode()
    assert page.status_code == 200 and "确认退出项目" in body
    assert "候补名单" in body and "已获得的学时保留" in body
    mine.refresh_from_db()
    assert mine.state == "enrolled"  # asking changes nothing
    response = teacher.post("/projects/mine/withdraw/", {"enrolment": mine.pk})
    assert response.status_code == 302
    mine.refresh_from_db()
    waiting.refresh_from_db()
    assert (mine.state, waiting.state) == ("withdrawn", "enrolled")
    event = AuditEvent.objects.dangerously_unscoped().get(action="catalog.enrolment_withdraw")
    assert event.detail == {"project": project.pk, "teacher": province.teacher.pk, "held_seat": True, "promoted": 1}
    # someone else's enrolment has no confirmation page
    assert client_for(users["sibling_teacher_user"]).get(f"/projects/mine/withdraw/?enrolment={mine.pk}").status_code == 404


def test_a_teacher_who_withdrew_enrols_again_on_the_same_row(users, client_for, province):
    project = _project(users, province, seats=2)
    mine = enrol(scope=as_teacher(province.teacher), project_id=project.pk, teacher=province.teacher)
    teacher = client_for(users["teacher"])
    teacher.post("/projects/mine/withdraw/", {"enrolment": mine.pk})
    detail = teacher.get(f"/projects/{project.pk}/").content.decode()
    assert "你已退出本项目" in detail and "重新报名" in detail
    teacher.post(f"/projects/{project.pk}/")
    again = Enrolment.objects.dangerously_unscoped().get(project=project, teacher=province.teacher)
    assert again.pk == mine.pk and again.state == "enrolled"
    project.refresh_from_db()
    assert project.seats_taken == 1
    assert AuditEvent.objects.dangerously_unscoped().filter(action="catalog.enrolment_reenrol", object_id=str(mine.pk)).exists()
    # and through the API: withdraw, then enrol again
    response = teacher.post(f"/api/v1/enrolments/{mine.pk}/withdraw")
    assert response.status_code == 200 and response.json()["state"] == "withdrawn"
    response = teacher.post(f"/api/v1/projects/{project.pk}/enrolments", data="{}", content_type="application/json")
    assert response.status_code == 201 and response.json() == {"id": mine.pk, "project_id": project.pk,
                                                               "teacher_id": province.teacher.pk, "state": "enrolled"}
    actions = list(AuditEvent.objects.dangerously_unscoped().filter(object_type="enrolment", object_id=str(mine.pk))
                   .order_by("pk").values_list("action", flat=True))
    assert actions == ["catalog.enrolment_withdraw", "catalog.enrolment_reenrol"] * 2


def test_enrolling_again_into_a_full_project_joins_the_waiting_list(users, client_for, province):
    project = _project(users, province, seats=1)
    mine = enrol(scope=as_teacher(province.teacher), project_id=project.pk, teacher=province.teacher)
    client_for(users["teacher"]).post("/projects/mine/withdraw/", {"enrolment": mine.pk})
    other = TeacherFactory(school=province.school)
    enrol(scope=as_teacher(other), project_id=project.pk, teacher=other)
    again = enrol(scope=as_teacher(province.teacher), project_id=project.pk, teacher=province.teacher)
    assert again.pk == mine.pk and again.state == "waiting"
    page = client_for(users["teacher"]).get(f"/projects/mine/withdraw/?enrolment={mine.pk}").content.decode()
    assert "确认取消报名" in page and "离开候补名单" in page


# --- judging completion -------------------------------------------------------------------------

@pytest.fixture
def judged(users, province):
    project = _project(users, province, code="QX-J", seats=5)
    admin = users["county_admin"]
    scope = scope_for_user(admin)
    sessions = [session_add(scope=scope, project=project, title=f"第{n}天", held_on=dt.date(2026, 12, n)) for n in (1, 2, 3)]
    teachers = [province.teacher, *(TeacherFactory(school=province.school, name=f"学员{n}") for n in (1, 2))]
    enrolments = [enrol(scope=as_teacher(t), project_id=project.pk, teacher=t) for t in teachers]
    for session in sessions:
        attendance_record(user=admin, scope=scope, session_id=session.pk, enrolment_ids=[enrolments[0].pk, enrolments[1].pk])
    return {"project": project, "admin": admin, "scope": scope, "sessions": sessions, "enrolments": enrolments,
            "teachers": teachers}


def test_the_preview_shows_exactly_what_will_be_written_and_writes_nothing(judged, client_for, province):
    with time_machine.travel(dt.datetime(2026, 12, 10, 10, 0), tick=False):
        admin = client_for(judged["admin"])
        page = admin.get(f"/projects/{judged['project'].pk}/completion/")
        body = page.content.decode()
        assert page.status_code == 200
        assert "出勤率 0% 低于 80%" in body and "学员2" in body  # who does not complete, and why
        assert "24.0" in body  # two completers × 12 hours
        assert "集中培训" in body and "2026-12-01" in body
        assert not LedgerEntry.objects.dangerously_unscoped().exists()
        preview = page.context["preview"]
        assert [line.outcome for line in preview.lines] == ["complete", "complete", "not_met"]
        assert preview.shares == [Decimal("4.0"), Decimal("4.0"), Decimal("4.0")]
        response = admin.post(f"/projects/{judged['project'].pk}/completion/", {"digest": preview.digest})
        assert response.status_code == 302
    written = LedgerEntry.objects.dangerously_unscoped().filter(source_type="project")
    assert sorted({e.teacher_id for e in written}) == sorted(t.pk for t in judged["teachers"][:2])
    assert sum(e.hours for e in written) == preview.total_hours == Decimal("24.0")
    assert {e.category for e in written} == {"centralised"}
    event = AuditEvent.objects.dangerously_unscoped().get(action="catalog.project_complete")
    assert event.detail["digest"] == preview.digest and event.detail["completed"] == 2
    project = Project.objects.dangerously_unscoped().get(pk=judged["project"].pk)
    assert project.completion_judged_at is not None and phase_of(project, dt.date(2026, 12, 2)) == "finished"


def test_a_changed_roster_voids_the_confirmation(judged, client_for):
    today = dt.date(2026, 12, 10)
    preview = completion_preview(scope=judged["scope"], project=judged["project"], today=today)
    # the third teacher's attendance is recorded after the preview was shown
    for session in judged["sessions"]:
        attendance_record(user=judged["admin"], scope=judged["scope"], session_id=session.pk,
                          enrolment_ids=[judged["enrolments"][2].pk])
    with pytest.raises(ValidationError, match="重新预览"):
        project_complete(user=judged["admin"], scope=judged["scope"], project=judged["project"], today=today,
                         digest=preview.digest)
    assert not LedgerEntry.objects.dangerously_unscoped().exists()
    with time_machine.travel(dt.datetime(2026, 12, 10, 10, 0), tick=False):
        admin = client_for(judged["admin"])
        response = admin.post(f"/projects/{judged['project'].pk}/completion/", {"digest": preview.digest}, follow=True)
        assert "重新预览" in response.content.decode()
        assert not LedgerEntry.objects.dangerously_unscoped().exists()
        api = admin.get(f"/api/v1/projects/{judged['project'].pk}/completion").json()
        assert api["completers"] == 3 and api["total_hours"] == 36.0
        stale = admin.post(f"/api/v1/projects/{judged['project'].pk}/completion?digest={preview.digest}")
        assert stale.status_code == 422 and not LedgerEntry.objects.dangerously_unscoped().exists()
        done = admin.post(f"/api/v1/projects/{judged['project'].pk}/completion?digest={api['digest']}")
        assert done.status_code == 200 and done.json()["completed"] == 3
    assert LedgerEntry.objects.dangerously_unscoped().filter(source_type="project").count() == 9


def test_the_preview_is_a_fixed_number_of_queries(judged, django_assert_max_num_queries):
    for n in range(5):
        teacher = TeacherFactory(school=judged["teachers"][0].school, name=f"加{n}")
        Enrolment.objects.create(project=judged["project"], teacher=teacher, state="enrolled")
    with django_assert_max_num_queries(6):
        preview = completion_preview(scope=judged["scope"], project=judged["project"], today=dt.date(2026, 12, 10))
    assert len(preview.lines) == 8


# --- phase ----------------------------------------------------------------------------------------

def test_phase_follows_the_dates_and_the_list_filters_by_the_same_rule(users, client_for, province):
    project = _project(users, province, code="QX-P", starts=dt.date(2026, 12, 1), ends=dt.date(2026, 12, 3))
    draft = project_create(
        scope=scope_for_user(users["county_admin"]), actor=None, code="QX-DR", title="杞县草稿项目", level="county",
        category="backbone", mode="online", organiser=province.county, starts_on=dt.date(2026, 12, 1),
        ends_on=dt.date(2026, 12, 3), seats=3, hours=4, hour_category="online")
    expected = {dt.date(2026, 11, 20): "enrolling", dt.date(2026, 12, 1): "running", dt.date(2026, 12, 3): "running",
                dt.date(2026, 12, 4): "finished"}
    rows = Project.objects.dangerously_unscoped().filter(pk__in=[project.pk, draft.pk])
    for day, phase in expected.items():
        annotated = dict(with_phase(rows, day).values_list("pk", "phase"))
        assert annotated == {project.pk: phase, draft.pk: "draft"}, day
        assert phase_of(Project.objects.dangerously_unscoped().get(pk=project.pk), day) == phase  # one rule, both forms
    scope = scope_for_user(users["county_admin"])
    assert list(project_queryset(scope=scope, phase="running", today=dt.date(2026, 12, 2))) == [project]
    assert list(project_queryset(scope=scope, phase="enrolling", today=dt.date(2026, 12, 2))) == []
    with time_machine.travel(dt.datetime(2026, 12, 2, 10, 0), tick=False):
        admin = client_for(users["county_admin"])
        listing = admin.get("/projects/?phase=running").content.decode()
        assert "杞县骨干研修QX-P" in listing and "进行中" in listing and "杞县草稿项目" not in listing
        assert "进行中" in admin.get(f"/projects/{project.pk}/").content.decode()
        assert "进行中" in admin.get(f"/projects/{project.pk}/manage/").content.decode()
        api = admin.get("/api/v1/projects?phase=running").json()
        assert [(p["id"], p["phase"], p["phase_label"]) for p in api] == [(project.pk, "running", "进行中")]
        assert admin.get("/api/v1/projects?phase=bogus").status_code == 422
        assert admin.get(f"/api/v1/projects/{draft.pk}").json()["phase"] == "draft"


def test_the_project_list_stays_flat_with_phases(users, client_for, province, django_assert_max_num_queries):
    for n in range(4):
        _project(users, province, code=f"QX-L{n}")
    admin = client_for(users["county_admin"])
    # Before the projects start (1 December), whatever today's date is.
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, 0), tick=False):
        admin.get("/projects/")
        with django_assert_max_num_queries(12):
            body = admin.get("/projects/?phase=enrolling").content.decode()
    assert body.count("报名中") >= 4
