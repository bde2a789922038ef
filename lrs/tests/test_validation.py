"""Statement validation (xAPI 1.0.3 Data 2.2-2.4, 4.x): one table row per rule, called on
validate_statement directly; statement comparison (Data 2.3.1); a few requests through
/xapi/ showing the refusal (400, JSON body, nothing stored); property-based tests that
no JSON makes validation raise anything but StatementInvalid."""

import copy
import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lrs.models import Statement
from lrs.tests.conftest import statement
from lrs.validation import (
    StatementInvalid,
    parse_timestamp,
    statements_equal,
    validate_agent,
    validate_statement,
    validate_uuid,
)


class _Delete:
    """Marks a property to remove from the statement (a stable repr: xdist workers must agree on test ids)."""

    def __repr__(self) -> str:
        return "DELETE"


DELETE = _Delete()
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
SHA256 = "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a"
REF = {"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"}
AGENT = {"objectType": "Agent", "mbox": "mailto:li@example.org"}
GROUP = {"objectType": "Group", "name": "教研组", "member": [{"mbox": "mailto:li@example.org"}]}
ACTIVITY = {"id": "https://courses.example.org/c/2"}


def full() -> dict:
    """A valid statement using every property."""
    return {
        "id": "5f1e4c2a-8b3d-4e6f-9a0b-1c2d3e4f5a6b",
        "actor": {"objectType": "Agent", "name": "张老师", "mbox": "mailto:teacher@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"zh-CN": "完成", "en-US": "completed"}},
        "object": {"objectType": "Activity", "id": "https://courses.example.org/c/1",
                   "definition": {"name": {"zh-CN": "课堂教学能力"}, "description": {"en-US": "Teaching"},
                                  "type": "http://adlnet.gov/expapi/activities/course",
                                  "moreInfo": "https://courses.example.org/c/1/about",
                                  "extensions": {"https://example.org/ext/level": 3}}},
        "result": {"score": {"scaled": 0.85, "raw": 85, "min": 0, "max": 100}, "success": True, "completion": True,
                   "response": "答案", "duration": "PT1H30M0.12S", "extensions": {"https://example.org/ext/x": None}},
        "context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7", "instructor": dict(AGENT),
                    "team": {"objectType": "Group", "member": [{"mbox": "mailto:li@example.org"},
                                                               {"mbox": "mailto:b@e.org"}]},
                    "contextActivities": {"parent": [{"id": "https://courses.example.org/programme"}],
                                          "grouping": [{"objectType": "Activity", "id": "https://example.org/g"}],
                                          "category": [], "other": [dict(ACTIVITY)]},
                    "language": "zh-CN", "statement": dict(REF),
                    "extensions": {"https://example.org/ext/room": {"nested": ["any", 1, None]}}},
        "timestamp": "2025-03-01T08:30:00.123+08:00",
        "stored": "2025-03-01T00:30:01.000Z",
        "authority": {"objectType": "Agent", "account": {"homePage": "https://lrs.example.org", "name": "client-1"}},
        "version": "1.0.0",
        "attachments": [{"usageType": "http://example.com/attachment-usage/test", "display": {"en-US": "A test"},
                         "description": {"en-US": "described"}, "contentType": "text/plain; charset=ascii",
                         "length": 27, "sha2": SHA256, "fileUrl": "http://over.there.com/file.txt"}],
    }


def substatement(**changes: Any) -> dict:
    inner = {"objectType": "SubStatement", "actor": dict(AGENT), "verb": {"id": "http://example.com/visited"},
             "object": dict(ACTIVITY)}
    inner.update(changes)
    return inner


def interaction(kind: str | None, **lists: Any) -> dict:
    definition: dict[str, Any] = {} if kind is None else {"interactionType": kind}
    definition.update(lists)
    return {"id": "https://example.org/q1", "definition": definition}


def components(*ids: str) -> list[dict]:
    return [{"id": ident, "description": {"en-US": ident}} for ident in ids]


def _step(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for part in path.split("."):
        name, _, rest = part.partition("[")
        steps.append(name)
        if rest:
            steps.append(int(rest.rstrip("]")))
    return steps


def changed(path: str, value: Any, base: Callable[[], dict] = full) -> dict:
    """A copy of the base statement with the value at `path` ("a.b[0].c") set or DELETEd."""
    data = base()
    *parents, last = _step(path)
    target: Any = data
    for step in parents:
        target = target[step]
    if value is DELETE:
        del target[last]
    else:
        target[last] = copy.deepcopy(value)
    return data


def rejected(data: Any) -> str:
    with pytest.raises(StatementInvalid) as error:
        validate_statement(data)
    return str(error.value)


def test_the_full_statement_and_the_minimal_one_are_valid():
    assert validate_statement(full())
    minimal = {"actor": {"mbox": "mailto:a@b.c"}, "verb": {"id": "http://e.org/v"}, "object": {"id": "http://e.org/a"}}
    assert validate_statement(copy.deepcopy(minimal)) == minimal


# --- rules: each row is a property path, a value, and the path the message must name -------

REJECTED = [
    # Statement (Data 2.2, 2.4)
    ("actor", DELETE, "actor"), ("verb", DELETE, "verb"), ("object", DELETE, "object"),
    ("Actor", {"mbox": "mailto:a@b.c"}, "Actor"),  # keys are case-sensitive
    ("unknown", 1, "unknown"), ("result", None, "result"), ("context", [], "context"),
    ("id", "not-a-uuid", "id"), ("id", 12345, "id"), ("id", "AA97B177-9383-4934-8543-0F91A7A028368", "id"),
    ("id", "5f1e4c2a-8b3d-4e6f-9a0b-1c2d3e4f5a6b\n", "id"), ("id", "{5f1e4c2a-8b3d-4e6f-9a0b-1c2d3e4f5a6b}", "id"),
    ("stored", "yesterday", "stored"), ("timestamp", None, "timestamp"),
    ("version", "1.1.0", "version"), ("version", "0.9.5", "version"), ("version", "2.0.0", "version"),
    ("version", "1.0.x", "version"), ("version", 1.0, "version"), ("version", "should fail", "version"),
    # Actor: Agent, Group, inverse functional identifiers, account (Data 2.4.2)
    ("actor.objectType", "agent", "actor.objectType"), ("actor.objectType", "Person", "actor.objectType"),
    ("actor.mbox", DELETE, "actor"), ("actor.mbox", "http://should.fail.com", "actor.mbox"),
    ("actor.mbox", "teacher@example.org", "actor.mbox"), ("actor.mbox", "mailto:should.fail.com", "actor.mbox"),
    ("actor.mbox", "mailto:a b@example.org", "actor.mbox"), ("actor.name", 7, "actor.name"),
    ("actor.openid", "http://openid.example.org/1", "actor"),  # two identifiers
    ("actor", {"mbox_sha1sum": "cd9b00a5611f94eaa7b1661edab976068e36497"}, "actor.mbox_sha1sum"),
    ("actor", {"mbox_sha1sum": "zd9b00a5611f94eaa7b1661edab976068e364975"}, "actor.mbox_sha1sum"),
    ("actor", {"mbox_sha1sum": {"key": "value"}}, "actor.mbox_sha1sum"),
    ("actor", {"openid": "open.id.com/testUser"}, "actor.openid"),
    ("actor", {"openid": "ab=c://should.fail.com"}, "actor.openid"),
    ("actor", {"account": {"name": "n"}}, "actor.account.homePage"),
    ("actor", {"account": {"homePage": "http://www.example.com"}}, "actor.account.name"),
    ("actor", {"account": {"homePage": "homePage.com/u", "name": "n"}}, "actor.account.homePage"),
    ("actor", {"account": {"homePage": "http://e.org", "name": "n", "id": 1}}, "actor.account.id"),
    ("actor", {"account": {"homePage": "http://e.org", "name": 5}}, "actor.account.name"),
    ("actor", {"objectType": "Agent", "member": [AGENT]}, "actor.member"),
    ("actor", {"objectType": "Group"}, "actor"),  # anonymous without members
    ("actor", {"objectType": "Group", "member": []}, "actor"),
    ("actor", {"objectType": "Group", "member": AGENT}, "actor.member"),
    ("actor", {"objectType": "Group", "member": [GROUP]}, "actor.member[0].objectType"),
    ("actor", {"objectType": "Group", "member": [{"name": "no identifier"}]}, "actor.member[0]"),
    ("actor", {"objectType": "Group", "mbox": "mailto:g@e.org", "openid": "http://e.org/g", "member": [AGENT]},
     "actor"),
    # Verb (Data 2.4.3)
    ("verb.id", DELETE, "verb.id"), ("verb.id", "not.a.valid.iri.com/verb", "verb.id"),
    ("verb.id", "ab=c://should.fail.com", "verb.id"), ("verb", "http://e.org/v", "verb"),
    ("verb.display", "attended", "verb.display"), ("verb.display", 12345, "verb.display"),
    ("verb.display", {"a12345678": "x"}, "verb.display"), ("verb.display", {"en-US": 1}, "verb.display.en-US"),
    ("verb.display", {"en-US": None}, "verb.display.en-US"), ("verb.name", "x", "verb.name"),
    # Object: Activity and its definition (Data 2.4.4.1)
    ("object.objectType", "activity", "object.objectType"), ("object.id", DELETE, "object.id"),
    ("object.id", "courses.example.org/c/1", "object.id"), ("object.id", "#fragment", "object.id"),
    ("object.id", "http://e.org/a b", "object.id"), ("object.id", "http://e.org/%zz", "object.id"),
    ("object.id", "", "object.id"), ("object.id", "http:", "object.id"),
    ("object.definition", "x", "object.definition"), ("object.definition.Name", {}, "object.definition.Name"),
    ("object.definition.name", {"english": "x", "a12345678": "y"}, "object.definition.name"),
    ("object.definition.description", {"en_US": "x"}, "object.definition.description"),
    ("object.definition.type", "meeting", "object.definition.type"),
    ("object.definition.moreInfo", "virtualmeeting.example.com/1", "object.definition.moreInfo"),
    ("object.definition.extensions", {"not.valid.com/extension": 1}, "object.definition.extensions"),
    ("object.definition.extensions", [], "object.definition.extensions"),
    ("object", interaction("Choice"), "object.definition.interactionType"),
    ("object", interaction("essay"), "object.definition.interactionType"),
    ("object", interaction(None, correctResponsesPattern=["a"]), "object.definition.correctResponsesPattern"),
    ("object", interaction(None, choices=components("a")), "object.definition.choices"),
    ("object", interaction("true-false", choices=components("a")), "object.definition.choices"),
    ("object", interaction("choice", scale=components("a")), "object.definition.scale"),
    ("object", interaction("likert", choices=components("a")), "object.definition.choices"),
    ("object", interaction("matching", steps=components("a")), "object.definition.steps"),
    ("object", interaction("performance", source=components("a")), "object.definition.source"),
    ("object", interaction("sequencing", target=components("a")), "object.definition.target"),
    ("object", interaction("choice", correctResponsesPattern="a"), "object.definition.correctResponsesPattern"),
    ("object", interaction("choice", correctResponsesPattern=[1]), "object.definition.correctResponsesPattern[0]"),
    ("object", interaction("choice", choices=components("a", "a")), "object.definition.choices[1].id"),
    ("object", interaction("choice", choices=[{"description": {"en-US": "x"}}]), "object.definition.choices[0].id"),
    ("object", interaction("choice", choices=[{"id": "a", "name": "x"}]), "object.definition.choices[0].name"),
    ("object", interaction("choice", choices=[{"id": "a", "description": {"xx-": "x"}}]),
     "object.definition.choices[0].description"),
    # Object: Agent or Group (Data 2.4.4.2), StatementRef and SubStatement (Data 2.4.4.3)
    ("object", {"mbox": "mailto:li@example.org"}, "object.objectType"),
    ("object", {"objectType": None, "member": [AGENT]}, "object.objectType"),
    ("object", {**ACTIVITY, "name": {"en": "x"}}, "object.name"),
    ("object", {"objectType": "Group", "member": []}, "object"),
    ("object", {"objectType": "statementref", "id": REF["id"]}, "object.objectType"),
    ("object", {"objectType": "StatementRef"}, "object.id"),
    ("object", {"objectType": "StatementRef", "id": "should fail"}, "object.id"),
    ("object", {**REF, "definition": {}}, "object.definition"),
    ("object", {**substatement(), "objectType": "substatement"}, "object.objectType"),
    ("object", substatement(id="5f1e4c2a-8b3d-4e6f-9a0b-1c2d3e4f5a6b"), "object.id"),
    ("object", substatement(stored="2025-03-01T00:30:01Z"), "object.stored"),
    ("object", substatement(version="1.0.0"), "object.version"),
    ("object", substatement(authority=AGENT), "object.authority"),
    ("object", substatement(object=substatement()), "object.object.objectType"),
    ("object", substatement(actor=None), "object.actor"),
    ("object", {k: v for k, v in substatement().items() if k != "verb"}, "object.verb"),
    ("object", substatement(verb={"display": {"en-US": "x"}}), "object.verb.id"),
    ("object", substatement(timestamp="01/011/2015"), "object.timestamp"),
    ("object", substatement(result={"duration": "PA1H"}), "object.result.duration"),
    ("object", substatement(object=AGENT, context={"platform": "x"}), "object.context.platform"),
    ("object", substatement(context={"contextActivities": {"parent": {"id": "p"}}}),
     "object.context.contextActivities.parent.id"),
    # Result and score (Data 2.4.5)
    ("result.success", "true", "result.success"), ("result.completion", 1, "result.completion"),
    ("result.response", 42, "result.response"), ("result.score", 0.5, "result.score"),
    ("result.score.scaled", 1.01, "result.score.scaled"), ("result.score.scaled", -1.5, "result.score.scaled"),
    ("result.score.scaled", "0.5", "result.score.scaled"), ("result.score.raw", True, "result.score.raw"),
    ("result.score.raw", 101, "result.score.raw"), ("result.score.raw", -1, "result.score.raw"),
    ("result.score.min", 100, "result.score.min"), ("result.score.min", 120, "result.score.min"),
    ("result.score.max", None, "result.score.max"), ("result.score.best", 1, "result.score.best"),
    ("result.extensions", {"https://example.org/x": 1, "relative": 2}, "result.extensions"),
    # Context (Data 2.4.6)
    ("context.registration", "AA97B177-9383-4934-8543-0F91A7A028368", "context.registration"),
    ("context.registration", {"key": "should fail"}, "context.registration"),
    ("context.instructor", {"name": "no identifier"}, "context.instructor"),
    ("context.instructor.objectType", "agent", "context.instructor.objectType"),
    ("context.team", AGENT, "context.team.objectType"), ("context.team", {"mbox": "mailto:t@e.org"}, "context.team"),
    ("context.contextActivities", [], "context.contextActivities"),
    ("context.contextActivities.Parent", [ACTIVITY], "context.contextActivities.Parent"),
    ("context.contextActivities.parent", "https://e.org/p", "context.contextActivities.parent"),
    ("context.contextActivities.parent", [{"id": "relative/path"}], "context.contextActivities.parent[0].id"),
    ("context.contextActivities.other", [ACTIVITY, {}], "context.contextActivities.other[1].id"),
    ("context.contextActivities.other", [REF], "context.contextActivities.other[0]"),
    ("context.contextActivities.grouping", {"objectType": "Agent", "id": "http://e.org"},
     "context.contextActivities.grouping"),
    ("context.revision", 2, "context.revision"), ("context.platform", None, "context.platform"),
    ("context.language", "a12345678", "context.language"), ("context.language", "", "context.language"),
    ("context.statement", {"id": REF["id"]}, "context.statement.objectType"),
    ("context.statement", {**REF, "id": 12345}, "context.statement.id"),
    ("context.statement", substatement(), "context.statement"),
    ("context.extensions", {"not.valid.com/extension": 1}, "context.extensions"),
    # Attachments (Data 2.4.11)
    ("attachments", {"usageType": "http://e.org/u"}, "attachments"), ("attachments", [12345], "attachments[0]"),
    ("attachments", ["should fail"], "attachments[0]"),
    ("attachments[0].usageType", DELETE, "attachments[0].usageType"),
    ("attachments[0].usageType", "should fail", "attachments[0].usageType"),
    ("attachments[0].display", DELETE, "attachments[0].display"),
    ("attachments[0].display", "should fail", "attachments[0].display"),
    ("attachments[0].display", {"a12345678": "x"}, "attachments[0].display"),
    ("attachments[0].description", 12345, "attachments[0].description"),
    ("attachments[0].contentType", 12345, "attachments[0].contentType"),
    ("attachments[0].contentType", "text", "attachments[0].contentType"),
    ("attachments[0].contentType", DELETE, "attachments[0].contentType"),
    ("attachments[0].length", "27", "attachments[0].length"), ("attachments[0].length", -1, "attachments[0].length"),
    ("attachments[0].length", 27.5, "attachments[0].length"), ("attachments[0].length", True, "attachments[0].length"),
    ("attachments[0].length", DELETE, "attachments[0].length"),
    ("attachments[0].sha2", 12345, "attachments[0].sha2"), ("attachments[0].sha2", "abc", "attachments[0].sha2"),
    ("attachments[0].sha2", DELETE, "attachments[0].sha2"),
    ("attachments[0].fileUrl", "over.there.com/file.txt", "attachments[0].fileUrl"),
    ("attachments[0].url", "http://e.org", "attachments[0].url"),
    # Authority (Data 2.4.9): an Agent, or an anonymous Group of two Agents (3-legged OAuth)
    ("authority", {"objectType": "Agent"}, "authority"), ("authority", GROUP, "authority"),
    ("authority", {"objectType": "Group", "member": [AGENT, {"mbox": "mailto:b@e.org"}, {"mbox": "mailto:c@e.org"}]},
     "authority"),
    ("authority", {"objectType": "Group", "mbox": "mailto:g@e.org", "member": [AGENT, {"mbox": "mailto:b@e.org"}]},
     "authority"),
    ("authority.objectType", "group", "authority.objectType"),
]


@pytest.mark.parametrize(("path", "value", "named"), REJECTED, ids=[f"{p}={v!r}"[:60] for p, v, _ in REJECTED])
def test_a_statement_breaking_a_rule_is_refused_naming_the_property(path, value, named):
    message = rejected(changed(path, value))
    assert named in message


ACCEPTED = [
    ("id", "AA97B177-9383-4934-8543-0F91A7A02836"), ("id", DELETE),
    ("version", "1.0"), ("version", "1.0.3"), ("version", "1.0.9"), ("version", DELETE),
    ("actor", {"mbox": "mailto:teacher@example.org"}),
    ("actor", {"mbox_sha1sum": "CD9B00A5611F94EAA7B1661EDAB976068E364975"}),
    ("actor", {"openid": "http://openid.example.org/12345"}),
    ("actor", {"objectType": "Agent", "account": {"homePage": "http://www.example.com", "name": "1625378"}}),
    ("actor", GROUP), ("actor", {"objectType": "Group", "openid": "http://e.org/g"}),
    ("actor", {"objectType": "Group", "account": {"homePage": "http://e.org", "name": "g"}, "member": []}),
    ("actor", {"objectType": "Group", "mbox": "mailto:g@e.org", "member": [{"objectType": "Agent", **AGENT}]}),
    ("verb.display", DELETE), ("verb.display", {}),
    ("verb.display", {"zh-Hans-CN": "完成", "tlh": "x", "i-klingon": "x", "de-CH-1901": "x", "en-a-bbb-x-ccc": "x",
                      "x-private": "x", "sgn-BE-FR": "x", "es-419": "x", "EN-us": "x"}),
    ("object.objectType", DELETE), ("object.definition", {}), ("object.definition.name", {}),
    ("object.id", "urn:uuid:ec531277-b57b-4c15-8d91-d292c5b2b8f7"), ("object.id", "https://例子.中国/课程?编号=1#第二节"),
    ("object.id", "tag:example.com,2025:x%20y"),
    ("object", interaction("true-false", correctResponsesPattern=["true"])),
    ("object", interaction("choice", choices=components("a", "b"), correctResponsesPattern=["a[,]b"])),
    ("object", interaction("sequencing", choices=components("a", "b"))),
    ("object", interaction("likert", scale=components("1", "2"))),
    ("object", interaction("matching", source=components("a"), target=components("b"))),
    ("object", interaction("performance", steps=components("s1"), correctResponsesPattern=[])),
    ("object", interaction("fill-in")), ("object", interaction("long-fill-in")), ("object", interaction("numeric")),
    ("object", interaction("other", correctResponsesPattern=["{case_matters=true}anything"])),
    ("object", AGENT), ("object", GROUP), ("object", REF), ("object", substatement()),
    ("object", substatement(timestamp="2031-11-29T20:57:10.714Z", result={"success": True},
                            context={"language": "en"}, object=REF)),
    ("result", {}), ("result.score", {}), ("result.score", {"raw": -5}), ("result.score", {"scaled": -1}),
    ("result.score", {"scaled": 1, "raw": 100, "min": 100.0 - 1e-9, "max": 100}),
    ("result.score", {"raw": 0.6767643, "min": 0.12123434, "max": 45.45}),
    ("result.extensions", {"http://e.org/x": {"name": "Thomas", "id": "http://openid.com/342"}}),
    ("context.contextActivities", {}), ("context.instructor", GROUP),
    ("context.contextActivities.parent", {"id": "https://e.org/p"}),
    ("context.language", "tlh"), ("context.language", "en-GB-oed"),
    ("context.extensions", {"http://e.org/x": [None, False, 1.5, "X:\\meetings\\minutes"]}),
    ("attachments", []), ("attachments[0].fileUrl", DELETE), ("attachments[0].description", DELETE),
    ("attachments[0].contentType", 'multipart/related; type="application/json"; boundary=abc'),
    ("attachments[0].sha2", SHA256.upper()), ("attachments[0].sha2", "ab" * 64), ("attachments[0].length", 0),
    ("authority", {"mbox": "mailto:someone@else.org"}),
    ("authority", {"objectType": "Group", "member": [
        {"account": {"homePage": "http://example.com/xAPI/OAuth/Token", "name": "oauth_consumer_x75db"}},
        {"mbox": "mailto:bob@example.com"}]}),
    ("stored", DELETE), ("timestamp", DELETE), ("result", DELETE), ("context", DELETE), ("attachments", DELETE),
]


@pytest.mark.parametrize(("path", "value"), ACCEPTED, ids=[f"{p}={v!r}"[:60] for p, v in ACCEPTED])
def test_a_statement_within_the_rules_is_accepted(path, value):
    assert validate_statement(changed(path, value))


def test_revision_and_platform_only_when_the_object_is_an_activity():
    for target in (AGENT, GROUP, REF, substatement()):
        for name in ("revision", "platform"):
            data = changed("object", target)
            data["context"] = {name: "x"}
            assert f"context.{name}" in rejected(data)
    for target in ({"id": "https://e.org/a"}, {"objectType": "Activity", "id": "https://e.org/a"}):
        assert validate_statement({**full(), "object": target, "context": {"revision": "1", "platform": "p"}})


def test_a_voiding_statement_must_target_a_statement_ref():
    voiding = {**full(), "verb": {"id": VOIDED}, "object": dict(ACTIVITY)}
    voiding.pop("context")
    assert "object.objectType" in rejected(voiding)
    assert validate_statement({**voiding, "object": dict(REF)})


# --- formats: timestamps, durations, language tags, IRIs --------------------------------------

@pytest.mark.parametrize("value", [
    "2015-11-18T12:17:00Z", "2015-11-18T12:17:00+00:00", "2015-11-18T12:17:00.123456789+08:00",
    "2015-11-18T12:17:00,5-05:30", "2015-11-18T12:17Z", "2015-11-18T12:17:00+08", "2015-11-18T12:17:00+0800",
    "20151118T121700Z", "20151118T121700.5+0800", "2015-11-18T12:17:00", "2015-11-18t12:17:00z",
    "2015-11-18T24:00:00Z", "2016-12-31T23:59:60Z", "2031-11-29T20:57:10.714Z",
])
def test_iso_8601_timestamps_are_accepted(value):
    assert validate_statement(changed("timestamp", value))
    assert validate_statement(changed("object", substatement(timestamp=value)))


@pytest.mark.parametrize("value", [
    "should fail", "01/011/2015", "2015-11-18", "2015-11-18T12", "2015-11-18 12:17:00Z",
    "2008-09-15T15:53:00.601-00", "2008-09-15T15:53:00.601-0000", "2008-09-15T15:53:00.601-00:00",
    "2015-13-01T00:00:00Z", "2015-02-29T00:00:00Z", "2015-11-18T25:00:00Z", "2015-11-18T12:60:00Z",
    "2015-11-18T24:00:01Z", "2015-11-18T12:17:00+24:00", "2015-11-18T12:17:00+08:60", "0000-01-01T00:00:00Z",
    "2015-11-18T12:17:00.Z", "20151118T12:17:00Z", "٢٠١٥-11-18T12:17:00Z", "2015-11-18T12:17:00Z\n", 1447849020,
    "0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00",  # beyond datetime's range in UTC
])
def test_other_timestamps_are_refused(value):
    assert "timestamp" in rejected(changed("timestamp", value))
    assert "object.timestamp" in rejected(changed("object", substatement(timestamp=value)))


def test_parse_timestamp_gives_the_instant():
    assert parse_timestamp("2015-11-18T20:17:00.5+08:00") == dt.datetime(2015, 11, 18, 12, 17, 0, 500000, tzinfo=dt.UTC)
    assert parse_timestamp("20151118T121700Z") == parse_timestamp("2015-11-18T12:17:00") == \
        dt.datetime(2015, 11, 18, 12, 17, tzinfo=dt.UTC)
    assert parse_timestamp("2015-12-31T24:00:00Z") == dt.datetime(2016, 1, 1, tzinfo=dt.UTC)
    assert parse_timestamp("2015-11-18T20:17:00+08:00").tzinfo is dt.UTC
    with pytest.raises(StatementInvalid):
        parse_timestamp("yesterday")


@pytest.mark.parametrize(("value", "valid"), [
    ("PT1H0M0.1S", True), ("PT4H35M59.14S", True), ("PT16559.14S", True), ("P3Y1M29DT4H35M59.14S", True),
    ("P3Y", True), ("P4W", True), ("P1DT2H", True), ("PT0S", True), ("P0.5Y", True), ("PT1,5S", True),
    ("P4W1D", False), ("PA1H0M0S", False), ("P", False), ("PT", False), ("P1DT", False), ("PT1.5H30M", False),
    ("P16559.14S", False),  # seconds need the T designator (the specification's example lacks it)
    ("-PT1H", False), ("PT1H ", False), ("1H", False), ("P1.5W", True), ("P1H", False), ("should fail", False),
    (12345, False), ({"key": "invalid"}, False),
])
def test_durations_follow_iso_8601(value, valid):
    data = changed("result.duration", value)
    if valid:
        assert validate_statement(data)
    else:
        assert "result.duration" in rejected(data)


@pytest.mark.parametrize("tag", ["e", "en-", "-en", "en--US", "en_US", "123", "a12345678", "en-US-", "x", "en-x",
                                 "zh-Hans-CN-x-", "i-unknown", " en"])
def test_language_map_keys_must_be_rfc_5646_tags(tag):
    assert "verb.display" in rejected(changed("verb.display", {tag: "x"}))


# --- NUL characters and non-finite numbers (PostgreSQL JSONB stores neither) -------------------

@pytest.mark.parametrize(("path", "value", "named"), [
    ("actor.name", "张\x00老师", "actor.name"), ("verb.display", {"en-US": "x\x00"}, "verb.display.en-US"),
    ("verb.display", {"en\x00": "x"}, "verb.display"), ("object.id", "https://e.org/\x00", "object.id"),
    ("result.response", "\x00", "result.response"), ("context.platform", "a\x00", "context.platform"),
    ("result.extensions", {"https://e.org/x": {"deep": ["ok", "bad\x00"]}}, "result.extensions"),
    ("result.extensions", {"https://e.org/x": {"bad\x00key": 1}}, "result.extensions"),
    ("context.extensions", {"https://e.org/\x00": 1}, "context.extensions"),
    ("object.definition.extensions", {"https://e.org/x": [float("nan")]}, "object.definition.extensions"),
    ("result.score.raw", float("inf"), "result.score.raw"), ("un\x00known", 1, ""),
    ("attachments[0].contentType", "text/plain; x=\"\x00\"", "attachments[0].contentType"),
    ("object", interaction("choice", choices=components("a\x00")), "object.definition.choices[0].id"),
])
def test_nul_characters_and_non_finite_numbers_are_refused_anywhere(path, value, named):
    assert named in rejected(changed(path, value))


# --- normalisation ----------------------------------------------------------------------------

def test_a_single_context_activity_becomes_a_list_of_one_in_place_and_nothing_else_changes():
    data = full()
    single = {"id": "https://courses.example.org/programme"}
    data["context"]["contextActivities"] = {"parent": single, "grouping": [dict(ACTIVITY)]}
    data["object"] = substatement(context={"contextActivities": {"other": dict(ACTIVITY)}})
    expected = copy.deepcopy(data)
    expected["context"]["contextActivities"]["parent"] = [single]
    expected["object"]["context"]["contextActivities"]["other"] = [ACTIVITY]
    returned = validate_statement(data)
    assert returned is data and data == expected
    assert data["context"]["contextActivities"]["parent"][0] is single


def test_messages_do_not_echo_long_values():
    message = rejected(changed("timestamp", "x" * 100_000))
    assert message.startswith("timestamp ") and len(message) < 120
    assert len(rejected(changed("y" * 100_000, 1))) < 120


def test_helpers_kept_for_other_modules():
    assert validate_uuid("AA97B177-9383-4934-8543-0F91A7A02836") == "aa97b177-9383-4934-8543-0f91a7a02836"
    for bad in ("wrong", None, "aa97b177-9383-4934-8543-0f91a7a02836\n"):
        with pytest.raises(StatementInvalid):
            validate_uuid(bad)
    validate_agent({"mbox": "mailto:a@b.c"}, identified=True)
    validate_agent(GROUP)
    for agent, identified in ((GROUP, True), ({"name": "no identifier"}, False), ("x", False)):
        with pytest.raises(StatementInvalid, match="agent"):
            validate_agent(agent, identified=identified)


# --- statement comparison (Data 2.3.1) --------------------------------------------------------

def as_stored(data: dict) -> dict:
    """What the LRS keeps: id lower-cased, stored/authority/version/timestamp set."""
    kept = copy.deepcopy(data)
    kept["id"] = kept["id"].lower()
    kept["stored"] = "2026-01-01T00:00:00.000Z"
    kept["authority"] = {"objectType": "Agent", "account": {"homePage": "https://lrs.example.org", "name": "k"}}
    kept.setdefault("version", "1.0.0")
    kept.setdefault("timestamp", kept["stored"])
    return kept


def sent() -> dict:
    data = full()
    for name in ("stored", "authority", "version"):
        data.pop(name)
    return data


SAME = [
    ("identical", lambda s: s),
    ("without what the LRS set", lambda s: {k: v for k, v in s.items() if k != "timestamp"}),
    ("another authority and version", lambda s: {**s, "authority": AGENT, "version": "1.0.3"}),
    ("id in upper case", lambda s: {**s, "id": s["id"].upper()}),
    ("same instant, other offset", lambda s: {**s, "timestamp": "2025-03-01T00:30:00.123Z"}),
    ("same instant, basic format", lambda s: {**s, "timestamp": "20250301T083000.1234+0800"}),
    ("verb display", lambda s: changed("verb.display", {"fr": "terminé"}, lambda: s)),
    ("activity definition", lambda s: changed("object.definition", {"name": {"en": "other"}}, lambda: s)),
    ("context activity definition", lambda s: changed(
        "context.contextActivities.other", [{**ACTIVITY, "definition": {"type": "http://e.org/t"}}], lambda: s)),
    ("group member order", lambda s: changed("context.team.member", [{"mbox": "mailto:b@e.org"},
                                                                    {"mbox": "mailto:li@example.org"}], lambda: s)),
    ("e-mail domain case", lambda s: changed("actor.mbox", "mailto:teacher@EXAMPLE.org", lambda: s)),
    ("registration case", lambda s: changed("context.registration", "EC531277-B57B-4C15-8D91-D292C5B2B8F7", lambda: s)),
    ("statement reference case", lambda s: changed("context.statement.id", REF["id"].upper(), lambda: s)),
    ("single context activity", lambda s: changed("context.contextActivities.other", ACTIVITY, lambda: s)),
    ("language tag case", lambda s: changed("attachments[0].display", {"EN-us": "A test"}, lambda: s)),
    ("sha2 case", lambda s: changed("attachments[0].sha2", SHA256.upper(), lambda: s)),
    ("context language case", lambda s: changed("context.language", "ZH-cn", lambda: s)),
    ("duration beyond 0.01 s", lambda s: changed("result.duration", "PT1H30M0.129S", lambda: s)),
]
DIFFERENT = [
    ("verb", lambda s: changed("verb.id", "http://adlnet.gov/expapi/verbs/attempted", lambda: s)),
    ("actor", lambda s: changed("actor.mbox", "mailto:other@example.org", lambda: s)),
    ("e-mail local part case", lambda s: changed("actor.mbox", "mailto:Teacher@example.org", lambda: s)),
    ("object", lambda s: changed("object.id", "https://courses.example.org/c/9", lambda: s)),
    ("result", lambda s: changed("result.score.raw", 86, lambda: s)),
    ("timestamp", lambda s: {**s, "timestamp": "2025-03-01T08:30:01.123+08:00"}),
    ("duration written otherwise", lambda s: changed("result.duration", "PT90M0.12S", lambda: s)),
    ("extension value", lambda s: changed("result.extensions", {"https://example.org/ext/x": 1}, lambda: s)),
    ("context", lambda s: {k: v for k, v in s.items() if k != "context"}),
    ("attachments", lambda s: {k: v for k, v in s.items() if k != "attachments"}),
    ("group member", lambda s: changed("context.team.member", [{"mbox": "mailto:b@e.org"}], lambda: s)),
    ("substatement", lambda s: {**s, "object": substatement()}),
]


@pytest.mark.parametrize(("case", "replay"), SAME, ids=[case for case, _ in SAME])
def test_a_replay_differing_only_where_the_specification_allows_is_the_same_statement(case, replay):
    original = sent()
    stored = as_stored(validate_statement(copy.deepcopy(original)))
    received = validate_statement(replay(copy.deepcopy(original)))
    assert statements_equal(stored, received)


@pytest.mark.parametrize(("case", "replay"), DIFFERENT, ids=[case for case, _ in DIFFERENT])
def test_a_replay_differing_elsewhere_is_another_statement(case, replay):
    original = sent()
    stored = as_stored(validate_statement(copy.deepcopy(original)))
    received = validate_statement(replay(copy.deepcopy(original)))
    assert not statements_equal(stored, received)


def test_substatement_timestamps_compare_as_instants():
    stored = as_stored({**sent(), "object": substatement(timestamp="2025-01-01T08:00:00+08:00")})
    assert statements_equal(stored, {**sent(), "object": substatement(timestamp="2025-01-01T00:00:00.000Z")})
    assert not statements_equal(stored, {**sent(), "object": substatement(timestamp="2025-01-01T08:00:00Z")})
    assert not statements_equal(stored, {**sent(), "object": substatement()})


# --- through /xapi/: 400 with a JSON body, nothing stored --------------------------------------

@pytest.mark.django_db
def test_an_invalid_statement_is_refused_with_a_json_error_and_nothing_stored(xapi):
    response = xapi.post("statements", statement(actor={"mbox": "teacher@example.org"}))
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Bad Request" and "actor.mbox" in body["message"]
    sid = str(uuid.uuid4())
    # core.middleware.RejectNulMiddleware refuses a JSON body holding NUL before the view runs.
    assert xapi.put(f"statements?statementId={sid}", statement(result={"response": "a\u0000b"})).status_code == 400
    batch = xapi.post("statements", [statement(), statement(context={"contextActivities": {"parent": [{"id": "x"}]}})])
    assert batch.status_code == 400
    assert "第 2 条语句" in batch.json()["message"] and "context.contextActivities.parent[0].id" in batch.json()["message"]
    assert Statement.objects.dangerously_unscoped().count() == 0


@pytest.mark.django_db
def test_a_single_context_activity_is_stored_and_returned_as_a_list(xapi):
    parent = {"id": "https://courses.example.org/programme"}
    sid = xapi.post("statements", statement(context={"contextActivities": {"parent": parent}})).json()[0]
    returned = xapi.get("statements", {"statementId": sid}).json()
    assert returned["context"]["contextActivities"]["parent"] == [parent]


@pytest.mark.django_db
def test_replays_are_compared_as_the_specification_says(xapi):
    sid = str(uuid.uuid4())
    first = statement(timestamp="2025-03-01T08:30:00.123+08:00", context={"contextActivities": {"parent": ACTIVITY}})
    assert xapi.put(f"statements?statementId={sid}", first).status_code == 204
    same = {**copy.deepcopy(first), "id": sid.upper(), "timestamp": "2025-03-01T00:30:00.123Z",
            "verb": {"id": first["verb"]["id"]}, "context": {"contextActivities": {"parent": [ACTIVITY]}}}
    assert xapi.post("statements", same).status_code == 200
    assert xapi.put(f"statements?statementId={sid}", {**first, "result": {"success": True}}).status_code == 409
    assert Statement.objects.dangerously_unscoped().count() == 1


# --- property-based: nothing but StatementInvalid, NUL never passes ----------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25)
NAMES = st.sampled_from(sorted({"id", "actor", "verb", "object", "objectType", "mbox", "member", "definition",
                                "interactionType", "choices", "context", "contextActivities", "parent", "result",
                                "score", "raw", "min", "max", "scaled", "timestamp", "attachments", "extensions",
                                "display", "name", "account", "homePage", "statement", "authority", "version"}))
HYPOTHESIS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _leaves(value: Any, path: tuple = ()) -> list[tuple]:
    """Paths to every value inside a statement (dict keys and list positions)."""
    found = [path] if path else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _leaves(inner, (*path, key))
    elif isinstance(value, list):
        for position, inner in enumerate(value):
            found += _leaves(inner, (*path, position))
    return found


def _replace(data: Any, path: tuple, value: Any) -> Any:
    target = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return data


def _only_statement_invalid(data: Any) -> None:
    try:
        validate_statement(data)
    except StatementInvalid:
        pass


@HYPOTHESIS
@given(JSON)
def test_arbitrary_json_raises_nothing_but_statement_invalid(data):
    _only_statement_invalid(data)
    _only_statement_invalid(json.loads(json.dumps({"actor": data, "verb": data, "object": data, "result": data})))


@HYPOTHESIS
@given(st.data(), JSON | st.dictionaries(NAMES, JSON, max_size=4))
def test_a_valid_statement_with_any_part_replaced_raises_nothing_but_statement_invalid(data, value):
    base = full()
    path = data.draw(st.sampled_from(_leaves(base)))
    _only_statement_invalid(_replace(base, path, value))
    statements_equal(full(), base)  # never raises either


@HYPOTHESIS
@given(st.data(), st.text(max_size=5), st.text(max_size=5))
def test_a_nul_character_anywhere_is_refused(data, before, after):
    base = full()
    strings = [path for path in _leaves(base) if isinstance(_get(base, path), str)]
    path = data.draw(st.sampled_from(strings))
    _replace(base, path, f"{before}\x00{after}")
    with pytest.raises(StatementInvalid):
        validate_statement(base)
    keyed = full()
    parents = [path for path in [(), *_leaves(keyed)] if isinstance(_get(keyed, path), dict) and _get(keyed, path)]
    parent = _get(keyed, data.draw(st.sampled_from(parents)))
    name = next(iter(parent))
    parent[f"{before}\x00{name}"] = parent.pop(name)
    with pytest.raises(StatementInvalid):
        validate_statement(keyed)


def _get(data: Any, path: tuple) -> Any:
    for step in path:
        data = data[step]
    return data
