"""Annual plan pages: the unit's plans and those awaiting review; one plan with its
projects, rule problems, high-end target, overlaps and the draft → submit → decide steps."""

import tempfile

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from access.policy import Action as Can
from access.policy import can
from accounts.decorators import admin_required, division_admin_required
from accounts.throttle import export_throttle
from audit.actions import Action
from audit.services import audit_record
from catalog.constants import Level, PlanState
from catalog.plan_selectors import (
    plan_get,
    plan_queryset,
    plan_view,
    plan_years,
    plans_to_review,
    year_overlaps,
)
from catalog.plans import (
    plan_check_by,
    plan_create,
    plan_decide,
    plan_owner_of,
    plan_project_remove,
    plan_projects_add,
    plan_submit,
)
from core.excel import COUNT, HOURS, MONEY, exporter_name, write_table
from core.lists import division_choices, division_filter, paginate
from core.requests import client_ip, error_text, object_id, year_param


@admin_required
@require_http_methods(["GET", "POST"])
def plan_list(request, scope):
    this_year = timezone.localdate().year
    if request.method == "POST":
        try:
            plan = plan_create(scope=scope, actor=request.user, year=year_param(request.POST.get("year"), 0),
                               note=request.POST.get("note", ""))
        except ValidationError as problem:
            messages.error(request, error_text(problem))
        except PermissionDenied as problem:
            messages.error(request, str(problem))
        else:
            messages.success(request, f"已建立{plan}，本单位该年度尚未纳入计划的项目已自动列入。")
            return redirect("catalog:plan_detail", plan_id=plan.pk)
        return redirect("catalog:plan_list")
    year = year_param(request.GET.get("year"), 0) or None
    state = request.GET.get("state", "") if request.GET.get("state") in PlanState.values else ""
    level = request.GET.get("level", "") if request.GET.get("level") in Level.values else ""
    division = request.GET.get("division", "").strip()[:6]
    try:
        division_path = division_filter(scope, division)
    except ValueError:
        messages.error(request, "所选区划不在本辖区")
        division, division_path = "", ""
    page = paginate(request, plan_queryset(scope=scope, year=year, state=state, level=level, division_path=division_path))
    return render(request, "catalog/plan_list.html", {
        "page": page, "to_review": list(plans_to_review(scope=scope)),
        "filters": {"year": year or "", "state": state, "level": level, "division": division},
        "states": PlanState.choices, "levels": Level.choices, "divisions": division_choices(scope),
        "plan_years": plan_years(scope=scope), "may_plan": plan_owner_of(scope) is not None,
        "years": range(this_year - 2, this_year + 3), "next_year": this_year + 1,
    })


@admin_required
@require_http_methods(["GET", "POST"])
def plan_detail(request, scope, plan_id: int):
    plan = plan_get(scope=scope, plan_id=plan_id)
    if plan is None:
        raise Http404("计划不存在或不在本辖区")
    if request.method == "POST":
        try:
            _act(request, scope, plan, request.POST.get("action", ""))
        except ValidationError as problem:
            messages.error(request, error_text(problem))
        except PermissionDenied as problem:
            messages.error(request, str(problem) or "无权操作")
        return redirect("catalog:plan_detail", plan_id=plan.pk)
    view = plan_view(scope=scope, plan=plan)
    if request.GET.get("format") == "xlsx":
        return _export(request, scope, view)
    conflicts_by_project: dict[int, int] = {}
    for conflict in view.conflicts:
        conflicts_by_project[conflict.project_id] = conflicts_by_project.get(conflict.project_id, 0) + 1
    rows = [(p, conflicts_by_project.get(p.pk, 0)) for p in view.projects]
    visible_others = {c.other_id for c in view.conflicts if can(scope, Can.VIEW, c.other)}
    return render(request, "catalog/plan_detail.html", {
        "plan": plan, "view": view, "rows": rows, "visible_others": visible_others,
        "budget": sum(p.budget for p in view.projects), "seats": sum(p.seats for p in view.projects),
        "editable": view.can_edit and plan.state in ("draft", "returned"),
    })


@division_admin_required
@require_GET
def year_overlap_list(request, scope):
    """All overlapping pairs of a year in the jurisdiction: where 政出多门 happens, across plans."""
    year = year_param(request.GET.get("year"), timezone.localdate().year)
    overlaps = year_overlaps(scope=scope, year=year)
    return render(request, "catalog/year_overlaps.html", {
        "year": year, "page": paginate(request, overlaps), "years": range(year - 2, year + 3),
    })


def _act(request, scope, plan, action: str) -> None:
    user, ip = request.user, client_ip(request)
    if action == "add":
        added = plan_projects_add(scope=scope, plan_id=plan.pk,
                                  project_ids=[object_id(v) for v in request.POST.getlist("project")])
        messages.success(request, f"已纳入 {added} 个项目。")
    elif action == "remove":
        plan_project_remove(scope=scope, plan_id=plan.pk, project_id=object_id(request.POST.get("project")))
        messages.success(request, "已移出计划（项目仍保留为计划外项目）。")
    elif action == "check":
        conflicts = plan_check_by(scope=scope, plan_id=plan.pk)
        messages.success(request, f"重叠检查完成：{len(conflicts)} 处疑似重复。" if conflicts else "重叠检查完成：未发现重复项目。")
    elif action == "submit":
        plan_submit(scope=scope, actor=user, plan_id=plan.pk, ip=ip)
        messages.success(request, "已报送上级审核。")
    elif action in ("approve", "return"):
        plan_decide(scope=scope, actor=user, plan_id=plan.pk, approve=action == "approve", note=request.POST.get("note", ""),
                    acknowledge_conflicts=request.POST.get("acknowledge") == "1", ip=ip)
        messages.success(request, "已批准。" if action == "approve" else "已退回修改。")
    else:
        raise ValidationError({"action": "未知操作"})


def _export(request, scope, view):
    export_throttle(request.user)
    plan, handle = view.plan, tempfile.TemporaryFile()
    others: dict[int, list[str]] = {}
    for c in view.conflicts:
        others.setdefault(c.project_id, []).append(f"{c.other.organiser.name}《{c.other.title}》{c.score:.0%}")
    header = ["项目编号", "项目名称", "类别", "方式", "开始", "结束", "名额", "学时", "预算（元）", "高端培训", "疑似重复"]
    rows = ([p.code, p.title, p.get_category_display(), p.get_mode_display(), p.starts_on, p.ends_on, p.seats,
             float(p.hours), float(p.budget), "是" if p.is_high_end else "", "；".join(others.get(p.pk, []))]
            for p in view.projects)
    count = write_table(handle, sheet="年度计划", title=str(plan), jurisdiction=scope.label,
                        exported_by=exporter_name(request.user), header=header, rows=rows, totals=("名额", "预算（元）"),
                        formats={"名额": COUNT, "学时": HOURS, "预算（元）": MONEY})
    audit_record(action=Action.PROJECT_EXPORT, actor=request.user, ip=client_ip(request), scope_path=plan.division_path,
                 object_type="catalog.plan", object_id=plan.pk, detail={"rows": count})
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=f"年度培训计划-{plan.year}-{plan.pk}.xlsx")

