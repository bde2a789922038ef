"""Writes of the course library: registering providers and curating courses (publish,
retire, merge duplicates). Importing catalogues is learning.catalogue.

Publishing registers the course's activity IRI as a credited activity of the LRS (through
lrs.credited, as the division administrator acting), so a completion reported to /xapi/
earns the course's hours in its category; retiring stops that. A merged duplicate is
retired: its completions and ratings fold into the course it was merged into, and its IRI
is no longer credited (a teacher who finishes the duplicate on the provider's platform
after the merge earns nothing for it; the course it was merged into is the one to take).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from access.policy import Action, fetch, require, visible
from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record
from learning.constants import CourseState, ProviderKind
from learning.models import Course, Provider
from lrs.credited import ABSOLUTE_IRI, credited_activity_create, credited_activity_set_active
from org.models import Division

PROVIDER_CODE_CHARACTERS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


@transaction.atomic
def provider_create(*, scope: Scope, actor, division: Division, code: str, name: str, kind: str,
                    iri_base: str = "", ip: str | None = None) -> Provider:
    code, name, iri_base = (code or "").strip().lower(), (name or "").strip(), (iri_base or "").strip()
    problems: dict[str, str] = {}
    if not code or len(code) > 40 or not set(code) <= PROVIDER_CODE_CHARACTERS:
        problems["code"] = "代码不能为空，只能含小写字母、数字和 - _ .，不超过40字"
    if not name or len(name) > 100:
        problems["name"] = "名称不能为空且不超过100字"
    if kind not in ProviderKind.values:
        problems["kind"] = f"未知的提供方类型：{kind}"
    if iri_base and (not ABSOLUTE_IRI.match(iri_base) or len(iri_base) > 300):
        problems["iri_base"] = "活动 IRI 前缀应为完整的 IRI（如 https://…/course/）"
    if problems:
        raise ValidationError(problems)
    row = Provider(code=code, name=name, kind=kind, iri_base=iri_base, division=division, division_path=division.path,
                   created_by=actor if actor is not None and actor.pk else None)
    require(scope, Action.CHANGE, row)
    # Codes and names are unique province-wide; every division administrator sees every provider.
    taken = visible(scope, Provider)
    if taken.filter(code=code).exists():
        raise ValidationError({"code": "该代码已被使用"})
    if taken.filter(name=name).exists():
        raise ValidationError({"name": "该名称已登记"})
    row.save(force_insert=True)
    audit_record(action=Audit.LEARNING_PROVIDER_CREATE, actor=actor, ip=ip, scope_path=row.division_path,
                 object_type="provider", object_id=row.pk, detail={"code": code, "name": name, "kind": kind})
    return row


def _credit(*, scope: Scope, actor, course: Course, ip: str | None) -> None:
    """Make the course's IRI credited with its current hours and category: re-activate its
    registration when that still says the same, else register anew (the old one stays off)."""
    credited = course.credited_activity
    if (credited is not None and credited.activity_iri == course.activity_iri and credited.hours == course.hours
            and credited.category == course.category and credited.division_id == course.division_id):
        if not credited.active:
            credited_activity_set_active(scope=scope, actor=actor, credited_id=credited.pk, active=True, ip=ip)
        return
    if credited is not None and credited.active:
        credited_activity_set_active(scope=scope, actor=actor, credited_id=credited.pk, active=False, ip=ip)
    course.credited_activity = credited_activity_create(
        scope=scope, actor=actor, division=course.division, activity_iri=course.activity_iri, title=course.title,
        hours=course.hours, category=course.category, ip=ip)


def _uncredit(*, scope: Scope, actor, course: Course, ip: str | None) -> None:
    if course.credited_activity is not None and course.credited_activity.active:
        credited_activity_set_active(scope=scope, actor=actor, credited_id=course.credited_activity.pk, active=False,
                                     ip=ip)


@transaction.atomic
def course_publish(*, scope: Scope, actor, course_id: int, ip: str | None = None) -> Course:
    """Open the course to the teachers of its division and below, and credit its IRI."""
    course = fetch(scope, Course, course_id, Action.CHANGE, lock=True)
    if course.merged_into_id is not None:
        raise ValidationError({"state": "该课程已合并到另一门课程，不能再发布"})
    if course.state == CourseState.PUBLISHED:
        return course
    _credit(scope=scope, actor=actor, course=course, ip=ip)
    course.state, course.published_at = CourseState.PUBLISHED, timezone.now()
    course.save(update_fields=["state", "published_at", "credited_activity", "updated_at"])
    audit_record(action=Audit.LEARNING_COURSE_PUBLISH, actor=actor, ip=ip, scope_path=course.division_path,
                 object_type="course", object_id=course.pk,
                 detail={"code": course.code, "iri": course.activity_iri, "credited": course.credited_activity_id})
    return course


@transaction.atomic
def course_retire(*, scope: Scope, actor, course_id: int, ip: str | None = None) -> Course:
    """Take the course off the library; its IRI earns no more hours (hours earned stay)."""
    course = fetch(scope, Course, course_id, Action.CHANGE, lock=True)
    if course.state == CourseState.RETIRED:
        return course
    _uncredit(scope=scope, actor=actor, course=course, ip=ip)
    course.state = CourseState.RETIRED
    course.save(update_fields=["state", "updated_at"])
    audit_record(action=Audit.LEARNING_COURSE_RETIRE, actor=actor, ip=ip, scope_path=course.division_path,
                 object_type="course", object_id=course.pk, detail={"code": course.code})
    return course


@transaction.atomic
def course_merge(*, scope: Scope, actor, course_id: int, into_id: int, ip: str | None = None) -> Course:
    """Merge the duplicate `course_id` into `into_id`: the duplicate is retired with
    merged_into set, its completions and ratings move to the course kept, courses merged into
    the duplicate earlier now point at the course kept. Returns the course kept."""
    if course_id == into_id:
        raise ValidationError({"into_id": "不能把课程合并到它自己"})
    # Both rows locked in id order, so two merges of the same pair cannot deadlock.
    rows = {pk: fetch(scope, Course, pk, Action.CHANGE, lock=True) for pk in sorted((course_id, into_id))}
    duplicate, kept = rows[course_id], rows[into_id]
    if duplicate.merged_into_id is not None:
        raise ValidationError({"state": "该课程已合并过"})
    if kept.merged_into_id is not None:
        raise ValidationError({"into_id": "目标课程已合并到另一门课程，请合并到那门课程"})
    if kept.state == CourseState.RETIRED:
        raise ValidationError({"into_id": "目标课程已下架，请合并到在用的课程"})
    moved = {"completion_count": duplicate.completion_count, "rating_sum": duplicate.rating_sum,
             "rating_count": duplicate.rating_count}
    _uncredit(scope=scope, actor=actor, course=duplicate, ip=ip)
    for name, value in moved.items():
        setattr(kept, name, getattr(kept, name) + value)
        setattr(duplicate, name, 0)
    kept.save(update_fields=[*moved, "updated_at"])
    duplicate.state, duplicate.merged_into = CourseState.RETIRED, kept
    duplicate.save(update_fields=[*moved, "state", "merged_into", "updated_at"])
    duplicate.merged.update(merged_into=kept)  # earlier merges into the duplicate: rows reached from it
    audit_record(action=Audit.LEARNING_COURSE_MERGE, actor=actor, ip=ip, scope_path=duplicate.division_path,
                 object_type="course", object_id=duplicate.pk,
                 detail={"code": duplicate.code, "into": kept.pk, "into_code": kept.code,
                         **{key: value for key, value in moved.items() if value}})
    return kept
