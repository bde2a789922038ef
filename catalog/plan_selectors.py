"""Reads of annual plans: which plans a viewer sees, which wait for their review, and
everything a plan page shows (projects, rule problems, warnings, stored overlaps)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import Role
from catalog.constants import PlanState
from catalog.models import AnnualPlan, PlanConflict, Project
from catalog.plans import high_end_share, may_plan, may_review, plan_warnings, positioning_problems
from org.scope import Scope


def plan_queryset(*, scope: Scope, year: int | None = None, state: str = "") -> QuerySet[AnnualPlan]:
    """Plans of the viewer's jurisdiction (a school administrator: their school's)."""
    plans = scope.apply(AnnualPlan.objects.all(), path_field="division_path", school_field="school_id")
    if year:
        plans = plans.filter(year=year)
    if state:
        plans = plans.filter(state=state)
    return (plans.select_related("division", "school")
            .annotate(project_count=Count("projects", distinct=True), seat_total=Sum("projects__seats"))
            .order_by("-year", "division_path", "school__name"))


def plans_to_review(*, user) -> QuerySet[AnnualPlan]:
    """Submitted plans this account decides on."""
    if user.role not in (Role.PROVINCE_ADMIN, Role.CITY_ADMIN, Role.COUNTY_ADMIN) or not user.division_id:
        return AnnualPlan.objects.none()
    submitted = AnnualPlan.objects.filter(state=PlanState.SUBMITTED).select_related("division", "school")
    if user.role == Role.COUNTY_ADMIN:
        return submitted.filter(division_id=user.division_id, school__isnull=False)
    if user.role == Role.CITY_ADMIN:
        return submitted.filter(school__isnull=True, division__parent_id=user.division_id,
                                division__is_direct_county=False)
    province = Q(school__isnull=True) & (Q(division__level="city") | Q(division__is_direct_county=True)
                                          | (Q(division_id=user.division_id) & ~Q(submitted_by_id=user.pk)))
    return submitted.filter(province)


def plan_get(*, scope: Scope, plan_id: int) -> AnnualPlan | None:
    return plan_queryset(scope=scope).filter(pk=plan_id).first()


@dataclass
class PlanView:
    plan: AnnualPlan
    projects: list[Project]
    problems: list[str]
    warnings: list[str]
    high_end: dict | None
    conflicts: list[PlanConflict]
    unplanned: list[Project]
    can_edit: bool
    can_review: bool


def plan_view(*, user, plan: AnnualPlan) -> PlanView:
    projects = list(plan.projects.select_related("institution").order_by("starts_on", "code"))
    conflicts = list(PlanConflict.objects.filter(plan=plan)
                     .select_related("project", "other", "other__organiser", "other__organiser_school"))
    unplanned = list(Project.objects.filter(organiser_id=plan.division_id, organiser_school_id=plan.school_id,
                                            starts_on__year=plan.year, plan__isnull=True).order_by("starts_on"))
    return PlanView(plan=plan, projects=projects, problems=positioning_problems(plan, projects),
                    warnings=plan_warnings(plan, projects), high_end=high_end_share(plan, projects),
                    conflicts=conflicts, unplanned=unplanned,
                    can_edit=may_plan(user, plan), can_review=may_review(user, plan) and plan.state == PlanState.SUBMITTED)


def year_overlaps(*, scope: Scope, year: int) -> list:
    """Every overlap of a year among published projects and projects of submitted or approved
    plans, for the jurisdiction's projects (the province: all ~5,000 pairs-wise; a city or
    county: those with at least one of its own projects). Other units' drafts are left out."""
    from catalog.conflicts import find_overlaps
    from catalog.plans import comparison_pool

    if scope.path is None or scope.school_id is not None:
        return []
    pool = comparison_pool(year)
    own = {p.pk for p in pool if p.division_path.startswith(scope.path)}
    if not own:
        return []
    return find_overlaps(pool, checked=None if len(own) == len(pool) else own)
