"""The Statements resource: storing (PUT, POST single and batch), replays and conflicts,
voiding, reading one or a filtered list with a stable `more`, the alternate request syntax,
the version header, credentials and each client's scope."""

import json
import uuid
from urllib.parse import urlencode

import pytest

from lrs.models import LrsClient, Statement
from lrs.tests.conftest import statement

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
ATTEMPTED = "http://adlnet.gov/expapi/verbs/attempted"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def test_about_needs_no_credentials_and_every_answer_names_the_version(client, xapi):
    about = client.get("/xapi/about")
    assert about.status_code == 200 and "1.0.3" in about.json()["version"]
    assert about["X-Experience-API-Version"] == "1.0.3"
    refused = client.get("/xapi/statements", HTTP_X_EXPERIENCE_API_VERSION="1.0.3")
    assert refused.status_code == 401 and refused["X-Experience-API-Version"] == "1.0.3"
    assert refused.json()["error"] == "Unauthorized" and refused["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize(("version", "status"), [("1.0.3", 200), ("1.0", 200), ("1.0.9", 200), ("", 400),
                                                  ("0.95", 400), ("1.1.0", 400), ("2.0.0", 200), ("2.1.0", 400),
                                                  ("3.0.0", 400)])
def test_the_version_header_is_required_and_must_be_1_0_x_or_2_0_x(xapi, version, status):
    response = xapi.get("statements", HTTP_X_EXPERIENCE_API_VERSION=version)
    assert response.status_code == status


def test_wrong_or_revoked_credentials_are_refused(xapi, client):
    good = xapi.headers()
    assert client.get("/xapi/statements", **{**good, "HTTP_AUTHORIZATION": "Basic bm9ib2R5Om5vdGhpbmc="}).status_code == 401
    LrsClient.objects.dangerously_unscoped().filter(key=xapi.key).update(revoked_at="2026-01-01T00:00:00Z")
    assert client.get("/xapi/statements", **good).status_code == 401


def test_put_stores_once_replays_change_nothing_and_a_different_statement_conflicts(xapi):
    sid = str(uuid.uuid4())
    assert xapi.put(f"statements?statementId={sid}", statement()).status_code == 204
    stored = Statement.objects.dangerously_unscoped().get(statement_id=sid)
    assert xapi.put(f"statements?statementId={sid}", statement()).status_code == 204  # the same: no change
    assert xapi.post("statements", {**statement(), "id": sid}).status_code == 200
    conflict = xapi.put(f"statements?statementId={sid}", statement(verb={"id": ATTEMPTED}))
    assert conflict.status_code == 409
    assert Statement.objects.dangerously_unscoped().count() == 1
    assert Statement.objects.dangerously_unscoped().get().stored == stored.stored
    assert xapi.put(f"statements?statementId={uuid.uuid4()}", {**statement(), "id": sid}).status_code == 400


def test_post_stores_a_batch_all_or_nothing_and_returns_the_ids_in_order(xapi):
    batch = [statement(), statement(verb={"id": ATTEMPTED}), {**statement(), "id": str(uuid.uuid4())}]
    response = xapi.post("statements", batch)
    assert response.status_code == 200
    ids = response.json()
    assert len(ids) == 3 and ids[2] == batch[2]["id"]
    duplicate = str(uuid.uuid4())
    assert xapi.post("statements", [{**statement(), "id": duplicate}, {**statement(), "id": duplicate}]).status_code == 400
    assert xapi.post("statements", [statement(), {"actor": {}, "verb": {}}]).status_code == 400
    assert Statement.objects.dangerously_unscoped().count() == 3  # the refused batches left nothing


def test_the_lrs_completes_what_it_stores(xapi):
    sid = xapi.post("statements", statement()).json()[0]
    stored = xapi.get("statements", {"statementId": sid}).json()
    assert stored["id"] == sid and stored["version"] == "1.0.0"
    assert stored["timestamp"] == stored["stored"]
    assert stored["authority"]["account"]["name"] == xapi.key  # the authority is the client, whatever it claimed
    claimed = xapi.post("statements", statement(authority={"mbox": "mailto:someone@else.org"})).json()[0]
    assert xapi.get("statements", {"statementId": claimed}).json()["authority"]["account"]["name"] == xapi.key


def test_voiding_hides_the_statement_from_queries_but_not_from_voided_statement_id(xapi):
    target = xapi.post("statements", statement()).json()[0]
    voiding = xapi.post("statements", statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": target}))
    assert voiding.status_code == 200
    assert xapi.get("statements", {"statementId": target}).status_code == 404
    assert xapi.get("statements", {"voidedStatementId": target}).json()["id"] == target
    listed = [s["id"] for s in xapi.get("statements").json()["statements"]]
    assert target not in listed and voiding.json()[0] in listed
    # a voiding statement cannot itself be voided
    again = xapi.post("statements", statement(verb={"id": VOIDED},
                                              object={"objectType": "StatementRef", "id": voiding.json()[0]}))
    assert again.status_code == 200
    assert xapi.get("statements", {"statementId": voiding.json()[0]}).status_code == 200


def test_a_statement_arriving_after_its_voiding_statement_is_voided(xapi):
    late = str(uuid.uuid4())
    xapi.post("statements", statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": late}))
    xapi.post("statements", {**statement(), "id": late})
    assert xapi.get("statements", {"statementId": late}).status_code == 404
    assert xapi.get("statements", {"voidedStatementId": late}).status_code == 200


def test_filters_find_actor_object_group_members_verbs_activities_registrations(xapi):
    registration = str(uuid.uuid4())
    group = {"objectType": "Group", "name": "教研组", "member": [{"mbox": "mailto:li@example.org"}]}
    ids = xapi.post("statements", [
        statement(),
        statement(actor=group, verb={"id": ATTEMPTED}),
        statement(context={"registration": registration,
                           "contextActivities": {"parent": [{"id": "https://courses.example.org/programme"}]}}),
        statement(actor={"mbox": "mailto:wang@example.org"}, object={"objectType": "Agent", "mbox": "mailto:li@example.org"}),
    ]).json()

    def found(**params):
        return {s["id"] for s in xapi.get("statements", params).json()["statements"]}

    assert found(agent=json.dumps({"mbox": "mailto:li@example.org"})) == {ids[1], ids[3]}
    assert found(verb=ATTEMPTED) == {ids[1]}
    assert found(activity="https://courses.example.org/programme") == set()
    assert found(activity="https://courses.example.org/programme", related_activities="true") == {ids[2]}
    assert found(registration=registration) == {ids[2]}
    assert found(agent=json.dumps({"mbox": "mailto:teacher@example.org"}), verb=COMPLETED) == {ids[0], ids[2]}


def test_a_statement_targeting_another_matches_the_targets_filters(xapi):
    target = xapi.post("statements", statement(verb={"id": ATTEMPTED})).json()[0]
    ref = xapi.post("statements", statement(actor={"mbox": "mailto:reviewer@example.org"},
                                            verb={"id": "http://adlnet.gov/expapi/verbs/experienced"},
                                            object={"objectType": "StatementRef", "id": target})).json()[0]
    found = {s["id"] for s in xapi.get("statements", {"verb": ATTEMPTED}).json()["statements"]}
    assert found == {target, ref}


def test_more_pages_stay_put_while_new_statements_arrive(xapi):
    first = xapi.post("statements", [statement() for _ in range(5)]).json()
    page = xapi.get("statements", {"limit": "2"}).json()
    assert [s["id"] for s in page["statements"]] == first[::-1][:2] and page["more"]
    xapi.post("statements", [statement() for _ in range(3)])  # arrive between pages
    seen = [s["id"] for s in page["statements"]]
    while page["more"]:
        page = xapi.client.get(page["more"], **xapi.headers()).json()
        seen += [s["id"] for s in page["statements"]]
    assert seen == first[::-1]
    ascending = xapi.get("statements", {"limit": "3", "ascending": "true"}).json()
    assert [s["id"] for s in ascending["statements"]] == first[:3]


def test_consistent_through_and_last_modified_headers(xapi):
    sid = xapi.post("statements", statement()).json()[0]
    single = xapi.get("statements", {"statementId": sid})
    assert single["X-Experience-API-Consistent-Through"] >= single.json()["stored"]
    assert single["Last-Modified"] == single.json()["stored"]
    assert xapi.get("statements")["X-Experience-API-Consistent-Through"]


@pytest.mark.parametrize("params", [
    {"statementId": "not-a-uuid"}, {"statementId": str(uuid.uuid4()), "voidedStatementId": str(uuid.uuid4())},
    {"statementId": str(uuid.uuid4()), "verb": COMPLETED}, {"limit": "-1"}, {"format": "full"},
    {"agent": "{not json"}, {"agent": json.dumps({"name": "no identifier"})}, {"since": "yesterday"},
    {"ascending": "yes"}, {"unknown": "1"}, {"more": "forged"},
])
def test_bad_parameters_are_400_with_a_message(xapi, params):
    response = xapi.get("statements", params)
    assert response.status_code == 400 and response.json()["message"]


def test_the_alternate_request_syntax_stands_for_the_real_request(xapi, client):
    sid = str(uuid.uuid4())
    form = {"statementId": sid, "content": json.dumps(statement()), "Authorization": xapi.headers()["HTTP_AUTHORIZATION"],
            "X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"}
    put = client.post("/xapi/statements?method=PUT", urlencode(form), content_type="application/x-www-form-urlencoded")
    assert put.status_code == 204
    get = client.post("/xapi/statements?method=GET", urlencode({
        "statementId": sid, "Authorization": form["Authorization"], "X-Experience-API-Version": "1.0.3"}),
        content_type="application/x-www-form-urlencoded")
    assert get.status_code == 200 and get.json()["id"] == sid
    extra = client.post(f"/xapi/statements?method=GET&statementId={sid}", urlencode({
        "Authorization": form["Authorization"], "X-Experience-API-Version": "1.0.3"}),
        content_type="application/x-www-form-urlencoded")
    assert extra.status_code == 400  # nothing but `method` in the query string


def test_each_client_writes_within_its_prefixes_and_reads_only_its_own_statements(make_xapi):
    course = make_xapi(["https://courses.example.org/"], reads_all=False, name="课程平台")
    other = make_xapi(["https://other.example.org/"], reads_all=False, name="另一平台")
    mine = course.post("statements", statement()).json()[0]
    outside = course.post("statements", statement(object={"id": "https://other.example.org/x"}))
    assert outside.status_code == 403
    assert other.get("statements", {"statementId": mine}).status_code == 404
    assert other.get("statements").json()["statements"] == []
    assert [s["id"] for s in course.get("statements").json()["statements"]] == [mine]
    # Filtered pages too: the index is walked for everyone, the statements are the client's own
    # (the other client's, same verb and learner, stored after mine).
    theirs = other.post("statements", statement(object={"id": "https://other.example.org/y"})).json()[0]
    by_verb = {"verb": statement()["verb"]["id"]}
    by_agent_and_verb = {**by_verb, "agent": json.dumps(statement()["actor"])}
    for params in (by_verb, by_agent_and_verb):
        assert [s["id"] for s in other.get("statements", params).json()["statements"]] == [theirs]
        assert [s["id"] for s in course.get("statements", params).json()["statements"]] == [mine]
    voiding = other.post("statements", statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": mine},
                                                 context={"contextActivities": {"other": [{"id": "https://other.example.org/v"}]}}))
    assert voiding.status_code == 403  # not its statement to void
    reader = make_xapi(["*"], may_write=False, name="报表")
    assert reader.post("statements", statement()).status_code == 403
    assert reader.get("statements").status_code == 200


def test_canonical_format_gives_one_language_everywhere_and_ids_format_only_identifiers(xapi):
    both = {"en-US": "completed", "en-GB": "finished", "zh-CN": "完成"}
    category = {"id": "https://courses.example.org/cat", "definition": {"name": both, "description": both}}
    sent = statement(
        context={"contextActivities": {"category": category}},
        object={"objectType": "SubStatement", "actor": {"mbox": "mailto:b@example.org"},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/passed", "display": both},
                "object": {"objectType": "Activity", "id": "https://courses.example.org/c/2",
                           "definition": {"name": both}}},
        verb={"id": "http://adlnet.gov/expapi/verbs/completed", "display": both})
    [statement_id] = xapi.post("statements", sent).json()
    canonical = xapi.get("statements", {"statementId": statement_id, "format": "canonical"},
                         HTTP_ACCEPT_LANGUAGE="en-GB").json()
    assert canonical["verb"]["display"] == {"en-GB": "finished"}
    assert canonical["object"]["verb"]["display"] == {"en-GB": "finished"}
    assert canonical["object"]["object"]["definition"]["name"] == {"en-GB": "finished"}
    assert canonical["context"]["contextActivities"]["category"][0]["definition"]["description"] == {"en-GB": "finished"}
    chinese = xapi.get("statements", {"statementId": statement_id, "format": "canonical"},
                       HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").json()
    assert chinese["verb"]["display"] == {"zh-CN": "完成"}
    exact = xapi.get("statements", {"statementId": statement_id}, HTTP_ACCEPT_LANGUAGE="en-GB").json()
    assert exact["verb"]["display"] == both
    ids = xapi.get("statements", {"statementId": statement_id, "format": "ids"}).json()
    assert ids["object"]["object"] == {"id": "https://courses.example.org/c/2"}
    assert ids["context"]["contextActivities"]["category"] == [{"id": "https://courses.example.org/cat"}]
    assert ids["actor"] == {"objectType": "Agent", "mbox": "mailto:teacher@example.org"}


def test_a_large_batch_is_stored_and_indexed_like_small_ones(xapi):
    """On PostgreSQL batches from 20 statements go in by COPY: the same rows and index."""
    batch = [statement(actor={"mbox": f"mailto:t{n % 3}@example.org"}, object={"id": f"https://courses.example.org/c/{n % 4}"},
                       context={"registration": "9a1e5b2c-3d4f-4a6b-8c7d-0e1f2a3b4c5d"} if n % 5 == 0 else {})
             for n in range(45)]
    batch[0]["id"] = "0d4f6c1e-2b3a-4c5d-9e8f-7a6b5c4d3e2f"
    ids = xapi.post("statements", batch).json()
    assert len(ids) == 45 and ids[0] == batch[0]["id"]
    by_agent = xapi.get("statements", {"agent": '{"mbox": "mailto:t1@example.org"}', "limit": 100}).json()["statements"]
    assert {s["id"] for s in by_agent} == {ids[n] for n in range(45) if n % 3 == 1}
    both = xapi.get("statements", {"agent": '{"mbox": "mailto:t1@example.org"}',
                                   "activity": "https://courses.example.org/c/2", "limit": 100}).json()["statements"]
    assert {s["id"] for s in both} == {ids[n] for n in range(45) if n % 3 == 1 and n % 4 == 2}
    registered = xapi.get("statements", {"registration": "9a1e5b2c-3d4f-4a6b-8c7d-0e1f2a3b4c5d"}).json()["statements"]
    assert [s["id"] for s in registered] == [ids[n] for n in reversed(range(45)) if n % 5 == 0]
    page = xapi.get("statements", {"verb": "http://adlnet.gov/expapi/verbs/completed", "limit": 10,
                                   "ascending": "true"}).json()
    assert [s["id"] for s in page["statements"]] == ids[:10] and page["more"]
    assert xapi.post("statements", batch).status_code == 200  # the same batch again: replays
    changed = [dict(s, verb={"id": "http://adlnet.gov/expapi/verbs/failed"}) for s in batch[:25]]
    for s, sent in zip(changed, ids, strict=False):
        s["id"] = sent
    assert xapi.post("statements", changed).status_code == 409
