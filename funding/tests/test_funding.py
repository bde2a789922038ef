"""Training funding: the figures and their rules, compliance, who sees and enters what, the pages,
the API, the imports and the exports."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from openpyxl import Workbook, load_workbook

from access.errors import Forbidden, NotVisible
from access.scope import scope_for_user
from audit.models import AuditEvent
from catalog.models import Project
from funding import selectors, services
from funding.models import DivisionFunding, ProjectSpend, SchoolFunding, TrainingBudget
from org.models import School

YEAR = 2026
TODAY = dt.date(2026, 11, 28)
PDF = b"%PDF-1.4\n%test\n"


def _scope(user):
    return scope_for_user(user)


def _audits(action: str) -> int:
    return AuditEvent.objects.dangerously_unscoped().filter(action=action).count()


def _project(division, code: str, budget: str, *, starts_on=dt.date(YEAR, 5, 1), school=None) -> Project:
    return Project.objects.create(
        code=code, title=f"项目{code}", level="county", category="backbone", mode="online", organiser=division,
        organiser_school=school, division_path=school.division_path if school else division.path, seats=10,
        hours=12, hour_category="online", starts_on=starts_on, ends_on=starts_on + dt.timedelta(days=3),
        budget=Decimal(budget), state="open")


@pytest.fixture
def funded(province, users):
    """杞县: payroll ¥100,000,000 at 2 % (¥2,000,000 required); ¥1,500,000 direct + ¥300,000 of its
    projects (a school's project and next year's do not count) → short by ¥200,000. Its first school
    meets 5 %, a second falls short; 通许县 meets its ratio; 兰考县 (省直管县) has figures too."""
    p, county = province, _scope(users["county_admin"])
    services.payroll_set(scope=county, actor=users["county_admin"], division=p.county, year=YEAR,
                         payroll="100000000")
    services.ratio_commit(scope=county, actor=users["county_admin"], division=p.county, year=YEAR, ratio_percent="2")
    services.budget_add(scope=county, actor=users["county_admin"], division=p.county, year=YEAR, amount="1500000",
                        purpose="教师培训专项")
    _project(p.county, "QX-1", "300000")
    _project(p.county, "QX-NEXT", "999999", starts_on=dt.date(YEAR + 1, 2, 1))
    _project(p.county, "QX-SCH", "888888", school=p.school)
    second = School.objects.create(code="4102210002", name="杞县第二小学", division=p.county)
    services.school_funding_set(scope=_scope(users["school_admin"]), actor=users["school_admin"], school=p.school,
                                year=YEAR, public_budget="1000000", training_budget="60000")
    services.school_funding_set(scope=county, actor=users["county_admin"], school=second, year=YEAR,
                                public_budget="2000000", training_budget="40000")
    sibling = _scope(users["sibling_admin"])
    services.payroll_set(scope=sibling, actor=users["sibling_admin"], division=p.sibling, year=YEAR, payroll="50000000")
    services.budget_add(scope=sibling, actor=users["sibling_admin"], division=p.sibling, year=YEAR, amount="800000",
                        purpose="通许县培训")
    direct = _scope(users["direct_admin"])
    services.payroll_set(scope=direct, actor=users["direct_admin"], division=p.direct, year=YEAR, payroll="40000000")
    services.ratio_commit(scope=direct, actor=users["direct_admin"], division=p.direct, year=YEAR,
                          ratio_percent="2.5")
    return {"second": second}


# --- rules of the figures ------------------------------------------------------------------------------

def test_compliance_of_a_county_counts_direct_budgets_and_its_own_projects_of_the_year(province, users, funded):
    rows = selectors.division_rows(scope=_scope(users["province_admin"]),
                                   divisions=type(province.county).objects.filter(pk__in=[province.county.pk,
                                                                                          province.sibling.pk]),
                                   year=YEAR)
    qx, tx = rows
    assert (qx.payroll, qx.ratio_percent, qx.direct_budget, qx.project_budget) == (
        Decimal("100000000.00"), Decimal("2.00"), Decimal("1500000.00"), Decimal("300000.00"))
    assert qx.required == Decimal("2000000.00") and qx.state == "short" and qx.shortfall == Decimal("200000.00")
    assert qx.verdict == "缺口 ¥200,000.00"
    # 通许县 committed no ratio: the 1.5 % floor applies (¥750,000), and ¥800,000 meets it.
    assert not tx.ratio_committed and tx.required == Decimal("750000.00") and tx.state == "met"
    assert selectors.division_rows(scope=_scope(users["province_admin"]),
                                   divisions=type(province.city).objects.filter(pk=province.other_city.pk),
                                   year=YEAR)[0].state == "no_data"


def test_a_school_meets_five_percent_of_its_public_budget(province, users, funded):
    rows = {row.code: row for row in selectors.school_rows(scope=_scope(users["county_admin"]),
                                                           division_path=province.county.path, year=YEAR)}
    assert rows["4102210001"].state == "met" and rows["4102210001"].percent == Decimal("6.00")
    second = rows["4102210002"]
    assert second.state == "short" and second.required == Decimal("100000.00") and second.shortfall == Decimal("60000.00")


def test_a_year_is_entered_once_and_a_correction_is_audited(province, users, funded):
    county = _scope(users["county_admin"])
    with pytest.raises(ValidationError) as refused:
        services.payroll_set(scope=county, actor=users["county_admin"], division=province.county, year=YEAR,
                             payroll="120000000")
    assert "已填报" in refused.value.message_dict["year"][0]
    with pytest.raises(ValidationError) as no_reason:
        services.payroll_set(scope=county, actor=users["county_admin"], division=province.county, year=YEAR,
                             payroll="120000000", correction=True)
    assert "原因" in no_reason.value.message_dict["reason"][0]
    before = _audits("funding.correct")
    services.payroll_set(scope=county, actor=users["county_admin"], division=province.county, year=YEAR,
                         payroll="120000000", correction=True, reason="财政决算调整")
    event = AuditEvent.objects.dangerously_unscoped().filter(action="funding.correct").latest("pk")
    assert _audits("funding.correct") == before + 1
    assert event.detail["before"] == "100000000.00" and event.detail["reason"] == "财政决算调整"
    assert DivisionFunding.objects.visible_to(county).get(division=province.county, year=YEAR).payroll == 120000000


@pytest.mark.parametrize(("field", "value", "message"), [
    ("ratio_percent", "1.4", "1.50%—2.50%"), ("ratio_percent", "2.6", "1.50%—2.50%"), ("ratio_percent", "abc", "数字"),
    ("payroll", "-5", "不能为负数"), ("payroll", "60000000000", "合理上限"), ("payroll", "1.234", "两位小数"),
    ("payroll", "", "请填写"),
])
def test_bad_division_figures_are_refused_in_chinese_and_nothing_is_written(province, users, field, value, message):
    county = _scope(users["county_admin"])
    call = services.ratio_commit if field == "ratio_percent" else services.payroll_set
    with pytest.raises(ValidationError) as refused:
        call(scope=county, actor=users["county_admin"], division=province.county, year=YEAR, **{field: value})
    assert message in refused.value.message_dict[field][0]
    assert not DivisionFunding.objects.visible_to(county).exists()


def test_the_database_refuses_what_the_services_refuse(province):
    for values in ({"ratio_percent": Decimal("2.6")}, {"ratio_percent": Decimal("1.49")}, {"payroll": Decimal("-1")},
                   {"payroll": Decimal("60000000000")}):
        with pytest.raises(IntegrityError), transaction.atomic():
            DivisionFunding.objects.create(division=province.county, division_path=province.county.path, year=YEAR,
                                           **values)
    DivisionFunding.objects.create(division=province.county, division_path=province.county.path, year=YEAR)
    with pytest.raises(IntegrityError), transaction.atomic():  # one row per division and year
        DivisionFunding.objects.create(division=province.county, division_path=province.county.path, year=YEAR)
    for public, training in (("100", "101"), ("-1", "0"), ("100", "-1"), ("2000000000", "1")):
        with pytest.raises(IntegrityError), transaction.atomic():
            SchoolFunding.objects.create(school=province.school, division_path=province.school.division_path,
                                         year=YEAR, public_budget=Decimal(public), training_budget=Decimal(training))
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingBudget.objects.create(division=province.county, division_path=province.county.path, year=YEAR,
                                      amount=Decimal("0"), purpose="零")


def test_a_school_budget_above_its_public_budget_is_refused(province, users):
    scope = _scope(users["school_admin"])
    with pytest.raises(ValidationError) as refused:
        services.school_funding_set(scope=scope, actor=users["school_admin"], school=province.school, year=YEAR,
                                    public_budget="100000", training_budget="100001")
    assert "不能超过" in refused.value.message_dict["training_budget"][0]
    with pytest.raises(ValidationError) as absurd:
        services.school_funding_set(scope=scope, actor=users["school_admin"], school=province.school, year=YEAR,
                                    public_budget="5000000000", training_budget="1")
    assert "合理上限" in absurd.value.message_dict["public_budget"][0]
    assert not SchoolFunding.objects.visible_to(scope).exists()


# --- scope ---------------------------------------------------------------------------------------------

def test_who_enters_which_figures(province, users, funded):
    p = province
    # The city reads its 省直管县's figures and may not change them; the county enters its own.
    city = _scope(users["city_admin"])
    assert DivisionFunding.objects.visible_to(city).filter(division=p.direct).exists()
    with pytest.raises(Forbidden):
        services.payroll_set(scope=city, actor=users["city_admin"], division=p.direct, year=YEAR + 1, payroll="1000")
    with pytest.raises(Forbidden):  # nor an ordinary county's: each division enters its own
        services.ratio_commit(scope=city, actor=users["city_admin"], division=p.county, year=YEAR + 1,
                              ratio_percent="2")
    services.payroll_set(scope=city, actor=users["city_admin"], division=p.city, year=YEAR, payroll="300000000")
    # The province reads everything and changes none of the counties' figures.
    province_scope = _scope(users["province_admin"])
    assert DivisionFunding.objects.visible_to(province_scope).count() == 4
    with pytest.raises(Forbidden):
        services.payroll_set(scope=province_scope, actor=users["province_admin"], division=p.direct, year=YEAR + 1,
                             payroll="1000")
    # A neighbouring county sees nothing of 杞县.
    with pytest.raises(NotVisible):
        services.division_for(_scope(users["sibling_admin"]), p.county.code)
    assert not DivisionFunding.objects.visible_to(_scope(users["sibling_admin"])).filter(division=p.county).exists()
    # A school administrator sees its own school only; a teacher nothing.
    school = _scope(users["school_admin"])
    assert list(SchoolFunding.objects.visible_to(school).values_list("school_id", flat=True)) == [p.school.pk]
    assert not DivisionFunding.objects.visible_to(school).exists()
    with pytest.raises(NotVisible):
        services.school_for(school, funded["second"].code)
    teacher = _scope(users["teacher"])
    for model in (DivisionFunding, SchoolFunding, TrainingBudget, ProjectSpend):
        assert not model.objects.visible_to(teacher).exists()


# --- pages ---------------------------------------------------------------------------------------------

def test_overview_drills_down_in_a_fixed_number_of_queries(province, users, funded, client_for,
                                                           django_assert_max_num_queries):
    client = client_for(users["province_admin"])
    with django_assert_max_num_queries(18):
        page = client.get(f"/funding/?year={YEAR}")
    body = page.content.decode()
    assert page.status_code == 200 and "开封市" in body and "培训经费" in body
    # More schools do not cost more queries.
    School.objects.bulk_create([School(code=f"41022100{n:02d}", name=f"杞县学校{n}", division=province.county,
                                       division_path=province.county.path) for n in range(10, 40)])
    with django_assert_max_num_queries(18):
        county = client.get(f"/funding/?year={YEAR}&division={province.county.code}").content.decode()
    assert "缺口 ¥200,000.00" in county and "杞县第二小学" in county and "缺口 ¥60,000.00" in county
    city = client_for(users["city_admin"]).get(f"/funding/?year={YEAR}").content.decode()
    assert "兰考县" in city and "省直管县" in city


def test_gaps_list_orders_by_shortfall_and_exports(province, users, funded, client_for,
                                                  django_assert_max_num_queries):
    client = client_for(users["province_admin"])
    with django_assert_max_num_queries(18):
        page = client.get(f"/funding/gaps/?year={YEAR}")
    body = page.content.decode()
    assert "杞县" in body and "杞县第二小学" in body and "杞县第一小学" not in body
    before = _audits("funding.export")
    export = client.get(f"/funding/gaps/?year={YEAR}&format=xlsx")
    assert export.status_code == 200 and _audits("funding.export") == before + 1
    book = load_workbook(io.BytesIO(b"".join(export.streaming_content)), read_only=True)
    text = " ".join(str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row if c)
    assert "杞县第二小学" in text and "200000" in text
    compliance = client.get(f"/funding/?year={YEAR}&format=xlsx")
    assert compliance.status_code == 200 and _audits("funding.export") == before + 2


def test_the_gaps_export_is_rate_limited(users, client_for, settings):
    settings.EXPORT_MAX_PER_HOUR = 1
    client = client_for(users["county_admin"])
    assert client.get(f"/funding/gaps/?year={YEAR}&format=xlsx").status_code == 200
    assert client.get(f"/funding/gaps/?year={YEAR}&format=xlsx").status_code == 403


def test_teachers_and_other_counties_are_refused(province, users, funded, client_for):
    assert client_for(users["teacher"]).get("/funding/").status_code == 403
    assert client_for(users["teacher"]).get("/api/v1/funding/compliance").status_code == 403
    outsider = client_for(users["sibling_admin"])
    assert outsider.get(f"/funding/?division={province.county.code}").status_code == 404
    assert outsider.get(f"/api/v1/funding/compliance?division={province.county.code}").status_code == 404
    assert client_for(users["school_admin"]).get("/funding/gaps/").status_code == 403


def test_the_figures_form_refuses_bad_input_with_422_and_writes_nothing(province, users, client_for):
    client = client_for(users["county_admin"])
    response = client.post("/funding/figures/", {"year": YEAR, "payroll": "-100", "ratio_percent": "3"})
    body = response.content.decode()
    assert response.status_code == 422 and "不能为负数" in body
    response = client.post("/funding/figures/", {"year": YEAR, "payroll": "100000000", "ratio_percent": "3"})
    assert response.status_code == 422 and "1.50%—2.50%" in response.content.decode()
    assert not DivisionFunding.objects.dangerously_unscoped().exists()  # the payroll was rolled back with the ratio
    assert client.post("/funding/figures/", {"year": YEAR, "payroll": "100000000", "ratio_percent": "2"}).status_code == 302
    again = client.post("/funding/figures/", {"year": YEAR, "payroll": "100000001"})
    assert again.status_code == 422 and "已填报" in again.content.decode()
    fixed = client.post("/funding/figures/", {"year": YEAR, "payroll": "100000001", "correction": "1",
                                              "reason": "核对更正"})
    assert fixed.status_code == 302
    assert DivisionFunding.objects.dangerously_unscoped().get().payroll == Decimal("100000001")


def test_school_admin_enters_its_school_on_the_page(province, users, client_for):
    client = client_for(users["school_admin"])
    assert client.get("/funding/schools/").status_code == 200
    bad = client.post("/funding/schools/", {"year": YEAR, "public_budget": "100", "training_budget": "200"})
    assert bad.status_code == 422 and "不能超过" in bad.content.decode()
    ok = client.post("/funding/schools/", {"year": YEAR, "public_budget": "1000000", "training_budget": "50000"})
    assert ok.status_code == 302
    overview = client.get("/funding/").content.decode()
    assert "杞县第一小学" in overview and "达标" in overview


def test_budget_and_spend_pages(province, users, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    project = _project(province.county, "QX-SP", "50000")
    client = client_for(users["county_admin"])
    assert client.post("/funding/budgets/", {"year": YEAR, "amount": "0", "purpose": "x"}).status_code == 422
    assert client.post("/funding/budgets/", {"year": YEAR, "amount": "20000", "purpose": "送教下乡"}).status_code == 302
    wrong = client.post(f"/funding/projects/{project.pk}/", {
        "amount": "1000", "spent_on": "2026-06-01", "evidence": SimpleUploadedFile("x.pdf", b"not a pdf")})
    assert wrong.status_code == 422 and "内容与扩展名不符" in wrong.content.decode()
    future = client.post(f"/funding/projects/{project.pk}/", {
        "amount": "1000", "spent_on": "2999-01-01", "evidence": SimpleUploadedFile("x.pdf", PDF)})
    assert future.status_code == 422
    assert not ProjectSpend.objects.dangerously_unscoped().exists()
    ok = client.post(f"/funding/projects/{project.pk}/", {
        "amount": "1000.50", "spent_on": "2026-06-01", "note": "讲课费", "evidence": SimpleUploadedFile("x.pdf", PDF)})
    assert ok.status_code == 302
    spend = ProjectSpend.objects.dangerously_unscoped().get()
    assert client.get(f"/funding/spend/{spend.pk}/evidence/").status_code == 200
    assert client_for(users["sibling_admin"]).get(f"/funding/spend/{spend.pk}/evidence/").status_code == 404
    assert client_for(users["sibling_admin"]).get(f"/funding/projects/{project.pk}/").status_code == 404
    client = client_for(users["county_admin"])  # (one test client: client_for signs it in again)
    page = client.get(f"/funding/projects/?year={YEAR}").content.decode()
    assert "¥50,000.00" in page and "¥1,000.50" in page


# --- the API -------------------------------------------------------------------------------------------

def test_api_writes_and_reads(province, users, client_for):
    client = client_for(users["county_admin"])
    url = f"/api/v1/funding/divisions/{province.county.code}/figures"
    bad = client.post(url, {"year": YEAR, "payroll": "100000000", "ratio_percent": "1.2"},
                      content_type="application/json")
    assert bad.status_code == 422 and "ratio_percent" in bad.json()["errors"]
    assert not DivisionFunding.objects.dangerously_unscoped().exists()
    made = client.post(url, {"year": YEAR, "payroll": "100000000", "ratio_percent": "2"},
                       content_type="application/json")
    assert made.status_code == 201 and made.json()["ratio_percent"] == "2.00"
    dup = client.post(url, {"year": YEAR, "payroll": "1"}, content_type="application/json")
    assert dup.status_code == 422 and "year" in dup.json()["errors"]
    city = client_for(users["city_admin"])
    assert city.post(url, {"year": YEAR + 1, "payroll": "1"}, content_type="application/json").status_code == 403
    assert client_for(users["sibling_admin"]).post(url, {"year": YEAR + 1, "payroll": "1"},
                                                   content_type="application/json").status_code == 404
    client = client_for(users["county_admin"])
    budget = client.post("/api/v1/funding/budgets", {"division": province.county.code, "year": YEAR,
                                                     "amount": "-1", "purpose": "培训"},
                         content_type="application/json")
    assert budget.status_code == 422 and "amount" in budget.json()["errors"]
    school = client_for(users["school_admin"]).post(
        f"/api/v1/funding/schools/{province.school.code}/figures",
        {"year": YEAR, "public_budget": "1000000", "training_budget": "10000"}, content_type="application/json")
    assert school.status_code == 201
    data = client_for(users["city_admin"]).get(f"/api/v1/funding/compliance?year={YEAR}&division={province.county.code}").json()
    assert data["division"]["required"] == "2000000.00" and data["division"]["state"] == "short"
    assert data["schools"][0]["state"] == "short" and data["schools"][0]["shortfall"] == "40000.00"
    gaps = client_for(users["province_admin"]).get(f"/api/v1/funding/gaps?year={YEAR}").json()
    assert [row["code"] for row in gaps["divisions"]] == [province.county.code]
    assert [row["code"] for row in gaps["schools"]] == [province.school.code]
    years = client_for(users["county_admin"]).get("/api/v1/funding/years").json()
    assert years["name"] == "杞县" and years["years"][-1]["year"] >= YEAR


# --- imports -------------------------------------------------------------------------------------------

def _xlsx(header, rows) -> SimpleUploadedFile:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    handle = io.BytesIO()
    book.save(handle)
    return SimpleUploadedFile("经费.xlsx", handle.getvalue(),
                              content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def test_school_import_is_all_or_nothing_idempotent_and_corrects_with_a_reason(province, users, client_for):
    second = School.objects.create(code="4102210002", name="杞县第二小学", division=province.county)
    client = client_for(users["county_admin"])
    header = ["学校代码", "年度", "公用经费预算总额（元）", "培训经费预算（元）", "更正原因"]
    bad = client.post("/funding/import/", {"kind": "school", "file": _xlsx(header, [
        ["4102210001", YEAR, 1000000, 50000, ""],
        ["4102210002", YEAR, 100, 200, ""],
        ["4102220001", YEAR, 100, 1, ""],  # 通许县's school
        ["4102210001", "二〇二六", 100, 1, ""]])})
    body = bad.content.decode()
    assert bad.status_code == 422 and "不能超过" in body and "不存在或不在本辖区" in body and "年度应为四位年份" in body
    assert [r["row"] for r in bad.context["rejections"]] == [3, 4, 5]
    assert not SchoolFunding.objects.dangerously_unscoped().exists()
    good = _xlsx(header, [["4102210001", YEAR, 1000000, 50000, ""], ["4102210002", YEAR, 2000000, 40000, ""]])
    ok = client.post("/funding/import/", {"kind": "school", "file": good})
    assert ok.status_code == 200 and SchoolFunding.objects.dangerously_unscoped().count() == 2
    good.seek(0)
    again = client.post("/funding/import/", {"kind": "school", "file": good})
    assert "已导入过" in again.content.decode() and SchoolFunding.objects.dangerously_unscoped().count() == 2
    clash = client.post("/funding/import/", {"kind": "school", "file": _xlsx(header, [
        ["4102210002", YEAR, 2000000, 100000, ""]])})
    assert clash.status_code == 422 and "更正原因" in clash.content.decode()
    before = _audits("funding.correct")
    fixed = client.post("/funding/import/", {"kind": "school", "file": _xlsx(header, [
        ["4102210002", YEAR, 2000000, 100000, "预算调整"]])})
    assert fixed.status_code == 200 and _audits("funding.correct") == before + 1
    assert SchoolFunding.objects.dangerously_unscoped().get(school=second).training_budget == 100000


def test_division_and_spend_imports_through_the_api(province, users, client_for):
    client = client_for(users["county_admin"])
    header = ["区划代码", "年度", "教师工资总额（元）", "培训经费比例（%）", "更正原因"]
    refused = client.post("/api/v1/funding/imports/division", {"file": _xlsx(header, [
        [province.county.code, YEAR, 100000000, 2, ""], [province.sibling.code, YEAR, 1, 2, ""],
        [province.county.code, YEAR + 1, 100000000, 3, ""]])})
    assert refused.status_code == 200 and not refused.json()["written"]  # as the other imports: a report
    assert [(r["row"], r["column"]) for r in refused.json()["rejections"]] == [(3, "区划代码"), (4, "培训经费比例（%）")]
    assert not DivisionFunding.objects.dangerously_unscoped().exists()
    ok = client.post("/api/v1/funding/imports/division", {"file": _xlsx(header, [
        [province.county.code, YEAR, 100000000, 2, ""]])})
    assert ok.status_code == 200 and ok.json()["created"] == 1
    project = _project(province.county, "QX-IMP", "5000")
    spend = client.post("/api/v1/funding/imports/spend", {"file": _xlsx(["项目编号", "金额（元）", "支出日期", "说明"], [
        [project.code, 1200, "2026-06-01", "场地费"], [project.code, -5, "2026-06-02", ""]])})
    assert spend.status_code == 200 and not spend.json()["written"]
    assert spend.json()["rejections"][0]["reason"] == "支出金额不能为负数"
    assert not ProjectSpend.objects.dangerously_unscoped().exists()
    school = client_for(users["school_admin"]).post("/api/v1/funding/imports/division", {"file": _xlsx(header, [])})
    assert school.status_code == 403


def test_the_gaps_page_names_the_divisions_that_have_not_reported(province, users, funded, client_for):
    """They lead to their overview, where the level above may enter their figures for them."""
    from funding.selectors import gaps

    found = gaps(scope=_scope(users["province_admin"]), division=province.province, year=YEAR)
    codes = [row.code for row in found.unreported]
    assert codes == sorted(codes) and len(codes) == found.divisions_no_data
    assert province.city.code in codes and province.other_city.code in codes
    assert province.county.code not in codes and province.direct.code not in codes  # they reported
    body = client_for(users["province_admin"]).get(f"/funding/gaps/?year={YEAR}").content.decode()
    start = body.index('id="unreported"')
    unreported = body[start:body.index("</details>", start)]
    assert f"division={province.city.code}" in unreported and province.city.name in unreported
    assert f"division={province.county.code}" not in unreported
    assert unreported.count("division=") == found.divisions_no_data
