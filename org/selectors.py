"""Reads of divisions and schools within a Scope."""

from django.core.cache import cache
from django.db.models import Count, QuerySet

from access.policy import visible
from access.scope import Scope
from org.models import Division, Institution, ResearchCommunity, School


def division_list(*, scope: Scope, parent_code: str = "", level: str = "") -> QuerySet[Division]:
    """Divisions in the viewer's subtree (a school admin sees its county)."""
    if scope.path is None:
        return Division.objects.none()
    divisions = Division.objects.filter(path__startswith=scope.path).select_related("parent")
    if parent_code:
        divisions = divisions.filter(parent__code=parent_code)
    if level:
        divisions = divisions.filter(level=level)
    return divisions.order_by("code")


def division_get(*, scope: Scope, code: str) -> Division | None:
    return division_list(scope=scope).filter(code=code).first()


def school_list(*, scope: Scope, division_code: str = "", q: str = "", stage: str = "") -> QuerySet[School]:
    schools = visible(scope, School).select_related("division")
    if division_code:
        division = Division.objects.filter(code=division_code).only("path").first()
        if division is None:
            return schools.none()
        schools = schools.filter(division_path__startswith=division.path)
    if q:
        schools = schools.filter(name__contains=q)
    if stage:
        # Stages are a short JSON list; match the quoted code inside it.
        schools = schools.filter(stages__icontains=f'"{stage}"')
    return schools.order_by("code")


def institution_list(*, scope: Scope, kind: str = "") -> QuerySet[Institution]:
    institutions = visible(scope, Institution).select_related("division")
    if kind:
        institutions = institutions.filter(kind=kind)
    return institutions.order_by("division_path", "code")


def community_list(*, scope: Scope) -> QuerySet[ResearchCommunity]:
    communities = visible(scope, ResearchCommunity).select_related("division", "chief_teacher")
    return communities.annotate(school_count=Count("schools")).order_by("division_path", "name")


def school_count(*, scope: Scope) -> int:
    key = f"home:school-count:{scope.path}:{scope.school_id}"
    return int(cache.get_or_set(key, lambda: visible(scope, School).count(), 600) or 0)


def school_get(*, scope: Scope, code: str) -> School | None:
    return visible(scope, School).select_related("division").filter(code=code).first()


def school_teacher_counts(*, scope: Scope, school_ids: list[int]) -> dict[int, int]:
    from people.models import Teacher

    rows = (
        visible(scope, Teacher).filter(school_id__in=school_ids, status="active")
        .values("school_id").annotate(n=Count("id"))
    )
    return {row["school_id"]: row["n"] for row in rows}
