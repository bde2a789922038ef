"""The selection pages and API: Chinese errors and 422, the list page's paging and query count,
overrides shown with who and why, the export (audited, rate-limited), scope per persona."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from openpyxl import load_workbook

from audit.models import AuditEvent
from people.tests.factories import TeacherFactory
from quotas.selection_models import NominationList, NominationPick, PriorityRuleSet
from quotas.tests.helpers import high_end

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def project(province):
    for n in range(30):
        TeacherFactory(school=province.school, name=f"候选{n}")
    return high_end(province.city, seats=10)


def _build(client, project, **data):
    return client.post(f"/quotas/selection/projects/{project.pk}/", data)


def test_rule_form_publishes_a_version_and_refuses_bad_input_in_chinese(users, client_for):
    client = client_for(users["county_admin"])
    assert client.get("/quotas/selection/rules/new/").status_code == 200
    bad = client.post("/quotas/selection/rules/new/", {"rural_on": "1", "rural_points": "-3"})
    assert bad.status_code == 422 and "分值不能为负数" in bad.content.decode()
    assert not PriorityRuleSet.objects.dangerously_unscoped().exists()
    ok = client.post("/quotas/selection/rules/new/", {"rural_on": "1", "rural_points": "30", "years_since_on": "1",
                                                      "years_since_points": "3", "years_since_cap": "15"})
    assert ok.status_code == 302
    row = PriorityRuleSet.objects.dangerously_unscoped().get()
    assert row.version == 1 and list(row.rules.values_list("kind", "points")) == [("rural", 30), ("years_since", 3)]
    page = client.get(f"/quotas/selection/rules/{row.pk}/").content.decode()
    assert "乡村学校教师" in page and "封顶15分" in page


def test_rule_api_answers_422_with_errors(users, client_for):
    client = client_for(users["city_admin"])
    bad = client.post("/api/v1/selection/rule-sets", {"rules": [{"kind": "lottery", "points": 3}]},
                      content_type="application/json")
    assert bad.status_code == 422 and "未知的规则类型" in str(bad.json())
    ok = client.post("/api/v1/selection/rule-sets", {"rules": [{"kind": "rural", "points": 3}], "note": "试行"},
                     content_type="application/json")
    assert ok.status_code == 201 and ok.json()["version"] == 1 and ok.json()["division_code"] == "410200"
    assert [r["id"] for r in client.get("/api/v1/selection/rule-sets").json()] == [ok.json()["id"]]


def test_build_view_override_submit_on_the_pages(users, client_for, project, django_assert_max_num_queries):
    client = client_for(users["county_admin"])
    bad = _build(client, project, seats="0")
    assert bad.status_code == 422 and "入选名额应为1" in bad.content.decode()
    response = _build(client, project, seats="5", reserve="5")
    assert response.status_code == 302
    row = NominationList.objects.dangerously_unscoped().get()
    with django_assert_max_num_queries(20):
        page = client.get(f"/quotas/selection/lists/{row.pk}/")
    body = page.content.decode()
    assert page.status_code == 200 and "合计" in body and "符合条件 31 人" in body
    first = NominationPick.objects.dangerously_unscoped().get(nomination_list=row, rank=1)
    refused = client.post(f"/quotas/selection/lists/{row.pk}/drop/", {"pick": first.pk, "reason": ""}, follow=True)
    assert "请填写调整理由" in refused.content.decode()
    client.post(f"/quotas/selection/lists/{row.pk}/drop/", {"pick": first.pk, "reason": "借调外地"})
    body = client.get(f"/quotas/selection/lists/{row.pk}/").content.decode()
    assert "借调外地" in body and "admin-410221" in body and "递补入选" in body
    client.post(f"/quotas/selection/lists/{row.pk}/submit/")
    row.refresh_from_db()
    assert row.state == "submitted"
    body = client.get(f"/quotas/selection/lists/{row.pk}/?role=selected").content.decode()
    assert body.count("已录取") == 5


def test_the_api_builds_pages_overrides_and_submits(users, client_for, project):
    client = client_for(users["county_admin"])
    bad = client.post(f"/api/v1/projects/{project.pk}/nomination-lists", {"seats": -1},
                      content_type="application/json")
    assert bad.status_code == 422
    built = client.post(f"/api/v1/projects/{project.pk}/nomination-lists", {"seats": 3, "reserve": 200},
                        content_type="application/json")
    assert built.status_code == 201
    data = built.json()
    assert data["eligible_count"] == 31 and len(data["picks"]) == 31 and data["picks"][0]["rank"] == 1
    list_id, pick = data["id"], data["picks"][0]
    assert client.post(f"/api/v1/nomination-lists/{list_id}/drop", {"pick_id": pick["id"], "reason": " "},
                       content_type="application/json").status_code == 422
    dropped = client.post(f"/api/v1/nomination-lists/{list_id}/drop", {"pick_id": pick["id"], "reason": "病假"},
                          content_type="application/json").json()
    assert dropped["overrides"][0]["reason"] == "病假" and dropped["overrides"][0]["actor"] == "admin-410221"
    submitted = client.post(f"/api/v1/nomination-lists/{list_id}/submit").json()
    assert {p["outcome"] for p in submitted["picks"]} == {"enrolled"} and len(submitted["picks"]) == 3
    assert "id_number" not in str(submitted)


def test_export_is_audited_and_rate_limited(users, client_for, project, settings):
    client = client_for(users["county_admin"])
    _build(client, project, seats="2", reserve="1")
    row = NominationList.objects.dangerously_unscoped().get()
    response = client.get(f"/quotas/selection/lists/{row.pk}/?format=xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).active
    text = " ".join(str(c) for r in sheet.iter_rows(values_only=True) for c in r if c is not None)
    assert "合计" in text and "入选" in text
    assert AuditEvent.objects.dangerously_unscoped().filter(action="quotas.selection_export").count() == 1
    settings.EXPORT_MAX_PER_HOUR = 1
    assert client.get(f"/quotas/selection/lists/{row.pk}/?format=xlsx").status_code == 403


@pytest.mark.parametrize(("persona", "status"), [("school_admin", 403), ("teacher", 403), ("sibling_admin", 404),
                                                 ("other_city_admin", 404), ("city_admin", 200),
                                                 ("province_admin", 200)])
def test_who_sees_a_countys_list(users, client_for, project, persona, status):
    _build(client_for(users["county_admin"]), project, seats="2")
    row = NominationList.objects.dangerously_unscoped().get()
    client = client_for(users[persona])
    assert client.get(f"/quotas/selection/lists/{row.pk}/").status_code == status
    api = client.get(f"/api/v1/nomination-lists/{row.pk}")
    assert api.status_code == status
    if status != 200:
        assert "候选" not in api.content.decode()


def test_the_manage_page_links_high_end_projects(users, client_for, province):
    project = high_end(province.city)
    body = client_for(users["city_admin"]).get(f"/projects/{project.pk}/manage/").content.decode()
    assert f"/quotas/selection/projects/{project.pk}/" in body and "selection-link" in body
    other = high_end(province.city, code="N-1", is_high_end=False)
    assert "selection-link" not in client_for(users["city_admin"]).get(f"/projects/{other.pk}/manage/").content.decode()
