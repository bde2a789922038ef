"""Issue 4 first slice through the pages and the API: the library, enrolment with
reasons, my enrolments, withdrawal; drafts stay inside the organising jurisdiction."""

import datetime as dt

import pytest

from access.scope import scope_for_user
from catalog.models import Enrolment, Project
from catalog.services import project_create
from catalog.tests.helpers import publish
from institutions.tests.helpers import accredited_institution


@pytest.fixture
def project(province, users):
    created = project_create(institution=accredited_institution(),
        scope=scope_for_user(users["city_admin"]), actor=users["city_admin"], code="QX-2026-01",
        title="杞县小学语文骨干教师研修", level="city", category="backbone", mode="centralised",
        organiser=province.city, starts_on=dt.date(2026, 12, 1), ends_on=dt.date(2026, 12, 5), seats=1, hours=24,
        hour_category="centralised", self_enrolment=True, needs_approval=False,
        audience={"stages": ["primary"], "divisions": ["410221", "410222"]},  # two of the city's counties
    )
    return publish(created)


def test_library_lists_and_filters(project, users, client_for):
    client = client_for(users["teacher"])
    assert "杞县小学语文骨干教师研修" in client.get("/projects/").content.decode()
    assert "杞县小学语文骨干教师研修" not in client.get("/projects/?level=province").content.decode()
    assert "杞县小学语文骨干教师研修" in client.get("/projects/?q=语文").content.decode()


def test_drafts_are_seen_only_by_the_organising_jurisdiction(province, users, client_for):
    draft = project_create(institution=accredited_institution(), scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], code="D-1", title="草稿项目",
                           level="county", category="backbone", mode="online", organiser=province.county,
                           starts_on=dt.date(2026, 12, 1), ends_on=dt.date(2026, 12, 2), seats=5, hours=8, hour_category="online")
    assert client_for(users["county_admin"]).get(f"/projects/{draft.pk}/").status_code == 200
    assert client_for(users["sibling_admin"]).get(f"/projects/{draft.pk}/").status_code == 404
    assert client_for(users["teacher"]).get(f"/projects/{draft.pk}/").status_code == 404
    assert client_for(users["sibling_admin"]).get(f"/api/v1/projects/{draft.pk}").status_code == 404


def test_teacher_enrols_sees_it_and_withdraws_on_the_pages(project, users, client_for, province):
    client = client_for(users["teacher"])
    assert client.post(f"/projects/{project.pk}/").status_code == 302
    mine = client.get("/projects/mine/").content.decode()
    assert "杞县小学语文骨干教师研修" in mine and "已录取" in mine
    enrolment = Enrolment.objects.dangerously_unscoped().get(teacher=province.teacher)
    assert client.post("/projects/mine/withdraw/", {"enrolment": enrolment.pk}).status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.state == "withdrawn"
    other = client_for(users["sibling_teacher_user"])
    assert other.post("/projects/mine/withdraw/", {"enrolment": enrolment.pk}).status_code == 404  # not theirs to see


def test_refusal_reasons_are_shown_before_enrolling(project, users, client_for, province):
    province.teacher.stage = "junior"
    province.teacher.save()
    page = client_for(users["teacher"]).get(f"/projects/{project.pk}/").content.decode()
    assert "不符合报名条件" in page and "学段不符" in page


def test_api_enrols_then_waitlists_and_explains_refusals(project, users, client_for, province):
    teacher = client_for(users["teacher"])
    first = teacher.post(f"/api/v1/projects/{project.pk}/enrolments", {}, content_type="application/json")
    assert first.status_code == 201 and first.json()["state"] == "enrolled"
    admin = client_for(users["sibling_admin"])
    nominated = admin.post(f"/api/v1/projects/{project.pk}/enrolments", {"teacher_id": province.sibling_teacher.pk},
                           content_type="application/json")
    assert nominated.status_code == 201 and nominated.json()["state"] == "waiting"  # one seat only
    outsider = admin.post(f"/api/v1/projects/{project.pk}/enrolments", {"teacher_id": province.teacher.pk},
                          content_type="application/json")
    assert outsider.status_code == 404  # not the sibling county's teacher
    province.direct_teacher.stage = "senior"
    province.direct_teacher.save()
    refused = client_for(users["direct_admin"]).post(f"/api/v1/projects/{project.pk}/enrolments",
                                                     {"teacher_id": province.direct_teacher.pk}, content_type="application/json")
    # 兰考县 is a 省直管县: the city does not train its teachers, and the stage is wrong too.
    assert refused.status_code == 422
    assert refused.json()["reasons"][:2] == ["本项目面向主办单位辖区内的教师", "学段不符（本项目面向：小学）"]
    listing = client_for(users["teacher"]).get("/api/v1/projects?category=backbone").json()
    assert [p["code"] for p in listing] == ["QX-2026-01"] and listing[0]["seats_taken"] == 1


def test_api_runs_a_project_from_creation_to_completion(province, users, client_for):
    import time_machine

    from credits.models import LedgerEntry

    with time_machine.travel(dt.datetime(2026, 11, 28, 10, 0), tick=False):
        admin = client_for(users["county_admin"])
        created = admin.post("/api/v1/projects", {
            "code": "API-1", "title": "杞县心理健康专题培训", "level": "county", "category": "topic", "topics": ["mental_health"],
            "mode": "online", "starts_on": "2026-11-28", "ends_on": "2026-11-28", "seats": 3, "hours": 6,
            "hour_category": "online", "self_enrolment": True, "needs_approval": False,
            "institution_id": accredited_institution().pk}, content_type="application/json")
        assert created.status_code == 201, created.content
        project_id = created.json()["id"]
        bad = admin.post("/api/v1/projects", {**created.json(), "code": "API-2", "ends_on": "2026-11-01", "starts_on": "2026-11-28",
                                               "organiser": None}, content_type="application/json")
        assert bad.status_code == 422 and "ends_on" in bad.json()["errors"]
        publish(Project.objects.dangerously_unscoped().get(pk=project_id))
        session = admin.post(f"/api/v1/projects/{project_id}/sessions", {"title": "线上学习", "held_on": "2026-11-28"},
                             content_type="application/json")
        assert session.status_code == 201
        enrolment = client_for(users["teacher"]).post(f"/api/v1/projects/{project_id}/enrolments", {},
                                                      content_type="application/json").json()
        admin = client_for(users["county_admin"])
        marked = admin.post(f"/api/v1/sessions/{session.json()['id']}/attendance", {"enrolment_ids": [enrolment["id"], 99999]},
                            content_type="application/json").json()
        assert marked["recorded"] == 1 and marked["refused"][0]["detail"] == "不是本项目的报名"
        done = admin.post(f"/api/v1/projects/{project_id}/completion").json()
        assert done["completed"] == 1
        assert admin.post(f"/api/v1/projects/{project_id}/completion").json()["already"] == 1
        assert LedgerEntry.objects.dangerously_unscoped().filter(teacher=province.teacher, source_type="project").count() == 1
        outsider = client_for(users["sibling_admin"])
        # The published project is visible to all (403: seen, not theirs to run); its session is not (404).
        assert outsider.post(f"/api/v1/projects/{project_id}/completion").status_code == 403
        assert outsider.post(f"/api/v1/sessions/{session.json()['id']}/attendance", {"enrolment_ids": []},
                             content_type="application/json").status_code == 404
        assert client_for(users["teacher"]).post("/api/v1/projects", created.json(), content_type="application/json").status_code == 403
