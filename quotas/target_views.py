"""Pages of the high-end training task: a division's target, progress and projections with each
child's (drill-down by ?division=CODE), its chart and Excel export; the rate versions; the
baseline freeze; allocations (list, new, the arithmetic of one). Views parse the form, call one
selector or service and render; refusals come back as Chinese messages (422 with the form)."""

from __future__ import annotations

import tempfile

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Sum
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import DIVISION_ADMIN_ROLES, roles_required
from accounts.models import ADMIN_ROLES
from accounts.throttle import rate_limited
from audit.actions import Action as Audit
from audit.services import audit_record
from core.excel import exporter_name, new_workbook
from core.requests import client_ip, error_messages, error_text, year_param
from quotas import target_selectors as selectors
from quotas import targets as services
from quotas.target_models import TaskLevel

division_page = roles_required(DIVISION_ADMIN_ROLES)
admin_page = roles_required(ADMIN_ROLES)


@division_page
@require_GET
def targets_page(request, scope):
    today = timezone.localdate()
    division = selectors.division_for(scope, request.GET.get("division", ""))
    cycle = selectors.cycle_choose(request.GET.get("cycle", ""), today)
    view = selectors.targets_view(scope, division, cycle, today)
    if request.GET.get("format") == "xlsx":
        return _export(request, scope, view)
    from credits.models import Cycle

    return render(request, "quotas/targets.html", {
        "view": view, "chart": selectors.chart_options(view), "cycles": list(Cycle.objects.order_by("-starts_on")),
        "may_freeze": services.may_freeze(scope) and division.level == TaskLevel.PROVINCE,
        "may_allocate": services.may_allocate(scope, division), "is_home": division.path == scope.path,
        "parent_code": division.parent.code if division.parent_id and division.path != scope.path else ""})


def _export(request, scope, view: selectors.TargetsView):
    if rate_limited("export", str(request.user.pk), limit=settings.EXPORT_MAX_PER_HOUR, seconds=3600):
        raise PermissionDenied("导出过于频繁，请稍后再试")
    from core.excel import add_table

    book = new_workbook()
    header = ["区划代码", "区划", "层级", "教师数", "基数状态", "统计日期", "比例%", "任务数", "已完成", "完成率%",
              "按当前进度预计", "已批计划未结业名额", "按已批计划预计", "预计未完成"]
    rows = [[r.code, r.name, r.level_label, r.teachers, "已冻结" if r.frozen else "实时（未冻结）",
             r.counted_on.isoformat(), str(r.rate or ""), r.target, r.completed, r.percent, r.pace, r.open_seats,
             r.planned, "是" if r.at_risk else ""] for r in view.rows]
    count = add_table(book, sheet="高端培训任务", title=f"{view.division.name}{view.cycle.code}周期高端培训任务进度",
                      jurisdiction=scope.label, exported_by=exporter_name(request.user), header=header, rows=rows)
    if view.schools:
        count += add_table(book, sheet="学校", title=f"{view.division.name}各校县级高端培训完成情况",
                           jurisdiction=scope.label, exported_by=exporter_name(request.user),
                           header=["学校代码", "学校", "在职教师", "已完成（县级）"],
                           rows=[[s.school.code, s.school.name, s.teachers, s.completed] for s in view.schools])
    audit_record(action=Audit.QUOTA_TARGETS_EXPORT, actor=request.user, ip=client_ip(request),
                 scope_path=view.division.path, object_type="division", object_id=view.division.pk,
                 detail={"cycle": view.cycle.code, "rows": count})
    handle = tempfile.TemporaryFile()
    book.save(handle)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=f"高端培训任务-{view.division.code}-{view.cycle.code}.xlsx")


@division_page
@require_http_methods(["GET", "POST"])
def rates_page(request, scope):
    values = {"level": "", "percent": "", "effective_from": "", "note": ""}
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        values.update({key: request.POST.get(key, "") for key in values})
        try:
            row = services.rate_add(scope=scope, actor=request.user, ip=client_ip(request), **values)
        except ValidationError as error:
            errors, status = error_messages(error), 422
        else:
            messages.success(request, f"已新增{row}")
            return redirect("quotas:target_rates")
    return render(request, "quotas/rates.html", {
        "rows": selectors.rate_versions(scope), "may_edit": services.may_set_rates(scope), "values": values,
        "errors": errors, "levels": TaskLevel.choices}, status=status)


@division_page
@require_POST
def baseline_freeze(request, scope):
    try:
        summary = services.baseline_freeze(scope=scope, actor=request.user, cycle_code=request.POST.get("cycle", ""),
                                           ip=client_ip(request))
    except ValidationError as error:
        messages.error(request, error_text(error))
        return redirect("quotas:targets")
    messages.success(request, f"已冻结{summary['cycle']}周期教师基数：新冻结{summary['frozen']}个区划，"
                              f"此前已冻结{summary['already']}个（统计日期{summary['counted_on']}）")
    return redirect(f"{reverse('quotas:targets')}?cycle={summary['cycle']}")


@admin_page
@require_GET
def allocation_list(request, scope):
    year = year_param(request.GET.get("year"))
    rows = []
    division = None
    if scope.is_division:
        division = selectors.division_for(scope, request.GET.get("division", ""))
        rows = list(selectors.allocations(scope, division=division, year=year or None)[:200])
    return render(request, "quotas/allocation_list.html", {
        "rows": rows, "division": division, "year": year or "",
        "received": selectors.received_shares(scope, year or None),
        "may_allocate": division is not None and services.may_allocate(scope, division)})


@division_page
@require_http_methods(["GET", "POST"])
def allocation_new(request, scope):
    division = selectors.division_for(scope, request.POST.get("division") or request.GET.get("division", ""))
    if not services.may_allocate(scope, division):
        raise PermissionDenied("无权为该区划分配名额（省直管县由省级分配）")
    kind, children = selectors.allocation_children(scope, division)
    today = timezone.localdate()
    values = {"year": str(today.year), "total": "", "basis": "teachers", "note": ""}
    errors: list[str] = []
    status = 200
    weights_in: dict[str, str] = {}
    if request.method == "POST":
        values.update({key: request.POST.get(key, "") for key in values})
        weights_in = {c.code: request.POST.get(f"w_{c.code}", "") for c in children}
        try:
            row = services.allocation_create(
                scope=scope, actor=request.user, division_code=division.code, year=year_param(values["year"]),
                total=values["total"], weights=weights_in if values["basis"] == "weights" else None,
                note=values["note"], ip=client_ip(request))
        except ValidationError as error:
            errors, status = error_messages(error), 422
        else:
            messages.success(request, f"已保存{row.year}年度名额分配第{row.version}版")
            return redirect("quotas:allocation_detail", allocation_id=row.pk)
    cycle = selectors.cycle_choose("", today)
    teachers = selectors.child_teachers(scope, division, kind, children, cycle)
    return render(request, "quotas/allocation_new.html", {
        "division": division, "kind": kind, "values": values, "errors": errors,
        "children": [{"code": c.code, "name": c.name, "teachers": teachers.get(c.code, 0),
                      "weight": weights_in.get(c.code, ""), "direct": getattr(c, "is_direct_county", False)}
                     for c in children]}, status=status)


@admin_page
@require_GET
def allocation_detail(request, scope, allocation_id: int):
    row = selectors.allocation_get(scope, allocation_id)
    shares = selectors.allocation_shares(scope, row)
    whole = row.shares.aggregate(weight=Sum("weight"), n=Count("id"))
    total_weight = whole["weight"] or 0
    for share in shares:
        share.percent = round(share.weight * 100 / total_weight, 2) if total_weight else 0  # type: ignore[attr-defined]
    return render(request, "quotas/allocation_detail.html", {
        "allocation": row, "shares": shares, "sees_all": len(shares) == whole["n"],
        "history": list(selectors.allocations(scope, division=row.division, year=row.year))})
