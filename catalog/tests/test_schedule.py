"""A teacher's side: projects open to me (my audience, self-enrolment, not yet joined),
my schedule with attendance, as a page, an iCalendar file and the API."""

import datetime as dt

import pytest
import time_machine

from access.scope import scope_for_user
from catalog.attendance import attendance_record, session_add
from catalog.schedule import _fold
from catalog.services import enrol, project_create
from catalog.tests.helpers import as_teacher, publish
from institutions.tests.helpers import accredited_institution


def _project(users, province, code, *, audience=None, self_enrolment=True, days=(2, 3), month=12, published=True):
    admin = users["county_admin"]
    project = project_create(institution=accredited_institution(), scope=scope_for_user(admin), actor=admin, code=code, title=f"项目{code}", level="county",
                             category="backbone", mode="centralised", organiser=province.county,
                             starts_on=dt.date(2026, month, 1), ends_on=dt.date(2026, month, 20), seats=5, hours=12,
                             hour_category="centralised", self_enrolment=self_enrolment, needs_approval=False,
                             audience=audience or {})
    for day in days:
        session_add(scope=scope_for_user(admin), project=project, title=f"{code}第{day}天",
                    held_on=dt.date(2026, month, day))
    return publish(project) if published else project


@time_machine.travel(dt.datetime(2026, 11, 28, 10, 0), tick=False)
def test_open_to_me_lists_only_projects_i_may_join(province, users, client_for):
    province.teacher.stage = "primary"
    province.teacher.save()
    mine = _project(users, province, "OPEN")
    _project(users, province, "SENIOR", audience={"stages": ["senior"]})
    _project(users, province, "NOMINATED", self_enrolment=False)
    _project(users, province, "DRAFT", published=False)
    joined = _project(users, province, "JOINED")
    enrol(scope=as_teacher(province.teacher), project_id=joined.pk, teacher=province.teacher)
    page = client_for(users["teacher"]).get("/projects/mine/open/").content.decode()
    assert "项目OPEN" in page
    for other in ("项目SENIOR", "项目NOMINATED", "项目DRAFT", "项目JOINED"):
        assert other not in page, other
    api = client_for(users["teacher"]).get("/api/v1/me/open-projects").json()
    assert [p["id"] for p in api] == [mine.pk]


@time_machine.travel(dt.datetime(2026, 12, 2, 10, 0), tick=False)
def test_my_schedule_shows_sessions_attendance_and_exports_ics(province, users, client_for):
    first = _project(users, province, "A", days=(1, 2, 3))
    second = _project(users, province, "B", days=(10,))
    _project(users, province, "C", days=(5,))  # not mine
    enrolment = enrol(scope=as_teacher(province.teacher), project_id=first.pk, teacher=province.teacher)
    enrol(scope=as_teacher(province.teacher), project_id=second.pk, teacher=province.teacher)
    admin = users["county_admin"]
    attendance_record(user=admin, scope=scope_for_user(admin), session_id=first.sessions.get(number=1).pk,
                      enrolment_ids=[enrolment.pk])
    client = client_for(users["teacher"])
    page = client.get("/projects/mine/schedule/").content.decode()
    upcoming, past = page.split("已结束")
    assert upcoming.index("A第2天") < upcoming.index("A第3天") < upcoming.index("B第10天")
    assert "今天" in upcoming and "C第5天" not in page
    assert "A第1天" in past and "出勤" in past
    schedule = client.get("/api/v1/me/schedule").json()
    assert [(i["title"], i["attended"]) for i in schedule] == [
        ("A第1天", True), ("A第2天", False), ("A第3天", False), ("B第10天", False)]

    ics = client.get("/projects/mine/schedule.ics")
    assert ics["Content-Type"].startswith("text/calendar")
    body = ics.content.decode()
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.count("BEGIN:VEVENT") == 4
    assert "DTSTART;VALUE=DATE:20261210" in body and all(len(line.encode()) <= 75 for line in body.split("\r\n"))


def test_long_ics_lines_fold_without_splitting_characters():
    line = "SUMMARY:" + "河南省初中数学骨干教师作业设计能力提升培训" * 3
    folded = _fold(line)
    assert all(len(part.encode()) <= 75 for part in folded) and len(folded) > 1
    assert "".join(part[1:] if i else part for i, part in enumerate(folded)) == line


@pytest.mark.parametrize("who", ["county_admin", "school_admin"])
def test_the_teacher_pages_are_for_teachers(users, client_for, who):
    client = client_for(users[who])
    assert client.get("/projects/mine/schedule/").status_code == 404
    assert client.get("/projects/mine/open/").status_code == 404
    assert client.get("/api/v1/me/schedule").status_code == 403


@time_machine.travel(dt.datetime(2026, 11, 28, 10, 0), tick=False)
def test_open_to_me_never_misses_my_county_behind_many_others(province, users, client_for):
    # Many open projects of another county start sooner; mine is still found.
    for n in range(12):
        admin = users["sibling_admin"]
        publish(project_create(institution=accredited_institution(),
            scope=scope_for_user(admin), actor=admin, code=f"TX-{n}", title=f"通许项目{n}", level="county",
            category="backbone", mode="online", organiser=province.sibling, starts_on=dt.date(2026, 12, 1),
            ends_on=dt.date(2026, 12, 2), seats=5, hours=8, hour_category="online", self_enrolment=True))
    mine = _project(users, province, "LATE", month=12, days=(20,))
    from catalog.schedule import open_to_teacher

    found = open_to_teacher(scope=as_teacher(province.teacher), teacher=province.teacher, today=dt.date(2026, 11, 28),
                            limit=2)
    assert [p.pk for p in found] == [mine.pk]
