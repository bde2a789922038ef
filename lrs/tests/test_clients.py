"""Clients of the LRS: created on the command line with the key and secret printed once, the
secret kept only as a keyed digest, read-only clients, rate limits, size limits, and the
refusals kept for the client's administrators."""

import base64
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from lrs.models import LrsClient, LrsClientDay, LrsRejection, Statement
from lrs.tests.conftest import Xapi, statement


def test_the_command_prints_key_and_secret_on_lines_of_their_own_and_they_work(province, client):
    out = io.StringIO()
    call_command("lrs", "client", "create", "省平台", "--prefix", "https://courses.example.org/", stdout=out)
    lines = dict(line.split(": ", 1) for line in out.getvalue().splitlines())
    row = LrsClient.objects.dangerously_unscoped().get(key=lines["key"])
    assert lines["secret"] not in row.secret_digest and len(lines["secret"]) >= 40  # only a keyed digest is kept
    assert AuditEvent.objects.dangerously_unscoped().filter(action="lrs.client_create").exists()
    api = Xapi(client, lines["key"], lines["secret"])
    assert api.post("statements", statement(object={"id": "https://courses.example.org/c/1"})).status_code == 200
    assert api.post("statements", statement(object={"id": "https://elsewhere.example.org/"})).status_code == 403
    listing = io.StringIO()
    call_command("lrs", "client", "list", stdout=listing)
    assert lines["key"] in listing.getvalue()
    call_command("lrs", "client", "revoke", lines["key"], stdout=io.StringIO())
    assert api.get("statements").status_code == 401


def test_the_command_refuses_bad_input_clearly(province):
    with pytest.raises(CommandError, match="前缀"):
        call_command("lrs", "client", "create", "x", "--prefix", "no-scheme", stdout=io.StringIO())
    with pytest.raises(CommandError, match="区划不存在"):
        call_command("lrs", "client", "create", "x", "--division", "999999", stdout=io.StringIO())
    with pytest.raises(CommandError, match="管辖范围"):
        call_command("lrs", "client", "revoke", "lrs_nobody", stdout=io.StringIO())


def test_a_county_administrator_creates_clients_only_for_its_county(province, users):
    call_command("lrs", "client", "create", "杞县平台", "--division", "410221", "--as", "admin-410221",
                 stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("lrs", "client", "create", "通许平台", "--division", "410222", "--as", "admin-410221",
                     stdout=io.StringIO())
    assert list(LrsClient.objects.dangerously_unscoped().values_list("name", flat=True)) == ["杞县平台"]


def test_a_read_only_client_reads_but_never_writes(make_xapi, xapi):
    xapi.post("statements", statement())
    reader = make_xapi(may_write=False, reads_all=True)
    assert reader.get("statements").json()["statements"]
    refused = reader.post("statements", statement())
    assert refused.status_code == 403 and refused.json()["error"] == "Forbidden"
    assert Statement.objects.dangerously_unscoped().count() == 1


def test_over_its_rate_a_client_gets_429_with_retry_after(make_xapi, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rate"}}
    api = make_xapi()
    LrsClient.objects.dangerously_unscoped().filter(key=api.key).update(rate_per_minute=3)
    answers = [api.get("statements").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert api.get("statements")["Retry-After"] == "60"


def test_an_oversized_request_is_413_in_xapis_shape_and_stores_nothing(xapi, settings):
    settings.LRS_MAX_REQUEST_BYTES = 2000
    big = [statement(result={"response": "字" * 200}) for _ in range(10)]
    refused = xapi.post("statements", big)
    assert refused.status_code == 413 and refused["X-Experience-API-Version"] == "1.0.3"
    assert "上限" in refused.json()["message"]
    assert Statement.objects.dangerously_unscoped().count() == 0


@pytest.mark.parametrize("body", ["{not json", "[1, 2", "\"a string\"", "{}" + " " * 10, "[" * 100_000])
def test_malformed_json_is_400_with_a_message_and_stores_nothing(xapi, body):
    refused = xapi.post("statements", body)
    assert refused.status_code == 400 and refused.json()["message"]
    assert Statement.objects.dangerously_unscoped().count() == 0


def test_refusals_are_kept_with_their_reason_and_counted_but_routine_404s_are_not(xapi):
    xapi.post("statements", {"verb": {"id": "http://adlnet.gov/expapi/verbs/completed"}})
    xapi.get("statements", {"statementId": "2b5a5d3b-1f0e-4a57-8f4b-0d5f1c3c9f00"})  # 404: not kept
    xapi.post("statements", statement())
    [refusal] = LrsRejection.objects.dangerously_unscoped().all()
    assert (refusal.method, refusal.resource, refusal.status) == ("POST", "/xapi/statements", 400)
    assert "actor" in refusal.message
    [day] = LrsClientDay.objects.dangerously_unscoped().all()
    assert (day.statements, day.rejected) == (1, 1)


def test_unknown_credentials_are_not_kept_against_any_client(xapi, client):
    token = base64.b64encode(f"{xapi.key}:wrong".encode()).decode()
    refused = client.post("/xapi/statements", json.dumps(statement()), content_type="application/json",
                          HTTP_AUTHORIZATION=f"Basic {token}", HTTP_X_EXPERIENCE_API_VERSION="1.0.3")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Basic")
    assert not LrsRejection.objects.dangerously_unscoped().exists()
