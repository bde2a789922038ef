"""SECURITY 2 (passwords), 3 (lock-out, identical failures, rate limit), 5 (sessions), tokens."""

import datetime as dt
import json
import re

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import Role
from accounts.services import user_set_role
from audit.models import AuditEvent
from conftest import PASSWORD

CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def _login(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


# --- SECURITY 2 ------------------------------------------------------------------

@pytest.mark.django_db
@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=7))
def test_short_passwords_are_rejected(password):
    with pytest.raises(ValidationError):
        validate_password(password)


@pytest.mark.django_db
@settings(max_examples=30, deadline=None)
@given(st.text(alphabet="abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789-_", min_size=10, max_size=80),
       st.sampled_from(["研修", "yanxiu", "YanXiu", "开封", "兰考"]))
def test_context_words_are_rejected_wherever_they_appear(body, word):
    with pytest.raises(ValidationError):
        validate_password(body[:5] + word + body[5:])


@pytest.mark.django_db
@settings(max_examples=30, deadline=None)
@given(st.text(alphabet="abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ-_.", min_size=8, max_size=40).filter(lambda s: not s.isdigit()))
def test_long_random_passwords_pass(body):
    validate_password(body + "-7Qz")  # 64+ characters are allowed too: see the next test


@pytest.mark.django_db
def test_long_passphrases_and_limits():
    validate_password("草原-上的-风-吹过-" * 8 + "Qz7")  # 64+ characters allowed
    with pytest.raises(ValidationError):
        validate_password("x" * 129)
    with pytest.raises(ValidationError):
        validate_password("password123")  # common


def test_stored_hashes_are_argon2(users):
    assert users["county_admin"].password.startswith("argon2$")


# --- SECURITY 3 ------------------------------------------------------------------

def test_lockout_after_failures_refuses_even_the_right_password(users, client, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    user = users["county_admin"]
    for _ in range(3):
        assert _login(client, user.username, "wrong-password-1").status_code == 200
    response = _login(client, user.username, PASSWORD)
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="login.locked").count() == 1
    assert AuditEvent.objects.filter(action="login.failure").count() == 3


def test_unknown_user_wrong_password_and_locked_account_look_the_same(users, client, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 2
    user = users["county_admin"]
    unknown = _login(client, "nobody-here", "whatever-pass-1")
    wrong = _login(client, user.username, "whatever-pass-1")
    _login(client, user.username, "whatever-pass-1")
    locked = _login(client, user.username, PASSWORD)
    bodies = [CSRF.sub(b"", response.content) for response in (unknown, wrong, locked)]
    assert [r.status_code for r in (unknown, wrong, locked)] == [200, 200, 200]
    assert bodies[0] == bodies[1] == bodies[2]


def test_too_many_attempts_from_one_address_get_429(users, client, settings):
    settings.LOGIN_MAX_ATTEMPTS_PER_IP = 4
    for index in range(4):
        assert _login(client, f"user{index}", "x-password-1").status_code == 200
    assert _login(client, users["county_admin"].username, PASSWORD).status_code == 429


def test_successful_login_is_audited_and_resets_failures(users, client, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    user = users["county_admin"]
    _login(client, user.username, "wrong-password-1")
    _login(client, user.username, "wrong-password-1")
    assert _login(client, user.username, PASSWORD).status_code == 302
    event = AuditEvent.objects.get(action="login.success")
    assert event.actor == user and event.ip == "127.0.0.1"


# --- SECURITY 5 ------------------------------------------------------------------

def test_login_issues_a_new_session_key(users, client):
    client.get("/accounts/login/")
    client.session.save()
    before = client.session.session_key
    _login(client, users["county_admin"].username, PASSWORD)
    assert client.session.session_key != before


def test_admin_idle_timeout(users, client):
    with time_machine.travel(dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        _login(client, users["county_admin"].username, PASSWORD)
        assert client.get("/home/").status_code == 200
        traveller.shift(dt.timedelta(minutes=29))
        assert client.get("/home/").status_code == 200
        traveller.shift(dt.timedelta(minutes=31))
        response = client.get("/home/")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("change", ["logout", "disable", "role"])
def test_logout_disable_and_role_change_kill_existing_sessions(change, users, client, province):
    user = users["county_admin"]
    _login(client, user.username, PASSWORD)
    assert client.get("/home/").status_code == 200
    stale_cookie = client.cookies["sessionid"].value
    if change == "logout":
        client.post("/accounts/logout/")
    elif change == "disable":
        user.is_active = False
        user.save()
    else:
        user_set_role(user=user, role=Role.COUNTY_ADMIN, actor=None, division=province.sibling)
    client.cookies["sessionid"] = stale_cookie
    response = client.get("/home/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- API tokens -----------------------------------------------------------------------

def test_token_from_the_command_line_works_and_revoked_or_bad_tokens_do_not(users, client, capsys):
    call_command("token", "create", users["county_admin"].username)
    secret = capsys.readouterr().out.strip()
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert response.json()["division_code"] == "410221" and response.json()["role"] == "county_admin"
    for bad in ("yx_not-a-real-token", "garbage", secret + "x"):
        response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {bad}")
        assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
    users["county_admin"].api_tokens.update(revoked_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
    assert AuditEvent.objects.filter(action="token.create").count() == 1
    assert secret not in json.dumps(list(AuditEvent.objects.values("detail")))


def test_token_page_creates_a_token_shown_once(users, client_for):
    client = client_for(users["county_admin"])
    body = client.post("/accounts/tokens/", {"name": "教务系统对接"}).content.decode()
    secret = re.search(r'id="new-token">(yx_[^<]+)<', body).group(1)
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    assert secret not in client.get("/accounts/tokens/").content.decode()
    assert client_for(users["teacher"]).get("/accounts/tokens/").status_code == 403
