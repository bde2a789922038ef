"""Editing a project: the same rules as creation, plus what its history forbids (sessions
outside new dates, hours after a completion, a finished project, a plan under review)."""

import datetime as dt
import json

import pytest
import time_machine
from django.core.exceptions import ValidationError

from access.errors import NotVisible
from access.scope import scope_for_user
from audit.models import AuditEvent
from catalog.attendance import attendance_record, project_complete, session_add
from catalog.models import Project
from catalog.plans import plan_create, plan_submit
from catalog.services import enrol, project_create, project_update
from catalog.tests.helpers import as_teacher, publish
from institutions.tests.helpers import accredited_institution


@pytest.fixture
def project(province, users):
    return project_create(institution=accredited_institution(), scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], code="QX-1",
                          title="杞县骨干教师研修", level="county", category="backbone", mode="blended",
                          organiser=province.county, starts_on=dt.date(2026, 12, 1), ends_on=dt.date(2026, 12, 10),
                          seats=5, hours=24, hour_category="centralised", self_enrolment=True, needs_approval=False,
                          audience={"stages": ["primary"], "subjects": ["语文"]})


def _update(users, project, who="county_admin", **changes):
    return project_update(scope=scope_for_user(users[who]), actor=users[who], project_id=project.pk, changes=changes)


def test_an_edit_changes_only_what_was_sent_and_reports_it(users, project):
    edited, changed = _update(users, project, title=" 杞县小学语文骨干教师研修 ", ends_on=dt.date(2026, 12, 12),
                              topics=["it", "homework", "it"])
    assert changed == {"title": ["杞县骨干教师研修", "杞县小学语文骨干教师研修"],
                       "ends_on": [dt.date(2026, 12, 10), dt.date(2026, 12, 12)], "topics": [[], ["homework", "it"]]}
    project.refresh_from_db()
    assert (project.title, project.ends_on, project.code, project.level) == (
        "杞县小学语文骨干教师研修", dt.date(2026, 12, 12), "QX-1", "county")
    assert _update(users, project, title="杞县小学语文骨干教师研修")[1] == {}


@pytest.mark.parametrize(("changes", "field"), [
    ({"ends_on": dt.date(2026, 11, 1)}, "ends_on"),
    ({"hours": 0}, "hours"),
    ({"category": "cooking"}, "category"),
    ({"audience": {"hobbies": ["golf"]}}, "audience"),
    ({"min_attendance_percent": 120}, "min_attendance_percent"),
    ({"title": ""}, "title"),
])
def test_bad_edits_are_refused_and_nothing_changes(users, project, changes, field):
    before = Project.objects.dangerously_unscoped().filter(pk=project.pk).values().get()
    with pytest.raises(ValidationError) as error:
        _update(users, project, outline="新的简介", **changes)
    assert field in error.value.message_dict
    assert Project.objects.dangerously_unscoped().filter(pk=project.pk).values().get() == before


def test_code_level_and_organiser_cannot_be_edited(users, project):
    with pytest.raises(ValidationError):
        _update(users, project, level="city")
    with pytest.raises(ValidationError):
        _update(users, project, code="X")


def test_another_county_cannot_edit(users, project):
    # A draft of 杞县: another county and the county's school administrator do not even see it.
    with pytest.raises(NotVisible):
        _update(users, project, who="sibling_admin", title="篡改")
    with pytest.raises(NotVisible):
        _update(users, project, who="school_admin", title="篡改")


def test_history_fixes_dates_hours_and_finished_projects(users, province, project):
    publish(project)
    session = session_add(scope=scope_for_user(users["county_admin"]), project=project,
                          title="开班", held_on=dt.date(2026, 12, 3))
    with pytest.raises(ValidationError, match="第1场"):
        _update(users, project, starts_on=dt.date(2026, 12, 4))
    _update(users, project, audience={}, hours=8)  # open to every teacher; one day's hours
    enrolment = enrol(scope=as_teacher(province.teacher), project_id=project.pk, teacher=province.teacher)
    attendance_record(user=users["county_admin"], scope=scope_for_user(users["county_admin"]), session_id=session.pk,
                      enrolment_ids=[enrolment.pk])
    project.refresh_from_db()
    with time_machine.travel(dt.datetime(2026, 12, 20, 10, 0), tick=False):
        assert project_complete(user=users["county_admin"], scope=scope_for_user(users["county_admin"]),
                                project=project).completed == 1
    with pytest.raises(ValidationError, match="学时"):
        _update(users, project, hours=30)
    with pytest.raises(ValidationError, match="结业条件"):
        _update(users, project, min_attendance_percent=50)
    assert _update(users, project, outline="补充简介")[1]  # other fields still editable
    Project.objects.dangerously_unscoped().filter(pk=project.pk).update(state="finished")
    with pytest.raises(ValidationError, match="已结束"):
        _update(users, project, outline="再改")


def test_a_plan_under_review_freezes_its_projects(users, province):
    project = project_create(institution=accredited_institution(), scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], code="QX-9",
                             title="杞县新教师培训", level="county", category="new_teacher", mode="blended",
                             organiser=province.county, starts_on=dt.date(2027, 3, 1), ends_on=dt.date(2027, 3, 5),
                             seats=5, hours=24, hour_category="centralised")
    plan = plan_create(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], year=2027)
    plan_submit(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], plan_id=plan.pk)
    with pytest.raises(ValidationError, match="正在审核"):
        _update(users, project, title="改名")


def test_the_edit_page_saves_audits_and_refuses_outsiders(users, client_for, project):
    client = client_for(users["county_admin"])
    page = client.get(f"/projects/{project.pk}/edit/")
    assert page.status_code == 200 and "杞县骨干教师研修" in page.content.decode() and 'value="primary"' in page.content.decode()
    form = {"title": "杞县小学语文骨干教师研修", "outline": "", "category": "backbone", "mode": "online",
            "starts_on": "2026-12-01", "ends_on": "2026-12-10", "hours": "24", "hour_category": "centralised",
            "budget": "5000", "self_enrolment": "on", "stages": ["primary", "junior"], "min_attendance_percent": "90"}
    response = client.post(f"/projects/{project.pk}/edit/", form)
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.title, project.mode, project.min_attendance_percent, project.needs_approval) == (
        "杞县小学语文骨干教师研修", "online", 90, False)
    assert project.audience == {"stages": ["primary", "junior"], "subjects": ["语文"]}  # subjects kept
    event = AuditEvent.objects.dangerously_unscoped().get(action="catalog.project_update")
    assert event.detail["mode"] == ["blended", "online"]
    bad = client.post(f"/projects/{project.pk}/edit/", {**form, "ends_on": "2026-11-01"})
    assert bad.status_code == 422 and "结束日期早于开始日期" in bad.content.decode()
    for who in ("sibling_admin", "other_city_admin"):
        outsider = client_for(users[who])
        assert outsider.get(f"/projects/{project.pk}/edit/").status_code == 404
        assert outsider.post(f"/projects/{project.pk}/edit/", {**form, "title": "篡改"}).status_code == 404
    assert client_for(users["teacher"]).get(f"/projects/{project.pk}/edit/").status_code == 403
    project.refresh_from_db()
    assert project.title == "杞县小学语文骨干教师研修"


def test_the_api_patches_fields_and_seats(users, client_for, province, project):
    client = client_for(users["county_admin"])
    response = client.patch(f"/api/v1/projects/{project.pk}", json.dumps({"title": "新名称", "seats": 8}),
                            content_type="application/json")
    assert response.status_code == 200 and (response.json()["title"], response.json()["seats"]) == ("新名称", 8)
    bad = client.patch(f"/api/v1/projects/{project.pk}", json.dumps({"ends_on": "2026-11-01", "title": "又一个"}),
                       content_type="application/json")
    assert bad.status_code == 422 and "ends_on" in bad.json()["errors"]
    assert Project.objects.dangerously_unscoped().get(pk=project.pk).title == "新名称"
    outsider = client_for(users["sibling_admin"]).patch(f"/api/v1/projects/{project.pk}", json.dumps({"title": "x"}),
                                                        content_type="application/json")
    assert outsider.status_code == 404
    assert client_for(users["teacher"]).patch(f"/api/v1/projects/{project.pk}", json.dumps({"title": "x"}),
                                              content_type="application/json").status_code == 404


@pytest.mark.parametrize("body", [{"self_enrolment": None}, {"title": None}, {"seats": None}, {"topics": None},
                                  {"audience": {"stages": "primary"}}, {"audience": {"new_teachers": "yes"}}])
def test_the_api_refuses_nulls_and_malformed_audiences_with_422(users, client_for, project, body):
    before = Project.objects.dangerously_unscoped().filter(pk=project.pk).values().get()
    response = client_for(users["county_admin"]).patch(f"/api/v1/projects/{project.pk}", json.dumps(body),
                                                       content_type="application/json")
    assert response.status_code == 422 and response.json()["code"] == "invalid"
    assert Project.objects.dangerously_unscoped().filter(pk=project.pk).values().get() == before


def test_create_and_edit_share_the_type_rules(users, province, project):
    """Flags must be booleans, the outline text, audience values lists — for creation as for editing."""
    admin = users["county_admin"]
    with pytest.raises(ValidationError) as error:
        _update(users, project, self_enrolment="yes", outline=None, audience={"stages": "primary"})
    assert set(error.value.message_dict) == {"self_enrolment", "outline", "audience"}
    with pytest.raises(ValidationError) as error:
        project_create(institution=accredited_institution(), scope=scope_for_user(admin), actor=admin, code="QX-2", title="杞县培训", level="county",
                       category="backbone", mode="blended", organiser=province.county, starts_on=dt.date(2026, 12, 1),
                       ends_on=dt.date(2026, 12, 2), seats=5, hours=8, hour_category="centralised",
                       is_high_end=1, audience={"new_teachers": "yes"})  # type: ignore[arg-type]
    assert set(error.value.message_dict) == {"is_high_end", "audience"}
    assert not Project.objects.dangerously_unscoped().filter(code="QX-2").exists()


def test_seats_are_checked_with_the_other_fields_and_audited_once(users, client_for, province, project):
    client = client_for(users["county_admin"])
    Project.objects.dangerously_unscoped().filter(pk=project.pk).update(audience={})  # open to every teacher of the county
    from people.tests.factories import TeacherFactory

    for teacher in (province.teacher, TeacherFactory(school=province.school)):
        enrol(scope=as_teacher(teacher), project_id=publish(project).pk, teacher=teacher)
    before = Project.objects.dangerously_unscoped().filter(pk=project.pk).values().get()
    events = AuditEvent.objects.dangerously_unscoped().filter(action="catalog.project_update")
    # a good seat count with a bad date: neither is written, nothing is audited
    bad = client.patch(f"/api/v1/projects/{project.pk}", json.dumps({"seats": 8, "ends_on": "2026-11-01"}),
                       content_type="application/json")
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"ends_on"}
    below = client.patch(f"/api/v1/projects/{project.pk}", json.dumps({"seats": 1}), content_type="application/json")
    assert below.status_code == 422
    assert Project.objects.dangerously_unscoped().filter(pk=project.pk).values().get() == before and not events.exists()
    with pytest.raises(ValidationError, match="已报名人数（2）"):
        _update(users, project, seats=1, title="改名")
    good = client.patch(f"/api/v1/projects/{project.pk}", json.dumps({"seats": 8, "outline": "补充"}),
                        content_type="application/json")
    assert good.status_code == 200 and good.json()["seats"] == 8
    event = events.get()
    assert event.actor == users["county_admin"] and event.detail == {"seats": ["5", "8"], "outline": ["", "补充"]}
