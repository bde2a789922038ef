"""Passwords; lock-out, identical failures and the rate limit;
5 (sessions: rotation, idle and absolute timeouts, server-side invalidation)
and personal API tokens."""

import datetime as dt
import hashlib
import json
import re

import pytest
import time_machine
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import ApiToken, Role, User
from accounts.passwords import CONTEXT_WORDS
from accounts.services import api_token_create, user_create, user_set_role
from audit.models import AuditEvent
from conftest import PASSWORD
from org.models import Division

CSRF_VALUE = re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]+(")')
START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
HYPOTHESIS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SAFE_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789-_.!#"


def _login(client, username, password, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def _signed_in(client) -> bool:
    response = client.get("/home/")
    if response.status_code == 302:
        assert response["Location"].startswith("/accounts/login/")
        return False
    assert response.status_code == 200
    return True


def _strong(body: str) -> str:
    return body + "-7Qz"


strong_bodies = st.text(alphabet=SAFE_ALPHABET, min_size=8, max_size=60).filter(
    lambda s: not any(word in s.lower() for word in CONTEXT_WORDS)
)


# --- password policy --------------------------------------------------------------


@pytest.mark.django_db
@HYPOTHESIS
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=7))
def test_passwords_under_8_characters_are_rejected(password):
    with pytest.raises(ValidationError) as error:
        validate_password(password)
    assert "password_too_short" in {e.code for e in error.value.error_list}


@pytest.mark.django_db
@HYPOTHESIS
@given(strong_bodies, st.sampled_from(["研修", "yanxiu", "YanXiu", "YANXIU", "河南", "henan"]), st.data())
def test_system_words_are_rejected_wherever_they_appear(body, word, data):
    at = data.draw(st.integers(min_value=0, max_value=len(body)), label="position")
    with pytest.raises(ValidationError) as error:
        validate_password(body[:at] + word + body[at:])
    assert "password_context" in {e.code for e in error.value.error_list}


@pytest.mark.django_db
@HYPOTHESIS
@given(strong_bodies, st.data())
def test_division_names_are_rejected_wherever_they_appear(body, data):
    names = sorted(Division.objects.values_list("name", flat=True))
    name = data.draw(st.sampled_from(names), label="division")
    # Either the full name (开封市, 杞县) or the everyday short form (开封, 辉县).
    word = data.draw(st.sampled_from(sorted({name, name.rstrip("省市")} - {""})), label="form")
    at = data.draw(st.integers(min_value=0, max_value=len(body)), label="position")
    with pytest.raises(ValidationError) as error:
        validate_password(body[:at] + word + body[at:])
    assert "password_context" in {e.code for e in error.value.error_list}


@pytest.mark.django_db
@pytest.mark.parametrize("word", ["开封", "杞县", "兰考", "洛阳", "辉县", "河南省"])
def test_named_division_examples_are_rejected(word):
    with pytest.raises(ValidationError):
        validate_password(f"Lz7-quiet-{word}-harbour")


@pytest.mark.django_db
@HYPOTHESIS
@given(strong_bodies)
def test_strong_passwords_pass(body):
    validate_password(_strong(body))


@pytest.mark.django_db
def test_long_passphrases_common_passwords_and_the_upper_bound():
    validate_password("草原-上的-风-吹过-" * 8 + "Qz7")  # 64+ characters allowed
    validate_password("q" * 60 + "-Lz7" * 17)  # 128 characters
    with pytest.raises(ValidationError):
        validate_password("q" * 60 + "-Lz7" * 17 + "x")  # 129
    for common in ("password123", "12345678", "qwertyuiop", "87654321"):
        with pytest.raises(ValidationError):
            validate_password(common)


def test_user_create_validates_and_stores_argon2(province):
    with pytest.raises(ValidationError):
        user_create(username="weak", password="yanxiu2024!", role=Role.TEACHER)
    assert not User.objects.filter(username="weak").exists()
    user = user_create(username="strong", password=PASSWORD, role=Role.COUNTY_ADMIN, division=province.county)
    user.refresh_from_db()
    assert user.password.startswith("argon2$")
    assert PASSWORD not in user.password


def test_fixture_hashes_are_argon2_and_older_hashes_are_upgraded_at_login(users, client):
    assert all(user.password.startswith("argon2$") for user in users.values())
    user = users["county_admin"]
    User.objects.filter(pk=user.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    assert _login(client, user.username, PASSWORD).status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$")


# --- lock-out, identical failures, rate limit --------------------------------------


def test_lockout_after_failures_refuses_even_the_right_password(users, client, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    user = users["county_admin"]
    for _ in range(3):
        assert _login(client, user.username, "wrong-password-1").status_code == 200
    response = _login(client, user.username, PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session and not _signed_in(client)
    assert AuditEvent.objects.dangerously_unscoped().filter(action="login.locked").count() == 1
    assert AuditEvent.objects.dangerously_unscoped().filter(action="login.failure").count() == 3
    assert not AuditEvent.objects.dangerously_unscoped().filter(action="login.success").exists()
    # Other accounts are unaffected.
    assert _login(client, users["sibling_admin"].username, PASSWORD).status_code == 302


def test_the_lock_ignores_case_and_spaces_and_expires(users, client, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    settings.LOGIN_LOCKOUT_SECONDS = 600
    user = users["county_admin"]
    with time_machine.travel(START, tick=False) as traveller:
        for variant in (user.username.upper(), f"  {user.username} ", user.username.title()):
            _login(client, variant, "wrong-password-1")
        assert _login(client, user.username, PASSWORD).status_code == 200
        assert not _signed_in(client)
        traveller.shift(dt.timedelta(seconds=601))
        assert _login(client, user.username, PASSWORD).status_code == 302
        assert _signed_in(client)


def _normalised(response) -> bytes:
    return CSRF_VALUE.sub(rb"\1\2", response.content)


def test_unknown_user_wrong_password_and_locked_account_look_the_same(users, client, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 2
    user = users["county_admin"]
    client.get("/accounts/login/")  # the CSRF cookie is set once, before any attempt
    unknown = _login(client, "nobody-here", "whatever-pass-1")
    wrong = _login(client, user.username, "whatever-pass-1")
    _login(client, user.username, "whatever-pass-1")
    locked = _login(client, user.username, PASSWORD)
    locked_wrong = _login(client, user.username, "whatever-pass-1")
    responses = [unknown, wrong, locked, locked_wrong]
    assert [r.status_code for r in responses] == [200] * 4
    assert all(b'name="csrfmiddlewaretoken"' in r.content for r in responses)  # the normalisation bites
    bodies = {_normalised(r) for r in responses}
    assert len(bodies) == 1
    assert user.username.encode() not in bodies.pop()
    assert {r["Content-Type"] for r in responses} == {"text/html; charset=utf-8"}
    assert all("sessionid" not in r.cookies for r in responses)


def test_too_many_attempts_from_one_address_get_429(users, client, settings):
    settings.LOGIN_MAX_FAILURES_PER_IP = 4
    settings.LOGIN_LOCKOUT_SECONDS = 900
    with time_machine.travel(START, tick=False) as traveller:
        for index in range(4):
            assert _login(client, f"user{index}", "x-password-1").status_code == 200
        traveller.shift(dt.timedelta(minutes=5))
        response = _login(client, users["county_admin"].username, PASSWORD)
        assert response.status_code == 429
        assert response["Retry-After"] == "600"  # the window began with the first failure
        body = response.content.decode()
        assert response["Content-Type"] == "text/html; charset=utf-8"
        assert "请稍后再试" in body and 'id="retry-minutes">10<' in body and "site-header" in body  # base.html
        assert not _signed_in(client)
        traveller.shift(dt.timedelta(seconds=601))
        assert _login(client, users["county_admin"].username, PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    # Another address still gets in.
    assert _login(client, users["county_admin"].username, PASSWORD, REMOTE_ADDR="10.9.8.7").status_code == 302


def test_a_forged_forwarded_for_header_does_not_reset_the_limit(users, client, settings):
    settings.LOGIN_MAX_FAILURES_PER_IP = 3
    codes = [_login(client, "x", "y-password-1", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert set(AuditEvent.objects.dangerously_unscoped().filter(action="login.failure").values_list("ip", flat=True)) == {"127.0.0.1"}


def test_behind_a_proxy_the_address_it_appended_counts(users, client, settings):
    settings.TRUSTED_PROXY_HOPS = 1
    settings.LOGIN_MAX_FAILURES_PER_IP = 2
    # The client controls everything left of the proxy's entry.
    codes = [_login(client, "x", "y-password-1", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 198.51.100.7").status_code
             for n in range(3)]
    assert codes == [200, 200, 429]
    assert _login(client, "x", "y-password-1", HTTP_X_FORWARDED_FOR="198.51.100.8").status_code == 200
    assert set(AuditEvent.objects.dangerously_unscoped().values_list("ip", flat=True)) == {"198.51.100.7", "198.51.100.8"}


@pytest.mark.parametrize("header", ["not-an-ip", "not-an-ip, also-not", "", "1.2.3.4:5678"])
def test_garbage_forwarded_for_headers_are_harmless(header, users, client, settings):
    settings.TRUSTED_PROXY_HOPS = 1
    assert _login(client, "x", "y-password-1", HTTP_X_FORWARDED_FOR=header).status_code == 200
    assert AuditEvent.objects.dangerously_unscoped().get(action="login.failure").ip == "127.0.0.1"


# --- sessions ---------------------------------------------------------------------


def test_login_issues_a_new_session_key(users, client):
    client.get("/accounts/login/")
    client.session.save()
    before = client.session.session_key
    assert before
    assert _login(client, users["county_admin"].username, PASSWORD).status_code == 302
    assert client.session.session_key != before
    assert not Session.objects.filter(session_key=before).exists()


def test_admin_idle_timeout_is_30_minutes(users, client):
    with time_machine.travel(START, tick=False) as traveller:
        _login(client, users["county_admin"].username, PASSWORD)
        assert _signed_in(client)
        traveller.shift(dt.timedelta(minutes=29))
        assert _signed_in(client)
        traveller.shift(dt.timedelta(minutes=29))  # active: 58 minutes after login, 29 idle
        assert _signed_in(client)
        traveller.shift(dt.timedelta(minutes=31))
        assert not _signed_in(client)
        traveller.shift(dt.timedelta(seconds=1))
        assert not _signed_in(client)  # the session is gone, not just refused once


def test_teachers_get_a_longer_idle_timeout(users, client):
    with time_machine.travel(START, tick=False) as traveller:
        _login(client, users["teacher"].username, PASSWORD)
        traveller.shift(dt.timedelta(minutes=31))
        assert _signed_in(client)
        traveller.shift(dt.timedelta(hours=2, seconds=1))
        assert not _signed_in(client)


def test_an_active_session_still_ends_after_its_absolute_lifetime(users, client, settings):
    with time_machine.travel(START, tick=False) as traveller:
        _login(client, users["county_admin"].username, PASSWORD)
        assert _signed_in(client)
        elapsed = dt.timedelta()
        while elapsed + dt.timedelta(minutes=20) <= dt.timedelta(seconds=settings.SESSION_COOKIE_AGE):
            traveller.shift(dt.timedelta(minutes=20))
            elapsed += dt.timedelta(minutes=20)
            assert _signed_in(client), elapsed
        traveller.shift(dt.timedelta(minutes=20))
        assert not _signed_in(client)


@pytest.mark.parametrize("change", ["logout", "disable", "role", "scope", "teacher", "password"])
def test_logout_disable_and_role_or_scope_changes_kill_existing_sessions(change, users, client, province):
    user = users["teacher"] if change == "teacher" else users["county_admin"]
    _login(client, user.username, PASSWORD)
    assert _signed_in(client)
    assert client.get("/api/v1/me").status_code == 200  # the API accepts the session too
    stale = client.cookies["sessionid"].value
    if change == "logout":
        assert client.post("/accounts/logout/").status_code == 302
        assert not Session.objects.filter(session_key=stale).exists()  # flushed on the server
    elif change == "disable":
        user.is_active = False
        user.save()
    elif change == "role":
        user_set_role(user=user, role=Role.CITY_ADMIN, actor=None, division=province.city)
    elif change == "scope":
        user_set_role(user=user, role=Role.COUNTY_ADMIN, actor=None, division=province.sibling)
    elif change == "teacher":
        user.teacher = province.direct_teacher  # a teacher's scope is their own record
        user.save()
    else:
        user.set_password("Another-long-pass-93")
        user.save()
    client.cookies["sessionid"] = stale
    assert not _signed_in(client)
    client.cookies["sessionid"] = stale
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"
    client.cookies["sessionid"] = stale
    assert client.get(f"/teachers/{province.sibling_teacher.pk}/").status_code == 302


# --- API tokens --------------------------------------------------------------------------------


def _bearer(client, secret):
    return client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_token_from_the_command_line_works_and_revoked_or_bad_tokens_do_not(users, client, capsys):
    user = users["county_admin"]
    call_command("token", "create", user.username)
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("yx_") and len(secret) > 40
    response = _bearer(client, secret)
    assert response.status_code == 200
    assert response.json()["username"] == user.username
    assert response.json()["division_code"] == "410221" and response.json()["role"] == "county_admin"
    assert "sessionid" not in response.cookies  # a token does not open a session
    for bad in ("yx_not-a-real-token", "garbage", secret + "x", secret[:-1], "", secret.upper()):
        response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {bad}")
        assert response.status_code == 401, bad
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["code"] == "unauthenticated"
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=secret).status_code == 401  # no scheme
    user.api_tokens.update(revoked_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    response = _bearer(client, secret)
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"


def test_tokens_are_stored_hashed_and_audited_without_the_secret(users, client, capsys):
    call_command("token", "create", users["county_admin"].username, "--name", "教务系统")
    secret = capsys.readouterr().out.strip()
    token = ApiToken.objects.dangerously_unscoped().get(user=users["county_admin"])
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps(list(ApiToken.objects.dangerously_unscoped().values()), default=str)
    event = AuditEvent.objects.dangerously_unscoped().get(action="token.create")
    assert event.actor == users["county_admin"] and event.scope_path == users["county_admin"].division.path
    assert secret not in json.dumps(event.detail)


def test_expired_tokens_and_disabled_accounts_are_refused(users, client):
    token, secret = api_token_create(user=users["county_admin"], name="t")
    assert _bearer(client, secret).status_code == 200
    ApiToken.objects.dangerously_unscoped().filter(pk=token.pk).update(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert _bearer(client, secret).status_code == 401
    # A token without an expiry (made before tokens expired) is refused too.
    ApiToken.objects.dangerously_unscoped().filter(pk=token.pk).update(expires_at=None)
    assert _bearer(client, secret).status_code == 401
    ApiToken.objects.dangerously_unscoped().filter(pk=token.pk).update(expires_at=dt.datetime(2099, 1, 1, tzinfo=dt.UTC))
    assert _bearer(client, secret).status_code == 200
    User.objects.filter(pk=users["county_admin"].pk).update(is_active=False)
    assert _bearer(client, secret).status_code == 401


def test_the_command_refuses_unknown_or_disabled_accounts(users):
    with pytest.raises(CommandError):
        call_command("token", "create", "nobody-here")
    User.objects.filter(pk=users["county_admin"].pk).update(is_active=False)
    with pytest.raises(CommandError):
        call_command("token", "create", users["county_admin"].username)
    assert not ApiToken.objects.dangerously_unscoped().exists()


def test_token_page_creates_a_token_shown_once(users, client_for):
    client = client_for(users["county_admin"])
    body = client.post("/accounts/tokens/", {"name": "教务系统对接"}).content.decode()
    secret = re.search(r'id="new-token">(yx_[^<]+)<', body).group(1)
    assert _bearer(client, secret).status_code == 200
    assert secret not in client.get("/accounts/tokens/").content.decode()
    assert client_for(users["teacher"]).get("/accounts/tokens/").status_code == 403


def test_revoking_a_malformed_or_foreign_token_id_is_harmless(users, client_for):
    from accounts.services import api_token_create

    other, _ = api_token_create(user=users["sibling_admin"], name="other")
    client = client_for(users["county_admin"])
    assert client.post("/accounts/tokens/", {"revoke": "abc"}).status_code == 404
    assert client.post("/accounts/tokens/", {"revoke": str(other.pk)}).status_code == 404  # not theirs to see
    other.refresh_from_db()
    assert other.revoked_at is None
    assert not AuditEvent.objects.dangerously_unscoped().filter(action="token.revoke").exists()
