"""Reads of the teacher registry, always through the viewer's Scope."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields

from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from access.errors import NotVisible
from access.policy import Action, require, visible
from access.scope import Scope, path_lookup
from org.models import Division, School
from people.constants import (
    HONOUR_LEVEL_LABELS,
    HONOUR_TITLE_LABELS,
    NEW_TEACHER_YEARS,
    STATUS_LABELS,
    SUBJECT_LABELS,
    TITLE_LABELS,
)
from people.id_lookup import IdLookup, IdLookupRequired, id_search_number
from people.models import Teacher, TeacherHonour, TeacherSubject

PAGE_SIZE = 50


@dataclass
class TeacherFilters:
    division: str = ""  # division code
    school: str = ""  # school code
    stage: str = ""
    subject: str = ""
    title: str = ""
    honour: str = ""  # honour title code, optionally "level:title"
    status: str = ""
    new_teacher: bool = False
    q: str = ""  # name prefix, or a whole ID number
    # A whole ID number in `q` is searched only with the audited lookup made for it
    # (people.id_lookup.teacher_id_lookup); never part of a query string.
    id_lookup: IdLookup | None = field(default=None, repr=False, compare=False)

    def as_query(self) -> dict[str, str]:
        """The filters as query parameters (links to the next page, exports): what was typed."""
        data = {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in {"new_teacher", "id_lookup"} and getattr(self, f.name)}
        if self.new_teacher:
            data["new_teacher"] = "1"
        return data

    def as_record(self) -> dict[str, str]:
        """The filters for an audit row or a stored request: an ID number searched for is
        named as such, never written."""
        data = self.as_query()
        if id_search_number(self.q) is not None:
            data["q"] = "（身份证号）"
        return data


@dataclass
class TeacherPage:
    teachers: list[Teacher]
    next_after: int | None = None
    prev_before: int | None = None
    filters: TeacherFilters = field(default_factory=TeacherFilters)


def teacher_queryset(
    *, scope: Scope, filters: TeacherFilters | None = None, after: int | None = None, before: int | None = None
) -> QuerySet[Teacher]:
    """Teachers in scope matching filters; `after`/`before` also bound the
    subject and honour subqueries, so a deep keyset page starts at the cursor."""
    teachers = visible(scope, Teacher)
    bounds = {}
    if after is not None:
        bounds["teacher_id__gt"] = after
        teachers = teachers.filter(id__gt=after)
    if before is not None:
        bounds["teacher_id__lt"] = before
        teachers = teachers.filter(id__lt=before)
    filters = filters or TeacherFilters()
    if filters.division:
        division = Division.objects.filter(code=filters.division).only("path").first()
        if division is None or not _division_meets_scope(division.path, scope):
            return teachers.none()
        is_leaf = not Division.objects.filter(parent=division).exists()
        teachers = teachers.filter(**path_lookup("division_path", division.path, is_leaf=is_leaf))
    if filters.school:
        teachers = teachers.filter(school__code=filters.school)
    if filters.stage:
        teachers = teachers.filter(stage=filters.stage)
    if filters.title:
        teachers = teachers.filter(title=filters.title)
    if filters.status:
        teachers = teachers.filter(status=filters.status)
    if filters.subject:
        # Subqueries of teacher ids, intersected with teachers already in scope.
        teachers = teachers.filter(
            id__in=TeacherSubject.objects.dangerously_unscoped().filter(subject=filters.subject, **bounds)
            .values("teacher_id")
        )
    if filters.honour:
        level, _, title = filters.honour.rpartition(":")
        honours = TeacherHonour.objects.dangerously_unscoped().filter(title=title, **bounds)
        if level:
            honours = honours.filter(level=level)
        teachers = teachers.filter(id__in=honours.values("teacher_id"))
    if filters.new_teacher:
        since = timezone.localdate() - dt.timedelta(days=365 * NEW_TEACHER_YEARS)
        teachers = teachers.filter(hire_date__gt=since)
    query = filters.q.strip()
    if query:
        number = id_search_number(query)
        if number is None:
            teachers = teachers.filter(name__startswith=query)
        else:
            # Only the answer of the counted, audited lookup: this selector never looks a number up.
            lookup = filters.id_lookup
            if lookup is None or not lookup.answers(scope=scope, number=number):
                raise IdLookupRequired("按身份证号查询须先经 people.id_lookup.teacher_id_lookup（计数并审计）")
            teachers = teachers.filter(pk=lookup.teacher_id) if lookup.teacher_id is not None else teachers.none()
    return teachers


def teacher_page(
    *, scope: Scope, filters: TeacherFilters, after: int | None = None, before: int | None = None, size: int = PAGE_SIZE
) -> TeacherPage:
    """Keyset pagination by id: every page costs the same, however deep."""
    base = teacher_queryset(scope=scope, filters=filters, after=after, before=before)
    if before is not None:
        rows = list(_with_list_relations(base.order_by("-id"))[: size + 1])
        has_more_before = len(rows) > size
        rows = list(reversed(rows[:size]))
        return TeacherPage(
            teachers=rows,
            next_after=rows[-1].pk if rows else None,
            prev_before=rows[0].pk if rows and has_more_before else None,
            filters=filters,
        )
    rows = list(_with_list_relations(base.order_by("id"))[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    return TeacherPage(
        teachers=rows,
        next_after=rows[-1].pk if rows and has_more else None,
        prev_before=rows[0].pk if rows and after is not None else None,
        filters=filters,
    )


def _division_meets_scope(path: str, scope: Scope) -> bool:
    """A division filter inside the scope narrows it; one above it changes nothing; any other
    is outside and selects nobody (never a wider list)."""
    return scope.path is not None and (path.startswith(scope.path) or scope.path.startswith(path))


def _with_list_relations(teachers: QuerySet[Teacher]) -> QuerySet[Teacher]:
    # Related prefetches (Meta.ordering orders them): children of rows already in scope.
    return teachers.select_related("school").prefetch_related(Prefetch("subjects"), Prefetch("honours"))


def teacher_get(*, scope: Scope, teacher_id: int) -> Teacher | None:
    return _with_list_relations(visible(scope, Teacher)).filter(pk=teacher_id).first()


def teacher_fetch(*, scope: Scope, teacher_id: int, action: str = Action.VIEW) -> Teacher:
    """The teacher if the viewer may do `action` to them; NotVisible (404) or Forbidden (403)."""
    teacher = teacher_get(scope=scope, teacher_id=teacher_id)
    if teacher is None:
        raise NotVisible("教师不存在或不在本辖区")
    require(scope, action, teacher)
    return teacher


def teacher_stage_title_counts(*, scope: Scope) -> list[dict]:
    """Teachers by stage and title in the viewer's jurisdiction (home-page chart)."""
    return list(
        visible(scope, Teacher)
        .filter(status="active")
        .values("stage", "title")
        .annotate(count=Count("id"))
        .order_by("stage", "title")
    )


# The fields of an audited teacher change, in words (people/services.teacher_snapshot).
CHANGE_LABELS = {"name": "姓名", "id_number": "身份证号（脱敏）", "school": "学校", "stage": "学段", "title": "职称",
                 "hire_date": "入职日期", "status": "状态", "subjects": "任教学科", "honours": "荣誉称号"}


def _honour_words(value: str) -> str:
    level, _, rest = value.partition(":")
    title, _, rest = rest.partition(":")
    awarded, _, expires = rest.partition(":")
    return (f"{HONOUR_LEVEL_LABELS.get(level, level)}{HONOUR_TITLE_LABELS.get(title, title)}（{awarded} 起"
            + (f"，{expires} 止）" if expires else "）"))


def teacher_history(*, scope: Scope, teacher: Teacher, limit: int = 20) -> list[tuple]:
    """The audited changes of a teacher's record as people read them: (log row, [(field, before,
    after)]), codes as words and schools by name; a fixed number of queries."""
    from audit.selectors import audit_event_list, audit_log_rows
    from org.constants import STAGE_LABELS

    events = list(audit_event_list(scope=scope, object_type="teacher", object_id=str(teacher.pk))[:limit])
    changes = [e.detail.get("changed") or {} if isinstance(e.detail, dict) else {} for e in events]
    codes = {v for change in changes for side in (change.get("school") or {}).values() for v in [side] if v}
    schools = dict(visible(scope, School).filter(code__in=codes).values_list("code", "name")) if codes else {}
    words = {"stage": STAGE_LABELS, "title": TITLE_LABELS, "status": STATUS_LABELS, "school": schools}

    def text(key: str, value) -> str:
        if isinstance(value, list):
            if key == "honours":
                return "、".join(_honour_words(v) for v in value) or "无"
            return "、".join(str(SUBJECT_LABELS.get(v, v)) for v in value) or "无"
        return str(words.get(key, {}).get(value, value)) if value not in ("", None) else "—"

    rows = audit_log_rows(scope=scope, events=events)
    return [(row, [(CHANGE_LABELS.get(key, key), text(key, side.get("before")), text(key, side.get("after")))
                   for key, side in change.items() if isinstance(side, dict)])
            for row, change in zip(rows, changes, strict=True)]
