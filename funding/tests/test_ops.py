"""Training funding operations: budget and spend entries corrected and deleted with a reason,
evidence attached afterwards, figures entered by the level above for a division that has not
reported, and the `yanxiu funding` command — services, pages, API and command."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from openpyxl import Workbook

from access.errors import Forbidden, NotVisible
from access.policy import Action, can
from access.scope import scope_for_user
from audit.models import AuditEvent
from catalog.models import Project
from funding import imports, selectors, services
from funding.models import DivisionFunding, ProjectSpend, TrainingBudget

YEAR = 2026
TODAY = dt.date(2026, 11, 28)
PDF = b"%PDF-1.4\n%test\n"


def _scope(user):
    return scope_for_user(user)


def _audit(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.dangerously_unscoped().filter(action=action).order_by("pk"))


def _project(division, code: str, budget: str = "50000") -> Project:
    return Project.objects.create(
        code=code,
        title=f"项目{code}",
        level="county",
        category="backbone",
        mode="online",
        organiser=division,
        division_path=division.path,
        seats=10,
        hours=12,
        hour_category="online",
        starts_on=dt.date(YEAR, 5, 1),
        ends_on=dt.date(YEAR, 5, 4),
        budget=Decimal(budget),
        state="open",
    )


def _budget(users, province, amount="100000", purpose="教师培训专项"):
    return services.budget_add(
        scope=_scope(users["county_admin"]),
        actor=users["county_admin"],
        division=province.county,
        year=YEAR,
        amount=amount,
        purpose=purpose,
    )


def _imported_spend(users, project, amount=1200):
    """Spend as the import writes it: no evidence."""
    book = Workbook()
    book.active.append(["项目编号", "金额（元）", "支出日期", "说明"])
    book.active.append([project.code, amount, "2026-06-01", "场地费"])
    handle = io.BytesIO()
    book.save(handle)
    handle.seek(0)
    result = imports.funding_import(
        scope=_scope(users["county_admin"]),
        actor=users["county_admin"],
        kind="spend",
        handle=handle,
        name="支出.xlsx",
        today=TODAY,
    )
    assert result.written
    return ProjectSpend.objects.dangerously_unscoped().get(project=project)


def _direct_total(users, province) -> Decimal:
    [row] = selectors.division_rows(
        scope=_scope(users["province_admin"]),
        divisions=type(province.county).objects.filter(pk=province.county.pk),
        year=YEAR,
    )
    return row.direct_budget


# --- budget entries: correction and deletion --------------------------------------------------------------


def test_a_budget_entry_is_corrected_with_a_reason_and_the_audit_keeps_both_values(province, users):
    row = _budget(users, province)
    county = _scope(users["county_admin"])
    with pytest.raises(ValidationError) as refused:
        services.budget_correct(
            scope=county, actor=users["county_admin"], budget_id=row.pk, amount="120000", reason=""
        )
    assert "更正须说明原因" in str(refused.value)
    for bad, field in (
        ({"amount": "-5"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"year": "1999"}, "year"),
        ({"purpose": "x"}, "purpose"),
        ({"amount": "1.234"}, "amount"),
    ):
        with pytest.raises(ValidationError) as error:
            services.budget_correct(
                scope=county, actor=users["county_admin"], budget_id=row.pk, reason="核对", **bad
            )
        assert field in error.value.message_dict
    with pytest.raises(ValidationError, match="与原记录相同"):
        services.budget_correct(
            scope=county,
            actor=users["county_admin"],
            budget_id=row.pk,
            amount="100000",
            reason="核对",
        )
    row.refresh_from_db()
    assert (
        row.amount == Decimal("100000")
        and row.corrected_at is None
        and not _audit("funding.entry_correct")
    )
    services.budget_correct(
        scope=county,
        actor=users["county_admin"],
        budget_id=row.pk,
        amount="120,000",
        reason="追加预算",
    )
    row.refresh_from_db()
    assert row.amount == Decimal("120000") and row.corrected_by == users["county_admin"]
    assert row.correction_reason == "追加预算" and row.corrected_at is not None
    [event] = _audit("funding.entry_correct")
    assert (
        event.detail["before"]["amount"] == "100000.00"
        and event.detail["after"]["amount"] == "120000.00"
    )
    assert event.detail["reason"] == "追加预算" and event.actor_id == users["county_admin"].pk
    assert _direct_total(users, province) == Decimal("120000.00")


def test_a_deleted_budget_entry_is_kept_marked_and_leaves_every_list_and_sum(province, users):
    row = _budget(users, province)
    _budget(users, province, amount="5000", purpose="送教下乡")
    county = _scope(users["county_admin"])
    with pytest.raises(ValidationError, match="删除须说明原因"):
        services.budget_delete(
            scope=county, actor=users["county_admin"], budget_id=row.pk, reason=" "
        )
    assert _direct_total(users, province) == Decimal("105000.00")
    services.budget_delete(
        scope=county, actor=users["county_admin"], budget_id=row.pk, reason="重复录入"
    )
    kept = TrainingBudget.objects.dangerously_unscoped().get(pk=row.pk)
    assert (
        kept.deleted_at is not None
        and kept.deleted_by == users["county_admin"]
        and kept.delete_reason == "重复录入"
    )
    assert _direct_total(users, province) == Decimal("5000.00")
    assert [
        r.purpose
        for r in selectors.budget_entries(scope=county, division=province.county, year=YEAR)
    ] == ["送教下乡"]
    [event] = _audit("funding.entry_delete")
    assert event.detail["amount"] == "100000.00" and event.detail["reason"] == "重复录入"
    with pytest.raises(NotVisible):  # gone for everyone, deleting twice included
        services.budget_delete(
            scope=county, actor=users["county_admin"], budget_id=row.pk, reason="再删一次"
        )


def test_only_the_division_corrects_or_deletes_its_entries(province, users):
    row = _budget(users, province)
    with pytest.raises(NotVisible):
        services.budget_correct(
            scope=_scope(users["sibling_admin"]),
            actor=users["sibling_admin"],
            budget_id=row.pk,
            amount="1",
            reason="篡改",
        )
    for persona in (
        "city_admin",
        "province_admin",
    ):  # they read it; it is not theirs (nor entered by them)
        with pytest.raises(Forbidden):
            services.budget_delete(
                scope=_scope(users[persona]), actor=users[persona], budget_id=row.pk, reason="删除"
            )
    with pytest.raises(NotVisible):
        services.budget_delete(
            scope=_scope(users["school_admin"]),
            actor=users["school_admin"],
            budget_id=row.pk,
            reason="删除",
        )
    row.refresh_from_db()
    assert row.deleted_at is None and row.amount == Decimal("100000")


# --- spend: correction, deletion, evidence ---------------------------------------------------------------


def test_spend_is_corrected_and_deleted_with_a_reason(province, users, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    project = _project(province.county, "QX-SP")
    row = _imported_spend(users, project)
    county = _scope(users["county_admin"])
    with pytest.raises(ValidationError) as error:
        services.spend_correct(
            scope=county,
            actor=users["county_admin"],
            spend_id=row.pk,
            amount="abc",
            spent_on="2999-01-01",
            reason="核对",
            today=TODAY,
        )
    assert set(error.value.message_dict) == {"amount", "spent_on"}
    services.spend_correct(
        scope=county,
        actor=users["county_admin"],
        spend_id=row.pk,
        amount="1000",
        reason="发票金额为1000元",
        today=TODAY,
    )
    row.refresh_from_db()
    assert (
        row.amount == Decimal("1000")
        and row.spent_on == dt.date(2026, 6, 1)
        and row.note == "场地费"
    )
    [spent] = selectors.project_plan_spend(scope=county, division=province.county, year=YEAR)
    assert spent.spent == Decimal("1000") and spent.without_evidence == 1
    with pytest.raises(Forbidden):
        services.spend_delete(
            scope=_scope(users["city_admin"]),
            actor=users["city_admin"],
            spend_id=row.pk,
            reason="删除",
        )
    services.spend_delete(
        scope=county, actor=users["county_admin"], spend_id=row.pk, reason="项目取消"
    )
    [spent] = selectors.project_plan_spend(scope=county, division=province.county, year=YEAR)
    assert spent.spent == 0 and spent.without_evidence == 0
    assert ProjectSpend.objects.dangerously_unscoped().get(pk=row.pk).delete_reason == "项目取消"
    assert len(_audit("funding.entry_correct")) == 1 and len(_audit("funding.entry_delete")) == 1


def test_evidence_is_attached_to_imported_spend_afterwards(province, users, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    row = _imported_spend(users, _project(province.county, "QX-EV"))
    assert not row.evidence
    county = _scope(users["county_admin"])
    for upload, message in (
        (None, "请上传支出凭证"),
        (SimpleUploadedFile("a.txt", b"hello"), "只接受"),
        (SimpleUploadedFile("a.pdf", b"not a pdf"), "内容与扩展名不符"),
    ):
        with pytest.raises(ValidationError, match=message):
            services.spend_evidence_attach(
                scope=county, actor=users["county_admin"], spend_id=row.pk, evidence=upload
            )
    with pytest.raises(Forbidden):
        services.spend_evidence_attach(
            scope=_scope(users["city_admin"]),
            actor=users["city_admin"],
            spend_id=row.pk,
            evidence=SimpleUploadedFile("a.pdf", PDF),
        )
    services.spend_evidence_attach(
        scope=county,
        actor=users["county_admin"],
        spend_id=row.pk,
        evidence=SimpleUploadedFile("发票.pdf", PDF),
    )
    row.refresh_from_db()
    assert row.evidence and row.evidence_name == "发票.pdf" and row.evidence.read() == PDF
    with pytest.raises(ValidationError, match="更换凭证须说明原因"):
        services.spend_evidence_attach(
            scope=county,
            actor=users["county_admin"],
            spend_id=row.pk,
            evidence=SimpleUploadedFile("新发票.pdf", PDF),
        )
    services.spend_evidence_attach(
        scope=county,
        actor=users["county_admin"],
        spend_id=row.pk,
        evidence=SimpleUploadedFile("新发票.pdf", PDF),
        reason="原发票模糊",
    )
    first, second = _audit("funding.evidence")
    assert first.detail["before"] == "" and second.detail == {
        **second.detail,
        "before": "发票.pdf",
        "evidence": "新发票.pdf",
        "reason": "原发票模糊",
    }


# --- entered by the level above ----------------------------------------------------------------------------


def test_the_policy_lets_the_level_above_enter_for_divisions_below_within_its_area(province, users):
    p = province

    def may(persona, division):
        return can(
            _scope(users[persona]),
            Action.ENTER_FOR,
            DivisionFunding(division=division, division_path=division.path),
        )

    assert (
        may("province_admin", p.county)
        and may("province_admin", p.direct)
        and may("province_admin", p.city)
    )
    assert may("city_admin", p.county) and may("city_admin", p.sibling)
    assert not may("city_admin", p.direct)  # a 省直管县 reports to the province
    assert not may("city_admin", p.city) and not may("province_admin", p.province)  # not oneself
    assert not may("county_admin", p.county) and not may("county_admin", p.sibling)
    assert not may("other_city_admin", p.county) and not may("direct_admin", p.county)
    assert not may("school_admin", p.county) and not may("teacher", p.county)


def test_the_level_above_enters_a_silent_countys_figures_marked_and_with_a_reason(province, users):
    p, city = province, _scope(users["city_admin"])
    with pytest.raises(ValidationError, match="上级代填须说明原因"):
        services.payroll_set(
            scope=city,
            actor=users["city_admin"],
            division=p.county,
            year=YEAR,
            payroll="100000000",
            on_behalf=True,
        )
    with pytest.raises(ValidationError) as bad:
        services.payroll_set(
            scope=city,
            actor=users["city_admin"],
            division=p.county,
            year=YEAR,
            payroll="-1",
            on_behalf=True,
            reason="逾期未报",
        )
    assert "payroll" in bad.value.message_dict
    with pytest.raises(Forbidden):  # without saying so, the city may not write 杞县's row
        services.payroll_set(
            scope=city,
            actor=users["city_admin"],
            division=p.county,
            year=YEAR,
            payroll="100000000",
            reason="逾期未报",
        )
    with pytest.raises(Forbidden):  # 兰考县 reports to the province
        services.payroll_set(
            scope=city,
            actor=users["city_admin"],
            division=p.direct,
            year=YEAR,
            payroll="100000000",
            on_behalf=True,
            reason="逾期未报",
        )
    with pytest.raises(NotVisible):
        services.payroll_set(
            scope=_scope(users["other_city_admin"]),
            actor=users["other_city_admin"],
            division=p.county,
            year=YEAR,
            payroll="100000000",
            on_behalf=True,
            reason="逾期未报",
        )
    assert not DivisionFunding.objects.dangerously_unscoped().exists()
    row = services.payroll_set(
        scope=city,
        actor=users["city_admin"],
        division=p.county,
        year=YEAR,
        payroll="100000000",
        on_behalf=True,
        reason="逾期未报",
    )
    assert row.is_entered_above and row.entered_above_by == users["city_admin"]
    assert row.entered_above_reason == "逾期未报"
    [event] = _audit("funding.enter_for")
    assert (
        event.detail["on_behalf"]
        and event.detail["reason"] == "逾期未报"
        and event.scope_path == p.county.path
    )
    province_row = services.payroll_set(
        scope=_scope(users["province_admin"]),
        actor=users["province_admin"],
        division=p.direct,
        year=YEAR,
        payroll="40000000",
        on_behalf=True,
        reason="省直管县未报",
    )
    assert province_row.is_entered_above
    # the level above may correct what it entered; once the county writes its row itself, never again
    services.payroll_set(
        scope=city,
        actor=users["city_admin"],
        division=p.county,
        year=YEAR,
        payroll="90000000",
        correction=True,
        on_behalf=True,
        reason="核对后更正",
    )
    county = _scope(users["county_admin"])
    services.payroll_set(
        scope=county,
        actor=users["county_admin"],
        division=p.county,
        year=YEAR,
        payroll="95000000",
        correction=True,
        reason="本县核实",
    )
    row.refresh_from_db()
    assert row.payroll == Decimal("95000000") and not row.is_entered_above
    with pytest.raises(ValidationError, match="已由该单位自行填报"):
        services.payroll_set(
            scope=city,
            actor=users["city_admin"],
            division=p.county,
            year=YEAR,
            payroll="1",
            correction=True,
            on_behalf=True,
            reason="再改",
        )
    services.ratio_commit(
        scope=_scope(users["sibling_admin"]),
        actor=users["sibling_admin"],
        division=p.sibling,
        year=YEAR,
        ratio_percent="2",
    )
    with pytest.raises(ValidationError, match="已由该单位自行填报"):
        services.ratio_commit(
            scope=city,
            actor=users["city_admin"],
            division=p.sibling,
            year=YEAR,
            ratio_percent="2.5",
            correction=True,
            on_behalf=True,
            reason="代填",
        )


def test_budgets_entered_from_above_only_while_the_division_has_none_of_its_own(province, users):
    p, city, county = province, _scope(users["city_admin"]), _scope(users["county_admin"])
    above = services.budget_add(
        scope=city,
        actor=users["city_admin"],
        division=p.county,
        year=YEAR,
        amount="300000",
        purpose="市级代填培训经费",
        on_behalf=True,
        reason="县未报送",
    )
    assert above.is_entered_above and _direct_total(users, province) == Decimal("300000.00")
    # the city corrects and deletes what it entered; the county may too, it is its row
    services.budget_correct(
        scope=city,
        actor=users["city_admin"],
        budget_id=above.pk,
        amount="310000",
        reason="按批复更正",
    )
    own = services.budget_add(
        scope=county,
        actor=users["county_admin"],
        division=p.county,
        year=YEAR,
        amount="200000",
        purpose="本县培训经费",
    )
    with pytest.raises(ValidationError, match="已自行填报"):
        services.budget_add(
            scope=city,
            actor=users["city_admin"],
            division=p.county,
            year=YEAR,
            amount="1",
            purpose="再次代填",
            on_behalf=True,
            reason="县未报送",
        )
    with pytest.raises(Forbidden):  # the county's own entry is not the city's to touch
        services.budget_delete(
            scope=city, actor=users["city_admin"], budget_id=own.pk, reason="删除"
        )
    services.budget_delete(
        scope=county, actor=users["county_admin"], budget_id=above.pk, reason="以本县填报为准"
    )
    assert _direct_total(users, province) == Decimal("200000.00")
    with pytest.raises(Forbidden):
        services.budget_add(
            scope=city,
            actor=users["city_admin"],
            division=p.direct,
            year=YEAR,
            amount="1",
            purpose="代填",
            on_behalf=True,
            reason="未报",
        )
    with pytest.raises(NotVisible):
        services.budget_add(
            scope=_scope(users["sibling_admin"]),
            actor=users["sibling_admin"],
            division=p.county,
            year=YEAR,
            amount="1",
            purpose="代填",
            on_behalf=True,
            reason="未报",
        )


# --- pages ------------------------------------------------------------------------------------------------


def test_budget_pages_correct_and_delete_with_a_chinese_confirmation(
    province, users, client_for, django_assert_max_num_queries
):
    rows = [_budget(users, province, amount=str(1000 + n), purpose=f"培训{n}") for n in range(12)]
    client = client_for(users["county_admin"])
    with django_assert_max_num_queries(12):
        page = client.get(f"/funding/budgets/?year={YEAR}")
    body = page.content.decode()
    assert body.count("更正</a>") == 12 and f"/funding/budgets/{rows[0].pk}/#delete" in body
    entry = client.get(f"/funding/budgets/{rows[0].pk}/").content.decode()
    assert "确认删除这笔预算" in entry and "更正原因" in entry
    bad = client.post(
        f"/funding/budgets/{rows[0].pk}/",
        {"year": YEAR, "amount": "-1", "purpose": "培训0", "reason": "核对"},
    )
    assert bad.status_code == 422 and "预算金额不能为负数" in bad.content.decode()
    ok = client.post(
        f"/funding/budgets/{rows[0].pk}/",
        {"year": YEAR, "amount": "1500", "purpose": "培训0", "reason": "核对发票"},
    )
    assert ok.status_code == 302
    unconfirmed = client.post(f"/funding/budgets/{rows[0].pk}/delete/", {"reason": "重复"})
    assert unconfirmed.status_code == 422 and "请勾选“确认删除”" in unconfirmed.content.decode()
    gone = client.post(f"/funding/budgets/{rows[0].pk}/delete/", {"reason": "重复", "confirm": "1"})
    assert gone.status_code == 302
    assert TrainingBudget.objects.dangerously_unscoped().get(pk=rows[0].pk).deleted_at is not None
    assert client.get(f"/funding/budgets/{rows[0].pk}/").status_code == 404
    assert (
        client_for(users["city_admin"])
        .post(f"/funding/budgets/{rows[1].pk}/delete/", {"reason": "重复", "confirm": "1"})
        .status_code
        == 403
    )
    city_view = (
        client_for(users["city_admin"]).get(f"/funding/budgets/{rows[1].pk}/").content.decode()
    )
    assert "只能查看" in city_view and "确认删除" not in city_view


def test_spend_pages_mark_missing_evidence_and_take_it_afterwards(
    province, users, client_for, settings, tmp_path, django_assert_max_num_queries
):
    settings.MEDIA_ROOT = tmp_path
    project = _project(province.county, "QX-PG")
    row = _imported_spend(users, project)
    client = client_for(users["county_admin"])
    listing = client.get(f"/funding/projects/{project.pk}/").content.decode()
    assert "1 笔无凭证" in listing and "补传凭证" in listing
    with django_assert_max_num_queries(12):
        projects = client.get(f"/funding/projects/?year={YEAR}").content.decode()
    assert "1 笔</a>" in projects
    wrong = client.post(
        f"/funding/spend/{row.pk}/evidence/upload/",
        {"evidence": SimpleUploadedFile("x.pdf", b"not a pdf")},
    )
    assert wrong.status_code == 422 and "支出凭证的内容与扩展名不符" in wrong.content.decode()
    ok = client.post(
        f"/funding/spend/{row.pk}/evidence/upload/", {"evidence": SimpleUploadedFile("票.pdf", PDF)}
    )
    assert ok.status_code == 302
    assert "无凭证" not in client.get(f"/funding/projects/{project.pk}/").content.decode()
    fixed = client.post(
        f"/funding/spend/{row.pk}/",
        {"amount": "1100", "spent_on": "2026-06-01", "note": "场地费", "reason": "按发票更正"},
    )
    assert fixed.status_code == 302
    assert (
        client.post(f"/funding/spend/{row.pk}/delete/", {"confirm": "1", "reason": ""}).status_code
        == 422
    )
    assert (
        client.post(
            f"/funding/spend/{row.pk}/delete/", {"confirm": "1", "reason": "作废"}
        ).status_code
        == 302
    )
    row.refresh_from_db()
    assert row.amount == Decimal("1100") and row.delete_reason == "作废"


def test_the_city_enters_a_silent_countys_figures_on_the_pages(province, users, client_for):
    client = client_for(users["city_admin"])
    overview = client.get(f"/funding/?year={YEAR}&division={province.county.code}").content.decode()
    assert "代填工资总额与比例" in overview
    assert (
        "代填"
        not in client.get(f"/funding/?year={YEAR}&division={province.direct.code}").content.decode()
    )
    form = client.get(f"/funding/figures/?division={province.county.code}").content.decode()
    assert "上级代填" in form and "division-figures-form" in form
    assert (
        client.post(
            f"/funding/figures/?division={province.county.code}",
            {"year": YEAR, "payroll": "1000", "reason": "逾期未报"},
        ).status_code
        == 403
    )  # not said
    refused = client.post(
        f"/funding/figures/?division={province.county.code}",
        {"year": YEAR, "payroll": "1000", "on_behalf": "1"},
    )
    assert refused.status_code == 422 and "上级代填须说明原因" in refused.content.decode()
    ok = client.post(
        f"/funding/figures/?division={province.county.code}",
        {"year": YEAR, "payroll": "100000000", "on_behalf": "1", "reason": "逾期未报"},
    )
    assert ok.status_code == 302
    listing = client.get(f"/funding/figures/?division={province.county.code}").content.decode()
    assert "上级代填（admin-410200" in listing
    budget = client.post(
        f"/funding/budgets/?division={province.county.code}",
        {
            "year": YEAR,
            "amount": "1000",
            "purpose": "代填预算",
            "on_behalf": "1",
            "reason": "逾期未报",
        },
    )
    assert (
        budget.status_code == 302
        and TrainingBudget.objects.dangerously_unscoped().get().is_entered_above
    )
    assert (
        client.post(
            f"/funding/figures/?division={province.direct.code}",
            {"year": YEAR, "payroll": "1000", "on_behalf": "1", "reason": "逾期未报"},
        ).status_code
        == 403
    )
    assert (
        client_for(users["other_city_admin"])
        .get(f"/funding/figures/?division={province.county.code}")
        .status_code
        == 404
    )


# --- the API ----------------------------------------------------------------------------------------------


def test_api_corrects_deletes_and_takes_evidence_with_structured_errors(
    province, users, client_for, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    budget = _budget(users, province)
    client = client_for(users["county_admin"])
    url = f"/api/v1/funding/budgets/{budget.pk}"
    bad = client.patch(url, {"amount": "-1", "reason": "核对"}, content_type="application/json")
    assert (
        bad.status_code == 422
        and bad.json()["code"] == "invalid"
        and "amount" in bad.json()["errors"]
    )
    no_reason = client.patch(url, {"amount": "1"}, content_type="application/json")
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["errors"]
    ok = client.patch(
        url, {"purpose": "骨干教师培训", "reason": "用途写错"}, content_type="application/json"
    )
    assert (
        ok.status_code == 200
        and ok.json()["purpose"] == "骨干教师培训"
        and ok.json()["amount"] == "100000.00"
    )
    assert ok.json()["correction_reason"] == "用途写错"
    assert client_for(users["city_admin"]).delete(f"{url}?reason=删除").status_code == 403
    client = client_for(users["county_admin"])
    missing = client.delete(url)
    assert missing.status_code == 422 and "reason" in missing.json()["errors"]
    assert client.delete(f"{url}?reason=重复录入").status_code == 204
    assert (
        client.patch(
            url, {"amount": "1", "reason": "x2"}, content_type="application/json"
        ).status_code
        == 404
    )

    spend = _imported_spend(users, _project(province.county, "QX-API"))
    listed = client.get(f"/api/v1/funding/projects/{spend.project_id}/spend").json()
    assert listed[0]["has_evidence"] is False
    spend_url = f"/api/v1/funding/spend/{spend.pk}"
    bad = client.patch(
        spend_url, {"spent_on": "2999-01-01", "reason": "核对"}, content_type="application/json"
    )
    assert bad.status_code == 422 and "spent_on" in bad.json()["errors"]
    fixed = client.patch(
        spend_url, {"amount": "999.5", "reason": "按发票"}, content_type="application/json"
    )
    assert fixed.status_code == 200 and fixed.json()["amount"] == "999.50"
    wrong = client.post(f"{spend_url}/evidence", {"evidence": SimpleUploadedFile("x.png", PDF)})
    assert wrong.status_code == 422 and "evidence" in wrong.json()["errors"]
    attached = client.post(f"{spend_url}/evidence", {"evidence": SimpleUploadedFile("x.pdf", PDF)})
    assert (
        attached.status_code == 200
        and attached.json()["has_evidence"]
        and attached.json()["evidence_name"] == "x.pdf"
    )
    assert client_for(users["sibling_admin"]).delete(f"{spend_url}?reason=删除").status_code == 404
    assert client_for(users["county_admin"]).delete(f"{spend_url}?reason=作废").status_code == 204


def test_api_enters_for_a_division_below(province, users, client_for):
    url = f"/api/v1/funding/divisions/{province.county.code}/figures"
    city = client_for(users["city_admin"])
    assert (
        city.post(
            url, {"year": YEAR, "payroll": "100000000"}, content_type="application/json"
        ).status_code
        == 403
    )
    no_reason = city.post(
        url,
        {"year": YEAR, "payroll": "100000000", "on_behalf": True},
        content_type="application/json",
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["errors"]
    made = city.post(
        url,
        {
            "year": YEAR,
            "payroll": "100000000",
            "ratio_percent": "2",
            "on_behalf": True,
            "reason": "逾期未报",
        },
        content_type="application/json",
    )
    assert made.status_code == 201 and made.json()["entered_above"] is True
    assert (
        made.json()["entered_above_by"] == "admin-410200"
        and made.json()["entered_above_reason"] == "逾期未报"
    )
    budget = city.post(
        "/api/v1/funding/budgets",
        {
            "division": province.county.code,
            "year": YEAR,
            "amount": "5000",
            "purpose": "代填预算",
            "on_behalf": True,
            "reason": "逾期未报",
        },
        content_type="application/json",
    )
    assert budget.status_code == 201 and budget.json()["entered_above"] is True
    direct = city.post(
        f"/api/v1/funding/divisions/{province.direct.code}/figures",
        {"year": YEAR, "payroll": "1", "on_behalf": True, "reason": "逾期未报"},
        content_type="application/json",
    )
    assert direct.status_code == 403


# --- the command --------------------------------------------------------------------------------------------


def _file(tmp_path, header, rows, name="经费.xlsx"):
    book = Workbook()
    book.active.append(header)
    for row in rows:
        book.active.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def test_the_import_command_prints_the_row_report_as_json(province, users, tmp_path, capsys):
    header = ["区划代码", "年度", "教师工资总额（元）", "培训经费比例（%）", "更正原因"]
    bad = _file(
        tmp_path,
        header,
        [[province.county.code, YEAR, 100000000, 2, ""], [province.sibling.code, YEAR, 1, 2, ""]],
        "bad.xlsx",
    )
    with pytest.raises(SystemExit) as exit_:
        call_command(
            "funding",
            "import",
            "--kind",
            "division",
            str(bad),
            "--as",
            users["county_admin"].username,
        )
    assert exit_.value.code == 1
    report = json.loads(capsys.readouterr().out)
    assert report["written"] is False and [
        (r["row"], r["column"]) for r in report["rejections"]
    ] == [(3, "区划代码")]
    assert not DivisionFunding.objects.dangerously_unscoped().exists()
    good = _file(tmp_path, header, [[province.county.code, YEAR, 100000000, 2, ""]], "good.xlsx")
    call_command(
        "funding", "import", "--kind", "division", str(good), "--as", users["county_admin"].username
    )
    report = json.loads(capsys.readouterr().out)
    assert report == {**report, "written": True, "created": 1, "rows": 1}
    row = DivisionFunding.objects.dangerously_unscoped().get()
    assert row.payroll == Decimal("100000000") and row.updated_by == users["county_admin"]
    assert (
        AuditEvent.objects.dangerously_unscoped()
        .filter(action="funding.import", actor_id=users["county_admin"].pk)
        .exists()
    )
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="用户不存在"):
        call_command("funding", "import", "--kind", "division", str(good), "--as", "nobody")
    with pytest.raises(CommandError, match="无权导入"):
        call_command(
            "funding",
            "import",
            "--kind",
            "division",
            str(good),
            "--as",
            users["school_admin"].username,
        )


def test_the_compliance_command_prints_the_gaps_as_json(province, users, capsys):
    county = _scope(users["county_admin"])
    services.payroll_set(
        scope=county,
        actor=users["county_admin"],
        division=province.county,
        year=YEAR,
        payroll="100000000",
    )
    _budget(users, province, amount="1000000")
    call_command("funding", "compliance", "--year", str(YEAR))
    report = json.loads(capsys.readouterr().out)
    assert report["division"] == province.province.code
    assert [(row["code"], row["shortfall"]) for row in report["divisions"]] == [
        (province.county.code, "500000.00")
    ]
    call_command(
        "funding", "compliance", "--year", str(YEAR), "--division", province.other_city.code
    )
    assert json.loads(capsys.readouterr().out)["divisions"] == []
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="区划代码不存在"):
        call_command("funding", "compliance", "--year", str(YEAR), "--division", "999999")
