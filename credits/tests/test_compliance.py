"""Compliance (issue 3 item 4): the set-based standings agree with the per-teacher
summary, the school snapshot rolls up to every level, and the pages, export and
API stay within the viewer's scope."""

import datetime as dt
import io
import random
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from access.scope import Scope
from audit.models import AuditEvent
from credits.compliance import compliance_refresh
from credits.compliance_selectors import division_rollup, school_standings
from credits.constants import Category
from credits.models import ComplianceRefresh, Cycle, CycleTotal, SchoolCompliance
from credits.selectors import rule_set_in_force, teacher_cycle_summary
from credits.services import ledger_entry_record, rule_set_revise
from credits.standing import teacher_standings
from people.constants import Status
from people.tests.factories import TeacherFactory

TODAY = dt.date(2026, 11, 28)


def _cycle() -> Cycle:
    return Cycle.objects.get(code="2026-2030")


def _give(teacher, cycle, category, approved, pending=Decimal(0)):
    CycleTotal.objects.dangerously_unscoped().update_or_create(teacher=teacher, cycle=cycle, category=category,
                                        defaults={"approved_hours": approved, "pending_hours": pending})


@pytest.mark.parametrize("seed", range(6))
def test_set_based_standings_agree_with_each_teachers_summary(province, users, seed):
    """Random hire dates, hours, caps, minimums and days: SQL and Python give the same verdicts."""
    rng = random.Random(seed)
    cycle = _cycle()
    limits = {c: (None, None) for c in Category.values}
    limits[Category.ONLINE] = (None, Decimal(rng.choice([60, 120, 180])))
    limits[Category.SCHOOL_BASED] = (Decimal(rng.choice([0, 30, 90])), None)
    rule_set_revise(actor=users["province_admin"], cycle=cycle, required_hours=rng.choice(["360", "360.5", "240"]),
                    hours_per_credit="10", category_limits=limits, note="随机规则")
    teachers = []
    for _ in range(25):
        hire = rng.choice([dt.date(2001, 9, 1), cycle.starts_on, cycle.starts_on + dt.timedelta(days=rng.randint(1, 1500)),
                           cycle.ends_on])
        teacher = TeacherFactory(school=province.school, hire_date=hire)
        for category in rng.sample(Category.values, rng.randint(0, 5)):
            _give(teacher, cycle, category, Decimal(rng.randint(0, 2400)) / 10, Decimal(rng.randint(0, 100)) / 10)
        teachers.append(teacher)
    today = rng.choice([cycle.starts_on, TODAY, cycle.ends_on, cycle.starts_on + dt.timedelta(days=rng.randint(0, 1826))])

    rows = {s.teacher_id: s for s in teacher_standings(
        cycle=cycle, rule_set=rule_set_in_force(cycle), today=today, where="t.school_id = %s",
        where_params=(province.school.pk,))}
    for teacher in [province.teacher, *teachers]:
        summary = teacher_cycle_summary(teacher=teacher, cycle=cycle, today=today)
        row = rows[teacher.pk]
        assert (row.required, row.counted, row.pending) == (summary.required, summary.counted, summary.pending)
        assert row.on_track == summary.on_track, (teacher.hire_date, today)
        assert row.complete == summary.complete
        assert row.percent == summary.percent


def test_snapshot_counts_each_active_teacher_once_and_rolls_up(province, users):
    cycle = _cycle()
    required = rule_set_in_force(cycle).required_hours
    done = TeacherFactory(school=province.school, hire_date=dt.date(2010, 9, 1))
    _give(done, cycle, Category.CENTRALISED, required)
    TeacherFactory(school=province.school, status=Status.RETIRED)  # not counted
    TeacherFactory(school=province.school, hire_date=TODAY + dt.timedelta(days=3000))  # hired after the cycle
    _give(province.sibling_teacher, cycle, Category.ONLINE, Decimal("12.5"), pending=Decimal(3))

    refresh = compliance_refresh(cycle=cycle, today=TODAY)

    assert refresh.teachers == 5  # 张三 + done in 杞县, 李四, 王五, 赵六
    county = SchoolCompliance.objects.dangerously_unscoped().get(cycle=cycle, school=province.school)
    assert (county.teachers, county.complete, county.counted_hours) == (2, 1, required)
    assert county.band_5 == 1 and county.band_0 == 1
    province_scope = Scope.division(province.province)
    total, children = division_rollup(scope=province_scope, cycle=cycle, division=province.city)
    assert total.teachers == 4 and total.complete == 1
    assert total.counted_hours == required + Decimal("12.5") and total.pending_hours == 3
    by_code = {row.code: row for row in children}
    assert by_code["410221"].teachers == 2 and by_code["410222"].online_hours == Decimal("12.5")
    assert by_code["410225"].teachers == 1  # the 省直管县 still sits under its city geographically
    assert sum(row.teachers for row in children) == total.teachers
    county_total, schools = division_rollup(scope=province_scope, cycle=cycle, division=province.county)
    assert [s.school_id for s in schools] == [province.school.pk] and county_total.teachers == 2
    province_total, cities = division_rollup(scope=province_scope, cycle=cycle, division=province.province)
    assert province_total.teachers == 5 and sum(c.teachers for c in cities) == 5


def test_a_refresh_replaces_the_previous_snapshot(province):
    cycle = _cycle()
    compliance_refresh(cycle=cycle, today=TODAY)
    ledger_entry_record(teacher=province.teacher, category=Category.CENTRALISED, hours=8, occurred_on=dt.date(2026, 3, 2),
                        source_type="project", source_id="p-1", today=TODAY)
    compliance_refresh(cycle=cycle, today=TODAY)
    assert SchoolCompliance.objects.dangerously_unscoped().filter(cycle=cycle, school=province.school).get().counted_hours == 8
    assert ComplianceRefresh.objects.filter(cycle=cycle).count() == 1


def test_school_standings_are_live_and_filter_the_behind(province):
    cycle = _cycle()
    ahead = TeacherFactory(school=province.school, name="钱七", hire_date=dt.date(2010, 1, 1))
    _give(ahead, cycle, Category.CENTRALISED, Decimal(300))
    everyone = school_standings(cycle=cycle, school=province.school, today=TODAY)
    behind = school_standings(cycle=cycle, school=province.school, behind_only=True, today=TODAY)
    assert [s.name for s in everyone] == ["张三", "钱七"]  # least done first
    assert [s.name for s in behind] == ["张三"]


# --- pages --------------------------------------------------------------------------------


def test_each_administrator_starts_at_their_own_level(province, users, client_for):
    assert client_for(users["county_admin"]).get("/credits/compliance/")["Location"] == "/credits/compliance/d/410221/"
    assert client_for(users["province_admin"]).get("/credits/compliance/")["Location"] == "/credits/compliance/d/410000/"
    assert client_for(users["school_admin"]).get("/credits/compliance/")["Location"] == f"/credits/compliance/s/{province.school.pk}/"
    assert client_for(users["teacher"]).get("/credits/compliance/").status_code == 403


def test_drill_down_from_province_to_teacher(province, users, client_for):
    _give(province.teacher, _cycle(), Category.ONLINE, Decimal(40))
    client = client_for(users["province_admin"])
    page = client.get("/credits/compliance/d/410000/").content.decode()
    assert "开封市" in page and "洛阳市" in page and "chart-on-track" in page
    page = client.get("/credits/compliance/d/410200/").content.decode()
    assert "杞县" in page and "兰考县" in page and 'href="/credits/compliance/d/410221/' in page
    page = client.get("/credits/compliance/d/410221/").content.decode()
    assert f'href="/credits/compliance/s/{province.school.pk}/' in page
    page = client.get(f"/credits/compliance/s/{province.school.pk}/").content.decode()
    assert "张三" in page and f'href="/credits/teachers/{province.teacher.pk}/' in page


@pytest.mark.parametrize(("who", "code", "status"), [
    ("sibling_admin", "410221", 404),  # the next county
    ("county_admin", "410200", 404),  # upwards
    ("other_city_admin", "410221", 404),
    ("city_admin", "410225", 200),  # reads its 省直管县
    ("school_admin", "410221", 404),  # a school reads only its own school
    ("county_admin", "999999", 404),
    ("county_admin", "410221", 200),
])
def test_division_pages_keep_to_the_viewers_jurisdiction(users, client_for, who, code, status):
    assert client_for(users[who]).get(f"/credits/compliance/d/{code}/").status_code == status


@pytest.mark.parametrize(("who", "school", "status"), [
    ("sibling_admin", "school", 404), ("other_city_admin", "school", 404), ("school_admin", "sibling_school", 404),
    ("school_admin", "school", 200), ("city_admin", "direct_school", 200), ("county_admin", "school", 200),
])
def test_school_pages_keep_to_the_viewers_jurisdiction(province, users, client_for, who, school, status):
    school_id = getattr(province, school).pk
    assert client_for(users[who]).get(f"/credits/compliance/s/{school_id}/").status_code == status


def test_division_page_queries_do_not_grow_with_children(province, users, client_for, django_assert_max_num_queries):
    for n in range(6):
        TeacherFactory(school=province.school)
        TeacherFactory(school=province.sibling_school)
        del n
    client = client_for(users["province_admin"])
    client.get("/credits/compliance/d/410000/")  # builds the snapshot
    with django_assert_max_num_queries(14):
        assert client.get("/credits/compliance/d/410000/").status_code == 200


def test_export_is_an_excel_of_the_list_and_is_logged(province, users, client_for):
    _give(province.teacher, _cycle(), Category.ONLINE, Decimal("40.5"))
    client = client_for(users["city_admin"])
    response = client.get("/credits/compliance/d/410200/?format=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "开封市 2026-2030 周期教师培训学时达标统计"
    assert rows[1][0].startswith("范围：开封市　导出日期：")
    assert rows[2][:3] == ("名称", "代码", "在岗教师")
    assert sheet.freeze_panes == "A4" and sheet["A3"].font.b
    by_name = {row[0]: row for row in rows[3:]}
    assert by_name["杞县"][2] == 1 and Decimal(str(by_name["杞县"][10])) == Decimal("40.5")
    assert sheet.cell(row=4, column=11).number_format == "0.0"
    assert rows[-1][0] == "合计" and rows[-1][2] == 3  # the division's own total, labelled as such
    assert "开封市" not in by_name
    event = AuditEvent.objects.dangerously_unscoped().filter(action="credits.compliance_export").get()
    assert event.actor_id == users["city_admin"].pk and event.detail["rows"] == len(rows) - 3  # title, scope line, header

    response = client.get(f"/credits/compliance/s/{province.school.pk}/?format=xlsx")
    rows = list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True))
    assert rows[3][1] == "张三"
    assert AuditEvent.objects.dangerously_unscoped().filter(action="credits.compliance_export").count() == 2


def test_refresh_button_rebuilds_the_snapshot(province, users, client_for):
    client = client_for(users["county_admin"])
    client.get("/credits/compliance/d/410221/")
    _give(province.teacher, _cycle(), Category.ONLINE, Decimal(9))
    from django.core.cache import cache
    cache.clear()  # the refresh lock of the first build
    assert client.post("/credits/compliance/d/410221/").status_code == 302
    assert SchoolCompliance.objects.dangerously_unscoped().get(school=province.school, cycle=_cycle()).counted_hours == 9


# --- API ----------------------------------------------------------------------------------


def test_api_rolls_up_a_division_and_its_children(province, users, client_for):
    _give(province.teacher, _cycle(), Category.ONLINE, Decimal(20))
    body = client_for(users["city_admin"]).get("/api/v1/compliance?division=410200").json()
    assert body["division"]["code"] == "410200" and body["cycle"] == "2026-2030"
    assert body["total"]["teachers"] == 3 and body["total"]["counted_hours"] == 20
    assert {c["code"] for c in body["children"]} >= {"410221", "410222", "410225"}
    assert {c["kind"] for c in body["children"]} == {"division"}
    county = client_for(users["county_admin"]).get("/api/v1/compliance?division=410221").json()
    assert county["children"] == [{**county["children"][0], "kind": "school", "code": "4102210001"}]


@pytest.mark.parametrize(("who", "code", "status"), [
    ("sibling_admin", "410221", 404), ("county_admin", "410000", 404), ("teacher", "410221", 403),
    ("county_admin", "nonsense", 404), ("county_admin", "410221", 200),
])
def test_api_compliance_keeps_to_the_jurisdiction(users, client_for, who, code, status):
    assert client_for(users[who]).get(f"/api/v1/compliance?division={code}").status_code == status


def test_rollup_command_rebuilds_every_cycle(province, capsys):
    import json

    from django.core.management import call_command

    _give(province.teacher, _cycle(), Category.ONLINE, Decimal(7))
    call_command("credits", "rollup")
    report = {row["cycle"]: row for row in json.loads(capsys.readouterr().out)}
    assert report["2026-2030"]["teachers"] == 4
    assert SchoolCompliance.objects.dangerously_unscoped().get(cycle=_cycle(), school=province.school).online_hours == 7
