"""The API description (/api/v1/docs and /api/v1/openapi.json): open in development, where
tests and schemathesis load it anonymously; in production only for a signed-in
administrator (session, or an API token for the schema)."""

import pytest

from accounts.services import api_token_create
from core.tests.test_headers import PROD, _manage

DOCS, SCHEMA = "/api/v1/docs", "/api/v1/openapi.json"


@pytest.fixture
def closed(settings):
    settings.API_DOCS_PUBLIC = False


@pytest.mark.django_db
def test_open_in_development(client):
    assert client.get(SCHEMA).status_code == 200
    assert client.get(DOCS).status_code == 200


def test_anonymous_is_sent_to_log_in_or_refused(closed, client, db):
    docs = client.get(DOCS)
    assert docs.status_code == 302 and docs["Location"].startswith("/accounts/login/?next=/api/v1/docs")
    schema = client.get(SCHEMA)
    assert schema.status_code == 401 and schema.json()["code"] == "unauthenticated"
    assert "paths" not in schema.json()


@pytest.mark.parametrize("who", ["teacher", "sibling_teacher_user"])
def test_non_administrators_are_refused(closed, users, client_for, who):
    client = client_for(users[who])
    assert client.get(DOCS).status_code == 403
    schema = client.get(SCHEMA)
    assert schema.status_code == 403 and schema.json()["code"] == "forbidden"


@pytest.mark.parametrize("who", ["school_admin", "county_admin", "province_admin"])
def test_administrators_read_them(closed, users, client_for, who):
    client = client_for(users[who])
    docs = client.get(DOCS)
    assert docs.status_code == 200 and "swagger" in docs.content.decode().lower()
    schema = client.get(SCHEMA)
    assert schema.status_code == 200 and "/api/v1/teachers" in schema.json()["paths"]


def test_an_administrators_token_reads_the_schema_and_a_teachers_does_not(closed, users, client):
    _, admin_secret = api_token_create(user=users["county_admin"], name="schema")
    _, teacher_secret = api_token_create(user=users["teacher"], name="schema")
    assert client.get(SCHEMA, HTTP_AUTHORIZATION=f"Bearer {admin_secret}").status_code == 200
    assert client.get(SCHEMA, HTTP_AUTHORIZATION=f"Bearer {teacher_secret}").status_code == 403
    assert client.get(SCHEMA, HTTP_AUTHORIZATION="Bearer yx_not-a-token").status_code == 401


def test_closed_under_production_settings():
    script = ("from django.conf import settings as s; from django.test import Client; c = Client(); "
              "print(s.API_DOCS_PUBLIC, *(c.get(u, secure=True, HTTP_HOST='example.org').status_code "
              "for u in ('/api/v1/openapi.json', '/api/v1/docs')))")
    result = _manage("shell", "-c", script, **PROD)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["False", "401", "302"]
