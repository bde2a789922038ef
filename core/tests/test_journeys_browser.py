"""One journey per role in Debian's chromium, on a phone and on a desktop, asserting what the
user sees: the home page tells each role what waits for them, and following it gets it done."""

import datetime as dt
import os
from pathlib import Path

import pytest
from django.utils import timezone

from access.scope import scope_for_user
from accounts.models import Role
from catalog.attendance import session_add
from catalog.services import enrol, project_create
from catalog.tests.helpers import as_teacher, publish
from conftest import PASSWORD
from core.tests.test_browser import ARTIFACTS, CHROMIUM, LAUNCH_ARGS
from credits.services import ledger_entry_record
from institutions.tests.helpers import accredited_institution

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed (make browser)"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def browser(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def _signed_in(browser, live_server, user, viewport):
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/home/")
    return page


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(Path(ARTIFACTS) / f"{name}.png"), full_page=True)


def _project_today(users, province, *, institution=None, code="TODAY"):
    admin = users["county_admin"]
    today = timezone.localdate()
    project = project_create(
        institution=institution or accredited_institution(), scope=scope_for_user(admin), actor=admin, code=code,
        title=f"项目{code}", level="county", category="backbone", mode="centralised", organiser=province.county,
        starts_on=today, ends_on=today + dt.timedelta(days=10), seats=5, hours=12, hour_category="centralised",
        self_enrolment=True, needs_approval=False, audience={})
    session = session_add(scope=scope_for_user(admin), project=project, title="开班与专题讲座", held_on=today)
    return publish(project), session


def test_teacher_on_a_phone_checks_in_from_home(live_server, province, users, browser):
    project, session = _project_today(users, province)
    enrol(scope=as_teacher(province.teacher), project_id=project.pk, teacher=province.teacher)
    session.refresh_from_db()
    page = _signed_in(browser, live_server, users["teacher"], PHONE)
    assert "本周期学时" in page.locator("#cycle").inner_text()
    sessions = page.locator("#next-sessions")
    assert "项目TODAY" in sessions.inner_text() and "今天" in sessions.inner_text()
    # The navigation is folded into one button on a phone.
    assert not page.locator("#main-nav").is_visible()
    _shot(page, "home-teacher-phone")
    sessions.locator("input[name=code]").fill(session.check_in_code)
    sessions.locator("button[type=submit]").click()
    page.wait_for_url("**/projects/mine/")
    assert "签到成功" in page.content()
    page.goto(f"{live_server.url}/home/")
    assert "已签到" in page.locator("#next-sessions").inner_text()
    page.click(".nav-toggle")
    assert page.locator("#main-nav").is_visible()
    page.click("#main-nav summary:has-text('我的培训')")
    page.click("#main-nav a:has-text('我的日程')")
    page.wait_for_url("**/projects/mine/schedule/")
    assert "项目TODAY" in page.content()
    # The tables that matter on a phone read as cards: no header row, each value labelled.
    assert not page.locator("#upcoming thead").is_visible()
    assert page.locator("#upcoming tbody td").first.get_attribute("data-label") == "日期"
    _shot(page, "schedule-teacher-phone")


def test_school_then_county_admin_follow_a_claim_from_their_home_pages(live_server, province, users, browser):
    ledger_entry_record(teacher=province.teacher, category="other", hours=3, occurred_on=timezone.localdate(),
                        source_type="claim", source_id=f"{province.teacher.pk}:journey", state="pending",
                        note="参加市级教研观摩活动", actor=None)
    school = _signed_in(browser, live_server, users["school_admin"], DESKTOP)
    tile = school.locator("#todo-claims")
    assert tile.locator("strong").inner_text() == "1" and "学时申报待审核" in tile.inner_text()
    _shot(school, "home-school-admin")
    tile.click()
    school.wait_for_url("**/credits/claims/")
    assert "参加市级教研观摩活动" in school.content()

    county = _signed_in(browser, live_server, users["county_admin"], PHONE)
    assert county.locator("#todo-claims strong").inner_text() == "0"  # waits for the school first
    _shot(county, "home-county-admin-phone")
    county.click(".nav-toggle")
    county.click("#main-nav summary:has-text('学时')")
    county.click("#main-nav a:has-text('学时审核')")
    county.wait_for_url("**/credits/claims/")


def test_city_and_province_admins_see_their_desks(live_server, province, users, browser):
    for role, label in (("city_admin", province.city.name), ("province_admin", province.province.name)):
        page = _signed_in(browser, live_server, users[role], DESKTOP)
        assert label in page.locator("h1").inner_text()
        todos = page.locator("#todos").inner_text()
        for item in ("学时申报待审核", "年度计划待审核", "机构准入申请待审核", "指导问题超时未答"):
            assert item in todos, (role, item)
        # The header stays one row of menus on a desktop.
        assert page.locator("#main-nav").is_visible()
        box = page.locator("#main-nav").bounding_box()
        assert box is not None and box["height"] < 80
        _shot(page, f"home-{role.replace('_', '-')}")


def test_expert_and_institution_staff_home_pages(live_server, province, users, make_user, browser):
    institution = accredited_institution()
    staff = make_user("staff-journey", Role.INSTITUTION_STAFF, institution=institution)
    expert = make_user("expert-journey", Role.EXPERT, teacher=province.direct_teacher)
    project, _ = _project_today(users, province, institution=institution, code="STAFF")
    page = _signed_in(browser, live_server, staff, DESKTOP)
    assert "项目STAFF" in page.locator("#projects").inner_text()
    _shot(page, "home-institution-staff")
    page.click("#projects a:has-text('项目STAFF')")
    page.wait_for_url(f"**/projects/{project.pk}/manage/")

    page = _signed_in(browser, live_server, expert, PHONE)
    desk = page.locator("#expert-desk")
    assert "待我解答的问题" in desk.inner_text() and "我授课的场次" in desk.inner_text()
    _shot(page, "home-expert-phone")


def test_a_forgotten_password_is_reset_by_the_school_and_changed_at_next_log_in(live_server, province, users, browser):
    admin = _signed_in(browser, live_server, users["school_admin"], DESKTOP)
    admin.click("#main-nav summary:has-text('系统')")
    admin.click("#main-nav a:has-text('账户管理')")
    admin.wait_for_url("**/accounts/users/**")
    admin.click(f"tr:has-text('{users['teacher'].username}') >> text=重置密码")
    admin.click("button:has-text('重置密码')")
    temporary = admin.locator("#temporary-password").inner_text()
    assert len(temporary) >= 8

    page = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", users["teacher"].username)
    page.fill("input[name=password]", temporary)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/password/**")
    assert page.locator("#must-change").is_visible()
    page.goto(f"{live_server.url}/credits/me/")  # nothing else until the password is changed
    assert "/accounts/password/" in page.url
    page.fill("input[name=current_password]", temporary)
    page.fill("input[name=new_password]", "Qiu-shui-Chang-tian-27")
    page.fill("input[name=new_password_again]", "Qiu-shui-Chang-tian-27")
    page.click("button:has-text('修改密码')")
    page.goto(f"{live_server.url}/home/")
    assert "/home/" in page.url and "本周期学时" in page.content()
