"""Each role's home page: what it shows is what waits for that user, and it costs the same
few queries however much there is."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access.scope import scope_for_user
from accounts.models import Role
from catalog.attendance import project_complete, session_add
from catalog.services import enrol, project_create
from catalog.tests.helpers import as_teacher, publish
from credits.claims import claim_school_check
from credits.services import ledger_entry_record
from institutions.tests.helpers import accredited_institution
from notifications.services import notify

NOW = dt.datetime(2026, 12, 2, 9, 0)


def _project(users, province, code, *, days=(3,), starts=1, ends=20, institution=None):
    admin = users["county_admin"]
    project = project_create(
        institution=institution or accredited_institution(), scope=scope_for_user(admin), actor=admin, code=code,
        title=f"项目{code}", level="county", category="backbone", mode="centralised", organiser=province.county,
        starts_on=dt.date(2026, 12, starts), ends_on=dt.date(2026, 12, ends), seats=5, hours=12,
        hour_category="centralised", self_enrolment=True, needs_approval=False, audience={})
    for day in days:
        session_add(scope=scope_for_user(admin), project=project, title=f"{code}第{day}天", held_on=dt.date(2026, 12, day))
    return publish(project)


def _claim(teacher, n: int):
    entry, _ = ledger_entry_record(teacher=teacher, category="other", hours=2, occurred_on=dt.date(2026, 11, 20),
                                   source_type="claim", source_id=f"{teacher.pk}:home-{n}", state="pending",
                                   note=f"参加教研活动{n}", actor=None)
    return entry


def _queries(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_teacher_home_shows_progress_sessions_open_projects_claims_and_notices(province, users, client_for):
    teacher = province.teacher
    joined = _project(users, province, "JOINED", days=(2, 5))
    _project(users, province, "OPENED")
    enrol(scope=as_teacher(teacher), project_id=joined.pk, teacher=teacher)
    _claim(teacher, 1)
    notify(recipients=[users["teacher"].pk], kind="question.answered", title="你的问题有了解答", event_key="t-1")
    client = client_for(users["teacher"])
    body = client.get("/home/").content.decode()
    assert "本周期学时" in body and 'id="owed"' in body
    # Today's session offers check-in; the next one is listed.
    sessions = body.split('id="next-sessions"')[1].split("</article>")[0]
    assert "项目JOINED" in sessions and "今天" in sessions and reverse("catalog:check_in") in sessions
    assert "项目OPENED" in body.split('id="open-projects"')[1].split("</article>")[0]
    claims = body.split('id="my-claims"')[1].split("</article>")[0]
    assert "待审核" in claims and "2.0 学时" in claims
    assert "你的问题有了解答" in body.split('id="notices"')[1]


@time_machine.travel(NOW, tick=False)
def test_teacher_home_costs_the_same_queries_with_more_history(province, users, client_for):
    teacher = province.teacher
    client = client_for(users["teacher"])
    _project(users, province, "P0")
    enrol(scope=as_teacher(teacher), project_id=_project(users, province, "E0").pk, teacher=teacher)
    _claim(teacher, 0)
    client.get("/home/")  # the push list is computed and stored on the first visit
    few, _ = _queries(client, "/home/")
    for n in range(1, 6):
        _project(users, province, f"P{n}", days=(3, 4))
        enrol(scope=as_teacher(teacher), project_id=_project(users, province, f"E{n}", days=(2, 9)).pk, teacher=teacher)
        _claim(teacher, n)
        notify(recipients=[users["teacher"].pk], kind="question.answered", title=f"通知{n}", event_key=f"n-{n}")
    client.get("/home/")
    many, body = _queries(client, "/home/")
    assert many == few
    assert few <= 30


@time_machine.travel(NOW, tick=False)
def test_admin_todos_follow_the_claim_through_school_and_county(province, users, client_for):
    entry = _claim(province.teacher, 1)
    school = client_for(users["school_admin"]).get("/home/").content.decode()
    assert _tile(school, "claims") == 1
    county = client_for(users["county_admin"]).get("/home/").content.decode()
    assert _tile(county, "claims") == 0  # not before the school has checked it
    claim_school_check(scope=scope_for_user(users["school_admin"]), actor=users["school_admin"], entry_id=entry.pk,
                       approve=True)
    assert _tile(client_for(users["school_admin"]).get("/home/").content.decode(), "claims") == 0
    assert _tile(client_for(users["county_admin"]).get("/home/").content.decode(), "claims") == 1
    # Another county's admin and the other city's admin have nothing to do with it.
    assert _tile(client_for(users["sibling_admin"]).get("/home/").content.decode(), "claims") == 0
    assert _tile(client_for(users["other_city_admin"]).get("/home/").content.decode(), "claims") == 0


def _tile(body: str, key: str) -> int:
    tile = body.split(f'id="todo-{key}"')[1].split("</a>")[0]
    return int(tile.split("<strong>")[1].split("</strong>")[0].replace(",", ""))


@time_machine.travel(NOW, tick=False)
def test_division_admins_see_division_todos_and_schools_do_not(province, users, client_for):
    county = client_for(users["county_admin"]).get("/home/").content.decode()
    for key in ("claims", "plans", "exports", "accreditations", "expiring", "external_rejects", "completion"):
        assert f'id="todo-{key}"' in county, key
    school = client_for(users["school_admin"]).get("/home/").content.decode()
    assert 'id="todo-claims"' in school
    for key in ("accreditations", "plans", "external_rejects"):
        assert f'id="todo-{key}"' not in school, key


@time_machine.travel(NOW, tick=False)
def test_sessions_without_a_register_and_ended_projects_wait_for_the_organiser(province, users, client_for):
    _project(users, province, "AHEAD", days=(15,))  # a session still ahead needs no register yet
    body = client_for(users["county_admin"]).get("/home/").content.decode()
    assert _tile(body, "attendance") == 0 and _tile(body, "completion") == 0
    ended = _ended_project(users, province)
    body = client_for(users["county_admin"]).get("/home/").content.decode()
    assert _tile(body, "attendance") == 1 and _tile(body, "completion") == 1
    assert "项目ENDED" in body.split('id="todo-attendance-list"')[1]
    # Once completion is judged the project no longer waits for it.
    admin = users["county_admin"]
    project_complete(user=admin, scope=scope_for_user(admin), project=ended)
    assert _tile(client_for(admin).get("/home/").content.decode(), "completion") == 0
    # The sibling county's admin and the county's school admin run none of it.
    for other in ("sibling_admin", "school_admin"):
        body = client_for(users[other]).get("/home/").content.decode()
        assert _tile(body, "attendance") == 0 and _tile(body, "completion") == 0, other


def _ended_project(users, province):
    with time_machine.travel(dt.datetime(2026, 11, 10, 9, 0), tick=False):
        admin = users["county_admin"]
        project = project_create(
            institution=accredited_institution(), scope=scope_for_user(admin), actor=admin, code="ENDED",
            title="项目ENDED", level="county", category="backbone", mode="centralised", organiser=province.county,
            starts_on=dt.date(2026, 11, 20), ends_on=dt.date(2026, 11, 21), seats=5, hours=12,
            hour_category="centralised", self_enrolment=True, needs_approval=False, audience={})
        session_add(scope=scope_for_user(admin), project=project, title="第一天", held_on=dt.date(2026, 11, 20))
        return publish(project)


@time_machine.travel(NOW, tick=False)
def test_admin_home_costs_the_same_queries_with_more_waiting(province, users, client_for):
    client = client_for(users["county_admin"])
    client.get("/home/")
    few, _ = _queries(client, "/home/")
    for n in range(5):
        entry = _claim(province.teacher, n)
        claim_school_check(scope=scope_for_user(users["school_admin"]), actor=users["school_admin"],
                           entry_id=entry.pk, approve=True)
    client = client_for(users["county_admin"])
    many, body = _queries(client, "/home/")
    assert _tile(body, "claims") == 5
    assert many == few <= 25


@pytest.fixture
def expert(province, make_user):
    return make_user("expert-1", Role.EXPERT, teacher=province.direct_teacher)


@time_machine.travel(NOW, tick=False)
def test_expert_home_is_a_workspace(province, users, expert, client_for):
    body = client_for(expert).get("/home/").content.decode()
    assert 'id="expert-desk"' in body and "待我解答的问题" in body and "我授课的场次" in body
    assert 'id="to-answer">0<' in body


@time_machine.travel(NOW, tick=False)
def test_institution_staff_home_lists_registers_to_take(province, users, make_user, client_for):
    institution = accredited_institution()
    staff = make_user("staff-home", Role.INSTITUTION_STAFF, institution=institution)
    with time_machine.travel(dt.datetime(2026, 11, 10, 9, 0), tick=False):
        admin = users["county_admin"]
        project = project_create(
            institution=institution, scope=scope_for_user(admin), actor=admin, code="RUN",
            title="项目RUN", level="county", category="backbone", mode="centralised", organiser=province.county,
            starts_on=dt.date(2026, 11, 20), ends_on=dt.date(2026, 12, 20), seats=5, hours=12,
            hour_category="centralised", self_enrolment=True, needs_approval=False, audience={})
        session_add(scope=scope_for_user(admin), project=project, title="第一天", held_on=dt.date(2026, 11, 25))
        publish(project)
    body = client_for(staff).get("/home/").content.decode()
    assert "项目RUN" in body.split('id="todo-attendance"')[1].split("</article>")[0]
