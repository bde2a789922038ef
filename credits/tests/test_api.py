"""POST /api/v1/credits/entries and GET /api/v1/teachers/{id}/credits."""

import datetime as dt
import json

from credits.models import LedgerEntry


def _post(client, body):
    return client.post("/api/v1/credits/entries", data=json.dumps(body), content_type="application/json")


def _body(teacher, **overrides):
    body = {"teacher_id": teacher.pk, "category": "online", "hours": "2.5", "occurred_on": "2026-05-06",
            "source_type": "integration", "source_id": "NP-2026-000123"}
    body.update(overrides)
    return body


def test_recording_is_idempotent_by_source_key(users, client_for, province):
    client = client_for(users["county_admin"])
    first = _post(client, _body(province.teacher))
    second = _post(client, _body(province.teacher))
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"] and first.json()["hours"] == 2.5
    conflict = _post(client, _body(province.teacher, hours="3"))
    assert conflict.status_code == 409 and conflict.json()["code"] == "conflict"
    assert LedgerEntry.objects.dangerously_unscoped().count() == 1


def test_bad_entries_get_clear_4xx_and_write_nothing(users, client_for, province):
    client = client_for(users["county_admin"])
    for body, status, field in [
        (_body(province.teacher, hours="-1"), 422, "hours"),
        (_body(province.teacher, hours="30"), 422, "hours"),
        (_body(province.teacher, category="nap"), 422, "category"),
        (_body(province.teacher, occurred_on="2019-01-01"), 422, "occurred_on"),
    ]:
        response = _post(client, body)
        assert response.status_code == status
        assert field in response.json()["errors"]
    assert _post(client, _body(province.teacher, occurred_on="not-a-date")).status_code == 422
    assert _post(client, {**_body(province.teacher), "teacher_id": 10**12}).status_code == 404
    assert not LedgerEntry.objects.dangerously_unscoped().exists()


def test_only_the_teachers_jurisdiction_may_record(users, client_for, province):
    assert _post(client_for(users["sibling_admin"]), _body(province.teacher)).status_code == 404
    assert _post(client_for(users["teacher"]), _body(province.teacher)).status_code == 403
    assert _post(client_for(users["city_admin"]), _body(province.direct_teacher)).status_code == 403  # 省直管县: read only
    assert _post(client_for(users["direct_admin"]), _body(province.direct_teacher)).status_code == 201
    assert LedgerEntry.objects.dangerously_unscoped().count() == 1


def test_credits_summary_is_scoped(users, client_for, province):
    _post(client_for(users["county_admin"]), _body(province.teacher))
    data = client_for(users["teacher"]).get(f"/api/v1/teachers/{province.teacher.pk}/credits").json()
    assert data["cycle"] == "2026-2030" and data["required"] == 360 and data["counted"] == 2.5
    assert [e["source_id"] for e in data["entries"]] == ["NP-2026-000123"]
    assert {c["category"] for c in data["categories"]} >= {"centralised", "online", "school_based"}
    assert client_for(users["sibling_admin"]).get(f"/api/v1/teachers/{province.teacher.pk}/credits").status_code == 404
    assert client_for(users["county_admin"]).get(f"/api/v1/teachers/{province.teacher.pk}/credits?cycle=1999").status_code == 404
    closed = client_for(users["county_admin"]).get(f"/api/v1/teachers/{province.teacher.pk}/credits?cycle=2021-2025").json()
    assert closed["counted"] == 0 and closed["entries"] == []


def test_hours_page_for_the_teacher_and_their_administrators_only(users, client_for, province):
    _post(client_for(users["county_admin"]), _body(province.teacher))
    page = client_for(users["teacher"]).get("/credits/me/", follow=True)
    body = page.content.decode()
    assert page.status_code == 200 and "我的学时" in body and "NP-2026" not in body and "2.5" in body
    assert client_for(users["county_admin"]).get(f"/credits/teachers/{province.teacher.pk}/").status_code == 200
    assert client_for(users["sibling_admin"]).get(f"/credits/teachers/{province.teacher.pk}/").status_code == 404
    assert client_for(users["sibling_teacher_user"]).get(f"/credits/teachers/{province.teacher.pk}/").status_code == 404
    closed = client_for(users["teacher"]).get("/credits/me/?cycle=2021-2025")
    assert closed["Location"] == f"/credits/teachers/{province.teacher.pk}/?cycle=2021-2025"  # the chosen cycle survives


# --- who may write which key, and which state ------------------------------------------------


def test_an_api_client_cannot_write_a_system_writers_source_type(users, client_for, province):
    """A county once wrote `project` entries through the API whose ids a later real completion in
    another county needed: that completion failed. Only `integration` may be written here now."""
    client = client_for(users["sibling_admin"])
    for source_type in ("project", "claim", "external", "correction", "course", "synth"):
        response = _post(client, _body(province.sibling_teacher, source_type=source_type, source_id="77:1:1"))
        assert response.status_code == 422 and "source_type" in response.json()["errors"]
    assert not LedgerEntry.objects.dangerously_unscoped().exists()
    # The real completion of project 77 for a 杞县 teacher is then recorded as usual.
    from credits.services import ledger_entry_record

    entry, created = ledger_entry_record(teacher=province.teacher, category="centralised", hours="6",
                                         occurred_on=dt.date(2026, 5, 6), source_type="project", source_id="77:1:1")
    assert created and entry.source_key == "project:77:1:1"


def test_an_api_key_belongs_to_the_account_that_wrote_it(users, client_for, province):
    """The same source id from two accounts is two entries; a conflict names only the caller's own entry."""
    first = _post(client_for(users["county_admin"]), _body(province.teacher, source_id="SHARED-1"))
    other = _post(client_for(users["sibling_admin"]), _body(province.sibling_teacher, source_id="SHARED-1", hours="4"))
    assert (first.status_code, other.status_code) == (201, 201)
    keys = set(LedgerEntry.objects.dangerously_unscoped().values_list("source_key", flat=True))
    assert keys == {f"integration:u{users['county_admin'].pk}:SHARED-1", f"integration:u{users['sibling_admin'].pk}:SHARED-1"}
    conflict = _post(client_for(users["sibling_admin"]), _body(province.sibling_teacher, source_id="SHARED-1", hours="5"))
    assert conflict.status_code == 409
    detail = conflict.json()["detail"]
    assert "#" not in detail and "integration:" not in detail and str(first.json()["id"]) not in detail
    # An account's own key given for another of its teachers is a conflict too, not a second entry.
    from people.tests.factories import TeacherFactory

    moved = _post(client_for(users["county_admin"]), _body(TeacherFactory(school=province.school), source_id="SHARED-1"))
    assert moved.status_code == 409 and LedgerEntry.objects.dangerously_unscoped().count() == 2


def test_a_school_writes_only_pending_hours_which_then_wait_for_the_county(users, client_for, province):
    school = client_for(users["school_admin"])
    assert _post(school, _body(province.teacher, source_id="S-1")).status_code == 403  # approved: the county's
    response = _post(school, _body(province.teacher, source_id="S-2", state="pending"))
    assert response.status_code == 201 and response.json()["state"] == "pending"
    entry = LedgerEntry.objects.dangerously_unscoped().get(pk=response.json()["id"])
    assert entry.school_checked_by == users["school_admin"] and entry.decisions.get().stage == "school"
    # Straight to the county stage: the school's queue does not hold it, the county's does.
    assert "S-2" not in school.get("/credits/claims/").content.decode()
    county = client_for(users["county_admin"])
    assert f'value="{entry.pk}"' in county.get("/credits/claims/").content.decode()
    county.post("/credits/claims/", {"entry": entry.pk, "approve": "1"})
    entry.refresh_from_db()
    assert entry.state == "approved" and entry.decided_by == users["county_admin"]
    from credits.verification import ledger_verify

    assert ledger_verify() == []


def test_direct_entries_are_audited_with_the_writer(users, client_for, province):
    from audit.models import AuditEvent

    response = _post(client_for(users["county_admin"]), _body(province.teacher))
    event = AuditEvent.objects.dangerously_unscoped().get(action="ledger.record", object_id=str(response.json()["id"]))
    assert event.actor == users["county_admin"] and event.scope_path == province.teacher.division_path
    assert event.detail["source_id"] == "NP-2026-000123" and event.detail["state"] == "approved"
