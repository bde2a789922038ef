"""Issue 11 point 3 in Debian's chromium: a teacher opens a published course, 开始学习, plays the
short video to its end on the platform's player and sees 已完成 — the server judged it from
the beats static/js/player.js sent — then finds it under 我的学习. Every request stays on the
app's own host (the video too)."""

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD
from core.tests.test_browser import ARTIFACTS, CHROMIUM, browser_page  # noqa: F401 - the fixture
from learning.tests.test_study import _course

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason="Debian chromium not installed (make browser)"),
]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_teacher_plays_a_short_video_to_the_end_and_sees_it_completed(live_server, province, users, providers,
                                                                        browser_page, settings):  # noqa: F811
    settings.LEARNING_BEAT_SECONDS = 2  # beats every 2 s, so an 8-second clip gets several
    course = _course(users, code="CLIP-8", minutes="0.134", hours="0.1")  # /static/learning/short-clip.webm, 8 s
    assert course.duration_seconds == 8
    page = browser_page
    requested_hosts: set[str] = set()
    page.on("request", lambda request: requested_hosts.add(urlparse(request.url).netloc))
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", users["teacher"].username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/home/")

    page.goto(f"{live_server.url}/learning/courses/{course.pk}/")
    page.click("#study button:has-text('开始学习')")
    page.wait_for_url(f"**/learning/courses/{course.pk}/study/")
    expect(page.locator("#study-state")).to_have_text("学习中")  # the server opened a study session
    page.evaluate("() => { const v = document.getElementById('media'); v.muted = true; return v.play(); }")
    expect(page.locator("#study-state")).to_have_text("已完成", timeout=45_000)
    assert int(page.locator("#study-percent").inner_text()) >= 95
    assert "已完成本课程" in page.locator("#study-message").inner_text()
    page.screenshot(path=str(ARTIFACTS / "study-player.png"), full_page=True)

    page.goto(f"{live_server.url}/learning/courses/mine/")
    assert "已完成" in page.locator("#enrolments").inner_text()
    page.goto(f"{live_server.url}/learning/courses/{course.pk}/")
    assert "已完成" in page.locator("#study").inner_text()
    assert requested_hosts == {urlparse(live_server.url).netloc}
