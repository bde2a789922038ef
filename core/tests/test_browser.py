"""A county administrator in Debian's chromium: logs in, browses the teachers
of the county, and is refused another county's teacher (issue 2, item 7).
Also: every request the pages make goes to the app's own host (no CDN, trackers or outside calls)."""

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# No sandbox or GPU in CI containers; nothing that calls out of the machine.
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed (make browser)"),
]


@pytest.fixture
def browser_page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # made by fixtures happen before, so allowing them here is safe. Set for
    # this test only: a later `manage.py check --deploy` subprocess must not inherit it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")  # a phone
        page = context.new_page()
        yield page
        context.close()
        browser.close()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_county_admin_browses_own_county_and_is_refused_another(live_server, province, users, browser_page):
    page = browser_page
    requested_hosts: set[str] = set()
    page.on("request", lambda request: requested_hosts.add(urlparse(request.url).netloc))
    ARTIFACTS.mkdir(exist_ok=True)

    page.goto(f"{live_server.url}/teachers/")
    assert "/accounts/login/" in page.url  # deny by default
    page.fill("input[name=username]", users["county_admin"].username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/teachers/**")

    table = page.locator("#teachers")
    assert province.teacher.name in table.inner_text()
    assert province.sibling_teacher.name not in table.inner_text()
    masked = page.locator("#teachers code").first.inner_text()
    assert "*" in masked and len(masked) == 18
    page.screenshot(path=str(ARTIFACTS / "county-admin-teacher-list.png"), full_page=True)

    page.click(f"text={province.teacher.name}")
    page.wait_for_url(f"**/teachers/{province.teacher.pk}/")
    assert province.teacher.school.name in page.content()

    response = page.goto(f"{live_server.url}/teachers/{province.sibling_teacher.pk}/")
    assert response is not None and response.status == 404
    assert province.sibling_teacher.name not in page.content()

    page.goto(f"{live_server.url}/home/")
    page.wait_for_selector("[data-chart] canvas")  # ECharts drew the stage × title chart
    page.screenshot(path=str(ARTIFACTS / "county-admin-home.png"), full_page=True)

    assert requested_hosts == {urlparse(live_server.url).netloc}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_city_admin_drills_down_hours_compliance_to_a_teacher(live_server, province, users, browser_page):
    """Issue 3 item 4: city → county → school → teacher, charts drawn, nothing outside the city."""
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", users["city_admin"].username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/home/")

    page.goto(f"{live_server.url}/credits/compliance/")
    page.wait_for_selector("[data-chart] canvas")
    rollup = page.locator("#rollup").inner_text()
    assert province.county.name in rollup and province.direct.name in rollup
    assert province.other_city.name not in rollup
    page.screenshot(path=str(ARTIFACTS / "city-admin-compliance.png"), full_page=True)

    page.click(f"#rollup >> text={province.county.name}")
    page.wait_for_url(f"**/compliance/d/{province.county.code}/**")
    page.click(f"#rollup >> text={province.school.name}")
    page.wait_for_url(f"**/compliance/s/{province.school.pk}/**")
    assert province.teacher.name in page.locator("#standings").inner_text()
    page.click(f"#standings >> text={province.teacher.name}")
    page.wait_for_url(f"**/credits/teachers/{province.teacher.pk}/**")
