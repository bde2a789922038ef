"""Reading a teacher's pushed courses: the stored list when it is fresh, else computed now.

A list is stale when the teacher's history changed since it was computed (a completion, hours
decided) or when it is older than LEARNING_PUSH_MAX_AGE_HOURS (new courses, other teachers'
study). Courses retired or closed since are dropped on the way out, so a stale entry never shows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from access.policy import visible
from access.scope import Scope
from credits.selectors import current_cycle
from evaluation.instrument_selectors import weak_topics
from learning.constants import CourseState
from learning.models import Course, TeacherPush
from learning.push.inputs import bases_for
from learning.push.services import push_store
from people.models import Teacher


@dataclass(frozen=True)
class Pushed:
    course: Course
    reason: str
    signal: str
    score: float


@dataclass(frozen=True)
class PushList:
    teacher_id: int
    computed_at: dt.datetime
    items: list[Pushed]
    recomputed: bool


def push_for(scope: Scope, teacher: Teacher, *, now: dt.datetime | None = None) -> PushList:
    """`teacher` must already have been fetched through the policy by the caller (the teacher
    themself, or an administrator over them); the courses shown are those open to the teacher."""
    now = now or timezone.now()
    row = visible(scope, TeacherPush).filter(teacher_id=teacher.pk).first()
    # The list is the teacher's own: computed from what the teacher sees, whoever asks for it.
    own = Scope.for_teacher(teacher)
    recomputed = False
    cycle = current_cycle(timezone.localdate(now))
    weak = weak_topics(own, [teacher.pk])
    basis = bases_for(own, [teacher], cycle.pk if cycle else None, weak=weak)[teacher.pk]
    if (row is None or now - row.computed_at > dt.timedelta(hours=settings.LEARNING_PUSH_MAX_AGE_HOURS)
            or row.basis != basis):
        row = push_store(own, teacher, now=now, basis=basis, weak=weak)
        recomputed = True
    ids = [item["course"] for item in row.items]
    open_to_teacher = visible(own, Course).filter(pk__in=ids, state=CourseState.PUBLISHED)
    courses = {course.pk: course for course in open_to_teacher.select_related("provider")}
    items = [Pushed(course=courses[item["course"]], reason=item["reason"], signal=item["signal"], score=item["score"])
             for item in row.items if item["course"] in courses]
    return PushList(teacher_id=teacher.pk, computed_at=row.computed_at, items=items, recomputed=recomputed)
