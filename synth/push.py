"""Demo study histories for the personalised push: the first county's teachers take up courses
of the demo library over the last year (synth/histories.py: a stage × subject shares tastes,
tastes drift, popularity is long-tailed), as enrolments on the platform's player; then the
nightly batch runs once, so every teacher's home page has a list with its reasons."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Case, DateTimeField, Value, When
from django.utils import timezone

from access.policy import visible
from access.scope import Scope
from learning.constants import CourseState
from learning.models import Course, CourseEnrolment
from learning.push.services import push_refresh_all
from org.models import Division
from people.models import Teacher, TeacherSubject
from synth.histories import CourseProfile, TeacherProfile, generate_histories

MEAN_COURSES = 5.0


def push_synthesize(*, seed: int, county_code: str) -> dict[str, int]:
    """Idempotent: nothing happens when the county's teachers have enrolments already."""
    county = Division.objects.filter(code=county_code).first()
    if county is None:
        return {"enrolments": 0, "teachers": 0}
    scope = Scope.division(county)
    if visible(scope, CourseEnrolment).exists():
        return {"enrolments": 0, "teachers": 0}
    teachers = list(visible(scope, Teacher).filter(status="active").values_list("id", "stage"))
    main = dict(visible(scope, TeacherSubject).filter(is_main=True).values_list("teacher_id", "subject"))
    courses = visible(scope, Course).filter(state=CourseState.PUBLISHED).values_list("id", "stages", "subjects",
                                                                                   "topics")
    now = timezone.now()
    events = generate_histories(
        [TeacherProfile(id=str(pk), stage=stage, subject=main.get(pk, "")) for pk, stage in teachers],
        [CourseProfile(id=str(pk), stages=tuple(stages or ()), subjects=tuple(subjects or ()),
                       topics=tuple(topics or ())) for pk, stages, subjects, topics in courses],
        seed=seed, start=now - dt.timedelta(days=365), days=365, mean_events=MEAN_COURSES)
    first: dict[tuple[int, int], float] = {}
    for teacher, course, at in events:
        key = (int(teacher), int(course))
        first[key] = min(at, first.get(key, at))
    with transaction.atomic():
        rows = CourseEnrolment.objects.bulk_create(
            [CourseEnrolment(teacher_id=t, course_id=c) for t, c in first], batch_size=2000)
        # enrolled_at is set on insert; the history's own times go in afterwards, 500 rows a statement.
        for start in range(0, len(rows), 500):
            chunk = rows[start:start + 500]
            visible(scope, CourseEnrolment).filter(pk__in=[r.pk for r in chunk]).update(
                enrolled_at=Case(*(When(pk=r.pk, then=Value(dt.datetime.fromtimestamp(
                    first[(r.teacher_id, r.course_id)], dt.UTC))) for r in chunk), output_field=DateTimeField()))
    refreshed = push_refresh_all(now=now, refit=True)
    return {"enrolments": len(rows), "teachers": refreshed["teachers"]}
