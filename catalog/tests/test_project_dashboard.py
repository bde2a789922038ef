"""A project's dashboard: figures that follow the records, one grouped query per figure
(the page costs the same however many enrolees), counts only, and nothing for outsiders."""

import datetime as dt

import pytest

from access.scope import scope_for_user
from accounts.models import Role
from catalog.attendance import assessment_record, attendance_record, session_add
from catalog.dashboard import project_figures
from catalog.models import Enrolment, Project
from catalog.services import enrol, enrolment_withdraw, project_create
from catalog.tests.helpers import as_teacher, organiser_scope, publish
from institutions.tests.helpers import accredit, accredited_institution
from org.models import Institution
from people.tests.factories import TeacherFactory


def _running(province, users, enrolees: int, *, seats: int | None = None, institution=None) -> tuple:
    admin = users["city_admin"]  # a city project: its counties' teachers come
    scope = scope_for_user(admin)
    project = publish(project_create(
        scope=scope, actor=admin, code="QX-D-1", title="杞县看板项目", level="city", category="backbone",
        mode="centralised", organiser=province.city, starts_on=dt.date(2026, 11, 2), ends_on=dt.date(2026, 11, 4),
        seats=seats or enrolees, hours=12, hour_category="centralised", self_enrolment=True, needs_approval=False,
        institution=institution or accredited_institution(), audience={"divisions": ["410221", "410222"]}))  # 杞县 and 通许县 teachers
    Project.objects.dangerously_unscoped().filter(pk=project.pk).update(has_assessment=True)
    project.refresh_from_db()
    sessions = [session_add(scope=scope, project=project, title=f"第{d}天", held_on=dt.date(2026, 11, d))
                for d in (2, 3)]
    schools = [province.school, province.school, province.sibling_school]
    teachers = [TeacherFactory(school=schools[n % 3]) for n in range(enrolees)]
    return project, sessions, [enrol(scope=as_teacher(t), project_id=project.pk, teacher=t) for t in teachers]


def test_the_figures_follow_the_records(province, users):
    project, sessions, enrolments = _running(province, users, 8, seats=6)  # 6 enrolled, 2 waiting
    admin, scope = users["city_admin"], scope_for_user(users["city_admin"])
    enrolment_withdraw(scope=as_teacher(enrolments[0].teacher), enrolment_id=enrolments[0].pk)  # the first waiting moves up
    admitted = list(Enrolment.objects.dangerously_unscoped().filter(project=project, state="enrolled").values_list("pk", flat=True))
    attendance_record(user=admin, scope=scope, session_id=sessions[0].pk, enrolment_ids=admitted)
    attendance_record(user=admin, scope=scope, session_id=sessions[1].pk, enrolment_ids=admitted[:3])
    for n, enrolment_id in enumerate(admitted[:3]):
        assessment_record(scope=scope, enrolment_id=enrolment_id, passed=n < 2)
    Enrolment.objects.dangerously_unscoped().filter(pk__in=admitted[:2]).update(state="completed")
    project.refresh_from_db()

    figures = project_figures(scope=organiser_scope(project), project=project)
    assert figures.states == {"pending": 0, "enrolled": 4, "waiting": 1, "withdrawn": 1, "rejected": 0, "completed": 2}
    assert figures.admitted == 6 and figures.completed == 2 and figures.completion_rate == 33.3
    assert (figures.assessed_passed, figures.assessed_failed) == (2, 1)
    assert [(s["number"], s["present"], s["rate"]) for s in figures.sessions] == [(1, 6, 100.0), (2, 3, 50.0)]
    assert figures.attendance_rate == 75.0
    # Enrolees by county and school: the six holding a seat or completed, never the waiting or withdrawn.
    assert sum(o["enrolees"] for o in figures.origins) == 6
    assert {c["county"]: c["enrolees"] for c in figures.counties} == {
        "杞县": sum(1 for e in Enrolment.objects.dangerously_unscoped().filter(pk__in=admitted, teacher__school=province.school)),
        "通许县": sum(1 for e in Enrolment.objects.dangerously_unscoped().filter(pk__in=admitted, teacher__school=province.sibling_school)),
    }
    seats = {series["name"]: series["data"] for series in figures.charts["seats"]["series"]}
    assert seats == {"已占名额": [6], "剩余名额": [0], "候补": [1]}
    assert figures.charts["attendance"]["series"][1]["data"] == [100.0, 50.0]


def test_an_empty_project_has_zero_rates(province, users):
    project, _, _ = _running(province, users, 0, seats=3)
    figures = project_figures(scope=organiser_scope(project), project=project)
    assert figures.admitted == 0 and figures.attendance_rate == 0.0 and figures.completion_rate == 0.0
    assert [s["rate"] for s in figures.sessions] == [0.0, 0.0] and figures.origins == []


@pytest.mark.parametrize("enrolees", [3, 15])
def test_one_query_per_figure_however_many_enrolees(province, users, client_for, enrolees, django_assert_num_queries):
    project, sessions, enrolments = _running(province, users, enrolees)
    admin = users["city_admin"]
    attendance_record(user=admin, scope=scope_for_user(admin), session_id=sessions[0].pk,
                      enrolment_ids=[e.pk for e in enrolments])
    scope = organiser_scope(project)
    with django_assert_num_queries(3):  # enrolments by state, sessions with attendance, enrolees by county and school
        project_figures(scope=scope, project=project)
    client = client_for(admin)
    client.get(f"/projects/{project.pk}/dashboard/")
    # session, user, the scope (the user's division, its 省直管县, whether it has children), the project,
    # three figures
    with django_assert_num_queries(9):
        page = client.get(f"/projects/{project.pk}/dashboard/")
    body = page.content.decode()
    assert page.status_code == 200 and "各场次出勤" in body and 'data-chart="chart-attendance"' in body
    assert "杞县第一小学" in body and "通许县第一小学" in body
    assert enrolments[0].teacher.name not in body  # counts only, never names


def test_outsiders_get_404_and_the_implementing_institution_may_look(province, users, client_for, make_user):
    centre = Institution.objects.create(code="410221-JSFZ", name="杞县教师发展中心", kind="county_centre",
                                        division=province.county)
    accredit(centre)
    project, _, _ = _running(province, users, 3, institution=centre)
    url = f"/projects/{project.pk}/dashboard/"
    # A county of the city, and its school administrator, see the published project but do not run it.
    for who in ("county_admin", "sibling_admin", "other_city_admin", "teacher", "school_admin"):
        response = client_for(users[who]).get(url)
        assert response.status_code == 403 and "通许县第一小学" not in response.content.decode(), who
        assert client_for(users[who]).get(f"/projects/{project.pk}/manage/").status_code == 403, who
    assert client_for(make_user("staff-1", Role.INSTITUTION_STAFF, institution=centre)).get(url).status_code == 200
    for who in ("city_admin", "province_admin"):
        assert client_for(users[who]).get(url).status_code == 200, who


def test_the_manage_page_links_to_the_dashboard(province, users, client_for):
    project, _, _ = _running(province, users, 1)
    page = client_for(users["city_admin"]).get(f"/projects/{project.pk}/manage/").content.decode()
    assert f"/projects/{project.pk}/dashboard/" in page
