"""Decisions on claims say why, are told to the teacher, have a history, and can be undone
where the policy allows: a refused claim is revised and resubmitted, an approval reversed."""

import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEvent
from credits.models import CycleTotal, LedgerDecision, LedgerEntry
from credits.verification import ledger_verify
from notifications.models import Notification

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _claim(client, key="k-1"):
    response = client.post("/credits/claims/new/", {
        "category": "other", "hours": "3", "occurred_on": "2026-06-12", "note": "参加市级教研观摩活动",
        "idempotency_key": key, "evidence": SimpleUploadedFile("证明.pdf", PDF, "application/pdf")})
    assert response.status_code == 302
    return LedgerEntry.objects.dangerously_unscoped().order_by("-pk").first()


def _json(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def _approved_other(teacher):
    total = CycleTotal.objects.dangerously_unscoped().get(teacher=teacher, category="other")
    return total.approved_hours, total.pending_hours


def _notices(user):
    return list(Notification.objects.dangerously_unscoped().filter(recipient=user).order_by("pk")
                .values_list("kind", "body", "url", "event_key"))


def test_a_refusal_needs_a_reason_which_the_teacher_reads(users, client_for, province, media):
    entry = _claim(client_for(users["teacher"]))
    school = client_for(users["school_admin"])
    response = school.post("/credits/claims/", {"entry": entry.pk, "approve": "0"}, follow=True)
    assert "请填写不通过的原因" in response.content.decode()
    entry.refresh_from_db()
    assert entry.state == "pending" and not entry.decisions.exists()

    school.post("/credits/claims/", {"entry": entry.pk, "approve": "0", "reason": "证明材料无主办单位盖章"})
    entry.refresh_from_db()
    assert entry.state == "rejected"
    assert LedgerDecision.objects.dangerously_unscoped().get(entry=entry).note == "证明材料无主办单位盖章"
    [(kind, body, url, key)] = _notices(users["teacher"])
    assert kind == "claim.decided" and "证明材料无主办单位盖章" in body and url == "/credits/me/"
    assert key == f"claim.decided:{entry.pk}:1"

    teacher = client_for(users["teacher"])
    page = teacher.get(f"/credits/teachers/{province.teacher.pk}/").content.decode()
    assert "原因：证明材料无主办单位盖章" in page and "学校审核不通过" in page
    api = teacher.get(f"/api/v1/teachers/{province.teacher.pk}/credits?cycle={entry.cycle.code}").json()
    [row] = [e for e in api["entries"] if e["id"] == entry.pk]
    assert row["reason"] == "证明材料无主办单位盖章"
    assert [step["kind"] for step in row["history"]] == ["submitted", "school"]
    assert row["history"][1]["who"].endswith("school-4102210001")


def test_the_api_refuses_a_refusal_without_reason_with_422(users, client_for, province, media):
    entry = _claim(client_for(users["teacher"]))
    school = client_for(users["school_admin"])
    response = _json(school, f"/api/v1/credits/claims/{entry.pk}/decision", {"approve": False})
    assert response.status_code == 422 and "reason" in response.json()["errors"]
    response = _json(school, f"/api/v1/credits/claims/{entry.pk}/decision", {"approve": True})
    assert response.status_code == 200 and response.json()["history"][1]["label"] == "学校审核通过"
    county = client_for(users["county_admin"])
    assert _json(county, f"/api/v1/credits/claims/{entry.pk}/decision", {"approve": False, "reason": " "}).status_code == 422
    response = _json(county, f"/api/v1/credits/claims/{entry.pk}/decision", {"approve": False, "reason": "与已认定的培训重复"})
    assert response.status_code == 200
    assert response.json()["state"] == "rejected" and response.json()["reason"] == "与已认定的培训重复"
    assert AuditEvent.objects.dangerously_unscoped().get(action="ledger.reject").detail["reason"] == "与已认定的培训重复"
    # another county neither reads nor decides it
    assert client_for(users["sibling_admin"]).get(f"/api/v1/credits/claims/{entry.pk}").status_code == 404


def test_a_refused_claim_is_revised_and_resubmitted_once(users, client_for, province, media):
    teacher = client_for(users["teacher"])
    old = _claim(teacher)
    client_for(users["school_admin"]).post("/credits/claims/", {"entry": old.pk, "approve": "0", "reason": "学时填多了"})
    teacher = client_for(users["teacher"])
    form = teacher.get(f"/credits/claims/{old.pk}/resubmit/")
    assert form.status_code == 200 and "学时填多了" in form.content.decode()
    response = teacher.post(f"/credits/claims/{old.pk}/resubmit/", {
        "category": "other", "hours": "2", "occurred_on": "2026-06-12", "note": "参加市级教研观摩活动（半天）"})
    new = LedgerEntry.objects.dangerously_unscoped().order_by("-pk").first()
    assert response.status_code == 302 and response["Location"] == f"/credits/claims/{new.pk}/"
    assert (new.state, new.hours, new.evidence.name) == ("pending", Decimal("2.0"), old.evidence.name)
    old.refresh_from_db()
    assert old.state == "rejected"  # the refused claim stays as it was
    assert AuditEvent.objects.dangerously_unscoped().get(action="claim.resubmit").detail == {"resubmits": old.pk}
    detail = teacher.get(f"/credits/claims/{old.pk}/").content.decode()
    assert f"已修改后重新提交为申报 #{new.pk}" in detail
    assert f"原申报 #{old.pk}" in teacher.get(f"/credits/claims/{new.pk}/").content.decode()
    # the school deciding the new claim sees where it came from, and why the first was refused
    school_page = client_for(users["school_admin"]).get("/credits/claims/").content.decode()
    assert f"修改后重新提交（原申报 #{old.pk}）" in school_page
    assert "学时填多了" in client_for(users["school_admin"]).get(f"/credits/claims/{old.pk}/").content.decode()
    teacher = client_for(users["teacher"])
    again = teacher.post(f"/credits/claims/{old.pk}/resubmit/", {
        "category": "other", "hours": "2", "occurred_on": "2026-06-12", "note": "再交一次试试看"})
    assert again.status_code == 422 and "已重新提交过" in again.content.decode()
    api = _json(teacher, f"/api/v1/credits/claims/{old.pk}/resubmission",
                {"category": "other", "hours": "2", "occurred_on": "2026-06-12", "note": "再交一次试试看"})
    assert api.status_code == 422
    assert LedgerEntry.objects.dangerously_unscoped().count() == 2
    # a pending claim cannot be "resubmitted"; another teacher's claim is not found
    assert _json(teacher, f"/api/v1/credits/claims/{new.pk}/resubmission",
                 {"category": "other", "hours": "2", "occurred_on": "2026-06-12", "note": "再交一次试试看"}).status_code == 422
    assert client_for(users["sibling_teacher_user"]).get(f"/credits/claims/{old.pk}/resubmit/").status_code == 404
    assert client_for(users["school_admin"]).get(f"/credits/claims/{old.pk}/resubmit/").status_code == 403
    assert ledger_verify() == []


def test_an_approval_is_reversed_by_the_deciding_level_with_a_reason(users, client_for, province, media):
    entry = _claim(client_for(users["teacher"]))
    client_for(users["school_admin"]).post("/credits/claims/", {"entry": entry.pk, "approve": "1"})
    county = client_for(users["county_admin"])
    county.post("/credits/claims/", {"entry": entry.pk, "approve": "1"})
    assert _approved_other(province.teacher) == (Decimal("3.0"), Decimal("0.0"))
    assert f"/credits/claims/{entry.pk}/" in county.get("/credits/claims/").content.decode()

    # the school that checked it, and the teacher, may not reverse it; another county does not see it
    assert client_for(users["school_admin"]).post(f"/credits/claims/{entry.pk}/", {"reason": "弄错了"}).status_code == 403
    assert client_for(users["teacher"]).post(f"/credits/claims/{entry.pk}/", {"reason": "弄错了"}).status_code == 403
    assert client_for(users["sibling_admin"]).post(f"/credits/claims/{entry.pk}/", {"reason": "弄错了"}).status_code == 404
    county = client_for(users["county_admin"])
    county.post(f"/credits/claims/{entry.pk}/", {"reason": ""})
    entry.refresh_from_db()
    assert entry.state == "approved"

    response = county.post(f"/credits/claims/{entry.pk}/", {"reason": "活动与集中培训重复计入"})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.state == "revoked" and _approved_other(province.teacher) == (Decimal("0.0"), Decimal("0.0"))
    correction = LedgerEntry.objects.dangerously_unscoped().get(reverses=entry)
    assert correction.hours == Decimal("-3.0")  # a compensating entry; the original row stays
    assert AuditEvent.objects.dangerously_unscoped().filter(action="ledger.revoke", object_id=str(entry.pk)).exists()
    teacher = client_for(users["teacher"])
    detail = teacher.get(f"/credits/claims/{entry.pk}/").content.decode()
    assert "撤销认定（冲销学时）" in detail and "活动与集中培训重复计入" in detail and "县级认定通过" in detail
    assert "撤销认定</button>" not in detail
    kinds = [key for *_, key in _notices(users["teacher"])]
    assert kinds == [f"claim.decided:{entry.pk}:1", f"claim.decided:{entry.pk}:2", f"claim.decided:{entry.pk}:3"]
    # only once
    again = _json(client_for(users["county_admin"]), f"/api/v1/credits/claims/{entry.pk}/reversal", {"reason": "再撤一次"})
    assert again.status_code == 422


def test_no_reversal_once_the_cycle_is_closed(users, client_for, province, media):
    import datetime as dt

    entry = _claim(client_for(users["teacher"]))
    client_for(users["school_admin"]).post("/credits/claims/", {"entry": entry.pk, "approve": "1"})
    client_for(users["county_admin"]).post("/credits/claims/", {"entry": entry.pk, "approve": "1"})
    cycle = entry.cycle
    cycle.closed_on = dt.date(2026, 11, 1)
    cycle.save(update_fields=["closed_on"])
    response = _json(client_for(users["county_admin"]), f"/api/v1/credits/claims/{entry.pk}/reversal",
                     {"reason": "活动重复"})
    assert response.status_code == 422 and "已关闭" in json.dumps(response.json(), ensure_ascii=False)
    entry.refresh_from_db()
    assert entry.state == "approved"


def test_history_lists_stay_flat(users, client_for, province, media, django_assert_max_num_queries):
    for n in range(3):
        entry = _claim(client_for(users["teacher"]), key=f"k-{n}")
        client_for(users["school_admin"]).post("/credits/claims/", {"entry": entry.pk, "approve": "0", "reason": "材料不清晰"})
    teacher = client_for(users["teacher"])
    teacher.get(f"/credits/teachers/{province.teacher.pk}/")
    with django_assert_max_num_queries(16):
        page = teacher.get(f"/credits/teachers/{province.teacher.pk}/")
    assert page.content.decode().count("原因：材料不清晰") >= 3


def test_the_review_list_stays_flat(users, client_for, province, media, django_assert_max_num_queries):
    for n in range(4):
        _claim(client_for(users["teacher"]), key=f"r-{n}")
    school = client_for(users["school_admin"])
    school.get("/credits/claims/")
    with django_assert_max_num_queries(14):
        page = school.get("/credits/claims/").content.decode()
    assert page.count("审核记录</summary>") == 4
