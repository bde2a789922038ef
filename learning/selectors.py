"""What the course-library pages and API read: courses the viewer may see, filtered and paged
by id (every page costs the same, however deep), one course, the providers."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from access.policy import visible
from access.scope import Scope
from learning.constants import CourseState
from learning.models import Course, Provider

PAGE_SIZE = 50


@dataclass(frozen=True)
class CourseFilters:
    stage: str = ""
    subject: str = ""
    topic: str = ""
    required: str = ""
    provider: str = ""  # a provider's code
    state: str = ""
    featured: bool = False
    q: str = ""


@dataclass
class CoursePage:
    courses: list[Course]
    next_after: int | None


def courses_queryset(scope: Scope, filters: CourseFilters) -> QuerySet[Course]:
    rows = visible(scope, Course)
    for prefix, value in (("stage", filters.stage), ("subject", filters.subject), ("topic", filters.topic),
                          ("required", filters.required)):
        if value:
            rows = rows.filter(tag_text__contains=f" {prefix}:{value} ")
    if filters.provider:
        rows = rows.filter(provider__code=filters.provider)
    if filters.state in CourseState.values:
        rows = rows.filter(state=filters.state)
    if filters.featured:
        rows = rows.filter(is_featured=True)
    if filters.q:
        rows = rows.filter(title__icontains=filters.q)
    return rows


def course_page(scope: Scope, filters: CourseFilters, *, after: int | None = None, size: int = PAGE_SIZE) -> CoursePage:
    rows = courses_queryset(scope, filters)
    if after is not None:
        rows = rows.filter(pk__gt=after)
    found = list(rows.select_related("provider", "division").order_by("id")[: size + 1])
    more = len(found) > size
    found = found[:size]
    return CoursePage(courses=found, next_after=found[-1].pk if found and more else None)


def course_get(scope: Scope, course_id: int) -> Course | None:
    if not isinstance(course_id, int) or not 0 < course_id < 2**62:
        return None
    return (visible(scope, Course).select_related("provider", "division", "credited_activity", "merged_into")
            .filter(pk=course_id).first())


def providers_list(scope: Scope) -> QuerySet[Provider]:
    return visible(scope, Provider).select_related("division")
