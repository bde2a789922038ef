"""Instant answers in Debian's chromium: a teacher types a question, the answered question most
like it appears below the box while they type (htmx), and 采纳这条解答 resolves theirs at once."""

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD
from core.tests.test_browser import ARTIFACTS, CHROMIUM, browser_page  # noqa: F401 - the fixture
from guidance.models import Question
from guidance.tests.test_instant_answers import ANSWERED, _answered

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason="Debian chromium not installed (make browser)"),
]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_typing_shows_an_answered_question_and_accepting_it_resolves_at_once(live_server, teams, users,
                                                                              browser_page):  # noqa: F811
    writing = _answered(teams, ANSWERED)
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", users["sibling_teacher_user"].username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/home/")
    page.goto(f"{live_server.url}/guidance/ask/")
    page.locator("textarea[name=text]").press_sequentially("学生写作文总是写成流水账，怎样指导他们写具体？", delay=20)
    expect(page.locator("#similar")).to_contain_text("已解答的相似问题", timeout=15_000)
    expect(page.locator("#similar")).to_contain_text("流水账")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "guidance-instant-answer.png"), full_page=True)
    page.click(f"#similar button[value='{writing.pk}']")
    page.wait_for_url("**/guidance/questions/*/")
    expect(page.locator("h1")).to_contain_text("已解决")
    newest = Question.objects.dangerously_unscoped().latest("id")
    assert newest.matched_id == writing.pk and newest.teacher_id == users["sibling_teacher_user"].teacher_id
