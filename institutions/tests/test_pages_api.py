"""The pages and the API of accreditation: what each viewer sees and may do, a whole application
through the pages and through the API, Chinese refusals, and the daily expiry task."""

import datetime as dt

import pytest

from institutions import services
from institutions.models import Accreditation
from institutions.tests.conftest import SCORES, pdf, scope_of

pytestmark = pytest.mark.django_db


def _applied(accr, submit=True):
    staff = accr["qx_staff"]
    row = services.accreditation_apply(scope=scope_of(staff), actor=staff, institution_id=accr["qx"].pk,
                                       levels=["county"], categories=["backbone"], modes=["online"], files=[pdf()])
    if submit:
        services.accreditation_submit(scope=scope_of(staff), actor=staff, accreditation_id=row.pk)
    return row


def test_the_whole_application_through_the_pages(accr, client_for):
    staff = client_for(accr["qx_staff"])
    page = staff.get("/institutions/accreditations/apply/")
    assert page.status_code == 200 and "杞县教师发展中心" in page.content.decode()
    response = staff.post("/institutions/accreditations/apply/", {
        "institution": accr["qx"].pk, "levels": "county", "categories": ["backbone", "topic"], "modes": "online",
        "note": "近三年承担县级骨干培训", "evidence": pdf()})
    assert response.status_code == 302
    row = Accreditation.objects.dangerously_unscoped().get()
    assert staff.post(f"/institutions/accreditations/{row.pk}/submit/").status_code == 302
    detail = staff.get(f"/institutions/accreditations/{row.pk}/").content.decode()
    assert "待审核" in detail and 'id="decide"' not in detail and "资质证明.pdf" in detail
    county = client_for(accr["county_admin"])
    listing = county.get("/institutions/accreditations/?to_decide=1").content.decode()
    assert f"#{row.pk}" in listing
    detail = county.get(f"/institutions/accreditations/{row.pk}/").content.decode()
    assert 'id="decide"' in detail and "专兼职培训者队伍" in detail
    form = {"decision": "approve", "valid_from": "2026-12-01", "valid_until": "2029-11-30",
            **{f"score_{code}": str(value) for code, value in SCORES.items()}}
    county.post(f"/institutions/accreditations/{row.pk}/decide/", form)
    row.refresh_from_db()
    assert row.state == "approved"
    detail = county.get(f"/institutions/accreditations/{row.pk}/").content.decode()
    assert "2029-11-30" in detail and "批准" in detail and 'id="suspend"' in detail
    download = client_for(accr["qx_staff"]).get(
        f"/institutions/accreditations/{row.pk}/evidence/{row.evidence.get().pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF")


def test_bad_input_on_the_pages_is_a_chinese_message_and_nothing_written(accr, client_for):
    staff = client_for(accr["qx_staff"])
    response = staff.post("/institutions/accreditations/apply/", {
        "institution": accr["qx"].pk, "levels": "city", "categories": "backbone", "modes": "online",
        "evidence": pdf()})
    assert response.status_code == 400 and "不能申请高于本机构所在区划层级" in response.content.decode()
    response = staff.post("/institutions/accreditations/apply/", {
        "institution": accr["qx"].pk, "levels": "county", "categories": "backbone", "modes": "online",
        "evidence": pdf("a.txt", b"hello")})
    assert response.status_code == 400 and "只接受" in response.content.decode()
    assert not Accreditation.objects.dangerously_unscoped().exists()
    row = _applied(accr)
    county = client_for(accr["county_admin"])
    response = county.post(f"/institutions/accreditations/{row.pk}/decide/", {
        "decision": "approve", "valid_from": "2027-12-01", "valid_until": "2026-12-30",
        **{f"score_{code}": str(value) for code, value in SCORES.items()}}, follow=True)
    assert "有效期开始日期不能晚于结束日期" in response.content.decode()
    row.refresh_from_db()
    assert row.state == "submitted" and not row.scores.exists()
    response = county.post(f"/institutions/accreditations/{row.pk}/decide/", {
        "decision": "approve", "valid_from": "not-a-date"}, follow=True)
    assert "日期格式" in response.content.decode()


def test_who_sees_what(accr, client_for, province):
    row = _applied(accr)
    for who, status in (("qx_staff", 200), ("county_admin", 200), ("city_admin", 200), ("province_admin", 200),
                        ("kf_staff", 404), ("sibling_admin", 404), ("teacher", 403), ("school_admin", 403)):
        assert client_for(accr[who]).get(f"/institutions/accreditations/{row.pk}/").status_code == status, who
    assert f"#{row.pk}" not in client_for(accr["kf_staff"]).get("/institutions/accreditations/").content.decode()
    assert client_for(accr["teacher"]).get("/institutions/accreditations/").status_code == 403
    nav = client_for(accr["qx_staff"]).get("/institutions/accreditations/").content.decode()
    assert "机构准入" in nav


def test_the_whole_application_through_the_api(accr, client_for):
    staff = client_for(accr["qx_staff"])
    made = staff.post("/api/v1/accreditations", {"institution_id": accr["qx"].pk, "levels": ["county"],
                                                 "categories": ["backbone"], "modes": ["online"]},
                      content_type="application/json")
    assert made.status_code == 201, made.content
    pk = made.json()["id"]
    refused = staff.post(f"/api/v1/accreditations/{pk}/submit", content_type="application/json")
    assert refused.status_code == 422 and "证明材料" in str(refused.json()["errors"])
    assert staff.post(f"/api/v1/accreditations/{pk}/evidence", {"file": pdf()}).status_code == 200
    assert staff.post(f"/api/v1/accreditations/{pk}/submit", content_type="application/json").json()["state"] == \
        "submitted"
    county = client_for(accr["county_admin"])
    body = county.get(f"/api/v1/accreditations/{pk}").json()
    assert [s["criterion"] for s in body["scores"]] == ["trainers", "sites", "performance", "management"]
    low = county.post(f"/api/v1/accreditations/{pk}/decision", {
        "decision": "approve", "scores": {code: 1 for code in SCORES}, "valid_from": "2026-12-01",
        "valid_until": "2029-11-30"}, content_type="application/json")
    assert low.status_code == 422 and "合格线" in str(low.json()["errors"])
    done = county.post(f"/api/v1/accreditations/{pk}/decision", {
        "decision": "approve", "scores": SCORES, "valid_from": "2026-12-01", "valid_until": "2029-11-30"},
        content_type="application/json")
    assert done.status_code == 200 and done.json()["state"] == "approved"
    assert [e["action"] for e in done.json()["events"]] == ["apply", "evidence", "submit", "approve"]
    assert [r["id"] for r in staff.get("/api/v1/accreditations?state=approved").json()] == [pk]
    assert client_for(accr["kf_staff"]).get(f"/api/v1/accreditations/{pk}").status_code == 404


def test_the_daily_task_expires_what_ended(accr):
    from institutions.tasks import accreditations_expire_task

    row = _applied(accr)
    county = accr["county_admin"]
    services.accreditation_decide(scope=scope_of(county), actor=county, accreditation_id=row.pk, decision="approve",
                                  scores=SCORES, valid_from=dt.date(2026, 11, 28), valid_until=dt.date(2026, 11, 30))
    import time_machine

    with time_machine.travel(dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC), tick=False):
        assert accreditations_expire_task() == 1
    row.refresh_from_db()
    assert row.state == "expired" and row.events.last().actor is None
