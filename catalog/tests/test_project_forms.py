"""The project form speaks the user's language: the audience and the implementing institution
are picked from lists (codes stay behind the scenes), the project code is generated, a new
project cannot start in the past, and the attendance grid shows its boxes and counts."""

import datetime as dt
import re

import pytest
import time_machine
from django.core.exceptions import ValidationError

from access.scope import scope_for_user
from catalog import services
from catalog.models import Attendance, Enrolment, Project
from catalog.services import project_create
from catalog.tests.helpers import publish
from institutions.tests.helpers import accredit, accredited_institution
from org.models import Division, Institution

TODAY = dt.datetime(2026, 11, 28, 10, 0)


def _form(**extra):
    return {"title": "杞县小学数学骨干教师研修", "level": "county", "category": "backbone", "mode": "centralised",
            "starts_on": "2026-12-01", "ends_on": "2026-12-02", "seats": 5, "hours": "16",
            "hour_category": "centralised", "budget": "0", "needs_approval": "on", **extra}


def _projects():
    return Project.objects.dangerously_unscoped()


@time_machine.travel(TODAY, tick=False)
def test_the_new_page_offers_lists_not_codes(users, client_for):
    accredited = accredited_institution()
    lapsed = Institution.objects.create(code="LAPSED-1", name="甲培训学校", kind="training_institution",
                                        division=Division.objects.get(code="410000"))
    accredit(lapsed, state="expired")
    page = client_for(users["county_admin"]).get("/projects/new/").content.decode()
    assert "逗号分隔" not in page and 'name="code"' not in page
    assert re.search(r'<input type="checkbox" name="stages" value="primary"[^>]*>\s*小学', page)
    assert re.search(r'name="subjects" value="math"[^>]*>\s*数学', page)
    assert re.search(r'name="titles" value="senior"[^>]*>\s*高级教师', page)
    assert re.search(r'name="honours" value="backbone"[^>]*>\s*骨干教师', page)
    assert 'name="divisions"' not in page  # a county's project serves the county: no region to pick
    # Accredited institutions first, marked; the lapsed one after them.
    first, second = page.index(f'value="{accredited.pk}"'), page.index(f'value="{lapsed.pk}"')
    assert first < second
    assert "省示范教师培训中心（准入有效）" in page and "甲培训学校（准入有效）" not in page
    assert '<optgroup label="持有有效准入">' in page


@time_machine.travel(TODAY, tick=False)
def test_regions_are_the_jurisdiction_grouped_by_city(users, client_for):
    city_page = client_for(users["city_admin"]).get("/projects/new/").content.decode()
    options = dict(re.findall(r'<option value="(41\d{4})"[^>]*>([^<]+)</option>', city_page))
    assert options["410221"] == "杞县" and options["410222"] == "通许县"
    assert "410225" not in options  # 兰考县 (省直管县) is planned by the province, not the city
    assert "410305" not in options and "410200" not in options
    province_page = client_for(users["province_admin"]).get("/projects/new/").content.decode()
    assert province_page.count("<optgroup") >= 18
    kaifeng = province_page[province_page.index('<optgroup label="开封市">'):]
    kaifeng = kaifeng[:kaifeng.index("</optgroup>")]
    assert "开封市（全市）" in kaifeng and ">杞县<" in kaifeng and ">兰考县<" in kaifeng


@time_machine.travel(TODAY, tick=False)
def test_a_picked_audience_is_stored_as_codes(users, client_for, province):
    institution = accredited_institution()
    client = client_for(users["city_admin"])
    response = client.post("/projects/new/", _form(
        level="city", stages=["primary", "junior"], subjects=["math"], titles=["first"], honours=["backbone"],
        divisions=["410221"], new_teachers="on", institution=institution.pk))
    assert response.status_code == 302, response.content.decode()
    project = _projects().get(title="杞县小学数学骨干教师研修")
    assert project.audience == {"stages": ["primary", "junior"], "subjects": ["math"], "titles": ["first"],
                                "honours": ["backbone"], "divisions": ["410221"], "new_teachers": True}
    assert project.institution == institution
    # Another city's county is not on the list: refused in Chinese next to the field.
    bad = client.post("/projects/new/", _form(level="city", divisions=["410305"]))
    assert bad.status_code == 422
    assert re.search(r'id="divisions-error">[^<]*(选择一个有效的选项|有效)', bad.content.decode())


@time_machine.travel(TODAY, tick=False)
def test_codes_are_generated_per_organiser_and_year(users, client_for, province):
    client = client_for(users["county_admin"])
    for title in ("一期", "二期"):
        assert client.post("/projects/new/", _form(title=title)).status_code == 302
    client.post("/projects/new/", _form(title="明年", starts_on="2027-03-01", ends_on="2027-03-02"))
    codes = dict(_projects().values_list("title", "code"))
    assert codes == {"一期": "410221-2026-001", "二期": "410221-2026-002", "明年": "410221-2027-001"}
    # Another county numbers its own projects from 1.
    client_for(users["sibling_admin"]).post("/projects/new/", _form(title="通许一期"))
    assert _projects().get(title="通许一期").code == "410222-2026-001"
    # Shown read-only on edit; a posted code changes nothing.
    project = _projects().get(title="一期")
    client = client_for(users["county_admin"])
    page = client.get(f"/projects/{project.pk}/edit/").content.decode()
    assert re.search(r'value="410221-2026-001" readonly', page)
    client.post(f"/projects/{project.pk}/edit/", {**_form(title="一期"), "code": "X-1", "min_attendance_percent": 80})
    project.refresh_from_db()
    assert project.code == "410221-2026-001"


@time_machine.travel(TODAY, tick=False)
def test_a_lost_race_for_a_code_takes_the_next(users, province, monkeypatch):
    scope = scope_for_user(users["county_admin"])
    values = dict(scope=scope, actor=users["county_admin"], title="t", level="county", category="topic",
                  mode="online", organiser=province.county, starts_on=dt.date(2026, 12, 1),
                  ends_on=dt.date(2026, 12, 2), seats=5, hours=8, hour_category="online")
    first = project_create(code="", **values)
    real = services.next_project_code
    calls = []

    def stale(**kwargs):  # the first answer was computed before a concurrent create committed
        calls.append(1)
        return first.code if len(calls) == 1 else real(**kwargs)

    monkeypatch.setattr(services, "next_project_code", stale)
    second = project_create(code="", **values)
    assert (first.code, second.code, len(calls)) == ("410221-2026-001", "410221-2026-002", 2)
    with pytest.raises(ValidationError, match="本单位已有该项目编号"):
        project_create(code="410221-2026-001", **values)  # a typed code is the user's to change


@time_machine.travel(TODAY, tick=False)
def test_a_new_project_may_not_start_in_the_past_an_old_one_keeps_its_dates(users, client_for, province):
    client = client_for(users["county_admin"])
    bad = client.post("/projects/new/", _form(starts_on="2026-11-27"))
    assert bad.status_code == 422
    assert re.search(r'id="starts_on-error">开始日期不能早于今天<', bad.content.decode())
    assert not _projects().exists()
    # The API: same rule; without a code one is generated, a given code is kept.
    api = {"title": "API", "level": "county", "category": "topic", "mode": "online", "starts_on": "2026-11-27",
           "ends_on": "2026-12-02", "seats": 5, "hours": 8, "hour_category": "online"}
    refused = client.post("/api/v1/projects", api, content_type="application/json")
    assert refused.status_code == 422 and refused.json()["errors"] == {"starts_on": ["开始日期不能早于今天"]}
    made = client.post("/api/v1/projects", {**api, "starts_on": "2026-11-28"}, content_type="application/json")
    assert made.status_code == 201 and made.json()["code"] == "410221-2026-001"
    typed = client.post("/api/v1/projects", {**api, "starts_on": "2026-11-28", "code": "QX-OLD-7"},
                        content_type="application/json")
    assert typed.status_code == 201 and typed.json()["code"] == "QX-OLD-7"
    # Days later the project has started: editing it keeps its (now past) start date.
    project = _projects().get(code="QX-OLD-7")
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0), tick=False):
        client = client_for(users["county_admin"])
        edited = client.post(f"/projects/{project.pk}/edit/", {
            **_form(title="改名", starts_on="2026-11-28", ends_on="2026-12-02", mode="online", category="topic",
                    hours="8", hour_category="online"), "min_attendance_percent": 80})
        assert edited.status_code == 302, edited.content.decode()
    project.refresh_from_db()
    assert project.title == "改名" and project.starts_on == dt.date(2026, 11, 28)


@time_machine.travel(TODAY, tick=False)
def test_the_attendance_grid_marks_by_column_and_counts(users, client_for, province, django_assert_max_num_queries):
    from people.tests.factories import TeacherFactory

    client = client_for(users["county_admin"])
    client.post("/projects/new/", _form(institution=accredited_institution().pk, self_enrolment="on"))
    project = _projects().get()
    publish(project)
    others = [TeacherFactory(school=province.school, name=f"学员{n}") for n in range(3)]
    enrolments = [Enrolment.objects.create(project=project, teacher=t, state="enrolled")
                  for t in (province.teacher, *others)]
    for day in ("2026-12-01", "2026-12-02"):
        client.post(f"/projects/{project.pk}/manage/", {"action": "session", "title": "课堂教学", "held_on": day})
    first, second = project.sessions.order_by("number")
    with django_assert_max_num_queries(40):
        page = client.get(f"/projects/{project.pk}/manage/").content.decode()
    assert page.count('type="checkbox" name="mark"') == 8  # four admitted × two sessions, not hidden in <details>
    assert '<details>' not in page[page.index("场次与考勤"):page.index("授课安排")]
    assert "第1场 课堂教学" in page and "第1场 第1场" not in page
    assert "0 / 4 人" in page and f'data-session="{first.pk}" aria-label="第1场全选"' in page
    client.post(f"/projects/{project.pk}/manage/", {"action": "attendance",
                                                    "mark": [f"{first.pk}-{enrolments[0].pk}", f"{second.pk}-{enrolments[1].pk}"]})
    client.post(f"/projects/{project.pk}/manage/", {"action": "attendance", "all_present": second.pk})
    marked = set(Attendance.objects.dangerously_unscoped().values_list("session_id", "enrolment_id"))
    assert marked == {(first.pk, enrolments[0].pk), *((second.pk, e.pk) for e in enrolments)}
    page = client.get(f"/projects/{project.pk}/manage/").content.decode()
    assert "1 / 4 人" in page and "4 / 4 人" in page
    assert page.count("checked disabled") == 5
    empty = client.post(f"/projects/{project.pk}/manage/", {"action": "attendance"}, follow=True)
    assert "请先勾选出勤的学员" in empty.content.decode()


def test_overlap_reasons_name_values_in_words(province):
    from catalog.conflicts import audiences_meet, readable_reason

    a = Project(audience={"stages": ["primary", "junior"], "subjects": ["math"], "titles": ["first"],
                          "honours": ["backbone"], "divisions": ["410221"]}, division_path=province.city.path)
    b = Project(audience={"stages": ["primary"], "subjects": ["math", "chinese"], "titles": ["first"],
                          "honours": ["backbone"]}, division_path=province.county.path)
    shared = audiences_meet(a, b, {"410221": province.county.path}, {"410221": "杞县"})
    assert shared == ["学段：小学", "学科：数学", "职称：一级教师", "荣誉：骨干教师", "地区：杞县"]
    # Reasons stored by an older check are shown in words too.
    assert readable_reason("培训对象交叉（学段：primary、junior；学科：math）") == "培训对象交叉（学段：小学、初中；学科：数学）"


@pytest.mark.parametrize(("title", "label"), [("课堂观察", "第4场 课堂观察"), ("第4场：课堂观察", "第4场 课堂观察"),
                                              ("第4场", "第4场"), ("第40场：复盘", "第4场 第40场：复盘")])
def test_a_session_is_numbered_once(title, label):
    from catalog.models import ProjectSession

    assert ProjectSession(number=4, title=title).label == label
