"""The jurisdiction's projects for a year (项目统计), for division administrators, with
charts and an audited, rate-limited Excel export of the tables."""

import tempfile

from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.decorators import division_admin_required
from accounts.throttle import export_throttle
from audit.actions import Action
from audit.services import audit_record
from catalog.constants import ProjectState
from catalog.overview import (
    OVERVIEW_FORMATS,
    OVERVIEW_HEADER,
    jurisdiction_overview,
    overview_charts,
    overview_division,
    overview_sheet_rows,
)
from catalog.plans import HIGH_END_TARGET_PERCENT
from core.dbrouting import replica_view
from core.excel import exporter_name, write_table
from core.requests import client_ip, year_param


@replica_view
@division_admin_required
@require_GET
def jurisdiction_overview_view(request, scope):
    this_year = timezone.localdate().year
    year = year_param(request.GET.get("year"), this_year)
    division = overview_division(scope=scope, user=request.user, code=request.GET.get("division", ""))
    if division is None:
        raise Http404("区划不存在或不在本辖区")
    overview = jurisdiction_overview(scope=scope, division=division, year=year)
    if request.GET.get("format") == "xlsx":
        return _export(request, overview)
    return render(request, "catalog/jurisdiction_overview.html", {
        "overview": overview, "charts": overview_charts(overview), "years": range(this_year - 4, this_year + 2),
        "is_own": division.pk == request.user.division_id, "targets": HIGH_END_TARGET_PERCENT,
        "states": ProjectState.choices,
    })


def _export(request, overview):
    export_throttle(request.user)
    handle = tempfile.TemporaryFile()
    count = write_table(handle, sheet="项目统计", title=f"{overview.division.name} {overview.year} 年度培训项目统计",
                        jurisdiction=overview.division.name, exported_by=exporter_name(request.user),
                        header=OVERVIEW_HEADER, formats=OVERVIEW_FORMATS, rows=overview_sheet_rows(overview))
    audit_record(action=Action.OVERVIEW_EXPORT, actor=request.user, ip=client_ip(request),
                 scope_path=overview.division.path, object_type="overview", object_id=overview.division.code,
                 detail={"year": overview.year, "rows": count})
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=f"培训项目统计-{overview.division.name}-{overview.year}.xlsx")
