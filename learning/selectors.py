"""What the course-library pages and API read: courses the viewer may see, searched, filtered
and paged, one course, the providers.

Without a query the list is in id order and pages by id (`after`: every page costs the same,
however deep). With a query (`q`) it is in relevance order (learning.search) and pages by
offset (`page`), up to the first MAX_RANKED results: a ranked order has no stable key to page
from while courses change, and nobody reads a thousand results of a search."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from access.policy import visible
from access.scope import Scope
from catalog.constants import Topic
from learning import search
from learning.constants import CourseState, RequiredContent
from learning.models import Course, Provider
from org.constants import Stage
from people.constants import Subject

PAGE_SIZE = 50
MAX_QUERY_LENGTH = 100
MAX_RANKED = 1000  # results a ranked search pages through


@dataclass(frozen=True)
class CourseFilters:
    stage: str = ""
    subject: str = ""
    topic: str = ""
    required: str = ""
    provider: str = ""  # a provider's code
    state: str = ""
    featured: bool = False
    hours_min: Decimal | None = None
    hours_max: Decimal | None = None
    q: str = ""


@dataclass
class CoursePage:
    courses: list[Course]
    next_after: int | None = None  # unranked lists: the next page starts after this id
    next_page: int | None = None  # ranked results: the next page's number
    page: int = 1
    ranked: bool = False
    scores: dict[int, float] = field(default_factory=dict)


TAG_CHOICES = {"stage": ("学段", Stage.values), "subject": ("学科", Subject.values), "topic": ("专题/能力", Topic.values),
               "required": ("必修内容", RequiredContent.values)}


def _hours(text: str, name: str, errors: dict[str, str]) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = Decimal(text[:20])
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or not 0 <= value <= 1000:
        errors[name] = "学时应为 0 到 1000 之间的数字"
        return None
    return value


def course_filters_from(params: Mapping[str, str], *, admin: bool) -> CourseFilters:
    """The filters of a page's or the API's query string, checked: a ValidationError names each
    bad parameter in Chinese (q too long, hours not a number or the wrong way round, an unknown
    tag). Teachers' lists are published courses only, whatever `state` says."""
    errors: dict[str, str] = {}
    q = (params.get("q") or "").strip()
    if len(q) > MAX_QUERY_LENGTH:
        errors["q"] = f"搜索词不超过 {MAX_QUERY_LENGTH} 个字"
    tags = {}
    for name, (label, values) in TAG_CHOICES.items():
        value = (params.get(name) or "").strip()
        if value and value not in values:
            errors[name] = f"未知的{label}：{value[:20]}"
        tags[name] = value
    state = (params.get("state") or "").strip()
    if state and state not in CourseState.values:
        errors["state"] = f"未知的状态：{state[:20]}"
    hours_min = _hours(params.get("hours_min") or "", "hours_min", errors)
    hours_max = _hours(params.get("hours_max") or "", "hours_max", errors)
    if hours_min is not None and hours_max is not None and hours_min > hours_max:
        errors["hours_max"] = "最高学时不能小于最低学时"
    if errors:
        raise ValidationError(errors)
    return CourseFilters(**tags, provider=(params.get("provider") or "").strip()[:40],
                         state=state if admin else CourseState.PUBLISHED,
                         featured=(params.get("featured") or "") in ("1", "true", "on"),
                         hours_min=hours_min, hours_max=hours_max, q=q)


def courses_queryset(scope: Scope, filters: CourseFilters) -> QuerySet[Course]:
    """The courses the viewer may see that pass every filter except the text query."""
    rows = search.with_tags(visible(scope, Course), {"stage": filters.stage, "subject": filters.subject,
                                                     "topic": filters.topic, "required": filters.required})
    if filters.provider:
        rows = rows.filter(provider__code=filters.provider)
    if filters.state in CourseState.values:
        rows = rows.filter(state=filters.state)
    if filters.featured:
        rows = rows.filter(is_featured=True)
    if filters.hours_min is not None:
        rows = rows.filter(hours__gte=filters.hours_min)
    if filters.hours_max is not None:
        rows = rows.filter(hours__lte=filters.hours_max)
    return rows


def course_page(scope: Scope, filters: CourseFilters, *, after: int | None = None, page: int = 1,
                size: int = PAGE_SIZE) -> CoursePage:
    rows = courses_queryset(scope, filters)
    if filters.q:
        return _ranked_page(rows, filters.q, page=page, size=size)
    if after is not None:
        rows = rows.filter(pk__gt=after)
    found = list(rows.select_related("provider", "division").order_by("id")[: size + 1])
    more = len(found) > size
    found = found[:size]
    return CoursePage(courses=found, next_after=found[-1].pk if found and more else None)


def _ranked_page(rows: QuerySet[Course], q: str, *, page: int, size: int) -> CoursePage:
    page = max(1, page)
    offset = (page - 1) * size
    if offset >= MAX_RANKED:
        return CoursePage(courses=[], page=page, ranked=True)
    hits = search.ranked(rows, search.parse(q), offset=offset, limit=min(size + 1, MAX_RANKED - offset + 1))
    more = len(hits) > size and offset + size < MAX_RANKED
    hits = hits[:size]
    loaded = rows.select_related("provider", "division").in_bulk([pk for pk, _ in hits])
    return CoursePage(courses=[loaded[pk] for pk, _ in hits if pk in loaded], next_page=page + 1 if more else None,
                      page=page, ranked=True, scores=dict(hits))


def course_get(scope: Scope, course_id: int) -> Course | None:
    if not isinstance(course_id, int) or not 0 < course_id < 2**62:
        return None
    return (visible(scope, Course).select_related("provider", "division", "credited_activity", "merged_into")
            .filter(pk=course_id).first())


def providers_list(scope: Scope) -> QuerySet[Provider]:
    return visible(scope, Provider).select_related("division")


PROVIDERS_CACHE_SECONDS = 600


def course_providers(scope: Scope) -> list[tuple[str, str]]:
    """(code, name) of the providers of the courses the viewer may see, for the list's filter
    (teachers do not see the provider registry itself). A DISTINCT over every visible course
    (20–40 ms at 20,000), so kept for ten minutes per view of the library: what decides which
    courses a viewer sees is their role, jurisdiction and home division."""
    key = "learning:course-providers:" + hashlib.sha256(
        repr((scope.role, scope.path, scope.read_only_paths, scope.home_path)).encode()).hexdigest()[:32]
    found = cache.get(key)
    if found is None:
        found = list(visible(scope, Course).order_by("provider__name")
                     .values_list("provider__code", "provider__name").distinct())
        cache.set(key, found, PROVIDERS_CACHE_SECONDS)
    return found
