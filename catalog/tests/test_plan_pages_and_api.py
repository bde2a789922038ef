"""Annual plans through the pages and the API: draft, submit, review with overlaps,
approve; other jurisdictions get 404, teachers 403; list pages keep a fixed query count."""

import datetime as dt
import json

import pytest

from access.scope import scope_for_user
from catalog.constants import PlanState
from catalog.models import AnnualPlan, PlanConflict
from catalog.services import project_create
from catalog.tests.helpers import publish
from institutions.tests.helpers import accredited_institution


def _project(users, who, organiser, code, title, *, level=None, category="backbone"):
    return project_create(institution=accredited_institution(), scope=scope_for_user(users[who]), actor=users[who], code=code, title=title,
                          level=level or organiser.level, category=category, mode="blended", organiser=organiser,
                          starts_on=dt.date(2027, 4, 10), ends_on=dt.date(2027, 4, 20), seats=40, hours=24,
                          hour_category="centralised", outline="单元作业设计与分层作业", topics=["homework"], budget=12000)


@pytest.fixture
def overlap(province, users):
    city = _project(users, "city_admin", province.city, "C-1", "开封市初中数学骨干教师作业设计能力提升研修")
    publish(city)
    county = _project(users, "county_admin", province.county, "K-1", "杞县初中数学骨干教师作业设计能力提升培训")
    return city, county


def test_plan_from_draft_to_approval_on_the_pages(province, users, client_for, overlap):
    city, county = overlap
    planner = client_for(users["county_admin"])
    response = planner.post("/projects/plans/", {"year": "2027", "note": "全县骨干研修"})
    plan = AnnualPlan.objects.dangerously_unscoped().get()
    assert response["Location"] == f"/projects/plans/{plan.pk}/"
    page = planner.get(f"/projects/plans/{plan.pk}/").content.decode()
    assert "杞县初中数学骨干教师作业设计能力提升培训" in page and "报送上级审核" in page
    assert planner.post(f"/projects/plans/{plan.pk}/", {"action": "check"}).status_code == 302
    page = planner.get(f"/projects/plans/{plan.pk}/").content.decode()
    assert "开封市初中数学骨干教师作业设计能力提升研修" in page and "同为骨干教师培训" in page  # the planner sees it first
    planner.post(f"/projects/plans/{plan.pk}/", {"action": "submit"})
    assert AnnualPlan.objects.dangerously_unscoped().get().state == PlanState.SUBMITTED

    reviewer = client_for(users["city_admin"])
    listing = reviewer.get("/projects/plans/").content.decode()
    assert "待我审核" in listing and f"/projects/plans/{plan.pk}/" in listing
    page = reviewer.get(f"/projects/plans/{plan.pk}/").content.decode()
    assert "批准" in page and "已知悉上述 1 处疑似重复" in page
    reviewer.post(f"/projects/plans/{plan.pk}/", {"action": "approve"})  # without acknowledging: refused
    assert AnnualPlan.objects.dangerously_unscoped().get().state == PlanState.SUBMITTED
    reviewer.post(f"/projects/plans/{plan.pk}/", {"action": "approve", "acknowledge": "1", "note": "已协调"})
    assert AnnualPlan.objects.dangerously_unscoped().get().state == PlanState.APPROVED

    export = reviewer.get(f"/projects/plans/{plan.pk}/?format=xlsx")
    assert export.status_code == 200 and export["Content-Disposition"].startswith("attachment")
    import io

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(b"".join(export.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "杞县2027年度培训计划" and rows[1][0].startswith("范围：开封市")
    assert rows[2][:2] == ("项目编号", "项目名称") and sheet.freeze_panes == "A4"
    seats = [row[6] for row in rows[3:-1]]
    assert rows[-1][0] == "合计" and rows[-1][6] == sum(seats) and sheet.cell(len(rows), 7).number_format == "#,##0"


def test_a_returned_plan_shows_the_opinion_and_can_be_resubmitted(province, users, client_for, overlap):
    client = client_for(users["county_admin"])
    client.post("/projects/plans/", {"year": "2027"})
    plan = AnnualPlan.objects.dangerously_unscoped().get()
    client.post(f"/projects/plans/{plan.pk}/", {"action": "submit"})
    client_for(users["city_admin"]).post(f"/projects/plans/{plan.pk}/", {"action": "return", "note": "与市级项目重复，请调整"})
    client = client_for(users["county_admin"])
    page = client.get(f"/projects/plans/{plan.pk}/").content.decode()
    assert "已退回修改" in page and "与市级项目重复，请调整" in page
    client.post(f"/projects/plans/{plan.pk}/", {"action": "submit"})
    assert AnnualPlan.objects.dangerously_unscoped().get().state == PlanState.SUBMITTED


@pytest.mark.parametrize(("who", "status"), [
    ("sibling_admin", 404), ("other_city_admin", 404), ("school_admin", 404), ("teacher", 403),
])
def test_outsiders_cannot_see_or_act_on_a_plan(province, users, client_for, overlap, who, status):
    plan = AnnualPlan.objects.create(division=province.county, level="county", year=2027,
                                     division_path=province.county.path, note="杞县机密说明")
    client = client_for(users[who])
    response = client.get(f"/projects/plans/{plan.pk}/")
    assert response.status_code == status and "杞县机密说明" not in response.content.decode()
    assert client.post(f"/projects/plans/{plan.pk}/", {"action": "submit"}).status_code == status
    api = client.get(f"/api/v1/plans/{plan.pk}")
    assert api.status_code == 404 and "杞县机密说明" not in api.content.decode()
    assert client.post(f"/api/v1/plans/{plan.pk}/submit").status_code in (403, 404)
    assert "杞县机密说明" not in client.get("/api/v1/plans").content.decode()
    assert AnnualPlan.objects.dangerously_unscoped().get().state == PlanState.DRAFT


def test_the_api_runs_the_whole_plan(province, users, client_for, overlap):
    city, county = overlap
    client = client_for(users["county_admin"])
    created = client.post("/api/v1/plans", json.dumps({"year": 2027}), content_type="application/json")
    assert created.status_code == 201
    plan_id = created.json()["id"]
    again = client.post("/api/v1/plans", json.dumps({"year": 2027}), content_type="application/json")
    assert again.status_code == 422 and "year" in again.json()["errors"]
    removed = client.delete(f"/api/v1/plans/{plan_id}/projects/{county.pk}")
    assert removed.json()["project_ids"] == []
    added = client.post(f"/api/v1/plans/{plan_id}/projects", json.dumps({"project_ids": [county.pk]}),
                        content_type="application/json")
    assert added.json()["project_ids"] == [county.pk]
    foreign = client.post(f"/api/v1/plans/{plan_id}/projects", json.dumps({"project_ids": [city.pk]}),
                          content_type="application/json")
    assert foreign.status_code == 422
    submitted = client.post(f"/api/v1/plans/{plan_id}/submit").json()
    assert submitted["state"] == "submitted"
    (conflict,) = submitted["conflicts"]
    assert (conflict["project_id"], conflict["other_id"], conflict["other_organiser"]) == (county.pk, city.pk, "开封市")
    assert conflict["score"] >= 0.5 and conflict["reasons"]

    reviewer = client_for(users["city_admin"])
    assert [p["id"] for p in reviewer.get("/api/v1/plans?to_review=true").json()] == [plan_id]
    refused = reviewer.post(f"/api/v1/plans/{plan_id}/decision", json.dumps({"approve": True}),
                            content_type="application/json")
    assert refused.status_code == 422 and "conflicts" in refused.json()["errors"]
    approved = reviewer.post(f"/api/v1/plans/{plan_id}/decision",
                             json.dumps({"approve": True, "acknowledge_conflicts": True, "note": "已协调"}),
                             content_type="application/json")
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    self_review = client_for(users["county_admin"]).post(f"/api/v1/plans/{plan_id}/decision",
                                                         json.dumps({"approve": False, "note": "x"}),
                                                         content_type="application/json")
    assert self_review.status_code == 403
    assert PlanConflict.objects.dangerously_unscoped().count() == 1


def test_the_plan_list_page_keeps_its_query_count(province, users, client_for, django_assert_max_num_queries):
    from catalog.models import AnnualPlan

    for code in ("410221", "410222", "410225"):
        division = {"410221": province.county, "410222": province.sibling, "410225": province.direct}[code]
        AnnualPlan.objects.create(division=division, level="county", year=2027, division_path=division.path)
    client = client_for(users["city_admin"])
    client.get("/projects/plans/")  # warm the session and caches
    with django_assert_max_num_queries(12):
        page = client.get("/projects/plans/").content.decode()
    assert page.count("2027年度培训计划") == 3


def test_the_year_overlap_page_shows_pairs_of_the_jurisdiction_only(province, users, client_for, overlap):
    from catalog.plans import plan_create, plan_submit

    plan = plan_create(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], year=2027)
    plan_submit(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], plan_id=plan.pk)  # the county's project is now committed
    for who in ("city_admin", "county_admin", "province_admin"):
        page = client_for(users[who]).get("/projects/plans/overlaps/?year=2027").content.decode()
        assert "杞县初中数学骨干教师作业设计能力提升培训" in page and "开封市初中数学骨干教师作业设计能力提升研修" in page, who
    for who in ("other_city_admin", "sibling_admin"):
        page = client_for(users[who]).get("/projects/plans/overlaps/?year=2027").content.decode()
        assert "杞县初中数学" not in page and "未发现重叠项目" in page, who
    assert client_for(users["school_admin"]).get("/projects/plans/overlaps/").status_code == 403
