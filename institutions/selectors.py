"""Reads of accreditations and training bases, through the access policy."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from access.policy import Action, can, visible
from access.scope import Scope
from institutions import machine
from institutions.bases import term_bounds, term_label, term_of
from institutions.constants import AccreditationState as S
from institutions.constants import BaseKind
from institutions.models import Accreditation, TrainingBase
from org.models import Institution


def accreditations(scope: Scope, *, state: str = "", q: str = "", to_decide: bool = False) -> QuerySet[Accreditation]:
    rows = visible(scope, Accreditation, Action.DECIDE if to_decide else Action.VIEW)
    if to_decide:
        rows = rows.filter(state__in=[S.SUBMITTED, S.RENEWAL_SUBMITTED])
    if state in S.values:
        rows = rows.filter(state=state)
    if q:
        rows = rows.filter(institution__name__icontains=q[:50])
    return rows.select_related("institution", "accrediting_division").order_by("-pk")


def accreditation_get(scope: Scope, accreditation_id: int) -> Accreditation | None:
    if not isinstance(accreditation_id, int) or accreditation_id <= 0:
        return None
    return (visible(scope, Accreditation).select_related("institution", "accrediting_division", "criteria",
                                                          "applied_by", "decided_by")
            .filter(pk=accreditation_id).first())


def institutions_to_apply_for(scope: Scope) -> QuerySet[Institution]:
    """The institutions this viewer may apply for: their own (staff), or those of their writable
    jurisdiction (division administrators)."""
    return visible(scope, Institution, Action.VIEW).select_related("division").order_by("code")


def what_may_be_done(scope: Scope, row: Accreditation) -> dict[str, bool]:
    """Which forms the application's page shows to this viewer."""
    change, decide = can(scope, Action.CHANGE, row), can(scope, Action.DECIDE, row)
    state = row.state
    return {
        "evidence": change and state in (S.DRAFT, S.RETURNED),
        "submit": change and state in machine.TRANSITIONS["submit"].sources,
        "renew": change and state in machine.TRANSITIONS["renew"].sources,
        "decide": decide and state in machine.DECISIONS,
        "return": decide and "return" in machine.DECISIONS.get(state, {}),
        "suspend": decide and state in machine.TRANSITIONS["suspend"].sources,
        "reinstate": decide and state in machine.TRANSITIONS["reinstate"].sources,
        "revoke": decide and state in machine.TRANSITIONS["revoke"].sources,
    }


# --- training bases -------------------------------------------------------------------------

def training_bases(scope: Scope, *, level: str = "", kind: str = "", stage: str = "", subject: str = "", q: str = "",
                   action: str = Action.VIEW) -> QuerySet[TrainingBase]:
    """The registry of bases, filtered (stages and subjects are matched on their stored lists)."""
    rows = visible(scope, TrainingBase, action).select_related("division", "institution", "school")
    if level in ("province", "city", "county"):
        rows = rows.filter(division__level=level)
    if kind in BaseKind.values:
        rows = rows.filter(kind=kind)
    if stage:
        rows = rows.filter(stages__icontains=f'"{stage[:20]}"')
    if subject:
        rows = rows.filter(Q(subjects=[]) | Q(subjects__icontains=f'"{subject[:30]}"'))
    if q:
        rows = rows.filter(name__icontains=q[:50])
    return rows.order_by("division_path", "name")


def training_base_get(scope: Scope, base_id: int) -> TrainingBase | None:
    if not isinstance(base_id, int) or not 0 < base_id < 2**62:
        return None
    return visible(scope, TrainingBase).select_related("division", "institution", "school").filter(pk=base_id).first()


def term_usage(base_list: list[TrainingBase], term: tuple[int, str]) -> dict[int, int]:
    """{base id: 跟岗 seats its projects hold in `term`} for a page of bases (one query)."""
    from catalog.models import Project

    first, last = term_bounds(term)
    used: dict[int, int] = dict.fromkeys((b.pk for b in base_list), 0)
    rows = (Project.objects.dangerously_unscoped().filter(base__in=[b.pk for b in base_list], starts_on__lte=last,
                                                          ends_on__gte=first)
            .values_list("base_id", "seats"))
    for base_id, seats in rows:
        used[base_id] += seats
    return used


def base_schedule(base: TrainingBase, *, today, terms: int = 4) -> list[dict]:
    """The base's current and coming terms: capacity, seats held, seats left and the projects
    holding them (titles and organisers are the province's published library)."""
    wanted = [term_of(today)]
    while len(wanted) < terms:
        wanted.append(term_of(term_bounds(wanted[-1])[1] + dt.timedelta(days=1)))
    first, last = term_bounds(wanted[0])[0], term_bounds(wanted[-1])[1]
    projects = list(base.projects.filter(starts_on__lte=last, ends_on__gte=first).select_related("organiser")
                    .order_by("starts_on", "code"))
    schedule = []
    for term in wanted:
        start, end = term_bounds(term)
        held = [p for p in projects if p.starts_on <= end and p.ends_on >= start]
        used = sum(p.seats for p in held)
        schedule.append({"term": term_label(term), "seats": base.seats_per_term, "used": used,
                         "left": max(0, base.seats_per_term - used), "projects": held})
    return schedule
