"""POST /api/v1/credits/entries and GET /api/v1/teachers/{id}/credits."""

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
