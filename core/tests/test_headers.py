"""Deployment hardening: hardened headers on every response, no-store on signed-in
pages and API answers, and prod settings that refuse to start unsafely and
pass `check --deploy --fail-level WARNING`."""

import base64
import os
import secrets
import subprocess
from pathlib import Path

import pytest

from accounts.services import api_token_create
from conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"


def _assert_hardened(response):
    csp = {part.strip().split(" ", 1)[0]: part.strip() for part in response["Content-Security-Policy"].split(";")}
    assert csp["object-src"] == "object-src 'none'"
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["default-src"] == "default-src 'self'"
    assert csp["script-src"] == "script-src 'self'"  # no 'unsafe-inline', no CDN
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(("persona", "url"), [
    ("county_admin", "/home/"), ("county_admin", "/teachers/"), ("county_admin", "/accounts/tokens/"),
    ("county_admin", "/audit/"), ("county_admin", "/org/schools/"), ("school_admin", "/teachers/"),
    ("teacher", "/home/"), ("teacher", "/teachers/{own}/"), ("county_admin", "/teachers/{own}/"),
    ("county_admin", "/teachers/{own}/edit/"), ("county_admin", "/teachers/roster/export/?format=csv"),
    ("county_admin", "/api/v1/teachers"), ("teacher", "/api/v1/me"),
])
def test_signed_in_pages_carry_hardening_headers_and_no_store(persona, url, users, client_for, province):
    response = client_for(users[persona]).get(url.format(own=province.teacher.pk))
    assert response.status_code == 200
    _assert_hardened(response)
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("url", ["/teachers/{other}/", "/teachers/{other}/edit/", "/api/v1/teachers/{other}"])
def test_refusals_carry_the_same_headers(url, users, client_for, province):
    response = client_for(users["county_admin"]).get(url.format(other=province.sibling_teacher.pk))
    assert response.status_code == 404
    _assert_hardened(response)
    assert "no-store" in response["Cache-Control"]


def test_bearer_token_answers_are_not_stored(users, client):
    _, secret = api_token_create(user=users["county_admin"], name="t")
    response = client.get("/api/v1/teachers", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    _assert_hardened(response)


@pytest.mark.django_db
def test_anonymous_pages_have_csp_and_the_session_cookie_flags(client, users):
    for url in ("/accounts/login/", "/healthz"):
        _assert_hardened(client.get(url))
    response = client.post("/accounts/login/", {"username": users["county_admin"].username, "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["max-age"] == ""  # a browser-session cookie; the server enforces the lifetime
    csrf = client.get("/accounts/login/").cookies.get("csrftoken")
    assert csrf is None or (csrf["samesite"] == "Lax" and csrf["httponly"])


# --- prod settings in a fresh process -------------------------------------------------------


def _key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    inherited = {"DEBUG", "SECRET_KEY", "YANXIU_ENV", "DATABASE_URL", "ALLOWED_HOSTS", "YANXIU_FIELD_KEY",
                 "YANXIU_BLIND_INDEX_KEY", "REDIS_URL"}
    clean = {k: v for k, v in os.environ.items() if k not in inherited and not k.endswith("_FILE")}
    return subprocess.run([str(PYTHON), "manage.py", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


PROD = {"YANXIU_ENV": "prod", "SECRET_KEY": secrets.token_urlsafe(45)[:60], "ALLOWED_HOSTS": "example.org",
        "YANXIU_FIELD_KEY": _key(), "YANXIU_BLIND_INDEX_KEY": _key()}
assert len(PROD["SECRET_KEY"]) == 60


def test_prod_settings_pass_the_deployment_check():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PROD)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    # ... and the same check does fail on a weakened prod configuration.
    weakened = _manage("check", "--deploy", "--fail-level", "WARNING", **PROD, SECURE_SSL_REDIRECT="0")
    assert weakened.returncode != 0 and "security.W008" in weakened.stderr


def test_prod_settings_harden_cookies_and_transport():
    script = ("from django.conf import settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
              "s.SECURE_HSTS_SECONDS >= 31536000, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_HTTPONLY)")
    result = _manage("shell", "-c", script, **PROD)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["False", "True", "True", "True", "True", "True"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"DEBUG": "1"}, "DEBUG"),
        ({"DEBUG": "true"}, "DEBUG"),
        ({"SECRET_KEY": ""}, "SECRET_KEY"),  # unset: the built-in development key
        ({"SECRET_KEY": "dev-insecure-yanxiu-secret-key-change-me-for-production-0123456789"}, "SECRET_KEY"),
        ({"SECRET_KEY": "short-secret"}, "SECRET_KEY"),
        ({"YANXIU_FIELD_KEY": ""}, "YANXIU_FIELD_KEY"),
    ],
)
def test_prod_refuses_to_start_unsafely(override, message):
    env = {**PROD, **override}
    env = {k: v for k, v in env.items() if v != "" or k not in {"SECRET_KEY"}}
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr
