"""Targets, progress and projections, the baseline freeze, rate versions and allocations: the
services, the pages and the API, and who may do what."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from access.errors import Forbidden, NotVisible
from access.scope import Scope, scope_for_user
from audit.models import AuditEvent
from catalog.models import AnnualPlan, Enrolment, Project
from credits.models import Cycle
from people.tests.factories import TeacherFactory
from quotas import target_selectors as selectors
from quotas import targets as services
from quotas.progress import completions_record
from quotas.target_models import Allocation, AllocationShare, TargetBaseline, TargetRate

TODAY = dt.date(2027, 1, 1)


def _project(code, organiser, *, level, high_end=True, ends_on=dt.date(2026, 6, 30), seats=50, plan=None):
    return Project.objects.create(
        code=code, title=f"高端研修{code}", level=level, category="backbone", mode="centralised", organiser=organiser,
        division_path=organiser.path, seats=seats, hours=40, hour_category="centralised", is_high_end=high_end,
        starts_on=ends_on - dt.timedelta(days=5), ends_on=ends_on, state="open", plan=plan)


def _complete(project, teachers):
    """Completed enrolments made directly, then recorded as judging completion records them."""
    rows = [Enrolment.objects.create(project=project, teacher=teacher, state="completed") for teacher in teachers]
    completions_record([row.pk for row in rows])


@pytest.fixture
def world(province):
    p = province
    # 杞县 10 teachers (incl. 张三), 通许县 5, 兰考县 (省直管县) 4, 涧西区 (洛阳) 3: province 22.
    qx = [p.teacher] + [TeacherFactory(school=p.school) for _ in range(9)]
    tx = [p.sibling_teacher] + [TeacherFactory(school=p.sibling_school) for _ in range(4)]
    lk = [p.direct_teacher] + [TeacherFactory(school=p.direct_school) for _ in range(3)]
    [TeacherFactory(school=p.other_city_school) for _ in range(2)]
    return {"qx": qx, "tx": tx, "lk": lk}


def _row(view, code):
    return next(r for r in view.rows if r.code == code)


def test_areas_targets_and_progress(province, world):
    p = province
    cycle = Cycle.objects.get(code="2026-2030")
    county = _project("QX-H1", p.county, level="county")
    _complete(county, world["qx"][:3])
    again = _project("QX-H2", p.county, level="county", ends_on=dt.date(2026, 9, 1))
    _complete(again, world["qx"][:2])  # the same teachers again: counted once per level and cycle
    _complete(_project("QX-N", p.county, level="county", high_end=False), world["qx"][3:6])  # not high-end
    _complete(_project("QX-OLD", p.county, level="county", ends_on=dt.date(2025, 6, 1)), world["qx"][6:8])  # last cycle
    _complete(_project("KF-H", p.city, level="city"), [*world["qx"][:1], *world["tx"][:2], *world["lk"][:2]])
    view = selectors.targets_view(Scope.division(p.city), p.city, cycle, TODAY)
    city = _row(view, "410200")
    # The city's area leaves out 兰考县 (省直管县): 10 + 5 teachers; 7 % → ceil(1.05) = 2.
    assert (city.teachers, city.target, city.completed, city.frozen) == (15, 2, 3, False)
    qx = _row(view, "410221")
    assert (qx.teachers, qx.target, qx.completed) == (10, 2, 3)
    lk = _row(view, "410225")
    assert (lk.teachers, lk.target, lk.completed) == (4, 1, 0) and lk.read_only
    assert not qx.read_only
    province_view = selectors.targets_view(Scope.division(p.province), p.province, cycle, TODAY)
    own = province_view.own
    assert own is not None and (own.teachers, own.target) == (22, 1)  # 4 % of 22 → ceil(0.88)
    # 兰考县 reports its county task to the province: listed there beside the cities, writable there.
    direct = _row(province_view, "410225")
    assert (direct.level, direct.teachers, direct.target) == ("county", 4, 1) and not direct.read_only


def test_projections_and_the_at_risk_flag(province, world):
    p = province
    cycle = Cycle.objects.get(code="2026-2030")
    _complete(_project("TX-H", p.sibling, level="county"), world["tx"][:1])
    plan = AnnualPlan.objects.create(division=p.sibling, level="county", year=2027, state="approved",
                                     division_path=p.sibling.path, review_path=p.city.path)
    _project("TX-PLAN", p.sibling, level="county", ends_on=dt.date(2027, 6, 1), seats=30, plan=plan)
    view = selectors.targets_view(Scope.division(p.sibling), p.sibling, cycle, TODAY)
    row = view.own
    assert row is not None and row.target == 1 and row.completed == 1 and not row.at_risk
    assert row.open_seats == 30 and row.planned == 5  # capped at the area's 5 teachers
    assert row.pace == min(5, int(1 / selectors.elapsed_share(cycle, TODAY)))
    view = selectors.targets_view(Scope.division(p.county), p.county, cycle, TODAY)
    assert view.own.target == 2 and view.own.completed == 0 and view.own.at_risk  # type: ignore[union-attr]
    assert [s.school.code for s in view.schools] == ["4102210001"] and view.schools[0].teachers == 10


def test_the_page_costs_a_fixed_number_of_queries(province, world, users, client_for, django_assert_max_num_queries):
    client = client_for(users["province_admin"])
    client.get("/quotas/targets/")  # warm the session
    with django_assert_max_num_queries(16):
        response = client.get("/quotas/targets/?division=410200")
    body = response.content.decode()
    assert response.status_code == 200 and "通许县" in body and "实时" in body and "chart-targets" in body
    for n in range(8):  # more divisions' data, same query count
        TeacherFactory(school=province.sibling_school)
        _complete(_project(f"TX-{n}", province.sibling, level="county"), world["tx"][:1])
    with django_assert_max_num_queries(16):
        assert client.get("/quotas/targets/?division=410200").status_code == 200


def test_freeze_is_the_provinces_idempotent_and_audited(province, world, users):
    p = province
    with pytest.raises(Forbidden):
        services.baseline_freeze(scope=scope_for_user(users["city_admin"]), actor=users["city_admin"])
    admin = users["province_admin"]
    summary = services.baseline_freeze(scope=scope_for_user(admin), actor=admin, cycle_code="2026-2030", today=TODAY)
    assert summary["frozen"] == TargetBaseline.objects.dangerously_unscoped().count() > 5
    frozen = dict(TargetBaseline.objects.dangerously_unscoped().values_list("division__code", "teachers"))
    assert frozen["410000"] == 22 and frozen["410200"] == 15 and frozen["410225"] == 4
    again = services.baseline_freeze(scope=scope_for_user(admin), actor=admin, cycle_code="2026-2030", today=TODAY)
    assert again["frozen"] == 0 and again["already"] == summary["frozen"]
    assert AuditEvent.objects.dangerously_unscoped().filter(action="quotas.baseline").count() == 2
    TeacherFactory(school=p.school)  # a teacher hired after the freeze does not move the target
    view = selectors.targets_view(Scope.division(p.county), p.county, Cycle.objects.get(code="2026-2030"), TODAY)
    assert view.own.teachers == 10 and view.own.frozen  # type: ignore[union-attr]
    row = services.allocation_create(scope=scope_for_user(admin), actor=admin, division_code="", year=2027, total=5)
    assert row.shares.get(child_code="410200").teachers == 15  # the frozen count, not today's 16


def test_rate_versions(province, users, client_for):
    admin = users["province_admin"]
    assert services.may_set_rates(scope_for_user(admin)) and not services.may_set_rates(scope_for_user(users["city_admin"]))
    row = services.rate_add(scope=scope_for_user(admin), actor=admin, level="county", percent="25",
                            effective_from="2031-01-01")
    assert row.version == 2 and TargetRate.objects.dangerously_unscoped().filter(level="county").count() == 2
    current = Cycle.objects.get(code="2026-2030")
    assert selectors.rates_in_force(scope_for_user(admin), current)["county"].percent == Decimal("20")
    with pytest.raises(ValidationError):
        services.rate_add(scope=scope_for_user(admin), actor=admin, level="county", percent="0", effective_from="x")
    response = client_for(users["city_admin"]).post("/quotas/targets/rates/", {"level": "city", "percent": "8",
                                                                                 "effective_from": "2031-01-01"})
    assert response.status_code == 403
    client = client_for(admin)
    response = client.post("/quotas/targets/rates/", {"level": "city", "percent": "-1", "effective_from": "2031-01-01"})
    assert response.status_code == 422 and "比例应为大于0" in response.content.decode()
    response = client.post("/api/v1/quotas/rates", {"level": "town", "percent": "5", "effective_from": "2031-01-01"},
                           content_type="application/json")
    assert response.status_code == 422 and "level" in response.json()["errors"]
    assert TargetRate.objects.dangerously_unscoped().count() == 4


def test_allocation_down_the_hierarchy_with_a_monotone_top_up(province, world, users, client_for):
    admin = users["province_admin"]
    scope = scope_for_user(admin)
    first = services.allocation_create(scope=scope, actor=admin, division_code="", year=2027, total=10)
    shares = dict(first.shares.values_list("child_code", "seats"))
    assert "410225" in shares and "410200" in shares and sum(shares.values()) == 10  # 兰考县 under the province
    kf = first.shares.get(child_code="410200")
    assert kf.teachers == 15 and kf.weight == 15
    second = services.allocation_create(scope=scope, actor=admin, division_code="", year=2027, total=13)
    assert second.version == 2 and second.method == "top_up" and second.supersedes_id == first.pk
    new = dict(second.shares.values_list("child_code", "seats"))
    assert all(new[code] >= seats for code, seats in shares.items()) and sum(new.values()) == 13
    first.refresh_from_db()
    assert not first.is_current and second.is_current
    # The city allocates to its counties, never to 兰考县; and never for 兰考县.
    city = users["city_admin"]
    mine = services.allocation_create(scope=scope_for_user(city), actor=city, division_code="410200", year=2027,
                                      total=3, weights={"410221": 1, "410222": 2})
    given = dict(mine.shares.values_list("child_code", "seats"))
    assert "410225" not in given and given["410221"] == 1 and given["410222"] == 2 and sum(given.values()) == 3
    with pytest.raises(Forbidden):
        services.allocation_create(scope=scope_for_user(city), actor=city, division_code="410225", year=2027, total=1)
    county = users["county_admin"]
    school = services.allocation_create(scope=scope_for_user(county), actor=county, division_code="", year=2027, total=2)
    assert list(school.shares.values_list("child_code", "seats")) == [("4102210001", 2)]
    assert AuditEvent.objects.dangerously_unscoped().filter(action="quotas.allocate").count() == 4
    # The school administrator sees their school's seats, not the county's other rows; teachers nothing.
    client = client_for(users["school_admin"])
    assert "4102210001" in client.get("/quotas/allocations/").content.decode()
    body = client.get(f"/api/v1/quotas/allocations/{mine.pk}").json()
    assert body["shares"] == []
    assert client_for(users["teacher"]).get("/quotas/allocations/").status_code == 403
    # 杞县 sees what the city gave it, not 通许县's share.
    body = client_for(county).get(f"/api/v1/quotas/allocations/{mine.pk}").json()
    assert [s["code"] for s in body["shares"]] == ["410221"]


@pytest.mark.parametrize(("payload", "field"), [
    ({"total": 0}, "total"), ({"total": -2}, "total"), ({"total": 5, "weights": {"410221": 0, "410222": 0}}, "weights"),
    ({"total": 5, "weights": {"410221": -1, "410222": 3}}, "weights"),
    ({"total": 5, "weights": {"410221": 1, "410305": 3}}, "weights"),  # a child not below the city
    ({"total": 500}, "total"),  # far above the children's 15 teachers
])
def test_bad_allocations_are_422_and_write_nothing(province, world, users, client_for, payload, field):
    client = client_for(users["city_admin"])
    response = client.post("/api/v1/quotas/allocations", {"division": "410200", "year": 2027, **payload},
                           content_type="application/json")
    assert response.status_code == 422 and field in response.json()["errors"]
    assert Allocation.objects.dangerously_unscoped().count() == 0 == AllocationShare.objects.dangerously_unscoped().count()
    if "410305" in payload.get("weights", {}):
        return  # the page's form only has fields for the city's own counties
    page = client.post("/quotas/allocations/new/", {"division": "410200", "year": "2027", "total": str(payload["total"]),
                                                    "basis": "weights" if "weights" in payload else "teachers",
                                                    **{f"w_{k}": v for k, v in payload.get("weights", {}).items()}})
    assert page.status_code == 422 and Allocation.objects.dangerously_unscoped().count() == 0


def test_pages_api_and_export(province, world, users, client_for):
    form = client_for(users["county_admin"]).get("/quotas/allocations/new/").content.decode()
    assert "杞县第一小学" in form and 'name="w_4102210001"' in form
    assert client_for(users["city_admin"]).get("/quotas/allocations/new/?division=410225").status_code == 403
    client = client_for(users["city_admin"])
    form = client.get("/quotas/allocations/new/").content.decode()
    assert "通许县" in form and "兰考县" not in form  # the 省直管县 is the province's to allocate
    response = client.post("/quotas/allocations/new/", {"division": "410200", "year": "2027", "total": "3",
                                                        "basis": "teachers"})
    assert response.status_code == 302
    detail = client.get(response["Location"]).content.decode()
    assert "余数排名" in detail and "杞县" in detail
    data = client.get("/api/v1/quotas/targets?division=410200").json()
    assert data["division"] == "410200" and {"410200", "410221", "410222", "410225"} <= {t["code"] for t in data["tasks"]}
    assert client.get("/api/v1/quotas/targets?division=410305").status_code == 404  # 洛阳's county
    assert client.get("/quotas/targets/?division=410305").status_code == 404
    export = client.get("/quotas/targets/?format=xlsx")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(b"".join(export.streaming_content))).active
    assert any("通许县" in str(cell) for row in sheet.iter_rows(values_only=True) for cell in row)
    assert AuditEvent.objects.dangerously_unscoped().filter(action="quotas.targets_export").count() == 1
    assert client_for(users["school_admin"]).get("/quotas/targets/").status_code == 403
    assert client_for(users["teacher"]).get("/api/v1/quotas/targets").status_code == 403
    with pytest.raises(NotVisible):
        selectors.division_for(scope_for_user(users["county_admin"]), "410222")


def test_the_freeze_command(province, world):
    from django.core.management import call_command

    out = io.StringIO()
    call_command("quotas", "freeze", "--cycle", "2026-2030", stdout=out)
    assert '"frozen"' in out.getvalue() and TargetBaseline.objects.dangerously_unscoped().exists()


def test_an_allocation_costs_a_fixed_number_of_queries(province, world, users, django_assert_max_num_queries):
    admin = users["province_admin"]
    scope = scope_for_user(admin)
    # whatever the number of children (18 cities and the 省直管县): a query per child would pass 36
    with django_assert_max_num_queries(26):  # (PostgreSQL: the audit chain's head lock and savepoints)
        row = services.allocation_create(scope=scope, actor=admin, division_code="", year=2027, total=10)
    assert row.shares.count() > 18
    with django_assert_max_num_queries(26):
        services.allocation_create(scope=scope, actor=admin, division_code="", year=2027, total=12)
