"""What the study pages and API read: a teacher's enrolments (我的学习) and one enrolment."""

from __future__ import annotations

from django.db.models import F

from access.policy import visible
from access.scope import Scope
from learning.models import CourseEnrolment

MAX_LISTED = 500


def enrolments_of(scope: Scope) -> list[CourseEnrolment]:
    """The viewer's own enrolments, most recently studied first (one query)."""
    if scope.teacher_id is None:
        return []
    return list(visible(scope, CourseEnrolment).filter(teacher_id=scope.teacher_id)
                .select_related("course", "course__provider")
                .order_by(F("last_studied_at").desc(nulls_last=True), "-enrolled_at", "-id")[:MAX_LISTED])


def enrolment_for(scope: Scope, course_id: int) -> CourseEnrolment | None:
    if scope.teacher_id is None:
        return None
    return (visible(scope, CourseEnrolment).filter(teacher_id=scope.teacher_id, course_id=course_id)
            .select_related("course").first())
