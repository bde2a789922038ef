"""Issue 4 item 5 in Debian's chromium: a city administrator opens a project's dashboard
from its manage page and the jurisdiction's overview; ECharts draws every chart from
local files (no request leaves the app's host)."""

import datetime as dt
from urllib.parse import urlparse

import pytest

from access.scope import scope_for_user
from catalog.attendance import attendance_record, session_add
from catalog.models import Enrolment
from catalog.services import enrol, project_create
from catalog.tests.helpers import as_teacher, publish
from conftest import PASSWORD
from core.tests.test_browser import ARTIFACTS, CHROMIUM, browser_page  # noqa: F401 - the fixture
from institutions.tests.helpers import accredited_institution
from people.tests.factories import TeacherFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason="Debian chromium not installed (make browser)"),
]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_city_admin_reads_a_projects_dashboard_and_the_overview(live_server, province, users, browser_page):  # noqa: F811
    admin, scope = users["city_admin"], scope_for_user(users["city_admin"])
    project = publish(project_create(institution=accredited_institution(),
        scope=scope, actor=admin, code="KF-B-1", title="开封市小学数学骨干教师研修", level="city", category="backbone",
        mode="centralised", organiser=province.city, starts_on=dt.date(2026, 11, 2), ends_on=dt.date(2026, 11, 6),
        seats=12, hours=24, hour_category="centralised", self_enrolment=True, needs_approval=False, is_high_end=True))
    # the city's teachers (not its 省直管县's: 兰考 plans and trains with the province)
    sessions = [session_add(scope=scope, project=project, title=f"课堂教学第{d - 1}天",
                            held_on=dt.date(2026, 11, d)) for d in (2, 3, 4, 5)]
    schools = [province.school, province.sibling_school, province.school]
    teachers = [TeacherFactory(school=schools[n % 3]) for n in range(15)]
    enrolments = [enrol(scope=as_teacher(t), project_id=project.pk, teacher=t) for t in teachers]
    admitted = [e.pk for e in enrolments if e.state == "enrolled"]
    for n, session in enumerate(sessions):
        attendance_record(user=admin, scope=scope, session_id=session.pk, enrolment_ids=admitted[: 12 - 2 * n])
    Enrolment.objects.dangerously_unscoped().filter(pk__in=admitted[:6]).update(state="completed")

    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    requested_hosts: set[str] = set()
    page.on("request", lambda request: requested_hosts.add(urlparse(request.url).netloc))
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/home/")

    page.goto(f"{live_server.url}/projects/{project.pk}/manage/")
    page.click("text=项目看板")
    page.wait_for_url(f"**/projects/{project.pk}/dashboard/")
    page.locator("[data-chart] canvas").nth(3).wait_for()  # four charts drawn (no eval: the CSP forbids it)
    assert "12/12" in page.locator("#kpis").inner_text()
    origins = page.locator("#origins").inner_text()
    assert province.school.name in origins and province.sibling_school.name in origins
    page.screenshot(path=str(ARTIFACTS / "project-dashboard.png"), full_page=True)

    page.goto(f"{live_server.url}/projects/overview/?year=2026")
    page.locator("[data-chart] canvas").nth(1).wait_for()
    assert "骨干教师培训" in page.locator("#overview").inner_text()
    page.screenshot(path=str(ARTIFACTS / "jurisdiction-overview.png"), full_page=True)

    assert requested_hosts == {urlparse(live_server.url).netloc}
