"""The institution registry, the accreditations expiring soon, their Excel exports (scoped,
audited, rate-limited) and the institution staff's home page."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from audit.models import AuditEvent
from institutions import registry, services
from institutions.tests.conftest import scope_of
from institutions.tests.test_accreditation import apply, decide, submit
from institutions.tests.test_gate import project, publish

pytestmark = pytest.mark.django_db


def approved(accr, who="qx_staff", institution="qx", decider="county_admin", **extra):
    row = apply(accr, who=who, institution=institution)
    submit(accr, row, who=who)
    decide(accr, row, who=decider, **extra)
    return row


def test_the_registry_shows_each_institution_with_the_accreditation_in_force(accr, province):
    old = approved(accr)
    services.accreditation_suspend(scope=scope_of(accr["county_admin"]), actor=accr["county_admin"], accreditation_id=old.pk,
                     reason="学员投诉核查中")
    current = approved(accr)
    apply(accr)  # a newer draft does not speak for the institution while one is in force
    entries = {e.institution.code: e for e in registry.registry(scope_of(accr["city_admin"]))}
    assert entries["410221-JSFZ"].accreditation.pk == current.pk and entries["410221-JSFZ"].in_force
    assert entries["410200-JSFZ"].accreditation is None  # the city's centre never applied
    assert "410225-JSFZ" in entries and "410000-YXY" not in entries  # the city reads its 省直管县, not the province
    county = {e.institution.code for e in registry.registry(scope_of(accr["county_admin"]))}
    assert county == {"410221-JSFZ"}
    staff = registry.registry(scope_of(accr["qx_staff"]))
    assert [e.institution.code for e in staff] == ["410221-JSFZ"]
    assert [e.institution.code for e in registry.registry(scope_of(accr["city_admin"]), in_force=True)] == ["410221-JSFZ"]


def test_expiring_lists_terms_ending_within_the_days(accr, province):
    soon = approved(accr, valid_until=dt.date(2027, 1, 15))
    approved(accr)  # until 2029
    assert [row.pk for row in registry.expiring(scope_of(accr["county_admin"]), days=60, today=dt.date(2026, 12, 1))] \
        == [soon.pk]
    assert list(registry.expiring(scope_of(accr["sibling_admin"]), days=3650)) == []


def test_exports_are_scoped_audited_and_refuse_bad_input(accr, province, client_for):
    approved(accr, valid_until=dt.date(2027, 1, 15))
    admin = client_for(accr["county_admin"])
    response = admin.get("/institutions/registry/export/?kind=registry")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "杞县培训机构名录" and rows[1][0].endswith(f"导出人：{accr['county_admin'].username}")
    assert rows[2][:5] == ("机构代码", "机构名称", "类型", "所在区划", "准入状态")
    assert [r[0] for r in rows[3:]] == ["410221-JSFZ"] and rows[3][4] == "有效"
    expiring = admin.get("/api/v1/institutions/export?kind=expiring&days=90")
    assert expiring.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(expiring.streaming_content))).active
    assert [r[0] for r in sheet.iter_rows(min_row=4, values_only=True)] == ["410221-JSFZ"]
    events = AuditEvent.objects.dangerously_unscoped().filter(action="institutions.export").order_by("pk")
    assert [(e.detail["kind"], e.detail["rows"]) for e in events] == [("registry", 1), ("expiring", 1)]
    assert admin.get("/api/v1/institutions/export?kind=teachers").status_code == 422
    assert admin.get("/api/v1/institutions/export?kind=expiring&days=0").status_code == 422
    assert client_for(accr["teacher"]).get("/institutions/registry/export/?kind=registry").status_code == 403
    assert client_for(accr["school_admin"]).get("/api/v1/institutions").status_code == 403


def test_pages_and_api(accr, province, client_for):
    approved(accr, valid_until=dt.date(2027, 1, 15))
    admin = client_for(accr["city_admin"])
    page = admin.get("/institutions/registry/?in_force=1").content.decode()
    assert "杞县教师发展中心" in page and "开封市教师发展中心" not in page
    assert "杞县教师发展中心" in admin.get("/institutions/registry/expiring/?days=60").content.decode()
    listed = admin.get("/api/v1/institutions").json()
    assert {r["code"]: r["accreditation_state"] for r in listed}["410221-JSFZ"] == "approved"
    assert [r["institution"] for r in admin.get("/api/v1/accreditations-expiring?days=60").json()] == ["杞县教师发展中心"]


def test_the_staff_home_page(accr, province, client_for):
    row = approved(accr, valid_until=dt.date(2027, 1, 15))
    project(accr, province, code="QX-H-1", mode="shadowing")  # a draft the gate holds (mode not covered)
    publish_ok = project(accr, province, code="QX-H-2")
    publish(accr, publish_ok)
    page = client_for(accr["qx_staff"]).get("/home/").content.decode()
    assert "杞县教师发展中心" in page and f"#{row.pk}" in page and "申请续期" in page  # expires within 90 days
    assert "QX-H-2" in page and "QX-H-1" in page and "准入范围不含“跟岗研修”方式" in page
    other = client_for(accr["kf_staff"]).get("/home/").content.decode()
    assert "QX-H-2" not in other and "还没有准入申请" in other
