"""Tabs opened at the same instant (PostgreSQL, real threads and connections): one active study
session is left, nobody gets an error, and of the sessions beating at once only that one
credits."""

import datetime as dt
import threading

import pytest
from django.db import connection

from access.scope import scope_for_user
from learning.models import CourseEnrolment, StudySession
from learning.study import study_beat, study_start
from learning.tests.test_study import _course


@pytest.mark.pg_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_tabs_opened_at_once_leave_one_active_session_and_only_it_credits(province, users, providers):
    courses = [_course(users, code="V-1"), _course(users, code="V-2")]
    user = users["teacher"]
    scope = scope_for_user(user)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []
    started: list = []

    def run(job):
        try:
            barrier.wait()
            job()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    def open_tab(n):
        return lambda: started.append((f"browser-{n}", study_start(scope=scope, user=user,
                                                                   course_id=courses[n % 2].pk,
                                                                   session_key=f"browser-{n}")))

    threads = [threading.Thread(target=run, args=(open_tab(n),)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(started) == 8
    sessions = StudySession.objects.dangerously_unscoped().filter(teacher=province.teacher)
    assert sessions.count() == 8 and sessions.filter(active=True).count() == 1
    assert CourseEnrolment.objects.dangerously_unscoped().filter(teacher=province.teacher).count() == 2

    # every tab beats at once, 15 s after opening
    sessions.update(last_beat_at=sessions.first().started_at - dt.timedelta(seconds=15))
    results: list = []
    barrier = threading.Barrier(8)

    def beat(n):
        key, one = started[n]
        payload = {"token": one.token, "seq": 1, "position": 15, "ranges": [[0, 15]], "visible": True,
                   "playing": True}
        return lambda: results.append(study_beat(scope=scope, user=user, course_id=one.enrolment.course_id,
                                                 session_key=key, payload=payload))

    threads = [threading.Thread(target=run, args=(beat(n),)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(result.accepted for result in results) == [False] * 7 + [True]
    assert {result.reason for result in results if not result.accepted} == {"superseded"}
    assert sum(e.verified_seconds for e in CourseEnrolment.objects.dangerously_unscoped()
               .filter(teacher=province.teacher)) == 15
