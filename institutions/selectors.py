"""Reads of accreditations, through the access policy."""

from __future__ import annotations

from django.db.models import QuerySet

from access.policy import Action, can, visible
from access.scope import Scope
from institutions import machine
from institutions.constants import AccreditationState as S
from institutions.models import Accreditation
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
