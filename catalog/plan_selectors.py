"""Reads of annual plans: which plans a viewer sees, which wait for their review, and
everything a plan page shows (projects, rule problems, warnings, stored overlaps)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet, Sum

from access.policy import Action, visible
from access.rules import InJurisdiction
from access.scope import Scope
from catalog.constants import PlanState
from catalog.models import AnnualPlan, PlanConflict, Project
from catalog.plans import high_end_share, may_plan, may_review, plan_warnings, positioning_problems


def plan_queryset(*, scope: Scope, year: int | None = None, state: str = "", level: str = "",
                  division_path: str = "") -> QuerySet[AnnualPlan]:
    """Plans of the viewer's jurisdiction (a school administrator: their school's), optionally
    of one year, state, level, or division subtree (a path already checked to be in scope)."""
    plans = visible(scope, AnnualPlan)
    if year:
        plans = plans.filter(year=year)
    if state:
        plans = plans.filter(state=state)
    if level:
        plans = plans.filter(level=level)
    if division_path:
        plans = plans.filter(division_path__startswith=division_path)
    return (plans.select_related("division", "school")
            .annotate(project_count=Count("projects", distinct=True), seat_total=Sum("projects__seats"))
            .order_by("-year", "division_path", "school__name"))


def plan_years(*, scope: Scope) -> list[int]:
    """The years the viewer's plans cover, newest first (the year filter's choices)."""
    return sorted(set(visible(scope, AnnualPlan).values_list("year", flat=True).distinct()), reverse=True)


def plans_to_review(*, scope: Scope) -> QuerySet[AnnualPlan]:
    """Submitted plans this account decides on (access.policy: the level above, not the submitter)."""
    return visible(scope, AnnualPlan, Action.DECIDE).filter(state=PlanState.SUBMITTED).select_related("division", "school")


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


def plan_view(*, scope: Scope, plan: AnnualPlan) -> PlanView:
    projects = list(plan.projects.select_related("institution").order_by("starts_on", "code"))
    conflicts = list(plan.conflicts.select_related("project", "other", "other__organiser", "other__organiser_school"))
    from catalog.conflicts import readable_reason

    for conflict in conflicts:  # overlaps stored by older checks named audience codes
        conflict.reasons = [readable_reason(reason) for reason in conflict.reasons]
    unplanned = list(visible(scope, Project).filter(organiser_id=plan.division_id, organiser_school_id=plan.school_id,
                                                    starts_on__year=plan.year, plan__isnull=True).order_by("starts_on"))
    return PlanView(plan=plan, projects=projects, problems=positioning_problems(plan, projects),
                    warnings=plan_warnings(scope, plan, projects), high_end=high_end_share(scope, plan, projects),
                    conflicts=conflicts, unplanned=unplanned, can_edit=may_plan(scope, plan),
                    can_review=may_review(scope, plan) and plan.state == PlanState.SUBMITTED)


def year_overlaps(*, scope: Scope, year: int) -> list:
    """Every overlap of a year among published projects and projects of submitted or approved
    plans, for the jurisdiction's projects (the province: all ~5,000 pairs-wise; a city or
    county: those with at least one of its own projects). Other units' drafts are left out."""
    from catalog.conflicts import find_overlaps
    from catalog.plans import comparison_pool

    if scope.path is None or scope.school_id is not None:
        return []
    pool = comparison_pool(year)
    in_jurisdiction = InJurisdiction("division_path", "organiser_school_id")
    own = {p.pk for p in pool if in_jurisdiction.test(scope, p)}
    if not own:
        return []
    return find_overlaps(pool, checked=None if len(own) == len(pool) else own)
