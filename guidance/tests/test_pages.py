"""The pages and the API of expert guidance, route × persona: who gets what, and that a list
costs a fixed number of queries."""

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from access.scope import scope_for_user
from audit.models import AuditEvent
from guidance.dashboard import dashboard
from guidance.models import Question
from guidance.questions import question_answer, question_ask, question_resolve

TEXT = "怎样在小学语文课上组织有效的小组合作学习，避免只有几个学生在说？"


def _asked(teams, n=1, **extra):
    made = []
    for i in range(n):
        made.append(question_ask(scope=teams.teacher, user=teams.teacher_user, subject="chinese",
                                 text=f"{TEXT}（{i}）", **extra))
    return made


def _answer(teams, question):
    answerer = teams.lead_user if question.assignee_id == teams.lead.pk else teams.expert_user
    question_answer(scope=scope_for_user(answerer), user=answerer, question_id=question.pk, body="解答")


# Who may open a 杞县 question (asked by 张三, answered by 杞县's team).
QUESTION_PAGE = {
    "teacher": 200, "lead": 200, "expert": 200, "school_admin": 200, "county_admin": 200, "city_admin": 200,
    "province_admin": 200, "sibling_admin": 404, "sibling_teacher_user": 404, "sibling_expert": 404,
    "direct_admin": 404, "other_city_admin": 404,
}


def _user(name, teams, users):
    return {"lead": teams.lead_user, "expert": teams.expert_user, "sibling_expert": teams.sibling_expert_user}.get(
        name) or users[name]


@pytest.mark.parametrize(("persona", "status"), sorted(QUESTION_PAGE.items()))
def test_a_question_is_seen_by_its_asker_its_team_and_the_administrators_above(persona, status, teams, users,
                                                                                client_for):
    question = _asked(teams)[0]
    client = client_for(_user(persona, teams, users))
    page = client.get(f"/guidance/questions/{question.pk}/")
    assert page.status_code == status
    api = client.get(f"/api/v1/guidance/questions/{question.pk}")
    assert api.status_code == status
    if status == 200:
        assert TEXT in page.content.decode() and api.json()["text"].startswith(TEXT)
    else:
        assert TEXT not in page.content.decode()
    listed = client.get("/api/v1/guidance/questions").json()
    assert (question.pk in [q["id"] for q in listed]) == (status == 200)


WRITES = ("answer", "follow-up", "resolve", "reassign")
REASSIGNERS = ("county_admin", "city_admin")


@pytest.mark.parametrize("persona", ["school_admin", "county_admin", "sibling_admin", "sibling_expert",
                                     "sibling_teacher_user", "city_admin"])
def test_refused_writes_on_a_question_change_nothing(persona, teams, users, client_for):
    question = _asked(teams)[0]
    _answer(teams, question)
    question.refresh_from_db()
    before = (question.state, question.assignee_id, question.messages.count(), question.rating)
    client = client_for(_user(persona, teams, users))
    for action in WRITES:
        body = {"body": "越权", "rating": "5", "member": str(teams.expert.pk)}
        page = client.post(f"/guidance/questions/{question.pk}/{action}/", body)
        assert page.status_code in (403, 404) or (persona in REASSIGNERS and action == "reassign"), action
        api = client.post(f"/api/v1/guidance/questions/{question.pk}/{action}",
                          data={"body": "越权", "rating": 5, "member_id": teams.expert.pk},
                          content_type="application/json")
        assert api.status_code in (403, 404) or (persona in REASSIGNERS and action == "reassign"), action
    question.refresh_from_db()
    after = (question.state, question.assignee_id, question.messages.count(), question.rating)
    if persona in REASSIGNERS:  # the team's county and the city above may reassign, nothing else
        assert after[0] == before[0] and after[2:] == before[2:]
    else:
        assert after == before


def test_the_api_runs_a_question_end_to_end(teams, users, client_for):
    teacher = client_for(teams.teacher_user)
    created = teacher.post("/api/v1/guidance/questions", data={"subject": "chinese", "text": TEXT},
                           content_type="application/json")
    assert created.status_code == 201, created.content
    qid = created.json()["id"]
    bad = teacher.post("/api/v1/guidance/questions", data={"subject": "chinese", "text": "短"},
                       content_type="application/json")
    assert bad.status_code == 422 and "text" in bad.json()["errors"]
    expert = client_for(teams.lead_user if created.json()["assignee"] == "孙组长" else teams.expert_user)
    assert expert.post(f"/api/v1/guidance/questions/{qid}/answer", data={"body": "先分角色"},
                       content_type="application/json").status_code == 201
    teacher = client_for(teams.teacher_user)
    resolved = teacher.post(f"/api/v1/guidance/questions/{qid}/resolve", data={"rating": 4},
                            content_type="application/json")
    assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"
    inbox = teacher.get("/api/v1/me/notifications").json()
    assert inbox["unread"] == 1 and inbox["items"][0]["kind"] == "question.answered"
    read = teacher.post(f"/api/v1/me/notifications/{inbox['items'][0]['id']}/read")
    assert read.status_code == 200 and teacher.get("/api/v1/me/notifications").json()["unread"] == 0


def test_the_dashboard_counts_and_exports(teams, users, client_for):
    questions = _asked(teams, 4)
    for question in questions[:3]:
        _answer(teams, question)
    question_resolve(scope=teams.teacher, user=teams.teacher_user, question_id=questions[0].pk, rating=4)
    question_resolve(scope=teams.teacher, user=teams.teacher_user, question_id=questions[1].pk, rating=2)
    Question.objects.dangerously_unscoped().filter(pk=questions[3].pk).update(
        due_at=timezone.now() - dt.timedelta(hours=1))
    today = timezone.localdate()
    board = dashboard(teams.county, start=today - dt.timedelta(days=1), end=today)
    assert (board.asked, board.answered, board.resolved, board.overdue) == (4, 3, 2, 1)
    assert board.satisfaction == 3.0
    assert dict(board.buckets)["0–4 小时"] == 3 and dict(board.buckets)["尚未解答"] == 1
    assert board.teams[0]["open"] == 2 and board.teams[0]["members"] == 2
    # 通许县 sees none of it; the city sees 杞县's line below it.
    assert dashboard(scope_for_user(users["sibling_admin"]), start=today, end=today).asked == 0
    city = dashboard(scope_for_user(users["city_admin"]), start=today, end=today)
    assert [(row["name"], row["waiting"]) for row in city.divisions] == [("杞县", 1)]
    client = client_for(users["county_admin"])
    assert client.get("/guidance/dashboard/").status_code == 200
    audited = AuditEvent.objects.dangerously_unscoped().filter(action="guidance.export").count()
    export = client.get("/guidance/dashboard/?format=xlsx")
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.content), read_only=True)
    overview = [row for row in book["总览"].iter_rows(values_only=True)]
    assert overview[0][0].startswith("杞县 专家指导统计（") and overview[2] == ("指标", "数值")
    assert overview[3] == ("提问数", 4)
    assert [row for row in book["各地未答"].iter_rows(values_only=True)][-1][0] == "合计"
    assert AuditEvent.objects.dangerously_unscoped().filter(action="guidance.export").count() == audited + 1
    assert client_for(users["teacher"]).get("/guidance/dashboard/").status_code == 403
    assert client_for(users["county_admin"]).get("/api/v1/guidance/dashboard").json()["asked"] == 4
    bad = client_for(users["county_admin"]).get("/api/v1/guidance/dashboard?end=0001-01-04")
    assert bad.status_code == 422 and "end" in bad.json()["errors"]
    page = client_for(users["county_admin"]).get("/guidance/dashboard/?start=2026-11-30&end=2020-01-01")
    assert page.status_code == 200 and "开始日期" in page.content.decode()


PAGES = {
    "/guidance/ask/": {"teacher": 200, "county_admin": 403},
    "/guidance/mine/": {"teacher": 200, "county_admin": 403},
    "/guidance/inbox/": {"lead": 200, "teacher": 200, "county_admin": 403},
    "/guidance/teams/": {"county_admin": 200, "city_admin": 200, "school_admin": 403, "teacher": 403},
    "/guidance/coverage/": {"county_admin": 200, "school_admin": 200, "teacher": 403},
    "/guidance/questions/": {"county_admin": 200, "school_admin": 200, "teacher": 403, "lead": 403},
    "/guidance/problems/": {"county_admin": 200, "school_admin": 403, "teacher": 403},
    "/guidance/hours-rule/": {"province_admin": 200, "county_admin": 200, "teacher": 403},
    "/notifications/": {"teacher": 200, "county_admin": 200},
}


@pytest.mark.parametrize("url", sorted(PAGES))
def test_every_page_answers_each_role(url, teams, users, client_for):
    _asked(teams, 2)
    for persona, status in PAGES[url].items():
        assert client_for(_user(persona, teams, users)).get(url).status_code == status, (url, persona)


def test_team_pages_are_the_jurisdictions(teams, users, client_for):
    url = f"/guidance/teams/{teams.team.pk}/"
    assert client_for(users["county_admin"]).get(url).status_code == 200
    assert client_for(users["city_admin"]).get(url).status_code == 200
    assert client_for(users["sibling_admin"]).get(url).status_code == 404
    assert client_for(users["sibling_admin"]).get(f"/api/v1/guidance/teams/{teams.team.pk}").status_code == 404
    refused = client_for(users["sibling_admin"]).post(f"/guidance/teams/{teams.team.pk}/update/",
                                                      {"name": "篡改", "is_active": "0"})
    assert refused.status_code == 404
    teams.team.refresh_from_db()
    assert teams.team.name == "杞县小学语文指导团队" and teams.team.is_active
    # The lead sees their own team through the API, not the other county's.
    mine = client_for(teams.lead_user).get("/api/v1/guidance/teams").json()
    assert [t["id"] for t in mine] == [teams.team.pk]
    assert mine[0]["members"] == 2 and mine[0]["schools"] == 1  # counted whole, not through the lead's own row


@pytest.mark.parametrize(("url", "persona"), [("/guidance/questions/", "county_admin"), ("/guidance/mine/", "teacher"),
                                              ("/guidance/inbox/", "lead"), ("/guidance/teams/", "county_admin")])
def test_list_pages_cost_the_same_queries_for_more_rows(url, persona, teams, users, client_for):
    client = client_for(_user(persona, teams, users))
    _asked(teams, 2)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    _asked(teams, 8)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)
