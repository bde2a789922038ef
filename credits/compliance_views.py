"""Compliance pages: province → city → county → school → teacher drill-down,
with charts and a logged Excel export of every list, within the viewer's scope."""

import tempfile

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from access.policy import Action, can
from accounts.decorators import admin_required
from accounts.throttle import export_throttle
from core.dbrouting import replica_view
from core.lists import paginate
from core.requests import client_ip
from credits import compliance_selectors as selectors
from credits.compliance import compliance_export, compliance_refresh_request
from credits.models import Cycle
from credits.selectors import current_cycle


def _cycle(request) -> Cycle:
    cycle = Cycle.objects.filter(code=request.GET.get("cycle", "")[:20]).first() or current_cycle()
    if cycle is None:
        raise Http404("没有继续教育周期")
    return cycle


def _refresh_state(request, cycle: Cycle):
    """The snapshot's time; a stale or missing one is queued for a rebuild (eager: rebuilt now)."""
    refresh = selectors.compliance_refreshed(cycle)
    if selectors.compliance_is_stale(refresh, max_age_minutes=settings.COMPLIANCE_MAX_AGE_MINUTES):
        compliance_refresh_request(cycle)
        refresh = selectors.compliance_refreshed(cycle)
    return refresh


def _export(request, scope, *, cycle, title: str, total, children=None, standings=None):
    export_throttle(request.user)
    handle = tempfile.TemporaryFile()
    compliance_export(actor=request.user, scope_path=scope.path or "", title=title, cycle=cycle, total=total,
                      children=children, standings=standings, destination=handle, ip=client_ip(request))
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=f"学时达标-{title}-{cycle.code}.xlsx")


@admin_required
@require_GET
def compliance_home(request, scope):
    """Start at the viewer's own level: their division, or their school."""
    if scope.school_id is not None:
        return redirect("credits:compliance_school", school_id=scope.school_id)
    code = scope.path.rstrip(".").rsplit(".", 1)[-1] if scope.path else ""
    return redirect("credits:compliance_division", code=code)


@replica_view
@admin_required
@require_http_methods(["GET", "POST"])
def compliance_division(request, scope, code: str):
    division = selectors.compliance_division(scope=scope, code=code)
    if division is None:
        raise Http404("区划不存在或不在本辖区")
    cycle = _cycle(request)
    if request.method == "POST":
        queued = compliance_refresh_request(cycle)
        messages.success(request, "已开始重新统计。" if queued else "统计正在进行，请稍后刷新页面。")
        return redirect(f"{request.path}?cycle={cycle.code}")
    refresh = _refresh_state(request, cycle)
    total, children = selectors.division_rollup(scope=scope, cycle=cycle, division=division)
    if request.GET.get("format") == "xlsx":
        return _export(request, scope, cycle=cycle, title=division.name, total=total, children=children)
    parents: list = []
    parent = division.parent
    while parent is not None and can(scope, Action.VIEW, parent):
        parents.insert(0, parent)
        parent = parent.parent
    return render(request, "credits/compliance_division.html", {
        "division": division, "parents": parents, "cycle": cycle, "cycles": Cycle.objects.all(), "refresh": refresh,
        "total": total, "children": children, "charts": selectors.rollup_charts(total, children),
        "page": paginate(request, children),  # the table pages; the charts and the 合计 cover every child
        "children_are_schools": bool(children) and children[0].school_id is not None,
    })


@replica_view
@admin_required
@require_GET
def compliance_school(request, scope, school_id: int):
    school = selectors.compliance_school(scope=scope, school_id=school_id)
    if school is None:
        raise Http404("学校不存在或不在本辖区")
    cycle = _cycle(request)
    behind_only = request.GET.get("behind") == "1"
    standings = selectors.school_standings(cycle=cycle, school=school, behind_only=behind_only)
    refresh = _refresh_state(request, cycle)
    total = selectors.school_rollup(scope=scope, cycle=cycle, school=school)
    if request.GET.get("format") == "xlsx":
        if scope.teacher_id is not None:
            raise PermissionDenied
        return _export(request, scope, cycle=cycle, title=school.name, total=total, standings=standings)
    division_link = selectors.compliance_division(scope=scope, code=school.division.code)
    return render(request, "credits/compliance_school.html", {
        "school": school, "cycle": cycle, "cycles": Cycle.objects.all(), "refresh": refresh, "total": total,
        "standings": standings, "behind_only": behind_only, "division_link": division_link,
        "charts": selectors.rollup_charts(total, []),
    })
