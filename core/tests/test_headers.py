"""SECURITY 21 and issue 2 §1: hardened headers, and prod settings that refuse
to start unsafely and pass `check --deploy --fail-level WARNING`."""

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("url", ["/home/", "/teachers/", "/accounts/tokens/"])
def test_signed_in_pages_carry_hardening_headers(url, users, client_for):
    response = client_for(users["county_admin"]).get(url)
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_login_page_has_csp_and_session_cookie_flags(client, users):
    from conftest import PASSWORD

    response = client.get("/accounts/login/")
    assert "object-src 'none'" in response["Content-Security-Policy"]
    response = client.post("/accounts/login/", {"username": users["county_admin"].username, "password": PASSWORD})
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def _key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "YANXIU_ENV", "DATABASE_URL"}}
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


PROD = {"YANXIU_ENV": "prod", "SECRET_KEY": "s" * 20 + secrets.token_urlsafe(48), "ALLOWED_HOSTS": "yanxiu.example.org",
        "YANXIU_FIELD_KEY": _key(), "YANXIU_BLIND_INDEX_KEY": _key()}


def test_prod_settings_pass_the_deployment_check():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PROD)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("override", "message"),
    [({"DEBUG": "1"}, "DEBUG"), ({"SECRET_KEY": ""}, "SECRET_KEY"), ({"YANXIU_FIELD_KEY": ""}, "YANXIU_FIELD_KEY")],
)
def test_prod_refuses_to_start_unsafely(override, message):
    result = _manage("check", **{**PROD, **override})
    assert result.returncode != 0
    assert message in result.stderr
