"""The jurisdiction's projects for a year: counts by level × category × state, seats,
admissions and completions, the projects of others its teachers attend, the high-end
share against the 4 / 7 / 20 % targets; scoped, a fixed number of queries, exported
with an audit record and a rate limit."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from access.scope import scope_for_user
from audit.models import AuditEvent
from catalog.models import Enrolment
from catalog.overview import jurisdiction_overview
from catalog.services import enrol, project_create
from catalog.tests.helpers import as_teacher, publish
from institutions.tests.helpers import accredited_institution
from people.tests.factories import TeacherFactory


def _project(users, who, organiser, code, *, level, category="backbone", state="open", seats=10, high_end=False,
             starts_on=dt.date(2026, 10, 1)):
    admin = users[who]
    project = project_create(institution=accredited_institution(), scope=scope_for_user(admin), actor=admin, code=code, title=f"项目{code}", level=level,
                             category=category, mode="centralised", organiser=organiser, starts_on=starts_on,
                             ends_on=starts_on + dt.timedelta(days=2), seats=seats, hours=12, hour_category="centralised",
                             self_enrolment=True, needs_approval=False, is_high_end=high_end)
    return publish(project) if state == "open" else project


def _complete(project, teachers):
    Enrolment.objects.dangerously_unscoped().filter(project=project, teacher__in=teachers).update(state="completed")


@pytest.fixture
def year_of_projects(province, users):
    """杞县: 8 active teachers (张三 and 7 more, one on leave besides); a high-end county project
    two of them completed, an ordinary one with one completion, a draft; a city project one
    杞县 and one 通许县 teacher attend; 通许县's own project; a project of another year."""
    teachers = [province.teacher, *(TeacherFactory(school=province.school) for _ in range(7))]
    TeacherFactory(school=province.school, status="leave")
    high = _project(users, "county_admin", province.county, "QX-H", level="county", high_end=True)
    plain = _project(users, "county_admin", province.county, "QX-P", level="county", category="all_staff")
    _project(users, "county_admin", province.county, "QX-D", level="county", state="draft")
    for teacher in teachers[:3]:
        enrol(scope=as_teacher(teacher), project_id=high.pk, teacher=teacher)
    for teacher in teachers[:2]:
        enrol(scope=as_teacher(teacher), project_id=plain.pk, teacher=teacher)
    _complete(high, teachers[:2])
    _complete(plain, teachers[:1])
    city = _project(users, "city_admin", province.city, "KF-1", level="city", category="master_teacher", high_end=True)
    enrol(scope=as_teacher(teachers[3]), project_id=city.pk, teacher=teachers[3])
    enrol(scope=as_teacher(province.sibling_teacher), project_id=city.pk, teacher=province.sibling_teacher)
    _complete(city, [teachers[3], province.sibling_teacher])
    _project(users, "sibling_admin", province.sibling, "TX-1", level="county")
    _project(users, "county_admin", province.county, "QX-OLD", level="county", starts_on=dt.date(2025, 10, 1))
    return {"teachers": teachers, "high": high, "plain": plain, "city": city}


def test_a_county_sees_its_projects_by_level_category_and_state(province, users, year_of_projects):
    overview = jurisdiction_overview(scope=scope_for_user(users["county_admin"]), division=province.county, year=2026)
    rows = {(r.level, r.category): r for r in overview.rows}
    assert set(rows) == {("county", "backbone"), ("county", "all_staff")}  # not 通许县's, not 2025's, not the city's
    backbone = rows["county", "backbone"]
    assert backbone.states == {"draft": 1, "open": 1, "closed": 0, "finished": 0} and backbone.projects == 2
    assert (backbone.seats, backbone.taken, backbone.admitted, backbone.completed) == (20, 3, 3, 2)
    assert backbone.completion_rate == 66.7
    assert (overview.total.projects, overview.total.admitted, overview.total.completed) == (3, 5, 3)
    assert overview.total.completion_rate == 60.0
    # The city's project, with 杞县's teachers only (通许县's completer is not counted).
    [outside] = overview.outside
    assert (outside.level, outside.category, outside.projects, outside.enrolees, outside.completed) == (
        "city", "master_teacher", 1, 1, 1)
    # High-end: two of eight active teachers completed the county's high-end project: 25 % ≥ 20 %.
    [own] = overview.high_end
    assert (own.name, own.level, own.teachers, own.completed, own.percent, own.target_percent) == (
        "杞县", "county", 8, 2, 25.0, 20)
    assert own.needed == 2 and own.met


def test_a_city_sees_itself_and_each_county_against_its_target(province, users, year_of_projects):
    overview = jurisdiction_overview(scope=scope_for_user(users["city_admin"]), division=province.city, year=2026)
    units = {u.name: u for u in overview.high_end}
    city, county, sibling = units["开封市"], units["杞县"], units["通许县"]
    assert city.is_own and (city.level, city.target_percent) == ("city", 7)
    # 10 active teachers in the city (杞县's 8, 通许县's 李四, 兰考县's 王五); 2 completed the city's high-end project.
    assert (city.teachers, city.completed, city.percent, city.needed, city.met) == (10, 2, 20.0, 1, True)
    assert (county.teachers, county.completed, county.target_percent) == (8, 2, 20)
    assert (sibling.teachers, sibling.completed, sibling.percent, sibling.met) == (1, 0, 0.0, False)
    assert {(r.level, r.category) for r in overview.rows} == {
        ("city", "master_teacher"), ("county", "backbone"), ("county", "all_staff")}
    assert overview.outside == []  # the province organised nothing this year


def test_the_overview_costs_the_same_queries_however_big(province, users, year_of_projects, django_assert_num_queries):
    scope = scope_for_user(users["city_admin"])
    # projects, enrolments, outside enrolments, the children, teachers by division, high-end completers
    with django_assert_num_queries(6):
        jurisdiction_overview(scope=scope, division=province.city, year=2026)
    for n in range(5):
        _project(users, "county_admin", province.county, f"QX-X{n}", level="county", category="ethics")
    with django_assert_num_queries(6):
        jurisdiction_overview(scope=scope, division=province.city, year=2026)


def test_the_page_shows_the_tables_and_charts(province, users, client_for, year_of_projects):
    client = client_for(users["county_admin"])
    body = client.get("/projects/overview/?year=2026").content.decode()
    assert "杞县 培训项目统计" in body and "骨干教师培训" in body and "全员培训" in body
    assert 'data-chart="chart-projects"' in body and "本辖区教师参加的其他单位项目" in body and "名师培训" in body
    assert "25.0%" in body and "通许县" not in body
    assert year_of_projects["teachers"][0].name not in body  # counts only
    assert "骨干教师培训" not in client.get("/projects/overview/?year=2024").content.decode()
    assert "骨干教师培训" in client.get("/projects/overview/").content.decode()  # the current year (2026 here)


def test_drilling_down_stays_inside_the_jurisdiction(province, users, client_for, year_of_projects):
    city = client_for(users["city_admin"])
    county = city.get("/projects/overview/?year=2026&division=410221").content.decode()
    assert "杞县 培训项目统计" in county and "回到本辖区" in county
    assert city.get("/projects/overview/?division=410225").status_code == 200  # 兰考县: the city may read it
    assert city.get("/projects/overview/?division=410305").status_code == 404  # 洛阳's 涧西区
    assert city.get("/projects/overview/?division=410000").status_code == 404  # the province above
    assert client_for(users["county_admin"]).get("/projects/overview/?division=410222").status_code == 404
    for who in ("school_admin", "teacher"):
        assert client_for(users[who]).get("/projects/overview/").status_code == 403


def test_the_export_is_audited_and_rate_limited(province, users, client_for, year_of_projects, settings):
    settings.EXPORT_MAX_PER_HOUR = 1
    client = client_for(users["county_admin"])
    response = client.get("/projects/overview/?year=2026&format=xlsx")
    assert response.status_code == 200 and ".xlsx" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "杞县 2026 年度培训项目统计"
    assert rows[1][0].startswith("范围：杞县　导出日期：") and "导出人：" in rows[1][0]
    assert rows[2][:3] == ["层级", "类别", "项目数"]
    assert [row[:1] for row in rows].count(["合计"]) == 1  # the total row, no longer blank-labelled
    assert ["县级", "骨干教师培训", 2, 1, 1, 0, 0, 20, 3, 3, 2, 66.7] in rows
    assert ["杞县", "县级", 8, 2, 25.0, 20, 2, "是"] in rows  # the high-end table
    event = AuditEvent.objects.dangerously_unscoped().get(action="catalog.overview_export", object_type="overview")
    assert event.object_id == "410221" and event.detail["year"] == 2026
    assert client.get("/projects/overview/?year=2026&format=xlsx").status_code == 429
    assert AuditEvent.objects.dangerously_unscoped().filter(object_type="overview").count() == 1
