"""xAPI 2.0.0 (IEEE 9274.1.1) beside 1.0.3, keyed on the request's X-Experience-API-Version:
the version of the answer, About, the statement `version`, time zones on timestamps,
context.contextAgents / contextGroups (validated, found by related_agents), the alternate
request syntax refused, and a State PUT without preconditions over an existing document.
Each 2.0 rule is also shown to leave a 1.0.3 request as it was."""

import json
import uuid
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

import pytest

from lrs.models import LrsDocument, Statement
from lrs.tests.conftest import statement
from lrs.tests.test_documents import call, state
from lrs.validation import StatementInvalid, parse_timestamp, validate_statement

V2 = {"HTTP_X_EXPERIENCE_API_VERSION": "2.0.0"}
PLAYER = {"objectType": "Agent", "mbox": "mailto:player-1@example.com"}
TEAM = {"objectType": "Group", "mbox": "mailto:team-1@example.com", "member": [PLAYER]}
CONTEXT_AGENT = {"objectType": "contextAgent", "agent": PLAYER,
                 "relevantTypes": ["https://example.com/xapi/activity-types/player"]}
CONTEXT_GROUP = {"objectType": "contextGroup", "group": TEAM}


def stored_count() -> int:
    return Statement.objects.dangerously_unscoped().count()


def stored_full(statement_id: str) -> dict:
    return Statement.objects.dangerously_unscoped().get(statement_id=statement_id).full


# --- the version header ----------------------------------------------------------------------


@pytest.mark.parametrize(("sent", "answered"), [("2.0.0", "2.0.0"), ("2.0", "2.0.0"), ("2.0.7", "2.0.0"),
                                                ("1.0.3", "1.0.3"), ("1.0", "1.0.3"), ("1.0.1", "1.0.3")])
def test_the_answer_speaks_the_version_the_request_named(xapi, sent, answered):
    response = xapi.post("statements", statement(), HTTP_X_EXPERIENCE_API_VERSION=sent)
    assert response.status_code == 200
    assert response["X-Experience-API-Version"] == answered


@pytest.mark.parametrize("sent", ["3.0.0", "2.1.0", "2", "0.95", "2.0.0.1"])
def test_a_version_other_than_1_0_or_2_0_is_400_and_stores_nothing(xapi, sent):
    response = xapi.post("statements", statement(), HTTP_X_EXPERIENCE_API_VERSION=sent)
    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request" and "1.0.x 与 2.0.x" in response.json()["message"]
    assert stored_count() == 0


def test_a_refusal_before_the_body_is_read_still_answers_in_the_named_version(xapi, settings):
    settings.LRS_MAX_REQUEST_BYTES = 100
    response = xapi.post("statements", statement(), **V2)
    assert response.status_code == 413 and response["X-Experience-API-Version"] == "2.0.0"


def test_a_request_naming_no_version_is_answered_in_the_configured_default(xapi, settings):
    headers = {"HTTP_X_EXPERIENCE_API_VERSION": ""}
    refused = xapi.get("statements", **headers)
    assert refused.status_code == 400 and refused["X-Experience-API-Version"] == "1.0.3"
    settings.LRS_DEFAULT_XAPI_VERSION = "2.0.0"
    refused = xapi.get("statements", **headers)
    assert refused.status_code == 400 and refused["X-Experience-API-Version"] == "2.0.0"


def test_about_lists_both_versions_and_answers_in_the_one_asked_for(client):
    plain = client.get("/xapi/about")
    assert plain.status_code == 200
    assert set(plain.json()["version"]) >= {"1.0.3", "2.0.0"}
    assert plain["X-Experience-API-Version"] == "1.0.3"
    assert client.get("/xapi/about", **V2)["X-Experience-API-Version"] == "2.0.0"


# --- the statement's version -----------------------------------------------------------------


def test_a_2_0_statement_without_a_version_is_stored_as_2_0_0_and_a_1_0_one_as_1_0_0(xapi):
    [v2_id] = xapi.post("statements", statement(), **V2).json()
    [v1_id] = xapi.post("statements", statement()).json()
    assert stored_full(v2_id)["version"] == "2.0.0"
    assert stored_full(v1_id)["version"] == "1.0.0"


def test_a_statement_keeps_the_version_it_came_with(xapi):
    statement_id = str(uuid.uuid4())
    assert xapi.post("statements", statement(id=statement_id, version="2.0.0"), **V2).status_code == 200
    got = xapi.get("statements", {"statementId": statement_id}, **V2)
    assert got.json()["version"] == "2.0.0"
    older = str(uuid.uuid4())
    assert xapi.post("statements", statement(id=older, version="1.0.3"), **V2).status_code == 200
    assert stored_full(older)["version"] == "1.0.3"


def test_a_single_statement_carries_last_modified_as_an_http_date_in_2_0(xapi):
    [statement_id] = xapi.post("statements", statement(), **V2).json()
    stored = parse_timestamp(stored_full(statement_id)["stored"])
    got = xapi.get("statements", {"statementId": statement_id}, **V2)
    assert parsedate_to_datetime(got["Last-Modified"]) == stored.replace(microsecond=0)
    assert xapi.get("statements", {"statementId": statement_id})["Last-Modified"] == stored_full(statement_id)["stored"]


def test_a_1_0_request_cannot_store_a_2_0_statement(xapi):
    response = xapi.post("statements", statement(version="2.0.0"))
    assert response.status_code == 400 and "version" in response.json()["message"]
    assert stored_count() == 0


@pytest.mark.parametrize("version", ["3.0.0", "2.1.0", "2", "1.1.0", ""])
def test_a_2_0_statement_version_must_be_1_0_x_or_2_0_x(version):
    with pytest.raises(StatementInvalid, match="version"):
        validate_statement(statement(version=version), version="2.0.0")


# --- timestamps must carry a time zone --------------------------------------------------------


@pytest.mark.parametrize("timestamp", ["2026-11-30T08:00:00", "2026-11-30T08:00:00.123", "20261130T080000"])
def test_a_2_0_timestamp_without_a_time_zone_is_refused_a_1_0_one_is_taken_as_utc(xapi, timestamp):
    refused = xapi.post("statements", statement(timestamp=timestamp), **V2)
    assert refused.status_code == 400 and "时区" in refused.json()["message"]
    assert stored_count() == 0
    assert xapi.post("statements", statement(timestamp=timestamp)).status_code == 200


@pytest.mark.parametrize("timestamp", ["2026-11-30T08:00:00Z", "2026-11-30T08:00:00.123+08:00",
                                       "2026-11-30T08:00:00-0500", "20261130T080000+08", "2026-11-30T08:00z"])
def test_a_2_0_timestamp_with_a_zone_is_accepted(timestamp):
    assert validate_statement(statement(timestamp=timestamp), version="2.0.0")


def test_a_2_0_substatement_timestamp_needs_a_time_zone_too():
    inner = {"objectType": "SubStatement", "actor": PLAYER, "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
             "object": {"id": "https://courses.example.org/c/1"}, "timestamp": "2026-11-30T08:00:00"}
    with pytest.raises(StatementInvalid, match=r"object\.timestamp"):
        validate_statement(statement(object=inner), version="2.0.0")
    assert validate_statement(statement(object=inner))


# --- contextAgents and contextGroups ----------------------------------------------------------


def test_context_agents_and_groups_are_stored_in_2_0_and_refused_in_1_0(xapi):
    context = {"contextAgents": [CONTEXT_AGENT], "contextGroups": [CONTEXT_GROUP]}
    [statement_id] = xapi.post("statements", statement(context=context), **V2).json()
    assert stored_full(statement_id)["context"]["contextAgents"] == [CONTEXT_AGENT]
    refused = xapi.post("statements", statement(context=context))
    assert refused.status_code == 400 and "contextAgents" in refused.json()["message"]


@pytest.mark.parametrize(("entry", "where"), [
    ({**CONTEXT_AGENT, "objectType": "Should fail"}, "objectType"),
    ({"agent": PLAYER}, "objectType"),
    ({"objectType": "contextAgent"}, "agent"),
    ({"objectType": "contextAgent", "agent": {"key": "Should fail"}}, "agent"),
    ({"objectType": "contextAgent", "agent": TEAM}, "agent.objectType"),
    ({**CONTEXT_AGENT, "relevantTypes": []}, "relevantTypes"),
    ({**CONTEXT_AGENT, "relevantTypes": ["abc"]}, "relevantTypes[0]"),
    ({**CONTEXT_AGENT, "relevantTypes": "https://example.com/t"}, "relevantTypes"),
    ({**CONTEXT_AGENT, "member": [PLAYER]}, "member"),
])
def test_a_bad_context_agent_is_refused(entry, where):
    with pytest.raises(StatementInvalid, match=r"contextAgents\[0\]") as refused:
        validate_statement(statement(context={"contextAgents": [entry]}), version="2.0.0")
    assert where in str(refused.value)


@pytest.mark.parametrize("entry", [
    {**CONTEXT_GROUP, "objectType": "Should fail"},
    {**CONTEXT_GROUP, "member": [PLAYER]},
    {"objectType": "contextGroup", "group": {"key": "Should fail"}},
    {"objectType": "contextGroup", "group": PLAYER},
    {"objectType": "contextGroup", "group": {"mbox": "mailto:team-1@example.com"}},  # no objectType: an Agent
    {**CONTEXT_GROUP, "relevantTypes": []},
    {**CONTEXT_GROUP, "relevantTypes": ["not an iri"]},
])
def test_a_bad_context_group_is_refused(entry):
    with pytest.raises(StatementInvalid, match=r"contextGroups\[0\]"):
        validate_statement(statement(context={"contextGroups": [entry]}), version="2.0.0")


def test_context_agents_must_be_a_list():
    with pytest.raises(StatementInvalid, match="contextAgents"):
        validate_statement(statement(context={"contextAgents": CONTEXT_AGENT}), version="2.0.0")


def test_context_agents_in_a_substatement_are_validated_too():
    inner = {"objectType": "SubStatement", "actor": PLAYER, "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
             "object": {"id": "https://courses.example.org/c/1"},
             "context": {"contextAgents": [{**CONTEXT_AGENT, "relevantTypes": []}]}}
    with pytest.raises(StatementInvalid, match=r"object\.context\.contextAgents"):
        validate_statement(statement(object=inner), version="2.0.0")


@pytest.mark.parametrize("context", [{"contextAgents": [CONTEXT_AGENT]}, {"contextGroups": [CONTEXT_GROUP]}])
def test_related_agents_finds_a_context_agent_or_group_member_the_agent_filter_alone_does_not(xapi, context):
    [statement_id] = xapi.post("statements", statement(context=context), **V2).json()
    agent = json.dumps(PLAYER)
    related = xapi.get("statements", {"agent": agent, "related_agents": "true"}, **V2).json()["statements"]
    assert [found["id"] for found in related] == [statement_id]
    assert xapi.get("statements", {"agent": agent}, **V2).json()["statements"] == []


def test_a_replay_with_context_agents_spelled_differently_is_the_same_statement(xapi):
    statement_id = str(uuid.uuid4())
    context = {"contextAgents": [CONTEXT_AGENT]}
    assert xapi.post("statements", statement(id=statement_id, context=context), **V2).status_code == 200
    # The domain of a mailbox is case-insensitive: the same agent.
    respelled = {"contextAgents": [{**CONTEXT_AGENT, "agent": {**PLAYER, "mbox": "mailto:player-1@EXAMPLE.com"}}]}
    assert xapi.post("statements", statement(id=statement_id, context=respelled), **V2).status_code == 200
    other = {"contextAgents": [{**CONTEXT_AGENT, "agent": {**PLAYER, "mbox": "mailto:player-2@example.com"}}]}
    assert xapi.post("statements", statement(id=statement_id, context=other), **V2).status_code == 409
    assert stored_count() == 1


def test_format_ids_reduces_context_agents_and_groups_to_their_identifiers(xapi):
    named = {"objectType": "Agent", "name": "一号队员", "mbox": "mailto:player-1@example.com"}
    context = {"contextAgents": [{**CONTEXT_AGENT, "agent": named}],
               "contextGroups": [{**CONTEXT_GROUP, "group": {**TEAM, "name": "一队"}}]}
    [statement_id] = xapi.post("statements", statement(context=context), **V2).json()
    got = xapi.get("statements", {"statementId": statement_id, "format": "ids"}, **V2).json()["context"]
    assert got["contextAgents"] == [{**CONTEXT_AGENT, "agent": PLAYER}]
    assert got["contextGroups"] == [{**CONTEXT_GROUP, "group": {"objectType": "Group",
                                                                "mbox": "mailto:team-1@example.com"}}]
    exact = xapi.get("statements", {"statementId": statement_id}, **V2).json()["context"]
    assert exact["contextAgents"][0]["agent"]["name"] == "一号队员"


# --- the alternate request syntax is gone in 2.0 -----------------------------------------------


@pytest.mark.parametrize("version_in", ["header", "form"])
def test_the_alternate_syntax_is_refused_for_a_2_0_request_and_stores_nothing(xapi, client, version_in):
    form = {"statementId": str(uuid.uuid4()), "content": json.dumps(statement()),
            "Authorization": xapi.headers()["HTTP_AUTHORIZATION"]}
    headers = {}
    if version_in == "form":
        form["X-Experience-API-Version"] = "2.0.0"
    else:
        headers = V2
    response = client.post("/xapi/statements?method=PUT", urlencode(form),
                           content_type="application/x-www-form-urlencoded", **headers)
    assert response.status_code == 400 and "替代请求语法" in response.json()["message"]
    assert response["X-Experience-API-Version"] == "2.0.0"
    assert stored_count() == 0
    # The same request in 1.0.3 still stores the statement.
    form["X-Experience-API-Version"] = "1.0.3"
    accepted = client.post("/xapi/statements?method=PUT", urlencode(form),
                           content_type="application/x-www-form-urlencoded")
    assert accepted.status_code == 204 and stored_count() == 1


# --- State PUT without preconditions -----------------------------------------------------------


def test_a_2_0_state_put_without_preconditions_over_an_existing_document_is_409(xapi):
    assert call(xapi, "PUT", "activities/state", state(), {"page": 1}, **V2).status_code == 204  # a new one: fine
    refused = call(xapi, "PUT", "activities/state", state(), {"page": 2}, **V2)
    assert refused.status_code == 409 and refused.json()["error"] == "Conflict"
    assert json.loads(bytes(LrsDocument.objects.dangerously_unscoped().get().content)) == {"page": 1}
    etag = call(xapi, "GET", "activities/state", state(), **V2)["ETag"]
    assert call(xapi, "PUT", "activities/state", state(), {"page": 2}, HTTP_IF_MATCH=etag, **V2).status_code == 204
    # POST and DELETE still need no header in 2.0 (the 2.0 suite writes and clears documents so).
    assert call(xapi, "POST", "activities/state", state(), {"line": 3}, **V2).status_code == 204
    assert call(xapi, "DELETE", "activities/state", state(), **V2).status_code == 204


def test_a_1_0_state_put_without_preconditions_still_overwrites(xapi):
    assert call(xapi, "PUT", "activities/state", state(), {"page": 1}).status_code == 204
    assert call(xapi, "PUT", "activities/state", state(), {"page": 2}).status_code == 204
    assert json.loads(bytes(LrsDocument.objects.dangerously_unscoped().get().content)) == {"page": 2}


def test_2_0_documents_carry_last_modified_and_etag(xapi):
    assert call(xapi, "PUT", "activities/state", state(), {"page": 1}, **V2).status_code == 204
    got = call(xapi, "GET", "activities/state", state(), **V2)
    assert got["Last-Modified"] and got["ETag"].startswith('"')
    listed = call(xapi, "GET", "activities/state", {"activityId": state()["activityId"], "agent": state()["agent"]},
                  **V2)
    assert listed.json() == ["bookmark"] and listed["Last-Modified"] == got["Last-Modified"]
