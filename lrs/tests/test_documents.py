"""The document resources (State, Activity Profile, Agent Profile) and the Activities and
Agents resources: storing as sent, ETags and preconditions, merging, lists and `since`,
registrations, deleting a context, parameters, each client's prefixes, the alternate
request syntax, HEAD, and concurrent creation."""

import datetime as dt
import hashlib
import json
from urllib.parse import urlencode

import pytest
import time_machine

from access.scope import Scope
from lrs import documents
from lrs.models import LrsClient, LrsDocument
from lrs.tests.conftest import statement

ACTIVITY = "https://courses.example.org/c/1"
AGENT = {"objectType": "Agent", "mbox": "mailto:teacher@example.org"}
OTHER_AGENT = {"objectType": "Agent", "account": {"homePage": "https://platform.example.org", "name": "t-42"}}
REGISTRATION = "6fbd600f-d17c-4c74-801a-2ec2e53231c9"


def call(xapi, method: str, resource: str, params: dict, body=b"", content_type="application/json", **headers):
    """A request with any method, body and content type; `headers` as Django META names."""
    query = urlencode({name: json.dumps(value) if isinstance(value, dict) else value for name, value in params.items()})
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    return xapi.client.generic(method, f"/xapi/{resource}?{query}", body, content_type=content_type,
                               **xapi.headers(**headers))


def state(**extra) -> dict:
    return {"activityId": ACTIVITY, "agent": AGENT, "stateId": "bookmark", **extra}


def activity_profile(**extra) -> dict:
    return {"activityId": ACTIVITY, "profileId": "settings", **extra}


def agent_profile(**extra) -> dict:
    return {"agent": AGENT, "profileId": "preferences", **extra}


def stored() -> list[LrsDocument]:
    return list(LrsDocument.objects.dangerously_unscoped().order_by("pk"))


def quoted_sha1(content: bytes) -> str:
    return f'"{hashlib.sha1(content).hexdigest()}"'  # noqa: S324 - the ETag the specification asks for


# --- State -----------------------------------------------------------------------------------


def test_a_state_document_comes_back_as_stored_with_its_type_etag_and_last_modified(xapi):
    body = "第 3 页，第 2 段".encode()
    assert call(xapi, "PUT", "activities/state", state(), body, "text/plain; charset=utf-8").status_code == 204
    got = call(xapi, "GET", "activities/state", state())
    assert got.status_code == 200 and got.content == body
    assert got["Content-Type"] == "text/plain; charset=utf-8"
    assert got["ETag"] == quoted_sha1(body)
    assert got["Last-Modified"].endswith("GMT")
    row = stored()[0]
    assert (row.kind, row.activity_id, row.agent_key, row.registration) == ("state", ACTIVITY, "mbox:mailto:teacher@example.org", "")
    assert row.client.key == xapi.key


def test_state_may_be_replaced_posted_and_deleted_without_concurrency_headers(xapi):
    assert call(xapi, "PUT", "activities/state", state(), {"page": 1}).status_code == 204
    assert call(xapi, "PUT", "activities/state", state(), {"page": 2}).status_code == 204
    assert call(xapi, "GET", "activities/state", state()).json() == {"page": 2}
    assert call(xapi, "DELETE", "activities/state", state()).status_code == 204
    assert call(xapi, "GET", "activities/state", state()).status_code == 404
    assert call(xapi, "DELETE", "activities/state", state()).status_code == 204  # already gone: still done


def test_binary_content_is_kept_byte_for_byte(xapi):
    body = bytes(range(256)) * 40
    assert call(xapi, "PUT", "activities/state", state(), body, "application/octet-stream").status_code == 204
    got = call(xapi, "GET", "activities/state", state())
    assert got.content == body and got["Content-Type"] == "application/octet-stream"


def test_a_document_without_a_content_type_is_kept_as_octet_stream(xapi):
    response = xapi.client.generic("PUT", f"/xapi/activities/state?{urlencode({**state(), 'agent': json.dumps(AGENT)})}",
                                   b"raw", content_type="", **xapi.headers())
    assert response.status_code == 204
    assert call(xapi, "GET", "activities/state", state())["Content-Type"] == "application/octet-stream"


def test_a_registration_is_part_of_the_key(xapi):
    call(xapi, "PUT", "activities/state", state(), {"where": "none"})
    call(xapi, "PUT", "activities/state", state(registration=REGISTRATION), {"where": "registered"})
    assert call(xapi, "GET", "activities/state", state()).json() == {"where": "none"}
    assert call(xapi, "GET", "activities/state", state(registration=REGISTRATION.upper())).json() == {"where": "registered"}
    other = "0f6b7b8e-5b7f-4d0b-9d7e-3a1c2b4d5e6f"
    assert call(xapi, "GET", "activities/state", state(registration=other)).status_code == 404


def test_state_ids_are_listed_per_context_and_registration(xapi):
    call(xapi, "PUT", "activities/state", state(stateId="a"), {"n": 1})
    call(xapi, "PUT", "activities/state", state(stateId="b", registration=REGISTRATION), {"n": 2})
    call(xapi, "PUT", "activities/state", state(stateId="a", registration=REGISTRATION), {"n": 3})
    call(xapi, "PUT", "activities/state", state(stateId="c", agent=OTHER_AGENT), {"n": 4})
    call(xapi, "PUT", "activities/state", state(stateId="d", activityId="https://courses.example.org/c/2"), {"n": 5})
    context = {"activityId": ACTIVITY, "agent": AGENT}
    every = call(xapi, "GET", "activities/state", context)
    assert every.status_code == 200 and sorted(every.json()) == ["a", "b"]  # every registration, each id once
    assert every["ETag"] == quoted_sha1(every.content) and every["Last-Modified"].endswith("GMT")
    assert sorted(call(xapi, "GET", "activities/state", {**context, "registration": REGISTRATION}).json()) == ["a", "b"]
    empty = call(xapi, "GET", "activities/state", {**context, "agent": {"mbox": "mailto:nobody@example.org"}})
    assert empty.json() == [] and "Last-Modified" not in empty


def test_since_lists_only_documents_changed_after_it(xapi):
    context = {"activityId": ACTIVITY, "agent": AGENT}
    with time_machine.travel(dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC), tick=False):
        call(xapi, "PUT", "activities/state", state(stateId="old"), {"n": 1})
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        call(xapi, "PUT", "activities/state", state(stateId="new"), {"n": 2})
    assert call(xapi, "GET", "activities/state", {**context, "since": "2026-03-01T08:30:00Z"}).json() == ["new"]
    assert call(xapi, "GET", "activities/state", {**context, "since": "2026-03-01T09:00:00Z"}).json() == []  # exclusive
    assert sorted(call(xapi, "GET", "activities/state", {**context, "since": "2026-03-01T07:00:00+00:00"}).json()) == [
        "new", "old"]
    assert call(xapi, "GET", "activities/state", {**context, "since": "not a timestamp"}).status_code == 400
    listed = call(xapi, "GET", "activities/state", context)
    assert listed["Last-Modified"] == "Sun, 01 Mar 2026 09:00:00 GMT"


def test_deleting_without_a_state_id_deletes_the_context(xapi):
    call(xapi, "PUT", "activities/state", state(stateId="a"), {"n": 1})
    call(xapi, "PUT", "activities/state", state(stateId="b", registration=REGISTRATION), {"n": 2})
    call(xapi, "PUT", "activities/state", state(stateId="c", agent=OTHER_AGENT), {"n": 3})
    call(xapi, "PUT", "activities/profile", activity_profile(), {"n": 4}, HTTP_IF_NONE_MATCH="*")
    context = {"activityId": ACTIVITY, "agent": AGENT}
    assert call(xapi, "DELETE", "activities/state", {**context, "registration": REGISTRATION}).status_code == 204
    assert call(xapi, "GET", "activities/state", context).json() == ["a"]  # only that registration went
    call(xapi, "PUT", "activities/state", state(stateId="b", registration=REGISTRATION), {"n": 2})
    assert call(xapi, "DELETE", "activities/state", context).status_code == 204
    assert call(xapi, "GET", "activities/state", context).json() == []  # every registration
    assert sorted(row.document_id for row in stored()) == ["c", "settings"]  # another agent, a profile


@pytest.mark.parametrize("method", ["PUT", "POST", "GET", "DELETE"])
@pytest.mark.parametrize("missing", ["activityId", "agent"])
def test_state_requires_activity_and_agent(xapi, method, missing):
    params = state()
    del params[missing]
    response = call(xapi, method, "activities/state", params, {"n": 1})
    assert response.status_code == 400 and missing in response.json()["message"]
    assert stored() == []


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_writing_state_requires_a_state_id(xapi, method):
    params = state()
    del params["stateId"]
    assert call(xapi, method, "activities/state", params, {"n": 1}).status_code == 400
    assert call(xapi, method, "activities/state", state(stateId=""), {"n": 1}).status_code == 400


@pytest.mark.parametrize("params", [
    state(activityId="not an iri"), state(activityId="courses/c/1"), state(registration="not-a-uuid"),
    state(registration="6fbd600fd17c4c74801a2ec2e53231c9"), state(since="2026-03-01T08:00:00Z"),
    state(profileId="x"), state(verb="http://adlnet.gov/expapi/verbs/completed"),
])
def test_bad_or_unknown_state_parameters_are_400(xapi, params):
    response = call(xapi, "PUT", "activities/state", params, {"n": 1})
    assert response.status_code == 400 and response.json()["error"] == "Bad Request"
    assert stored() == []


BAD_AGENTS = [
    "not JSON", "true", "[]", json.dumps({"objectType": "Agent", "name": "无标识"}),
    json.dumps({"mbox": "mailto:a@example.org", "openid": "https://openid.example.org/a"}),
    json.dumps({"objectType": "Group", "mbox": "mailto:group@example.org"}),
    json.dumps({"objectType": "Person", "mbox": ["mailto:a@example.org"]}),
    json.dumps({"mbox": "a@example.org"}), json.dumps({"mbox_sha1sum": "xyz"}), json.dumps({"openid": "no scheme"}),
    json.dumps({"account": {"homePage": "https://platform.example.org"}}),
    json.dumps({"account": {"homePage": "platform", "name": "t-1"}}),
    json.dumps({"account": {"homePage": "https://p.example.org", "name": "t-1", "extra": 1}}),
    json.dumps({"mbox": "mailto:a@example.org", "role": "teacher"}), json.dumps({"mbox": "mailto:a@example.org", "name": 5}),
    json.dumps({"account": {"homePage": "https://p.example.org", "name": "t\u0000"}}),
    # A broken encoding: a quote where the colon should be.
    '{"objectType""Agent","mbox":"mailto:a@example.org"}',
    "[" * 100_000,
]


@pytest.mark.parametrize("agent", BAD_AGENTS)
@pytest.mark.parametrize(("method", "resource", "params"), [
    ("PUT", "activities/state", state()), ("GET", "activities/state", {"activityId": ACTIVITY}),
    ("POST", "agents/profile", agent_profile()), ("DELETE", "agents/profile", agent_profile()),
    ("GET", "agents", {}),
])
def test_the_agent_parameter_must_be_one_identified_agent(xapi, agent, method, resource, params):
    response = call(xapi, method, resource, {**params, "agent": agent}, {"n": 1}, HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 400 and "agent" in response.json()["message"]
    assert stored() == []


def test_agents_are_the_same_whatever_else_their_json_says(xapi):
    call(xapi, "PUT", "activities/state", state(agent={"mbox": "mailto:teacher@example.org", "name": "张老师"}), {"n": 1})
    assert call(xapi, "GET", "activities/state", state()).json() == {"n": 1}


# --- merging ---------------------------------------------------------------------------------


def test_post_creates_then_merges_top_level_properties(xapi):
    first = {"car": {"make": "Ford", "model": "Escape"}, "driver": "Dale", "keep": [1, 2]}
    assert call(xapi, "POST", "activities/state", state(), first).status_code == 204
    second = {"car": {"make": "Dodge"}, "driver": "Jeff", "new": None}
    assert call(xapi, "POST", "activities/state", state(), second, "application/json; charset=utf-8").status_code == 204
    got = call(xapi, "GET", "activities/state", state())
    assert got.json() == {"car": {"make": "Dodge"}, "driver": "Jeff", "keep": [1, 2], "new": None}
    assert got["ETag"] == quoted_sha1(got.content)


@pytest.mark.parametrize(("body", "content_type"), [
    (b"abcdefg", "not/json"), (b"abc", "application/x-www-form-urlencoded"), (b'{"a": 1}{', "application/json"),
    (b"[1, 2]", "application/json"), (b'"text"', "application/json"), (b"\xff\xfe", "application/json"),
    (b"[" * 100_000, "application/json"),
])
def test_a_post_that_cannot_merge_into_a_json_document_is_400_and_changes_nothing(xapi, body, content_type):
    call(xapi, "POST", "activities/profile", activity_profile(), {"kept": True})
    before = stored()[0]
    response = call(xapi, "POST", "activities/profile", activity_profile(), body, content_type)
    assert response.status_code == 400 and response.json()["message"]
    after = stored()[0]
    assert (bytes(after.content), after.etag, after.updated) == (bytes(before.content), before.etag, before.updated)


def test_a_json_post_cannot_merge_into_a_document_that_is_not_a_json_object(xapi):
    call(xapi, "PUT", "agents/profile", agent_profile(), b"/ asdf / undefined", "application/octet-stream",
         HTTP_IF_NONE_MATCH="*")
    call(xapi, "PUT", "agents/profile", agent_profile(profileId="list"), [1, 2], HTTP_IF_NONE_MATCH="*")
    for params in (agent_profile(), agent_profile(profileId="list")):
        assert call(xapi, "POST", "agents/profile", params, {"a": 1}).status_code == 400
    assert call(xapi, "GET", "agents/profile", agent_profile()).content == b"/ asdf / undefined"
    assert call(xapi, "GET", "agents/profile", agent_profile(profileId="list")).json() == [1, 2]


def test_a_post_of_another_type_to_a_new_document_stores_it_as_sent(xapi):
    assert call(xapi, "POST", "activities/profile", activity_profile(), b"<xml/>", "application/xml").status_code == 204
    got = call(xapi, "GET", "activities/profile", activity_profile())
    assert got.content == b"<xml/>" and got["Content-Type"] == "application/xml"


def test_json_declared_content_must_be_json(xapi):
    for method in ("PUT", "POST"):
        response = call(xapi, method, "activities/state", state(), b'{"a": 1}[', "application/json")
        assert response.status_code == 400
    assert call(xapi, "POST", "activities/state", state(), [1], "application/json").status_code == 400  # not an object
    assert call(xapi, "PUT", "activities/state", state(), [1], "application/json").status_code == 204  # a PUT may be any JSON
    assert call(xapi, "GET", "activities/state", state()).json() == [1]


# --- concurrency -----------------------------------------------------------------------------


def test_a_profile_put_needs_a_precondition_header(xapi):
    new = call(xapi, "PUT", "activities/profile", activity_profile(), {"v": 1})
    assert new.status_code == 400 and "If-Match" in new.json()["message"]
    assert call(xapi, "PUT", "activities/profile", activity_profile(), {"v": 1}, HTTP_IF_NONE_MATCH="").status_code == 400
    assert call(xapi, "PUT", "activities/profile", activity_profile(), {"v": 1}, HTTP_IF_NONE_MATCH="*").status_code == 204
    conflict = call(xapi, "PUT", "activities/profile", activity_profile(), {"v": 2})
    assert conflict.status_code == 409 and conflict.json()["error"] == "Conflict"
    assert "ETag" in conflict.json()["message"] and "If-Match" in conflict.json()["message"]
    assert call(xapi, "GET", "activities/profile", activity_profile()).json() == {"v": 1}


def test_if_none_match_star_creates_only_once(xapi):
    assert call(xapi, "PUT", "agents/profile", agent_profile(), {"v": 1}, HTTP_IF_NONE_MATCH="*").status_code == 204
    again = call(xapi, "PUT", "agents/profile", agent_profile(), {"v": 2}, HTTP_IF_NONE_MATCH="*")
    assert again.status_code == 412 and again.json()["error"] == "Precondition Failed"
    assert call(xapi, "POST", "agents/profile", agent_profile(), {"w": 2}, HTTP_IF_NONE_MATCH="*").status_code == 412
    assert call(xapi, "GET", "agents/profile", agent_profile()).json() == {"v": 1}


def test_if_match_writes_only_over_the_version_the_client_read(xapi):
    call(xapi, "PUT", "agents/profile", agent_profile(), {"v": 1}, HTTP_IF_NONE_MATCH="*")
    etag = call(xapi, "GET", "agents/profile", agent_profile())["ETag"]
    assert call(xapi, "PUT", "agents/profile", agent_profile(), {"v": 2}, HTTP_IF_MATCH=etag).status_code == 204
    stale = call(xapi, "PUT", "agents/profile", agent_profile(), {"v": 3}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    bad = call(xapi, "PUT", "agents/profile", agent_profile(), {"v": 3}, HTTP_IF_MATCH='"' + "1" * 40 + '"')
    assert bad.status_code == 412
    assert call(xapi, "GET", "agents/profile", agent_profile()).json() == {"v": 2}
    # A weak tag, an unquoted one, one of a list, any (*): all name the current version.
    for form in ("W/{}", "{}", '"' + "0" * 40 + '", {}', "*"):
        current = call(xapi, "GET", "agents/profile", agent_profile())["ETag"]
        header = form.format(current.strip('"') if form == "{}" else current)
        assert call(xapi, "POST", "agents/profile", agent_profile(), {"seen": header}, HTTP_IF_MATCH=header).status_code == 204


def test_if_match_on_a_missing_document_fails(xapi):
    for method in ("PUT", "POST", "DELETE"):
        response = call(xapi, method, "activities/profile", activity_profile(), {"v": 1}, HTTP_IF_MATCH="*")
        assert response.status_code == 412
    assert stored() == []


def test_post_and_delete_check_if_match_when_sent(xapi):
    call(xapi, "PUT", "activities/profile", activity_profile(), {"v": 1}, HTTP_IF_NONE_MATCH="*")
    etag = call(xapi, "GET", "activities/profile", activity_profile())["ETag"]
    wrong = '"' + "2" * 40 + '"'
    assert call(xapi, "POST", "activities/profile", activity_profile(), {"w": 1}, HTTP_IF_MATCH=wrong).status_code == 412
    assert call(xapi, "DELETE", "activities/profile", activity_profile(), HTTP_IF_MATCH=wrong).status_code == 412
    assert call(xapi, "GET", "activities/profile", activity_profile()).json() == {"v": 1}
    assert call(xapi, "DELETE", "activities/profile", activity_profile(), HTTP_IF_MATCH=etag).status_code == 204
    assert stored() == []


def test_profiles_may_be_posted_and_deleted_without_headers(xapi):
    assert call(xapi, "POST", "agents/profile", agent_profile(), {"a": 1}).status_code == 204
    assert call(xapi, "POST", "agents/profile", agent_profile(), {"b": 2}).status_code == 204
    assert call(xapi, "GET", "agents/profile", agent_profile()).json() == {"a": 1, "b": 2}
    assert call(xapi, "DELETE", "agents/profile", agent_profile()).status_code == 204
    assert call(xapi, "DELETE", "activities/profile", activity_profile()).status_code == 204  # nothing there
    assert stored() == []


def test_state_honours_preconditions_when_sent(xapi):
    call(xapi, "PUT", "activities/state", state(), {"v": 1})
    assert call(xapi, "PUT", "activities/state", state(), {"v": 2}, HTTP_IF_NONE_MATCH="*").status_code == 412
    assert call(xapi, "PUT", "activities/state", state(), {"v": 2}, HTTP_IF_MATCH='"' + "0" * 40 + '"').status_code == 412
    assert call(xapi, "GET", "activities/state", state()).json() == {"v": 1}


# --- concurrent creation ---------------------------------------------------------------------


def _racing(monkeypatch, times: int):
    """The first `times` lookups miss the document, as if another request created it after."""
    real, calls = documents._current, {"n": 0}

    def current(*args, **kwargs):
        calls["n"] += 1
        return None if calls["n"] <= times else real(*args, **kwargs)

    monkeypatch.setattr(documents, "_current", current)
    return calls


def test_a_lost_creation_race_gets_the_answer_of_the_second_request(xapi, monkeypatch):
    call(xapi, "PUT", "activities/profile", activity_profile(), {"first": True}, HTTP_IF_NONE_MATCH="*")
    call(xapi, "PUT", "activities/state", state(), {"first": True})
    calls = _racing(monkeypatch, 1)
    raced = call(xapi, "PUT", "activities/profile", activity_profile(), {"second": True}, HTTP_IF_NONE_MATCH="*")
    assert raced.status_code == 412 and calls["n"] == 2
    _racing(monkeypatch, 1)
    assert call(xapi, "PUT", "activities/state", state(), {"second": True}).status_code == 204  # state: last one wins
    _racing(monkeypatch, 1)
    assert call(xapi, "POST", "activities/state", state(), {"third": True}).status_code == 204  # merged after all
    monkeypatch.undo()
    assert call(xapi, "GET", "activities/state", state()).json() == {"second": True, "third": True}
    assert call(xapi, "GET", "activities/profile", activity_profile()).json() == {"first": True}
    assert len(stored()) == 2


def test_a_creation_that_keeps_colliding_is_a_409_not_a_500(xapi, monkeypatch):
    call(xapi, "PUT", "activities/state", state(), {"first": True})
    _racing(monkeypatch, 10)
    response = call(xapi, "PUT", "activities/state", state(), {"second": True})
    assert response.status_code == 409 and response.json()["message"]
    monkeypatch.undo()
    assert call(xapi, "GET", "activities/state", state()).json() == {"first": True}


# --- size ------------------------------------------------------------------------------------


def test_documents_above_the_size_limit_are_413(xapi, settings):
    settings.LRS_DOCUMENT_MAX_BYTES = 20
    assert call(xapi, "PUT", "activities/state", state(), b"x" * 21, "text/plain").status_code == 413
    assert call(xapi, "PUT", "activities/state", state(), {"a": "0123456789"}).status_code == 204  # 19 bytes
    grown = call(xapi, "POST", "activities/state", state(), {"b": 1})  # the merge would be 25
    assert grown.status_code == 413 and grown.json()["error"] == "Payload Too Large"
    assert call(xapi, "GET", "activities/state", state()).json() == {"a": "0123456789"}


def test_the_size_limit_has_a_default():
    assert documents.max_bytes() == documents.DEFAULT_MAX_BYTES


# --- profiles --------------------------------------------------------------------------------


def test_profile_ids_are_listed_with_since(xapi):
    with time_machine.travel(dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC), tick=False):
        call(xapi, "POST", "activities/profile", activity_profile(profileId="old"), {"n": 1})
        call(xapi, "POST", "agents/profile", agent_profile(profileId="old"), {"n": 1})
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        call(xapi, "POST", "activities/profile", activity_profile(profileId="new"), {"n": 2})
        call(xapi, "POST", "agents/profile", agent_profile(profileId="new"), {"n": 2})
    assert call(xapi, "GET", "activities/profile", {"activityId": ACTIVITY}).json() == ["old", "new"]
    assert call(xapi, "GET", "agents/profile", {"agent": AGENT}).json() == ["old", "new"]
    since = "2026-03-01T08:30:00Z"
    assert call(xapi, "GET", "activities/profile", {"activityId": ACTIVITY, "since": since}).json() == ["new"]
    assert call(xapi, "GET", "agents/profile", {"agent": AGENT, "since": since}).json() == ["new"]
    assert call(xapi, "GET", "agents/profile", {"agent": OTHER_AGENT}).json() == []
    assert call(xapi, "GET", "agents/profile", {"agent": AGENT, "since": "yesterday"}).status_code == 400


def test_a_missing_profile_is_404(xapi):
    response = call(xapi, "GET", "agents/profile", agent_profile())
    assert response.status_code == 404 and response.json()["error"] == "Not Found"


@pytest.mark.parametrize(("method", "resource", "params"), [
    ("PUT", "activities/profile", {"activityId": ACTIVITY}), ("POST", "activities/profile", {"activityId": ACTIVITY}),
    ("DELETE", "activities/profile", {"activityId": ACTIVITY}), ("PUT", "agents/profile", {"agent": AGENT}),
    ("POST", "agents/profile", {"agent": AGENT}), ("DELETE", "agents/profile", {"agent": AGENT}),
    ("GET", "activities/profile", {"profileId": "x"}), ("GET", "agents/profile", {"profileId": "x"}),
    ("PUT", "activities/profile", activity_profile(agent=AGENT)), ("PUT", "agents/profile", agent_profile(activityId=ACTIVITY)),
    ("PUT", "activities/profile", activity_profile(registration=REGISTRATION)),
    ("PUT", "activities/profile", activity_profile(activityId="nope")),
])
def test_profile_parameters_are_checked(xapi, method, resource, params):
    response = call(xapi, method, resource, params, {"n": 1}, HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 400 and response.json()["message"]
    assert stored() == []


def test_the_three_resources_keep_documents_apart(xapi):
    call(xapi, "PUT", "activities/state", state(stateId="same"), {"r": "state"})
    call(xapi, "PUT", "activities/profile", activity_profile(profileId="same"), {"r": "activity"}, HTTP_IF_NONE_MATCH="*")
    call(xapi, "PUT", "agents/profile", agent_profile(profileId="same"), {"r": "agent"}, HTTP_IF_NONE_MATCH="*")
    assert call(xapi, "GET", "activities/state", state(stateId="same")).json() == {"r": "state"}
    assert call(xapi, "GET", "activities/profile", activity_profile(profileId="same")).json() == {"r": "activity"}
    assert call(xapi, "GET", "agents/profile", agent_profile(profileId="same")).json() == {"r": "agent"}


# --- each client's prefixes ------------------------------------------------------------------


def test_a_client_keeps_documents_only_for_activities_under_its_prefixes(make_xapi):
    course = make_xapi(["https://courses.example.org/"], reads_all=False, name="课程平台")
    other = make_xapi(["https://other.example.org/"], reads_all=False, name="另一平台")
    assert call(course, "PUT", "activities/state", state(), {"mine": True}).status_code == 204
    assert call(course, "PUT", "activities/profile", activity_profile(), {"mine": True},
                HTTP_IF_NONE_MATCH="*").status_code == 204
    for method in ("GET", "PUT", "POST", "DELETE"):
        for resource, params in (("activities/state", state()), ("activities/profile", activity_profile()),
                                 ("activities/state", {"activityId": ACTIVITY, "agent": AGENT}),
                                 ("activities/profile", {"activityId": ACTIVITY})):
            many = "stateId" not in params and "profileId" not in params
            if many and not (method == "GET" or (method == "DELETE" and resource == "activities/state")):
                continue
            response = call(other, method, resource, params, {"theirs": True}, HTTP_IF_MATCH="*")
            assert response.status_code == 403, (method, resource, params)
            assert response.json()["error"] == "Forbidden"
    assert call(course, "GET", "activities/state", state()).json() == {"mine": True}
    assert call(course, "GET", "activities/profile", activity_profile()).json() == {"mine": True}
    outside = call(course, "PUT", "activities/state", state(activityId="https://other.example.org/x"), {"n": 1})
    assert outside.status_code == 403
    # The policy itself: the other client's scope sees none of these rows.
    other_client = LrsClient.objects.dangerously_unscoped().get(key=other.key)
    assert not LrsDocument.objects.visible_to(Scope.for_client(other_client)).exists()
    assert len(stored()) == 2


def test_agent_profiles_belong_to_no_activity_so_only_unrestricted_clients_use_them(make_xapi):
    course = make_xapi(["https://courses.example.org/"], reads_all=False, name="课程平台")
    anywhere = make_xapi(["*"], name="全域平台")
    refused = call(course, "PUT", "agents/profile", agent_profile(), {"n": 1}, HTTP_IF_NONE_MATCH="*")
    assert refused.status_code == 403 and "*" in refused.json()["message"]
    assert call(anywhere, "PUT", "agents/profile", agent_profile(), {"n": 1}, HTTP_IF_NONE_MATCH="*").status_code == 204
    assert call(course, "GET", "agents/profile", agent_profile()).status_code == 403
    assert call(course, "GET", "agents/profile", {"agent": AGENT}).status_code == 403
    assert call(anywhere, "GET", "agents/profile", agent_profile()).json() == {"n": 1}


def test_a_read_only_client_reads_documents_but_cannot_write_them(make_xapi, xapi):
    call(xapi, "PUT", "activities/state", state(), {"n": 1})
    reader = make_xapi(["*"], may_write=False, name="报表")
    assert call(reader, "GET", "activities/state", state()).json() == {"n": 1}
    assert call(reader, "PUT", "activities/state", state(), {"n": 2}).status_code == 403
    assert call(reader, "DELETE", "activities/state", state()).status_code == 403
    assert call(xapi, "GET", "activities/state", state()).json() == {"n": 1}


# --- request syntax, methods, HEAD -----------------------------------------------------------


def test_the_alternate_syntax_puts_and_gets_a_document(xapi, client):
    form = {"activityId": ACTIVITY, "profileId": "settings", "content": json.dumps({"lang": "zh-CN"}),
            "Authorization": xapi.headers()["HTTP_AUTHORIZATION"], "X-Experience-API-Version": "1.0.3",
            "Content-Type": "application/json", "If-None-Match": "*"}
    put = client.post("/xapi/activities/profile?method=PUT", urlencode(form),
                      content_type="application/x-www-form-urlencoded")
    assert put.status_code == 204
    again = client.post("/xapi/activities/profile?method=PUT", urlencode(form),
                        content_type="application/x-www-form-urlencoded")
    assert again.status_code == 412  # If-None-Match as a form field is a header
    get = client.post("/xapi/activities/profile?method=GET", urlencode({
        key: form[key] for key in ("activityId", "profileId", "Authorization", "X-Experience-API-Version")}),
        content_type="application/x-www-form-urlencoded")
    assert get.status_code == 200 and get.json() == {"lang": "zh-CN"}
    assert get["Content-Type"] == "application/json" and get["ETag"] == quoted_sha1(get.content)


def test_alternate_syntax_content_without_a_content_type_field_is_json(xapi, client):
    form = {"activityId": ACTIVITY, "agent": json.dumps(AGENT), "stateId": "s", "content": json.dumps({"页": 1}),
            "Authorization": xapi.headers()["HTTP_AUTHORIZATION"], "X-Experience-API-Version": "1.0.3"}
    put = client.post("/xapi/activities/state?method=PUT", urlencode(form),
                      content_type="application/x-www-form-urlencoded")
    assert put.status_code == 204
    got = call(xapi, "GET", "activities/state", state(stateId="s"))
    assert got.json() == {"页": 1} and got["Content-Type"] == "application/json"
    text = client.post("/xapi/activities/state?method=PUT", urlencode({**form, "content": "第一页"}),
                       content_type="application/x-www-form-urlencoded")
    assert text.status_code == 400  # not JSON, and no Content-Type field said otherwise
    typed = client.post("/xapi/activities/state?method=PUT",
                        urlencode({**form, "content": "第一页", "Content-Type": "text/plain; charset=utf-8"}),
                        content_type="application/x-www-form-urlencoded")
    assert typed.status_code == 204
    got = call(xapi, "GET", "activities/state", state(stateId="s"))
    assert got.content == "第一页".encode() and got["Content-Type"] == "text/plain; charset=utf-8"


def test_head_answers_as_get_without_a_body(xapi):
    call(xapi, "PUT", "activities/state", state(), {"n": 1})
    xapi.post("statements", statement())
    for resource, params in (("activities/state", state()), ("activities/state", {"activityId": ACTIVITY, "agent": AGENT}),
                             ("activities", {"activityId": ACTIVITY}), ("agents", {"agent": AGENT})):
        get = call(xapi, "GET", resource, params)
        head = call(xapi, "HEAD", resource, params)
        assert head.status_code == 200 and head.content == b""
        assert head["ETag"] == get["ETag"] and head["Content-Type"] == get["Content-Type"]
    assert call(xapi, "HEAD", "activities/state", state(stateId="missing")).status_code == 404


@pytest.mark.parametrize(("method", "resource"), [
    ("PATCH", "activities/state"), ("PUT", "activities"), ("POST", "agents"), ("DELETE", "activities"),
])
def test_methods_a_resource_does_not_have_are_405(xapi, method, resource):
    response = call(xapi, method, resource, state())
    assert response.status_code == 405 and "GET" in response["Allow"]


def test_documents_need_credentials_and_the_version_header(xapi, client):
    assert client.get("/xapi/activities/state", state() | {"agent": json.dumps(AGENT)},
                      HTTP_X_EXPERIENCE_API_VERSION="1.0.3").status_code == 401
    response = call(xapi, "GET", "activities/state", state(), HTTP_X_EXPERIENCE_API_VERSION="")
    assert response.status_code == 400 and response["X-Experience-API-Version"] == "1.0.3"


# --- Activities and Agents -------------------------------------------------------------------


def test_the_activities_resource_returns_the_canonical_definition(xapi):
    definition = {"name": {"zh-CN": "课堂教学能力", "en-US": "Classroom teaching"}, "type": "http://adlnet.gov/expapi/activities/course"}
    xapi.post("statements", statement(object={"objectType": "Activity", "id": ACTIVITY, "definition": definition}))
    xapi.post("statements", statement(object={"objectType": "Activity", "id": ACTIVITY,
                                              "definition": {"name": {"fr-FR": "Enseignement"}}}))
    response = call(xapi, "GET", "activities", {"activityId": ACTIVITY})
    assert response.status_code == 200 and response["ETag"] == quoted_sha1(response.content)
    assert response.json() == {"objectType": "Activity", "id": ACTIVITY, "definition": {
        "name": {"zh-CN": "课堂教学能力", "en-US": "Classroom teaching", "fr-FR": "Enseignement"},
        "type": "http://adlnet.gov/expapi/activities/course"}}


def test_definitions_merge_property_by_property_and_language_by_language(xapi):
    from lrs.models import LrsActivity

    def post(definition):
        xapi.post("statements", statement(object={"objectType": "Activity", "id": ACTIVITY, "definition": definition}))

    post({"name": {"zh-CN": "旧名"}, "description": {"zh-CN": "说明"}, "type": "http://example.org/t/old"})
    post({"name": {"zh-CN": "新名", "en-US": "New"}, "type": "http://example.org/t/new",
          "moreInfo": "https://example.org/info"})
    post({"description": {"en-US": "About"}, "extensions": {"http://example.org/x": 1}})
    row = LrsActivity.objects.get(activity_id=ACTIVITY)
    assert row.definition == {"name": {"zh-CN": "新名", "en-US": "New"}, "description": {"zh-CN": "说明", "en-US": "About"},
                              "type": "http://example.org/t/new", "moreInfo": "https://example.org/info",
                              "extensions": {"http://example.org/x": 1}}
    updated = row.updated
    post({"name": {"en-US": "New"}})  # nothing new: the row is not rewritten
    assert LrsActivity.objects.get(activity_id=ACTIVITY).updated == updated


def test_a_batch_stores_each_activity_definition_exactly(xapi):
    """Several activities in one batch, their text with quotes, backslashes and Chinese: each
    definition is stored as sent (they travel to the database as one JSON document)."""
    from lrs.models import LrsActivity

    names = {f"{ACTIVITY}/{n}": {"zh-CN": f"第{n}课 \"引号\" 'single' \\反斜杠\\ {{}}[],"} for n in range(3)}
    response = xapi.post("statements", [statement(object={"objectType": "Activity", "id": iri,
                                                          "definition": {"name": name}}) for iri, name in names.items()])
    assert response.status_code == 200
    stored = {row.activity_id: row.definition for row in LrsActivity.objects.filter(activity_id__in=list(names))}
    assert stored == {iri: {"name": name} for iri, name in names.items()}


def test_an_activity_the_lrs_does_not_know_is_still_an_activity_object(xapi):
    unknown = "https://courses.example.org/never-seen"
    assert call(xapi, "GET", "activities", {"activityId": unknown}).json() == {"objectType": "Activity", "id": unknown}


@pytest.mark.parametrize("params", [{}, {"activityId": "not an iri"}, {"activityId": ACTIVITY, "agent": AGENT}])
def test_the_activities_resource_checks_its_parameter(xapi, params):
    response = call(xapi, "GET", "activities", params)
    assert response.status_code == 400 and response.json()["message"]


def test_the_agents_resource_returns_a_person(xapi):
    person = call(xapi, "GET", "agents", {"agent": {"objectType": "Agent", "name": "张老师", "mbox": "mailto:t@example.org"}})
    assert person.status_code == 200 and person["ETag"] == quoted_sha1(person.content)
    assert person.json() == {"objectType": "Person", "name": ["张老师"], "mbox": ["mailto:t@example.org"]}
    account = call(xapi, "GET", "agents", {"agent": OTHER_AGENT}).json()
    assert account == {"objectType": "Person", "account": [OTHER_AGENT["account"]]}
    sha1 = call(xapi, "GET", "agents", {"agent": {"mbox_sha1sum": "cd9b00a5611f94eaa7b1661edab976068e364975"}}).json()
    assert sha1 == {"objectType": "Person", "mbox_sha1sum": ["cd9b00a5611f94eaa7b1661edab976068e364975"]}


@pytest.mark.parametrize("params", [{}, {"agent": AGENT, "activityId": ACTIVITY}])
def test_the_agents_resource_checks_its_parameters(xapi, params):
    assert call(xapi, "GET", "agents", params).status_code == 400
