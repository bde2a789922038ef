"""A county runs a project through the pages: create, publish, approve, sessions,
attendance, completion into the ledger, export; outsiders see nothing."""

import datetime as dt

import time_machine

from accounts.models import Role
from audit.models import AuditEvent
from catalog.models import Enrolment, Project, ProjectSession
from credits.models import LedgerEntry
from institutions.tests.helpers import accredited_institution
from org.models import Institution
from people.identity import id_decrypt


def _create(client):
    return client.post("/projects/new/", {
        "title": "杞县小学数学骨干教师研修", "level": "county", "category": "backbone", "mode": "centralised",
        "starts_on": "2026-12-01", "ends_on": "2026-12-02", "seats": 5, "hours": "16", "hour_category": "centralised",
        "budget": "20000", "self_enrolment": "on", "needs_approval": "on", "stages": "primary",
        "institution": accredited_institution().pk,
    })


@time_machine.travel(dt.datetime(2026, 11, 28, 10, 0), tick=False)
def test_county_runs_a_project_from_creation_to_hours(province, users, client_for):
    admin = client_for(users["county_admin"])
    response = _create(admin)
    assert response.status_code == 302, response.content.decode()
    project = Project.objects.dangerously_unscoped().get(title="杞县小学数学骨干教师研修")
    assert project.state == "draft" and project.audience == {"stages": ["primary"]}
    admin.post(f"/projects/{project.pk}/manage/", {"action": "open"})

    teacher = client_for(users["teacher"])
    teacher.post(f"/projects/{project.pk}/")
    enrolment = Enrolment.objects.dangerously_unscoped().get(project=project)
    assert enrolment.state == "pending"

    admin = client_for(users["county_admin"])
    admin.post(f"/projects/{project.pk}/manage/", {"action": "approve", "enrolment": enrolment.pk})
    for day in ("2026-12-01", "2026-12-02"):
        admin.post(f"/projects/{project.pk}/manage/", {"action": "session", "title": "课堂教学", "held_on": day})
    sessions = list(ProjectSession.objects.dangerously_unscoped().filter(project=project))
    assert len(sessions) == 2
    page = admin.get(f"/projects/{project.pk}/manage/").content.decode()
    assert province.teacher.name in page and id_decrypt(province.teacher.id_cipher) not in page  # never ID numbers
    for session in sessions:
        admin.post(f"/projects/{project.pk}/manage/", {"action": "attendance", "session": session.pk, "present": [enrolment.pk]})
    with time_machine.travel(dt.datetime(2026, 12, 3, 10, 0), tick=False):
        admin = client_for(users["county_admin"])  # days later: a new session
        # the manage page no longer writes; the preview's confirmation does
        admin.post(f"/projects/{project.pk}/manage/", {"action": "complete"})
        assert not LedgerEntry.objects.dangerously_unscoped().filter(source_type="project").exists()
        preview = admin.get(f"/projects/{project.pk}/completion/")
        digest = preview.context["preview"].digest
        first = admin.post(f"/projects/{project.pk}/completion/", {"digest": digest}, follow=True).content.decode()
        assert "结业 1 人" in first, first
        again = admin.get(f"/projects/{project.pk}/completion/").content.decode()
        assert "此前已结业" in again and "确认结业并记入学时" not in again
    entries = LedgerEntry.objects.dangerously_unscoped().filter(teacher=province.teacher, source_type="project")
    assert sorted(e.hours for e in entries) == [8, 8]
    assert Enrolment.objects.dangerously_unscoped().get(pk=enrolment.pk).state == "completed"

    admin = client_for(users["county_admin"])
    export = admin.get(f"/projects/{project.pk}/manage/?format=xlsx")
    assert export.status_code == 200
    assert AuditEvent.objects.dangerously_unscoped().filter(action="catalog.project_export", object_id=str(project.pk)).exists()


@time_machine.travel(dt.datetime(2026, 11, 28, 10, 0), tick=False)  # _create's start date is then still ahead
def test_outsiders_cannot_manage(province, users, client_for, make_user):
    admin = client_for(users["county_admin"])
    _create(admin)
    project = Project.objects.dangerously_unscoped().get(title="杞县小学数学骨干教师研修")
    assert client_for(users["sibling_admin"]).get(f"/projects/{project.pk}/manage/").status_code == 404
    assert client_for(users["teacher"]).get(f"/projects/{project.pk}/manage/").status_code == 404
    elsewhere = Institution.objects.create(code="410222-JSFZ", name="通许县教师发展中心", kind="county_centre",
                                           division=province.sibling)
    staff = make_user("staff-x", Role.INSTITUTION_STAFF, institution=elsewhere)
    assert client_for(staff).get(f"/projects/{project.pk}/manage/").status_code == 404
    assert client_for(users["teacher"]).get("/projects/new/").status_code == 403
    assert client_for(users["sibling_admin"]).post(f"/projects/{project.pk}/manage/", {"action": "open"}).status_code == 404


def test_bad_project_input_is_refused_with_a_message(users, client_for):
    response = client_for(users["county_admin"]).post("/projects/new/", {
        "code": "X", "title": "t", "level": "province", "category": "backbone", "mode": "online", "starts_on": "2026-12-05",
        "ends_on": "2026-12-01", "seats": 5, "hours": "8", "hour_category": "online", "budget": "0",
    })
    assert response.status_code == 422
    body = response.content.decode()
    assert "结束日期早于开始日期" in body and "省级项目应由省级区划主办" in body
    assert not Project.objects.dangerously_unscoped().exists()
