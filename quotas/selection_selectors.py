"""Reads for the selection of nominees: rule sets, the high-end projects a division may rank for,
its lists, their picks and overrides. Every read goes through the access policy."""

from __future__ import annotations

from django.db.models import QuerySet

from access.policy import fetch, visible
from access.rules import ancestor_paths
from access.scope import Scope
from catalog.constants import ProjectState
from catalog.models import Project
from quotas.selection_models import (
    NominationList,
    NominationOverride,
    NominationPick,
    PriorityRuleSet,
)


def rule_sets(scope: Scope) -> QuerySet[PriorityRuleSet]:
    return (visible(scope, PriorityRuleSet).select_related("division", "created_by")
            .prefetch_related("rules").order_by("division_path", "-version"))


def rule_set_get(scope: Scope, rule_set_id: int) -> PriorityRuleSet:
    return fetch(scope, PriorityRuleSet, rule_set_id, select_related=("division", "created_by"))


def selection_projects(scope: Scope) -> QuerySet[Project]:
    """High-end projects, open or in draft, organised at or above the viewer's division (so they may
    rank their teachers for them)."""
    if not scope.is_division or not scope.path:
        return visible(scope, Project).none()
    return (visible(scope, Project).filter(is_high_end=True, organiser_school__isnull=True,
                                           division_path__in=ancestor_paths(scope.path),
                                           state__in=[ProjectState.DRAFT, ProjectState.OPEN])
            .select_related("organiser").order_by("-starts_on", "code"))


def lists(scope: Scope, *, project_id: int | None = None) -> QuerySet[NominationList]:
    rows = visible(scope, NominationList).select_related("project", "division", "rule_set__division", "built_by")
    if project_id is not None:
        rows = rows.filter(project_id=project_id)
    return rows.order_by("-built_at", "-id")


def list_get(scope: Scope, list_id: int) -> NominationList:
    return fetch(scope, NominationList, list_id,
                 select_related=("project", "division", "rule_set__division", "built_by", "submitted_by"))


def picks(nomination_list: NominationList, *, role: str = "") -> QuerySet[NominationPick]:
    """The list's picks (reached from a list fetched through the policy), selected first, then the
    reserve in rank order, then the dropped."""
    from django.db.models import Case, F, IntegerField, Value, When

    rows = nomination_list.picks.select_related("teacher__school")
    if role:
        rows = rows.filter(role=role)
    order = Case(When(role="selected", then=Value(0)), When(role="reserve", then=Value(1)), default=Value(2),
                 output_field=IntegerField())
    return rows.annotate(role_order=order).order_by("role_order", F("rank").asc(nulls_last=True), "id")


def overrides(nomination_list: NominationList) -> QuerySet[NominationOverride]:
    return nomination_list.overrides.select_related("pick__teacher", "moved__teacher", "actor").order_by("created_at",
                                                                                                         "id")
