"""The performance pages and API as each persona: the ranking, a project's score card and the
cases, seen by the administrators over the organiser and by the implementing institution (its
own projects only, never a rater), refused to everyone else; query counts of the lists."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access.scope import scope_for_user
from evaluation.models import EliminationCase, ProjectScore, ScoreWeights
from evaluation.performance import ranking_compute
from evaluation.tests import test_performance_support as s

RANKED = dt.datetime(2026, 1, 10, 2, tzinfo=dt.UTC)


@pytest.fixture
def world(province, users, make_user):
    inst = s.institution(province)
    other = s.institution(province, code="410221-PX", name="杞县教师培训中心", division=province.county)
    projects = s.five_projects(province, users, inst)
    for row in projects:
        Project = type(row)
        Project.objects.dangerously_unscoped().filter(pk=row.pk).update(title=f"通许县研修{row.code}")
    qx = s.project(province.county, "QX-1", inst=other, title="杞县研修QX-1")
    s.scored(province, users["county_admin"], qx, supervision=70, outcome=70)
    s.rated(province, projects[0], [{"1": 5, "2": 1}] * 10)
    s.weights(users["province_admin"])
    with time_machine.travel(RANKED, tick=False):
        ranking_compute(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"], year=2025)
    return {**users, "staff": s.staff(make_user, inst), "stranger_staff": s.staff(make_user, other),
            "_projects": projects, "_qx": qx, "_case": EliminationCase.objects.dangerously_unscoped().get()}


INSIDERS = ["sibling_admin", "city_admin", "province_admin", "staff"]
OUTSIDERS = ["county_admin", "other_city_admin", "direct_admin", "school_admin", "stranger_staff"]


def _urls(world):
    project, case = world["_projects"][0], world["_case"]
    return {"score": f"/evaluation/projects/{project.pk}/score/", "case": f"/evaluation/cases/{case.pk}/",
            "api_score": f"/api/v1/projects/{project.pk}/score"}


@pytest.mark.parametrize("persona", INSIDERS)
def test_insiders_see_the_score_card_and_the_case(world, client_for, persona):
    client = client_for(world[persona])
    urls = _urls(world)
    response = client.get(urls["score"])
    page = response.content.decode()
    assert response.status_code == 200, page[page.find("<main"):page.find("</main>")]
    assert "通许县研修TX-P1" in page and "1 / 6" in page and "学员网络匿名评价" in page
    assert "通许县研修TX-P5" in client.get(urls["case"]).content.decode()
    card = client.get(urls["api_score"]).json()
    assert (card["rank"], card["group_size"], card["rating"]) == (1, 6, 100.0)  # one group: county backbone, 杞县's project too
    assert set(card) == {"id", "project_id", "project_code", "project_title", "institution", "year", "level",
                         "category", "supervision", "rating", "outcome", "stakeholder", "composite", "normalised",
                         "rank", "group_size", "flagged", "weights_version", "case_id", "case_state", "weights"}
    ranking = client.get("/api/v1/evaluation/rankings?year=2025").json()
    assert {r["project_code"] for r in ranking} >= {"TX-P1", "TX-P5"}


@pytest.mark.parametrize("persona", OUTSIDERS)
def test_outsiders_get_404_and_lists_without_the_county(world, client_for, persona):
    client = client_for(world[persona])
    for url in _urls(world).values():
        assert client.get(url).status_code == 404, url
    for url in ("/evaluation/rankings/?year=2025", "/evaluation/cases/", "/api/v1/evaluation/rankings?year=2025",
                "/api/v1/elimination-cases"):
        response = client.get(url)
        assert response.status_code == 200 and "通许县研修" not in response.content.decode() and "TX-P" not in \
            response.content.decode(), (url, persona)


def test_the_institution_sees_its_own_projects_only(world, client_for):
    body = client_for(world["stranger_staff"]).get("/api/v1/evaluation/rankings?year=2025").json()
    assert [r["project_code"] for r in body] == ["QX-1"]
    own = client_for(world["staff"]).get("/api/v1/evaluation/rankings?year=2025").json()
    assert {r["project_code"] for r in own} == {"TX-P1", "TX-P2", "TX-P3", "TX-P4", "TX-P5"}


def test_teachers_are_refused_every_page_and_route(world, client_for):
    client = client_for(world["teacher"])
    for url in (*_urls(world).values(), "/evaluation/rankings/", "/evaluation/cases/", "/evaluation/weights/",
                "/api/v1/evaluation/weights", "/api/v1/elimination-cases"):
        assert client.get(url).status_code == 403, url


def test_the_ranking_page_draws_a_chart_per_group_from_a_static_script(world, client_for):
    body = client_for(world["province_admin"]).get("/evaluation/rankings/?year=2025").content.decode()
    assert body.count("data-ranking-chart=") == 1  # one group: county × backbone (通许县's five, 杞县's one)
    assert "evaluation/ranking_chart.js" in body and "<script>" not in body  # data in json_script, code in a file
    assert "拟末位淘汰" in body and "计算（重新计算）2025年度排名" in body


def test_the_ranking_export_holds_what_the_viewer_sees_and_is_audited(world, client_for, settings):
    from io import BytesIO

    from openpyxl import load_workbook

    from audit.models import AuditEvent

    def cells(persona):
        response = client_for(world[persona]).get("/evaluation/rankings/?year=2025&format=xlsx")
        assert response.status_code == 200 and response["Content-Type"].startswith("application/")
        sheet = load_workbook(BytesIO(b"".join(response.streaming_content))).active
        return [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]

    city = cells("city_admin")
    assert {"TX-P1", "TX-P5", "QX-1", "拟末位淘汰"} <= set(city)
    assert any("2025年度培训项目绩效排名" in c for c in city)
    county = cells("county_admin")
    assert "QX-1" in county and not any(c.startswith("TX-P") for c in county)
    events = AuditEvent.objects.dangerously_unscoped().filter(action="evaluation.ranking_export")
    assert events.count() == 2 and {e.detail["rows"] for e in events} == {6, 1}
    settings.EXPORT_MAX_PER_HOUR = 1  # the city has exported once this hour
    assert client_for(world["city_admin"]).get("/evaluation/rankings/?year=2025&format=xlsx").status_code == 429
    assert "导出Excel" in client_for(world["city_admin"]).get("/evaluation/rankings/?year=2025").content.decode()


LISTS = ("/evaluation/rankings/?year=2025", "/evaluation/cases/", "/api/v1/evaluation/rankings?year=2025",
         "/api/v1/elimination-cases", "/evaluation/weights/")


def test_query_counts_of_the_lists_do_not_grow_with_rows(world, client_for, province, django_assert_max_num_queries):
    client = client_for(world["province_admin"])

    def counts():
        found = {}
        for url in LISTS:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            found[url] = len(queries)
        return found

    counts()  # the session and caches warmed
    few = counts()
    inst = world["_projects"][0].institution
    for n, total in enumerate((30, 35, 40, 45, 55, 65, 75, 85), start=1):  # eight more, two more flagged
        s.scored(province, world["sibling_admin"], s.project(province.sibling, f"TX-M{n}", inst=inst),
                 supervision=total, outcome=total)
    with time_machine.travel(RANKED, tick=False):
        ranking_compute(scope=scope_for_user(world["province_admin"]), actor=world["province_admin"], year=2025)
    assert ProjectScore.objects.dangerously_unscoped().count() == 14
    assert EliminationCase.objects.dangerously_unscoped().count() == 2
    many = counts()
    assert many == few, (few, many)
    for url in LISTS:
        with django_assert_max_num_queries(12):
            client.get(url)


def test_weights_page_shows_versions_and_refuses_a_bad_sum(world, client_for):
    client = client_for(world["province_admin"])
    response = client.post("/evaluation/weights/", {"year": 2026, "supervision": "0.5", "rating": "0.5",
                                                    "outcome": "0.5", "stakeholder": "0", "bottom_share": "0.1"})
    assert response.status_code == 400 and "之和必须等于1" in response.content.decode()
    assert not ScoreWeights.objects.dangerously_unscoped().filter(year=2026).exists()
    api = client.post("/api/v1/evaluation/weights", {"year": 2026, "supervision": "0.5", "rating": "0.5",
                                                     "outcome": "0", "stakeholder": "0.1", "bottom_share": "0.1"},
                      content_type="application/json")
    assert api.status_code == 422 and "之和必须等于1" in str(api.json()["errors"])
    assert not ScoreWeights.objects.dangerously_unscoped().filter(year=2026).exists()
    page = client_for(world["county_admin"]).get("/evaluation/weights/").content.decode()
    assert "2025" in page and "保存为新版本" not in page  # others read, only the province edits


def test_the_api_flow_appeal_then_decide(world, client_for, make_user, province):
    case = world["_case"]
    with time_machine.travel(RANKED + dt.timedelta(days=2), tick=False):
        appealed = client_for(world["staff"]).post(f"/api/v1/elimination-cases/{case.pk}/appeal",
                                                   {"reason": "视导评分有误，请复核"}, content_type="application/json")
        assert appealed.status_code == 200 and appealed.json()["state"] == "appealed"
        decided = client_for(world["province_admin"]).post(f"/api/v1/elimination-cases/{case.pk}/decide",
                                                           {"decision": "confirm", "note": "经复核维持"},
                                                           content_type="application/json")
    assert decided.status_code == 200 and decided.json()["sanction"] == "warning"
    assert ProjectScore.objects.dangerously_unscoped().get(pk=case.score_id).flagged
