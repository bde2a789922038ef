"""The learning-records pages and API as their users see them: a division administrator's
clients and a client's traffic, credited activities, held completions, and a teacher's own
学习记录 in Chinese."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from access.scope import Scope
from lrs.clients import client_create
from lrs.keys import value_hash
from lrs.learners import learner_identity_add
from lrs.models import CreditedActivity, CreditState, StatementCredit
from lrs.tests.conftest import Xapi, statement

COURSE = "https://qx.example.org/c/1"


@pytest.fixture
def qx(province, client):
    """杞县's course provider, a credited course and 张三's registered mailbox."""
    lrs_client, secret = client_create(scope=Scope.division(province.county), actor=None, name="杞县研修网",
                                       division=province.county, activity_prefixes=["https://qx.example.org/"])
    CreditedActivity.objects.create(activity_iri=COURSE, activity_hash=value_hash(COURSE), title="课堂教学能力",
                                    hours=2, division=province.county, division_path=province.county.path)
    learner_identity_add(scope=Scope.division(province.county), actor=None, teacher=province.teacher, kind="mbox",
                         value="zhang@example.org")
    return Xapi(client, lrs_client.key, secret)


def send(qx, django_capture_on_commit_callbacks, *statements, status=200):
    with django_capture_on_commit_callbacks(execute=True):
        response = qx.post("statements", list(statements))
    assert response.status_code == status, response.content
    return response


def zhang(verb, minutes_ago, **extra):
    moment = (timezone.now() - dt.timedelta(minutes=minutes_ago)).isoformat()
    return statement(actor={"mbox": "mailto:zhang@example.org"}, verb=verb, timestamp=moment,
                     object={"id": COURSE, "definition": {"name": {"en-US": "Teaching", "zh-CN": "课堂教学能力"}}},
                     **extra)


LAUNCHED = {"id": "http://adlnet.gov/expapi/verbs/launched", "display": {"en-US": "launched"}}
COMPLETED = {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}}


def test_the_county_sees_its_clients_traffic_refusals_and_held_completions(qx, users, client_for,
                                                                         django_capture_on_commit_callbacks):
    send(qx, django_capture_on_commit_callbacks, zhang(LAUNCHED, 5), zhang(COMPLETED, 1))  # too quick: held
    send(qx, django_capture_on_commit_callbacks,
         statement(actor={"mbox": "mailto:stranger@example.org"}, object={"id": COURSE}))  # unmatched
    send(qx, django_capture_on_commit_callbacks, {"verb": {"id": "x"}}, status=400)  # refused and noted
    page = client_for(users["county_admin"])
    listing = page.get("/learning/clients/").content.decode()
    assert "杞县研修网" in listing
    row = re.search(r"杞县研修网.*?</tr>", listing, re.S).group(0)
    assert re.findall(r'<td class="num">(\d+)</td>', row)[:3] == ["3", "1", "3"]  # today, refused today, 30 days
    detail = page.get(f"/learning/clients/{qx.client_row().pk}/").content.decode()
    assert "从首次学习到完成仅 4 分钟" in detail
    assert "mbox:mailto:stranger@example.org" in detail
    assert "缺少" in detail or "actor" in detail  # the refusal's reason
    assert 'data-chart="chart-days"' in detail


def test_another_county_sees_neither_the_client_nor_its_page(qx, users, client_for):
    page = client_for(users["sibling_admin"])
    assert "杞县研修网" not in page.get("/learning/clients/").content.decode()
    assert page.get(f"/learning/clients/{qx.client_row().pk}/").status_code == 404
    assert client_for(users["teacher"]).get("/learning/clients/").status_code == 403


def test_the_client_list_is_a_fixed_number_of_queries(province, users, client_for):
    page = client_for(users["province_admin"])
    page.get("/learning/clients/")

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert page.get("/learning/clients/").status_code == 200
        return len(queries)

    client_create(scope=Scope.division(province.province), actor=None, name="一", division=province.province,
                  activity_prefixes=["*"])
    few = count()
    for n in range(5):
        client_create(scope=Scope.division(province.county), actor=None, name=f"多{n}", division=province.county,
                      activity_prefixes=["*"])
    assert count() == few


def test_creating_a_client_shows_the_secret_once(users, client_for):
    page = client_for(users["county_admin"])
    response = page.post("/learning/clients/", {"name": "杞县研修网", "prefixes": "https://qx.example.org/"})
    assert response.status_code == 201
    body = response.content.decode()
    secret = re.search(r"密钥：<code>([^<]+)</code>", body).group(1)
    assert secret not in page.get("/learning/clients/").content.decode()
    bad = page.post("/learning/clients/", {"name": "", "prefixes": ""})
    assert "名称不能为空" in bad.content.decode() or "至少填写一个" in bad.content.decode()


def test_the_teachers_county_decides_from_the_queue(qx, users, client_for, province, django_capture_on_commit_callbacks):
    send(qx, django_capture_on_commit_callbacks, zhang(COMPLETED, 1))  # nothing before: held
    credit = StatementCredit.objects.dangerously_unscoped().get()
    page = client_for(users["county_admin"])
    queue = page.get("/learning/credits/").content.decode()
    assert "张三" in queue and "完成之前没有" in queue
    refused = page.post("/learning/credits/", {"credit": credit.pk, "approve": "0"}, follow=True)
    assert "不予认定时请写明原因" in refused.content.decode()
    page.post("/learning/credits/", {"credit": credit.pk, "approve": "1"})
    credit.refresh_from_db()
    assert credit.state == CreditState.CREDITED
    assert "张三" not in page.get("/learning/credits/").content.decode()
    assert "张三" in page.get("/learning/credits/?state=credited").content.decode()


def test_a_teacher_reads_their_records_in_chinese_and_registers_an_identity(qx, users, client_for,
                                                                          django_capture_on_commit_callbacks):
    send(qx, django_capture_on_commit_callbacks, zhang(LAUNCHED, 300), zhang(COMPLETED, 1, result={"score": {"scaled": 0.85}}))
    page = client_for(users["teacher"])
    body = page.get("/learning/me/").content.decode()
    assert "课堂教学能力" in body and "启动" in body and "完成" in body and "85%" in body and "已计学时" in body
    assert "杞县研修网" in body
    # A mailbox used elsewhere: registering it brings its earlier statements in.
    send(qx, django_capture_on_commit_callbacks, statement(actor={"mbox": "mailto:zs@school.example.org"},
                                                           verb=LAUNCHED, object={"id": "https://qx.example.org/c/7"}))
    with django_capture_on_commit_callbacks(execute=True):
        page.post("/learning/me/", {"kind": "mbox", "value": "zs@school.example.org"})
    body = page.get("/learning/me/").content.decode()
    assert "https://qx.example.org/c/7" in body and "mbox:mailto:zs@school.example.org" in body
    # Someone else's statements never show.
    assert "zhang" not in client_for(users["sibling_teacher_user"]).get("/learning/me/").content.decode()


def test_records_page_is_a_fixed_number_of_queries(qx, users, client_for, django_capture_on_commit_callbacks):
    page = client_for(users["teacher"])
    send(qx, django_capture_on_commit_callbacks, zhang(LAUNCHED, 30))
    page.get("/learning/me/")
    with CaptureQueriesContext(connection) as few:
        page.get("/learning/me/")
    send(qx, django_capture_on_commit_callbacks, *[zhang(LAUNCHED, n) for n in range(20)])
    with CaptureQueriesContext(connection) as many:
        page.get("/learning/me/")
    assert len(many) == len(few)


def test_the_api_lists_clients_creates_credited_activities_and_reads_records(qx, users, client_for,
                                                                            django_capture_on_commit_callbacks):
    admin = client_for(users["county_admin"])
    clients = admin.get("/api/v1/lrs/clients").json()
    assert [c["name"] for c in clients] == ["杞县研修网"] and "secret" not in clients[0]
    created = admin.post("/api/v1/lrs/credited-activities", {"activity_iri": "https://qx.example.org/c/", "title": "杞县课程",
                                                             "hours": 1.5, "is_prefix": True},
                         content_type="application/json")
    assert created.status_code == 201 and created.json()["hours"] == 1.5
    bad = admin.post("/api/v1/lrs/credited-activities", {"activity_iri": "not an iri", "title": "", "hours": 0},
                     content_type="application/json")
    assert bad.status_code == 422 and set(bad.json()["errors"]) >= {"activity_iri", "title", "hours"}
    send(qx, django_capture_on_commit_callbacks, zhang(COMPLETED, 1))
    held = admin.get("/api/v1/lrs/credits").json()
    assert len(held) == 1 and held[0]["state"] == "flagged"
    teacher = client_for(users["teacher"])
    records = teacher.get("/api/v1/lrs/me/records").json()
    assert records["records"][0]["verb"] == "完成" and records["records"][0]["activity"] == "课堂教学能力"


def test_records_are_newest_first_by_when_they_happened_and_page_on(qx, users, client_for,
                                                                     django_capture_on_commit_callbacks):
    # Sent oldest last: the page orders by the statements' own time, not by arrival.
    send(qx, django_capture_on_commit_callbacks, *[zhang(LAUNCHED, 10 + n) for n in range(55)])
    api = client_for(users["teacher"])
    first = api.get("/api/v1/lrs/me/records").json()
    second = api.get("/api/v1/lrs/me/records", {"before": first["next_before"]}).json()
    moments = [r["when"] for r in first["records"] + second["records"]]
    assert len(first["records"]) == 50 and len(second["records"]) == 5 and second["next_before"] is None
    assert moments == sorted(moments, reverse=True) and len(set(moments)) == 55
    assert "before=" in api.get("/learning/me/").content.decode()
    assert api.get("/api/v1/lrs/me/records", {"before": "not-a-cursor"}).status_code == 200
