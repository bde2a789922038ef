"""The institution registry (培训机构名录), the accreditations expiring soon, their Excel exports
(audited), and the institution staff's home page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from access.policy import Action, visible
from catalog.models import Project
from catalog.selectors import blocked_reasons
from core import homes
from core.lists import division_choices, division_filter, paginate
from core.requests import client_ip, error_text
from institutions import registry
from institutions.models import Accreditation, TrainingBase
from institutions.views import accreditation_page
from org.constants import InstitutionKind


def _days(value) -> int:
    try:
        return max(1, min(registry.EXPIRING_DAYS_MAX, int(value)))
    except (TypeError, ValueError):
        return registry.EXPIRING_DAYS


@accreditation_page
@require_GET
def registry_list(request, scope):
    q, kind = request.GET.get("q", "").strip()[:50], request.GET.get("kind", "")[:30]
    in_force = {"1": True, "0": False}.get(request.GET.get("in_force", ""))
    division = request.GET.get("division", "").strip()[:6]
    try:
        division_path = division_filter(scope, division)
    except ValueError:
        messages.error(request, "所选区划不在本辖区")
        division, division_path = "", ""
    entries = registry.registry(scope, q=q, kind=kind, in_force=in_force, division_path=division_path)
    return render(request, "institutions/registry.html", {
        "page": paginate(request, entries), "kinds": InstitutionKind.choices, "divisions": division_choices(scope),
        "filters": {"q": q, "kind": kind, "in_force": request.GET.get("in_force", ""), "division": division},
        "labels": registry.LABELS})


@accreditation_page
@require_GET
def expiring_list(request, scope):
    days = _days(request.GET.get("days"))
    today = timezone.localdate()
    page = paginate(request, registry.expiring(scope, days=days, today=today))
    rows = [(row, (row.valid_until - today).days) for row in page]
    return render(request, "institutions/expiring.html", {"rows": rows, "page": page, "days": days,
                                                          "labels": registry.LABELS})


@accreditation_page
@require_GET
def registry_export(request, scope):
    try:
        handle, name, _ = registry.export(scope=scope, actor=request.user, kind=request.GET.get("kind", ""),
                                          days=_days(request.GET.get("days")), ip=client_ip(request))
    except ValidationError as error:  # an unknown kind or day count: said on the registry page
        messages.error(request, error_text(error))
        return redirect("institutions:registry")
    return FileResponse(handle, as_attachment=True, filename=name)


def staff_home(request, scope):
    """The home page of an institution's staff: what its projects need (registers not taken,
    completion owed), its accreditations, the projects it implements (and why any is held by
    the 准入 gate), what expires soon, its training bases."""
    today = timezone.localdate()
    projects = list(visible(scope, Project, Action.RUN).exclude(state="finished").select_related("organiser")
                    .order_by("starts_on", "code")[:50])
    return render(request, "institutions/home_staff.html", {
        "institution": request.user.institution,
        "accreditations": list(visible(scope, Accreditation).select_related("accrediting_division").order_by("-pk")[:20]),
        "expiring": [(row, (row.valid_until - today).days) for row in registry.expiring(scope, today=today)],
        "projects": projects, "blocked": blocked_reasons(projects, today),
        "bases": list(visible(scope, TrainingBase).order_by("name")), "labels": registry.LABELS,
        "unjudged": list(homes.ended_unjudged(scope, today)[:homes.SHORT_LIST]),
        "unrecorded": list(homes.sessions_without_attendance(scope, today)[:homes.SHORT_LIST])})
