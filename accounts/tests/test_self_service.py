"""Self-service accounts: one's own password and mobile number, log-in by mobile number, an
administrator's password reset and the forced change after it, the account list, and a log-in
throttle that counts failures only (a school computer room shares one address)."""

import datetime as dt
import re

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from access.policy import Action, can, visible
from access.scope import scope_for_user
from accounts.mobile import mobile_index, mobile_mask
from accounts.models import Role, User
from accounts.services import user_password_reset, user_set_mobile
from audit.models import AuditEvent
from conftest import PASSWORD
from people.tests.factories import TeacherFactory

NEW_PASSWORD = "Ruby-orchard-walk-61"
MOBILE = "13812341234"
START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
CSRF_VALUE = re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]+(")')


def _login(client, username, password, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def _signed_in(client) -> bool:
    response = client.get("/home/")
    return response.status_code == 200


def _events(action):
    return AuditEvent.objects.dangerously_unscoped().filter(action=action)


# --- the throttle: failures count, successes do not ------------------------------------------


def test_sixty_log_ins_of_different_accounts_from_one_address_all_succeed(province, make_user, client, settings):
    settings.LOGIN_MAX_FAILURES_PER_IP = 30
    settings.LOGIN_LOCKOUT_SECONDS = 900
    pupils = [make_user(f"room-{n:02d}", Role.TEACHER, teacher=TeacherFactory(school=province.school))
              for n in range(60)]
    with time_machine.travel(START, tick=False) as traveller:
        for user in pupils:  # one computer room, one NAT address, within the window
            response = _login(client, user.username, PASSWORD, REMOTE_ADDR="192.0.2.10")
            assert response.status_code == 302, user.username
            assert response["Location"] == "/home/"
            client.post("/accounts/logout/")
            traveller.shift(dt.timedelta(seconds=10))
    assert _events("login.success").count() == 60


def test_failures_still_lock_the_account_and_then_the_address(users, client, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 5
    settings.LOGIN_MAX_FAILURES_PER_IP = 8
    user = users["county_admin"]
    for _ in range(5):
        assert _login(client, user.username, "wrong-password-1").status_code == 200
    assert _login(client, user.username, PASSWORD).status_code == 200  # locked: even the right password
    assert not _signed_in(client)
    # Successes of other accounts in between do not use the address's budget up ...
    assert _login(client, users["sibling_admin"].username, PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    # ... failures do: the 6th failure above was the locked attempt; two more reach the limit of 8.
    for _ in range(2):
        assert _login(client, "nobody-here", "wrong-password-1").status_code == 200
    response = _login(client, users["city_admin"].username, PASSWORD)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "分钟后再试" in response.content.decode()
    assert _login(client, users["city_admin"].username, PASSWORD, REMOTE_ADDR="10.1.1.1").status_code == 302


def test_a_lock_counts_failures_by_username_and_by_mobile_together(users, client, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    user = users["teacher"]
    user_set_mobile(scope=scope_for_user(user), actor=user, mobile=MOBILE)
    _login(client, user.username, "wrong-password-1")
    _login(client, MOBILE, "wrong-password-1")
    _login(client, user.username.upper(), "wrong-password-1")
    assert _login(client, MOBILE, PASSWORD).status_code == 200  # locked, by either name
    assert _login(client, user.username, PASSWORD).status_code == 200
    assert not _signed_in(client)
    failures = _events("login.failure")
    assert failures.filter(object_id=str(user.pk)).count() == 2  # the username in upper case names no account
    assert all(MOBILE not in str(event.detail) for event in failures)  # typed numbers are kept masked
    assert {"138****1234"} <= {event.detail["username"] for event in failures}


def test_unknown_wrong_and_locked_look_the_same_by_mobile_too(users, client, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 2
    user = users["teacher"]
    user_set_mobile(scope=scope_for_user(user), actor=user, mobile=MOBILE)
    client.get("/accounts/login/")
    responses = [_login(client, "13900000000", "whatever-pass-1"), _login(client, MOBILE, "whatever-pass-1"),
                 _login(client, MOBILE, "whatever-pass-1"), _login(client, MOBILE, PASSWORD)]
    assert [r.status_code for r in responses] == [200] * 4
    assert len({CSRF_VALUE.sub(rb"\1\2", r.content) for r in responses}) == 1
    assert "用户名或手机号" in responses[0].content.decode()


def test_the_api_answers_429_in_json_and_pages_get_the_styled_page(users, client_for, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 2
    client = client_for(users["teacher"])
    wrong = {"current_password": "not-my-password-1", "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    for _ in range(2):
        response = client.post("/api/v1/me/password", wrong, content_type="application/json")
        assert response.status_code == 422 and "current_password" in response.json()["errors"]
    response = client.post("/api/v1/me/password", {**wrong, "current_password": PASSWORD},
                           content_type="application/json")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled" and response.json()["retry_after"] == 900
    assert response["Retry-After"] == "900"
    page = client.post("/accounts/password/", {**wrong, "current_password": PASSWORD})
    assert page.status_code == 429 and page["Retry-After"] == "900"
    assert page["Content-Type"].startswith("text/html") and 'id="retry-minutes">15<' in page.content.decode()
    users["teacher"].refresh_from_db()
    assert users["teacher"].check_password(PASSWORD)


# --- one's own password --------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["teacher", "school_admin", "county_admin", "province_admin"])
def test_changing_ones_own_password_keeps_this_session_and_ends_the_others(persona, users, client):
    from django.test import Client

    user = users[persona]
    other = Client()
    assert _login(other, user.username, PASSWORD).status_code == 302
    assert _login(client, user.username, PASSWORD).status_code == 302
    page = client.get("/accounts/me/")
    assert page.status_code == 200 and "修改密码" in page.content.decode()
    response = client.post("/accounts/password/", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                    "new_password_again": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/me/"
    assert _signed_in(client)
    assert not _signed_in(other)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    event = _events("account.password_change").get()
    assert event.actor == user and event.object_id == str(user.pk)
    assert NEW_PASSWORD not in str(event.detail) and PASSWORD not in str(event.detail)


@pytest.mark.parametrize(("current", "new", "again", "message"), [
    ("not-my-password-1", NEW_PASSWORD, NEW_PASSWORD, "当前密码不正确"),
    (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "两次输入的新密码不一致"),
    (PASSWORD, "Qz7-ok", "Qz7-ok", "密码太短"),
    (PASSWORD, "Lz7-quiet-研修-harbour", "Lz7-quiet-研修-harbour", "系统名称"),
    (PASSWORD, PASSWORD, PASSWORD, "不能与当前密码相同"),
])
def test_a_refused_password_change_says_why_and_changes_nothing(current, new, again, message, users, client_for):
    user = users["teacher"]
    client = client_for(user)
    response = client.post("/accounts/password/", {"current_password": current, "new_password": new,
                                                    "new_password_again": again})
    assert response.status_code == 200 and message in response.content.decode()
    api = client.post("/api/v1/me/password", {"current_password": current, "new_password": new,
                                              "new_password_again": again}, content_type="application/json")
    assert api.status_code == 422 and api.json()["code"] == "invalid"
    assert any(message in text for texts in api.json()["errors"].values() for text in texts)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not _events("account.password_change").exists()


def test_the_api_changes_the_password_and_a_session_caller_stays_signed_in(users, client):
    user = users["school_admin"]
    assert _login(client, user.username, PASSWORD).status_code == 302
    response = client.post("/api/v1/me/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                   "new_password_again": NEW_PASSWORD}, content_type="application/json")
    assert response.status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    client.post("/accounts/logout/")
    assert _login(client, user.username, NEW_PASSWORD).status_code == 302


# --- the mobile number ---------------------------------------------------------------------


def test_the_mobile_number_is_set_on_the_account_page_stored_encrypted_and_shown_masked(users, client_for):
    user = users["teacher"]
    client = client_for(user)
    response = client.post("/accounts/me/", {"mobile": "138-1234-1234"})
    assert response.status_code == 302
    page = client.get("/accounts/me/").content.decode()
    assert "138****1234" in page and MOBILE not in page
    assert "教师" in page and "杞县第一小学" in page  # role and unit
    assert 'href="/accounts/me/"' in page  # the header's account menu
    user.refresh_from_db()
    with connection.cursor() as cursor:
        cursor.execute("SELECT mobile_cipher, mobile_index FROM accounts_user WHERE id = %s", [user.pk])
        cipher, index = cursor.fetchone()
    assert MOBILE not in cipher and MOBILE not in index and cipher.startswith("v2:")
    assert index == mobile_index(MOBILE) and user.mobile == MOBILE
    assert client.get("/api/v1/me").json()["mobile_masked"] == "138****1234"
    assert MOBILE not in client.get("/api/v1/me").content.decode()
    event = _events("account.mobile").get()
    assert event.actor == user and MOBILE not in str(event.detail)
    # Clearing it.
    assert client.post("/accounts/me/", {"mobile": ""}).status_code == 302
    user.refresh_from_db()
    assert user.mobile_cipher == "" and user.mobile_index is None


@pytest.mark.parametrize("bad", ["12812341234", "1381234123", "138123412345", "abcdefghijk", "+1 2025550123"])
def test_a_malformed_mobile_number_is_refused(bad, users, client_for):
    client = client_for(users["teacher"])
    response = client.post("/accounts/me/", {"mobile": bad})
    assert response.status_code == 200 and "11位中国大陆手机号" in response.content.decode()
    api = client.patch("/api/v1/me", {"mobile": bad}, content_type="application/json")
    assert api.status_code == 422 and "mobile" in api.json()["errors"]
    users["teacher"].refresh_from_db()
    assert users["teacher"].mobile_index is None


def test_a_mobile_number_belongs_to_one_account(users, client_for):
    first, second = users["teacher"], users["sibling_teacher_user"]
    user_set_mobile(scope=scope_for_user(first), actor=first, mobile=MOBILE)
    response = client_for(second).post("/accounts/me/", {"mobile": "+86 138 1234 1234"})
    assert response.status_code == 200 and "已被其他账户使用" in response.content.decode()
    api = client_for(second).patch("/api/v1/me", {"mobile": MOBILE}, content_type="application/json")
    assert api.status_code == 422
    second.refresh_from_db()
    assert second.mobile_index is None
    # The database holds it too, not only the service.
    first.refresh_from_db()
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=second.pk).update(mobile_cipher=first.mobile_cipher, mobile_index=first.mobile_index)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=second.pk).update(mobile_cipher="v1:x")  # a number without its index


def test_log_in_by_mobile_number(users, client):
    user = users["teacher"]
    client.force_login(user)
    assert client.patch("/api/v1/me", {"mobile": "13812341234"}, content_type="application/json").status_code == 200
    client.post("/accounts/logout/")
    assert _login(client, "138 1234 1234", PASSWORD).status_code == 302
    assert client.get("/api/v1/me").json()["username"] == user.username
    client.post("/accounts/logout/")
    assert _login(client, "13812341235", PASSWORD).status_code == 200  # nobody's number
    assert _login(client, MOBILE, "wrong-password-1").status_code == 200


def test_mobile_mask():
    assert mobile_mask("13812341234") == "138****1234"
    assert mobile_mask("") == ""


# --- an administrator's reset -----------------------------------------------------------------


def test_a_school_administrator_resets_a_teacher_and_the_teacher_must_change_it(users, client_for, client):
    from django.test import Client

    teacher = users["teacher"]
    stale = Client()
    assert _login(stale, teacher.username, PASSWORD).status_code == 302
    admin_client = Client()
    admin_client.force_login(users["school_admin"])
    listing = admin_client.get("/accounts/users/?q=teacher").content.decode()
    assert f"/accounts/users/{teacher.pk}/reset-password/" in listing
    assert admin_client.get(f"/accounts/users/{teacher.pk}/reset-password/").status_code == 200
    response = admin_client.post(f"/accounts/users/{teacher.pk}/reset-password/", {"password": ""})
    assert response.status_code == 200
    temporary = re.search(r'id="temporary-password">([^<]+)<', response.content.decode()).group(1)
    assert len(temporary) >= 16
    assert not _signed_in(stale)  # the account's sessions ended
    event = _events("account.password_reset").get()
    assert event.actor == users["school_admin"] and event.object_id == str(teacher.pk)
    assert event.scope_path == teacher.teacher.division_path and event.detail["generated"] is True
    assert temporary not in str(event.detail)
    teacher.refresh_from_db()
    assert teacher.must_change_password and temporary not in teacher.password
    # Shown once: the list and the form do not show it again.
    assert temporary not in admin_client.get("/accounts/users/").content.decode()

    # The teacher signs in with it and can do nothing but change it.
    response = _login(client, teacher.username, temporary)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/password/")
    for url in ("/home/", "/accounts/me/", f"/teachers/{teacher.teacher_id}/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/password/"), url
    page = client.get("/accounts/password/")
    assert page.status_code == 200 and 'id="must-change"' in page.content.decode()
    api = client.get("/api/v1/me")
    assert api.status_code == 403 and api.json()["code"] == "password_change_required"
    response = client.post("/accounts/password/", {"current_password": temporary, "new_password": NEW_PASSWORD,
                                                    "new_password_again": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.get("/home/").status_code == 200
    assert client.get("/api/v1/me").json()["must_change_password"] is False


def test_a_typed_reset_password_must_pass_the_validators(users, client_for):
    teacher = users["teacher"]
    client = client_for(users["county_admin"])
    response = client.post(f"/accounts/users/{teacher.pk}/reset-password/", {"password": "yanxiu-2026-abc"})
    assert response.status_code == 200 and "系统名称" in response.content.decode()
    teacher.refresh_from_db()
    assert teacher.check_password(PASSWORD) and not teacher.must_change_password
    assert not _events("account.password_reset").exists()
    response = client.post(f"/api/v1/accounts/{teacher.pk}/password-reset", {"password": NEW_PASSWORD},
                           content_type="application/json")
    assert response.status_code == 200 and response.json()["temporary_password"] == NEW_PASSWORD
    teacher.refresh_from_db()
    assert teacher.check_password(NEW_PASSWORD) and teacher.must_change_password
    assert _events("account.password_reset").get().detail["generated"] is False


def test_a_reset_lifts_the_log_in_lock(users, client, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 2
    teacher = users["teacher"]
    for _ in range(2):
        _login(client, teacher.username, "wrong-password-1")
    admin = users["county_admin"]
    _, temporary = user_password_reset(scope=scope_for_user(admin), actor=admin, user_id=teacher.pk)
    assert _login(client, teacher.username, temporary).status_code == 302


@pytest.fixture
def accounts(users, make_user, province):
    """Accounts of every kind around 杞县: a second school and its administrator, an expert,
    institution staff, the 省直管县's school administrator."""
    from org.models import Institution, School

    second = School.objects.create(code="4102210002", name="杞县第二小学", division=province.county)
    centre = Institution.objects.create(code="410221-JSFZ", name="杞县教师发展中心", kind="county_centre",
                                        division=province.county)
    return {
        **users,
        "school_admin_2": make_user("school-4102210002", Role.SCHOOL_ADMIN, school=second),
        "second_teacher": make_user("teacher-3", Role.TEACHER, teacher=TeacherFactory(school=second)),
        "expert": make_user("expert-1", Role.EXPERT, teacher=TeacherFactory(school=province.school)),
        "staff": make_user("staff-410221", Role.INSTITUTION_STAFF, institution=centre),
        "direct_school_admin": make_user("school-4102250001", Role.SCHOOL_ADMIN, school=province.direct_school),
        "direct_teacher_user": make_user("teacher-4", Role.TEACHER, teacher=province.direct_teacher),
    }


RESETTABLE = {
    "school_admin": {"teacher"},
    "school_admin_2": {"second_teacher"},
    "county_admin": {"teacher", "second_teacher", "expert", "school_admin", "school_admin_2"},
    "sibling_admin": {"sibling_teacher_user"},
    "direct_admin": {"direct_school_admin", "direct_teacher_user"},
    # A city: the lower levels of its ordinary counties, not its 省直管县 (it only reads there).
    "city_admin": {"teacher", "second_teacher", "expert", "school_admin", "school_admin_2", "staff",
                   "county_admin", "sibling_admin", "sibling_teacher_user"},
    "province_admin": None,  # everyone below: filled in the test
    "other_city_admin": set(),
    "teacher": set(), "expert": set(), "staff": set(),
}


def test_who_may_reset_whom(accounts):
    names = {user.pk: name for name, user in accounts.items()}
    RESETTABLE["province_admin"] = set(accounts) - {"province_admin"}
    for persona, expected in RESETTABLE.items():
        scope = scope_for_user(accounts[persona])
        allowed = {names[pk] for pk in visible(scope, User, Action.RESET_PASSWORD).values_list("pk", flat=True)
                   if pk in names}
        assert allowed == expected, persona
        for name, user in accounts.items():
            assert can(scope, Action.RESET_PASSWORD, user) == (name in expected), (persona, name)
    # The city sees its 省直管县's accounts, and only sees them.
    city = scope_for_user(accounts["city_admin"])
    assert accounts["direct_school_admin"] in visible(city, User)
    assert not can(city, Action.RESET_PASSWORD, accounts["direct_school_admin"])


@pytest.mark.parametrize(("persona", "target", "status"), [
    ("school_admin_2", "teacher", 404),  # another school of the same county
    ("school_admin", "school_admin_2", 404),  # a peer
    ("county_admin", "sibling_teacher_user", 404),  # the neighbouring county
    ("county_admin", "sibling_admin", 404),
    ("sibling_admin", "county_admin", 404),
    ("city_admin", "direct_teacher_user", 403),  # its 省直管县: seen, not changed
    ("city_admin", "city_admin", 404),  # itself
    ("other_city_admin", "teacher", 404),
    ("teacher", "sibling_teacher_user", 403),
    ("expert", "teacher", 403),
    ("staff", "teacher", 403),
])
def test_refused_resets_change_nothing(persona, target, status, accounts, client_for):
    user = accounts[target]
    before = User.objects.get(pk=user.pk).password
    client = client_for(accounts[persona])
    assert client.post(f"/accounts/users/{user.pk}/reset-password/", {"password": ""}).status_code == status
    api = client.post(f"/api/v1/accounts/{user.pk}/password-reset", {}, content_type="application/json")
    assert api.status_code == status
    assert api.json()["code"] == ("not_found" if status == 404 else "forbidden")
    assert User.objects.get(pk=user.pk).password == before
    assert not _events("account.password_reset").exists()


def test_the_account_list_is_scoped_searchable_and_keeps_its_query_count(accounts, make_user, province, client_for,
                                                                         django_assert_max_num_queries):
    client = client_for(accounts["county_admin"])
    body = client.get("/accounts/users/").content.decode().split("<tbody>")[1]
    for name in ("teacher-1", "teacher-3", "expert-1", "school-4102210001", "school-4102210002"):
        assert name in body
    for name in ("teacher-2", "admin-410222", "admin-410221", "staff-410221", "teacher-4"):
        assert name not in body
    assert "张三" in body and "杞县第一小学" in body
    searched = client.get("/accounts/users/?q=张三").content.decode()
    assert "teacher-1" in searched and "teacher-3" not in searched
    for n in range(60):
        user = make_user(f"bulk-{n:02d}", Role.TEACHER, teacher=TeacherFactory(school=province.school))
        if n % 3 == 0:
            user_set_mobile(scope=scope_for_user(user), actor=user, mobile=f"1391234{n:04d}")
    with django_assert_max_num_queries(12):
        page = client.get("/accounts/users/")
    assert page.status_code == 200 and "139****0000" in page.content.decode()
    second = client.get("/accounts/users/?page=2").content.decode()
    assert "第 2 / 2 页" in second
    assert client_for(accounts["teacher"]).get("/accounts/users/").status_code == 403
    assert client_for(accounts["staff"]).get("/accounts/users/").status_code == 403


def test_other_throttled_pages_get_the_same_styled_page(users, client_for, settings):
    settings.EXPORT_MAX_PER_HOUR = 0
    response = client_for(users["county_admin"]).get("/projects/overview/?year=2026&format=xlsx")
    assert response.status_code == 429 and response["Retry-After"] == "3600"
    body = response.content.decode()
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert "导出过于频繁" in body and 'id="retry-minutes">60<' in body and "site-header" in body


def test_the_command_line_resets_a_province_administrator(users, client, capsys):
    from django.core.management import CommandError, call_command

    admin = users["province_admin"]
    call_command("password", "reset", admin.username)
    temporary = capsys.readouterr().out.strip()
    event = _events("account.password_reset").get()
    assert event.actor is None and event.detail["by"] == "command" and temporary not in str(event.detail)
    response = _login(client, admin.username, temporary)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/password/")
    with pytest.raises(CommandError):
        call_command("password", "reset", "nobody-here")


def test_a_reset_revokes_the_accounts_api_tokens_and_a_change_by_the_holder_keeps_them(users, client_for, client):
    from django.core.management import call_command

    from accounts.services import api_token_create

    teacher, admin = users["teacher"], users["province_admin"]
    _, teachers_secret = api_token_create(user=teacher, name="备课工具")
    _, admins_secret = api_token_create(user=admin, name="统计脚本")
    _, others_secret = api_token_create(user=users["school_admin"], name="另一个账户")

    def me(secret):
        return client.get("/api/v1/me", headers={"authorization": f"Bearer {secret}"}).status_code

    assert me(teachers_secret) == me(admins_secret) == 200
    # The holder changing their own password keeps their integrations working.
    response = client_for(teacher).post("/accounts/password/", {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD})
    assert response.status_code == 302 and me(teachers_secret) == 200

    user_password_reset(scope=scope_for_user(users["school_admin"]), actor=users["school_admin"], user_id=teacher.pk)
    assert me(teachers_secret) == 401
    assert _events("account.password_reset").get().detail["tokens_revoked"] == 1
    call_command("password", "reset", admin.username)
    assert me(admins_secret) == 401
    assert me(others_secret) == 200  # nobody else's tokens
