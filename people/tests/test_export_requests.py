"""Full ID numbers leave the system only with a second person's approval."""

import csv
import io
import re

import pytest

from access.scope import scope_for_user
from audit.models import AuditEvent
from people.export_requests import export_request_create
from people.models import ExportRequest
from people.selectors import TeacherFilters

FULL_ID = re.compile(r"\d{17}[\dX]")


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_unapproved_unmasked_export_is_refused(users, client_for):
    client = client_for(users["county_admin"])
    assert client.get("/teachers/roster/export/?full_ids=1&format=csv").status_code == 403
    assert client.get("/teachers/roster/export/?full_ids=1&request=999&format=csv").status_code == 404
    # A request of one's own that nobody approved yet: seen, refused.
    pending = export_request_create(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"],
                                    filters=TeacherFilters(), reason="年度统计核对")
    assert client.get(f"/teachers/roster/export/?request={pending.pk}&format=csv").status_code == 403


def test_request_approved_by_another_admin_gives_one_full_export(users, client_for, make_user, province):
    requester = users["county_admin"]
    client = client_for(requester)
    response = client.post("/teachers/roster/export-requests/", {"reason": "报送职称评审名单", "stage": "primary", "full_ids": "1"})
    assert response.status_code == 302
    request = ExportRequest.objects.dangerously_unscoped().get(requested_by=requester)
    assert request.state == "pending" and request.filters == {"stage": "primary"}

    # The requester cannot approve their own request.
    client.post("/teachers/roster/export-requests/", {"decide": request.pk, "approve": "1"})
    request.refresh_from_db()
    assert request.state == "pending"
    # An admin of another county cannot either.
    client_for(users["sibling_admin"]).post("/teachers/roster/export-requests/", {"decide": request.pk, "approve": "1"})
    request.refresh_from_db()
    assert request.state == "pending"
    # The city above approves.
    client_for(users["city_admin"]).post("/teachers/roster/export-requests/", {"decide": request.pk, "approve": "1"})
    request.refresh_from_db()
    assert request.state == "approved" and request.decided_by == users["city_admin"]

    client = client_for(requester)
    response = client.get(f"/teachers/roster/export/?full_ids=1&request={request.pk}&format=csv")
    assert response.status_code == 200
    rows = _csv(response)
    assert [row[1] for row in rows[1:]] == [province.teacher.name]
    assert rows[1][2] == province.teacher.id_number and FULL_ID.fullmatch(rows[1][2])
    # Spent: a second download is refused.
    assert client.get(f"/teachers/roster/export/?full_ids=1&request={request.pk}&format=csv").status_code == 403
    export_event = AuditEvent.objects.dangerously_unscoped().filter(action="roster.export").latest("id")
    assert export_event.detail["full_ids"] is True and export_event.detail["rows"] == 1
    assert AuditEvent.objects.dangerously_unscoped().filter(action="export.approve", actor=users["city_admin"]).count() == 1


def test_rejected_request_cannot_be_downloaded(users, client_for):
    client_for(users["county_admin"]).post("/teachers/roster/export-requests/", {"reason": "报送职称评审名单"})
    request = ExportRequest.objects.dangerously_unscoped().get()
    client_for(users["province_admin"]).post("/teachers/roster/export-requests/", {"decide": request.pk, "approve": "0"})
    request.refresh_from_db()
    assert request.state == "rejected"
    response = client_for(users["county_admin"]).get(f"/teachers/roster/export/?full_ids=1&request={request.pk}&format=csv")
    assert response.status_code == 403


@pytest.mark.django_db
def test_a_request_needs_a_reason(users, client_for):
    client_for(users["county_admin"]).post("/teachers/roster/export-requests/", {"reason": "x"})
    assert not ExportRequest.objects.dangerously_unscoped().exists()


def test_bulk_masked_export_needs_approval_too(users, client_for, settings):
    settings.EXPORT_BULK_ROWS = 2  # the city holds three teachers
    city = client_for(users["city_admin"])
    response = city.get("/teachers/roster/export/?format=csv")
    assert response.status_code == 403
    assert city.get("/teachers/roster/export/?format=csv&division=410221").status_code == 200  # one row: fine
    city.post("/teachers/roster/export-requests/", {"reason": "全市名册年度核对"})  # masked: no full_ids
    request = ExportRequest.objects.dangerously_unscoped().get()
    assert request.full_ids is False
    client_for(users["province_admin"]).post("/teachers/roster/export-requests/", {"decide": request.pk, "approve": "1"})
    city = client_for(users["city_admin"])  # the fixture client was signed in as the approver
    rows = _csv(city.get(f"/teachers/roster/export/?request={request.pk}&format=csv"))
    assert len(rows) == 4 and all("*" in row[2] for row in rows[1:])
    assert not any(FULL_ID.fullmatch(row[2]) for row in rows[1:])


def test_page_exports_are_rate_limited(users, client_for, settings):
    settings.EXPORT_MAX_PER_HOUR = 2
    client = client_for(users["county_admin"])
    assert [client.get("/teachers/roster/export/?format=csv").status_code for _ in range(3)] == [200, 200, 429]
