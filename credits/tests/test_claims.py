"""A teacher's claim with evidence: school check, then county decision (issue 3 item 2)."""

from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEvent
from credits.models import CycleTotal, LedgerEntry

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _claim(client, key="k-1", **overrides):
    data = {"category": "other", "hours": "3", "occurred_on": "2026-06-12", "note": "参加市级教研观摩活动",
            "idempotency_key": key, "evidence": SimpleUploadedFile("证明.pdf", PDF, "application/pdf")}
    data.update(overrides)
    return client.post("/credits/claims/new/", data)


def _totals(teacher):
    total = CycleTotal.objects.dangerously_unscoped().get(teacher=teacher, category="other")
    return total.approved_hours, total.pending_hours


def test_claim_goes_school_then_county(users, client_for, province, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    teacher = province.teacher
    assert _claim(client_for(users["teacher"])).status_code == 302
    assert _claim(client_for(users["teacher"])).status_code == 302  # a double-submitted form is one claim
    entry = LedgerEntry.objects.dangerously_unscoped().get()
    assert (entry.state, entry.source_type) == ("pending", "claim") and _totals(teacher) == (Decimal("0"), Decimal("3.0"))

    # The county sees nothing until the school has checked it, and cannot decide it.
    county = client_for(users["county_admin"])
    assert "参加市级教研观摩活动" not in county.get("/credits/claims/").content.decode()
    county.post("/credits/claims/", {"entry": entry.pk, "approve": "1"})
    entry.refresh_from_db()
    assert entry.state == "pending" and entry.school_checked_at is None

    school = client_for(users["school_admin"])
    assert "参加市级教研观摩活动" in school.get("/credits/claims/").content.decode()
    assert school.get(f"/credits/entries/{entry.pk}/evidence/").status_code == 200
    school.post("/credits/claims/", {"entry": entry.pk, "approve": "1"})
    entry.refresh_from_db()
    assert entry.state == "pending" and entry.school_checked_by == users["school_admin"]

    county = client_for(users["county_admin"])
    assert "参加市级教研观摩活动" in county.get("/credits/claims/").content.decode()
    county.post("/credits/claims/", {"entry": entry.pk, "approve": "1"})
    entry.refresh_from_db()
    assert entry.state == "approved" and entry.decided_by == users["county_admin"]
    assert _totals(teacher) == (Decimal("3.0"), Decimal("0.0"))
    assert AuditEvent.objects.dangerously_unscoped().filter(action="claim.school_check").count() == 1
    assert AuditEvent.objects.dangerously_unscoped().filter(action="ledger.approve", object_id=str(entry.pk)).count() == 1


def test_school_can_refuse_and_outsiders_see_nothing(users, client_for, province, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    _claim(client_for(users["teacher"]))
    entry = LedgerEntry.objects.dangerously_unscoped().get()
    assert client_for(users["sibling_admin"]).get(f"/credits/entries/{entry.pk}/evidence/").status_code == 404
    assert client_for(users["sibling_teacher_user"]).get(f"/credits/entries/{entry.pk}/evidence/").status_code == 404
    client_for(users["school_admin"]).post("/credits/claims/", {"entry": entry.pk, "approve": "0", "reason": "材料不全"})
    entry.refresh_from_db()
    assert entry.state == "rejected" and _totals(province.teacher) == (Decimal("0"), Decimal("0.0"))


def test_bad_claims_are_refused_with_reasons(users, client_for, province, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = client_for(users["teacher"])
    fake = SimpleUploadedFile("证明.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")
    for overrides, reason in [
        ({"evidence": fake}, "内容与扩展名不符"),
        ({"evidence": SimpleUploadedFile("a.exe", PDF)}, "只接受 PDF"),
        ({"hours": "20"}, "一天的学时不能超过"),
        ({"occurred_on": "2019-02-01"}, "不在任何继续教育周期内"),
        ({"note": "无"}, "请说明活动内容"),
    ]:
        response = _claim(client, key=reason, **overrides)
        assert response.status_code == 422 and reason in response.content.decode()
    assert not LedgerEntry.objects.dangerously_unscoped().exists()
    assert client_for(users["county_admin"]).get("/credits/claims/new/").status_code == 403


def test_a_malformed_decision_is_refused_not_a_crash(users, client_for):
    response = client_for(users["school_admin"]).post("/credits/claims/", {"entry": "abc", "approve": "1"})
    assert response.status_code == 404
