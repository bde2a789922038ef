"""The holes found by attacking a served instance, each replayed as it was done. Every test
here failed on the code before the access policy (the write matrix in
core/tests/test_write_matrix.py repeats the writes over every persona)."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from access.errors import Forbidden, NotVisible
from access.scope import scope_for_user
from accounts.models import Role
from catalog.attendance import project_complete, session_add
from catalog.models import Enrolment, Project
from catalog.services import enrol, enrolment_decide, project_create, project_update
from catalog.tests.helpers import as_teacher, publish
from credits.models import LedgerEntry
from institutions.tests.helpers import accredited_institution
from people.export_requests import export_request_create, export_request_decide
from people.models import ExportRequest
from people.selectors import TeacherFilters


def _county_project(province, users, **extra):
    admin = users["county_admin"]
    values = {"code": "QX-1", "title": "杞县骨干教师研修", "level": "county", "category": "backbone",
              "mode": "centralised", "organiser": province.county, "starts_on": dt.date(2026, 11, 20),
              "ends_on": dt.date(2026, 11, 30), "seats": 5, "hours": 8, "hour_category": "centralised",
              "self_enrolment": True, "needs_approval": True, **extra}
    return project_create(institution=accredited_institution(), scope=scope_for_user(admin), actor=admin, **values)


# 1. A school administrator approved an enrolment of a county-run project, through a manage page
#    whose action did not check that the enrolment belonged to the project shown; and saw the
#    county's and other schools' draft projects.

def test_a_school_administrator_cannot_decide_its_countys_enrolments(province, users, client_for):
    project = publish(_county_project(province, users))
    pending = enrol(scope=as_teacher(province.teacher), project_id=project.pk, teacher=province.teacher)
    response = client_for(users["school_admin"]).post(f"/projects/{project.pk}/manage/",
                                                      {"action": "approve", "enrolment": pending.pk})
    assert response.status_code == 403
    with pytest.raises(Forbidden):  # it sees the enrolment (its own teacher's), may not decide it
        enrolment_decide(scope=scope_for_user(users["school_admin"]), enrolment_id=pending.pk, approve=True)
    pending.refresh_from_db()
    assert pending.state == "pending"


def test_a_manage_page_decides_only_its_own_projects_enrolments(province, users, client_for):
    one = publish(_county_project(province, users))
    other = publish(_county_project(province, users, code="QX-2", title="杞县另一项目"))
    pending = enrol(scope=as_teacher(province.teacher), project_id=one.pk, teacher=province.teacher)
    response = client_for(users["county_admin"]).post(f"/projects/{other.pk}/manage/",
                                                      {"action": "approve", "enrolment": pending.pk})
    assert response.status_code == 404
    pending.refresh_from_db()
    assert pending.state == "pending"


def test_a_school_administrator_sees_only_its_own_schools_drafts(province, users, client_for, make_user):
    from org.models import School

    county_draft = _county_project(province, users)
    other_school = School.objects.create(code="4102210002", name="杞县第二小学", division=province.county)
    other_admin = make_user("school-4102210002", Role.SCHOOL_ADMIN, school=other_school)
    own_draft = project_create(
        scope=scope_for_user(users["school_admin"]), actor=users["school_admin"], code="S-1", title="本校校本研修",
        level="school", category="school_based", mode="blended", organiser=province.county,
        organiser_school=province.school, starts_on=dt.date(2026, 12, 1), ends_on=dt.date(2026, 12, 2), seats=20,
        hours=4, hour_category="school_based")
    client = client_for(users["school_admin"])
    for draft, status in ((county_draft, 404), (own_draft, 200)):
        assert client.get(f"/projects/{draft.pk}/").status_code == status
        assert client.get(f"/api/v1/projects/{draft.pk}").status_code == status
    listed = {p["code"] for p in client.get("/api/v1/projects").json()}
    assert "S-1" in listed and "QX-1" not in listed
    assert client_for(other_admin).get(f"/projects/{own_draft.pk}/").status_code == 404


# 2. A city administrator (it only reads its 省直管县) approved a 省直管县 administrator's
#    full-ID export request, and the full numbers were downloaded.

def test_a_city_cannot_approve_its_direct_countys_full_id_export(province, users, client_for):
    request = export_request_create(scope=scope_for_user(users["direct_admin"]), actor=users["direct_admin"],
                                    filters=TeacherFilters(), reason="职称评审名单报送")
    with pytest.raises(NotVisible):
        export_request_decide(scope=scope_for_user(users["city_admin"]), actor=users["city_admin"],
                              request_id=request.pk, approve=True)
    response = client_for(users["city_admin"]).post("/teachers/roster/export-requests/",
                                                    {"decide": request.pk, "approve": "1"})
    assert response.status_code == 404
    assert ExportRequest.objects.dangerously_unscoped().get(pk=request.pk).state == "pending"
    download = client_for(users["direct_admin"]).get(f"/teachers/roster/export/?request={request.pk}&format=csv")
    assert download.status_code == 403 and province.direct_teacher.id_number not in download.content.decode()
    # the province may approve it
    export_request_decide(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"],
                          request_id=request.pk, approve=True)


# 3. A county created a project whose audience named another city's county; a teacher there
#    enrolled; the county completed the project: hours written for a teacher outside its
#    jurisdiction, and that teacher's name on its pages and exports.

def test_a_project_never_reaches_a_teacher_outside_its_organisers_jurisdiction(province, users, client_for):
    with pytest.raises(ValidationError, match="不在主办单位辖区内"):
        _county_project(province, users, audience={"divisions": ["410305"]})  # 洛阳's 涧西区
    project = publish(_county_project(province, users, needs_approval=False))
    with pytest.raises(ValidationError, match="不在主办单位辖区内"):  # an edit may not widen it either
        project_update(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"],
                       project_id=project.pk, changes={"audience": {"divisions": ["410305"]}})
    outsider = province.other_city_teacher
    with pytest.raises(ValidationError, match="面向主办单位辖区内的教师"):
        enrol(scope=as_teacher(outsider), project_id=project.pk, teacher=outsider)
    response = client_for(users["other_city_admin"]).post(f"/api/v1/projects/{project.pk}/nominations",
                                                         {"teacher_ids": [outsider.pk]}, content_type="application/json")
    assert response.status_code == 200 and response.json()[0]["outcome"] == "refused"
    assert not Enrolment.objects.dangerously_unscoped().filter(teacher=outsider).exists()


def test_completion_writes_hours_only_for_the_organisers_own_teachers(province, users):
    """A teacher who moved away since enrolling (or was slipped in by SQL) gets no hours."""
    project = publish(_county_project(province, users, needs_approval=False))
    scope = scope_for_user(users["county_admin"])
    session_add(scope=scope, project=project, title="第1天", held_on=dt.date(2026, 11, 21))
    mine = enrol(scope=as_teacher(province.teacher), project_id=project.pk, teacher=province.teacher)
    slipped = Enrolment.objects.create(project=project, teacher=province.other_city_teacher, state="enrolled")
    from catalog.models import Attendance

    for enrolment in (mine, slipped):
        Attendance.objects.create(session=project.sessions.get(), enrolment=enrolment)
    with time_machine.travel(dt.datetime(2026, 11, 28, 10, tzinfo=dt.UTC), tick=False):
        report = project_complete(user=users["county_admin"], scope=scope, project=project)
    assert report.completed == 1 and report.not_met[0][0] == slipped.pk
    assert set(LedgerEntry.objects.dangerously_unscoped().values_list("teacher_id", flat=True)) == {province.teacher.pk}


# 8. Reusing another county's project code gave a 500 that told whether the code existed.

def test_project_codes_belong_to_their_organiser(province, users, client_for):
    _county_project(province, users, code="2026-GG-01")
    sibling = users["sibling_admin"]
    body = {"code": "2026-GG-01", "title": "通许县骨干", "level": "county", "category": "backbone", "mode": "online",
            "starts_on": "2027-12-01", "ends_on": "2027-12-02", "seats": 5, "hours": 8, "hour_category": "online"}
    client = client_for(sibling)
    assert client.post("/api/v1/projects", body, content_type="application/json").status_code == 201
    again = client.post("/api/v1/projects", body, content_type="application/json")
    assert again.status_code == 422 and "本单位已有该项目编号" in str(again.json()["errors"])
    assert Project.objects.dangerously_unscoped().filter(code="2026-GG-01").count() == 2


# 9. 500 wrong check-in codes in a row were not throttled.

def test_wrong_check_in_codes_are_throttled(province, users, client_for, settings):
    settings.CHECK_IN_MAX_FAILURES = 5
    project = publish(_county_project(province, users, needs_approval=False))
    session = session_add(scope=scope_for_user(users["county_admin"]), project=project, title="第1天",
                          held_on=dt.date(2026, 11, 28))
    enrol(scope=as_teacher(province.teacher), project_id=project.pk, teacher=province.teacher)
    client = client_for(users["teacher"])
    wrong = f"{(int(session.check_in_code) + 1) % 10**6:06d}"
    with time_machine.travel(dt.datetime(2026, 11, 28, 10, tzinfo=dt.UTC), tick=False):
        statuses = [client.post("/projects/mine/check-in/", {"code": wrong}).status_code for _ in range(6)]
        right = client.post("/projects/mine/check-in/", {"code": session.check_in_code})
    assert statuses == [302] * 5 + [429]
    assert right.status_code == 429  # even the right code waits out the lock
    assert not session.attendance.exists()


# 9. API tokens never expired.

def test_api_tokens_expire(users, client):
    from accounts.services import api_token_create

    token, secret = api_token_create(user=users["county_admin"], name="对接")
    assert token.expires_at is not None
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    assert client.get("/api/v1/me", **headers).status_code == 200
    with time_machine.travel(token.expires_at + dt.timedelta(minutes=1)):
        assert client.get("/api/v1/me", **headers).status_code == 401
