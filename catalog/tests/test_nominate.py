"""Nomination: an administrator finds teachers of their own jurisdiction by name and puts
them forward; each gets a seat, the waiting list, "already on the list" or a refusal with
reasons in Chinese; anyone outside the jurisdiction is not found and nothing changes."""

import datetime as dt

import pytest

from access.scope import scope_for_user
from audit.models import AuditEvent
from catalog.models import Enrolment
from catalog.services import enrol, project_create
from catalog.tests.helpers import publish
from institutions.tests.helpers import accredited_institution
from people.tests.factories import TeacherFactory


@pytest.fixture
def project(province, users):
    """A provincial project for primary teachers, nomination only, two seats."""
    admin = users["province_admin"]
    created = project_create(institution=accredited_institution(),
        scope=scope_for_user(admin), actor=admin, code="HN-N-1", title="河南省小学骨干教师研修", level="province",
        category="backbone", mode="centralised", organiser=province.province, starts_on=dt.date(2026, 12, 1),
        ends_on=dt.date(2026, 12, 5), seats=2, hours=24, hour_category="centralised", self_enrolment=False,
        needs_approval=False, audience={"stages": ["primary"]},
    )
    return publish(created)


def test_an_admin_finds_own_teachers_by_name_only(province, users, client_for, project):
    TeacherFactory(school=province.school, name="张四")
    TeacherFactory(school=province.school, name="张五", status="retired")
    TeacherFactory(school=province.sibling_school, name="张六")  # 通许县
    page = client_for(users["county_admin"]).get(f"/projects/{project.pk}/nominate/", {"q": "张"}).content.decode()
    assert "张三" in page and "张四" in page
    assert "张五" not in page and "张六" not in page and "通许县" not in page
    detail = client_for(users["county_admin"]).get(f"/projects/{project.pk}/").content.decode()
    assert f"/projects/{project.pk}/nominate/" in detail
    assert f"/projects/{project.pk}/nominate/" not in client_for(users["teacher"]).get(f"/projects/{project.pk}/").content.decode()


def test_nominating_gives_a_result_per_teacher_with_reasons(province, users, client_for, project):
    junior = TeacherFactory(school=province.school, name="张初中", stage="junior")
    second = TeacherFactory(school=province.school, name="张四")
    third = TeacherFactory(school=province.school, name="张七")
    client = client_for(users["county_admin"])
    response = client.post(f"/projects/{project.pk}/nominate/", {
        "q": "张", "teacher": [province.teacher.pk, junior.pk, second.pk, third.pk]})
    page = response.content.decode()
    assert response.status_code == 200
    assert "推荐结果" in page and "学段不符" in page and "候补" in page
    states = dict(Enrolment.objects.dangerously_unscoped().filter(project=project).values_list("teacher_id", "state"))
    assert states == {province.teacher.pk: "enrolled", second.pk: "enrolled", third.pk: "waiting"}
    assert set(Enrolment.objects.dangerously_unscoped().filter(project=project).values_list("nominated_by", flat=True)) == {
        users["county_admin"].pk}
    events = AuditEvent.objects.dangerously_unscoped().filter(action="catalog.nominate")
    assert events.count() == 3 and {e.detail["teacher"] for e in events} == {province.teacher.pk, second.pk, third.pk}
    again = client.post(f"/projects/{project.pk}/nominate/", {"q": "张", "teacher": [province.teacher.pk]})
    assert "已在名单中（已录取）" in again.content.decode()
    assert AuditEvent.objects.dangerously_unscoped().filter(action="catalog.nominate").count() == 3


def test_a_teacher_outside_the_jurisdiction_is_not_found_and_nothing_changes(province, users, client_for, project):
    client = client_for(users["county_admin"])
    for teachers in ([province.sibling_teacher.pk], [province.teacher.pk, province.sibling_teacher.pk], [10**9]):
        assert client.post(f"/projects/{project.pk}/nominate/", {"teacher": teachers}).status_code == 404
        api = client.post(f"/api/v1/projects/{project.pk}/nominations", {"teacher_ids": teachers},
                          content_type="application/json")
        assert api.status_code == 404
        assert "李四" not in api.content.decode()
    # The city reads its 省直管县 兰考县 but does not act for it.
    city = client_for(users["city_admin"])
    assert city.post(f"/projects/{project.pk}/nominate/", {"teacher": [province.direct_teacher.pk]}).status_code == 403
    assert city.post(f"/api/v1/projects/{project.pk}/nominations", {"teacher_ids": [province.direct_teacher.pk]},
                     content_type="application/json").status_code == 403
    # A school administrator only for their own school.
    school = client_for(users["school_admin"])
    other_school = TeacherFactory(school=province.sibling_school)
    assert school.post(f"/projects/{project.pk}/nominate/", {"teacher": [other_school.pk]}).status_code == 404
    assert not Enrolment.objects.dangerously_unscoped().filter(project=project).exists()
    assert not AuditEvent.objects.dangerously_unscoped().filter(action="catalog.nominate").exists()
    assert school.post(f"/projects/{project.pk}/nominate/", {"teacher": [province.teacher.pk]}).status_code == 200
    assert Enrolment.objects.dangerously_unscoped().get(project=project).teacher_id == province.teacher.pk


def test_teachers_may_not_nominate(users, client_for, project, province):
    client = client_for(users["teacher"])
    assert client.get(f"/projects/{project.pk}/nominate/").status_code == 403
    assert client.post(f"/api/v1/projects/{project.pk}/nominations", {"teacher_ids": [province.teacher.pk]},
                       content_type="application/json").status_code == 403
    assert not Enrolment.objects.dangerously_unscoped().exists()


def test_the_api_answers_per_teacher(province, users, client_for, project):
    junior = TeacherFactory(school=province.school, stage="junior")
    done = TeacherFactory(school=province.school)
    enrol(scope=scope_for_user(users["county_admin"]), project_id=project.pk, teacher=done, actor=users["county_admin"], nominated=True)
    Enrolment.objects.dangerously_unscoped().filter(teacher=done).update(state="completed")
    response = client_for(users["county_admin"]).post(
        f"/api/v1/projects/{project.pk}/nominations", {"teacher_ids": [province.teacher.pk, junior.pk, done.pk]},
        content_type="application/json")
    assert response.status_code == 200
    results = {r["teacher_id"]: r for r in response.json()}
    assert results[province.teacher.pk]["outcome"] == "enrolled" and results[province.teacher.pk]["state"] == "enrolled"
    assert results[junior.pk]["outcome"] == "refused" and any("学段不符" in r for r in results[junior.pk]["reasons"])
    # Nominating someone who already completed changes nothing (their completion stays).
    assert results[done.pk]["outcome"] == "already" and results[done.pk]["state"] == "completed"
    assert Enrolment.objects.dangerously_unscoped().get(teacher=done).state == "completed"
    bad = client_for(users["county_admin"]).post(f"/api/v1/projects/{project.pk}/nominations", {"teacher_ids": []},
                                                 content_type="application/json")
    assert bad.status_code == 422


def test_a_project_not_open_refuses_every_nomination(province, users, client_for):
    admin = users["county_admin"]
    draft = project_create(institution=accredited_institution(), scope=scope_for_user(admin), actor=admin, code="QX-N-D", title="杞县草稿项目", level="county",
                           category="backbone", mode="online", organiser=province.county, starts_on=dt.date(2026, 12, 1),
                           ends_on=dt.date(2026, 12, 2), seats=5, hours=8, hour_category="online")
    response = client_for(admin).post(f"/api/v1/projects/{draft.pk}/nominations", {"teacher_ids": [province.teacher.pk]},
                                      content_type="application/json")
    assert response.json()[0]["outcome"] == "refused" and response.json()[0]["reasons"] == ["项目未在报名中"]
    page = client_for(admin).get(f"/projects/{draft.pk}/nominate/").content.decode()
    assert "项目目前不在报名中" in page
    # Another county does not even see the draft.
    assert client_for(users["sibling_admin"]).get(f"/projects/{draft.pk}/nominate/").status_code == 404
