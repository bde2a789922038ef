"""Pages of the selection of nominees for high-end projects: the priority rule sets (list, one
version, a new version), the high-end projects a division ranks for and their lists (build), one
list (paged picks, overrides, submission, Excel export). Views parse the form, call one selector
or service and render; refusals come back as Chinese messages (forms re-rendered with 422)."""

from __future__ import annotations

import tempfile

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access.policy import Action, can
from accounts.decorators import division_admin_required
from accounts.throttle import rate_limited
from audit.actions import Action as Audit
from audit.services import audit_record
from core.excel import add_table, exporter_name, new_workbook
from core.lists import paginate
from core.requests import client_ip, error_messages, error_text, form_step, object_id
from quotas import selection, selection_selectors
from quotas.selection_models import PickRole, RuleKind

RULE_KINDS = RuleKind.choices


def _rules_from_form(post) -> list[dict]:
    rules = []
    for kind, _ in RULE_KINDS:
        if not post.get(f"{kind}_on"):
            continue
        params: dict = {}
        if kind == RuleKind.NEVER_TRAINED:
            params["within_years"] = post.get("never_trained_within", "").strip() or None
        elif kind == RuleKind.YEARS_SINCE:
            params["cap"] = post.get("years_since_cap", "")
        rules.append({"kind": kind, "points": post.get(f"{kind}_points", ""), "params": params})
    return rules


@division_admin_required
@require_GET
def rule_set_list(request, scope):
    in_force = selection.rule_set_in_force(scope, scope.path or "")
    return render(request, "quotas/selection_rules.html", {
        "page": paginate(request, selection_selectors.rule_sets(scope)), "in_force": in_force,
        "may_publish": can(scope, Action.CHANGE, _blank_rule_set(scope))})


def _blank_rule_set(scope):
    from quotas.selection_models import PriorityRuleSet

    return PriorityRuleSet(division_path=scope.path or "")


@division_admin_required
@require_GET
def rule_set_detail(request, scope, rule_set_id: int):
    row = selection_selectors.rule_set_get(scope, rule_set_id)
    return render(request, "quotas/selection_rule_set.html", {"row": row, "rules": list(row.rules.all())})


@division_admin_required
@require_http_methods(["GET", "POST"])
def rule_set_new(request, scope):
    if not can(scope, Action.CHANGE, _blank_rule_set(scope)):
        raise PermissionDenied("只有本级管理员可以发布推荐优先规则")
    current = selection.rule_set_in_force(scope, scope.path or "")
    base = {r.kind: r for r in current.rules.all()} if current else {}
    values: dict = {"note": ""}
    for kind, _ in RULE_KINDS:
        rule = base.get(kind)
        default = next((d for d in selection.DEFAULT_RULES if d["kind"] == kind), None)
        source = {"points": rule.points, "params": rule.params} if rule else default or {"points": 0, "params": {}}
        values[f"{kind}_on"] = bool(rule) if base else True
        values[f"{kind}_points"] = source["points"]
    values["never_trained_within"] = (base.get(RuleKind.NEVER_TRAINED).params.get("within_years")
                                      if base.get(RuleKind.NEVER_TRAINED) else None) or ""
    values["years_since_cap"] = (base[RuleKind.YEARS_SINCE].params.get("cap") if base.get(RuleKind.YEARS_SINCE)
                                 else 20)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        values = {key: request.POST.get(key, "") for key in values}
        try:
            row = selection.rule_set_publish(scope=scope, actor=request.user, rules=_rules_from_form(request.POST),
                                             note=request.POST.get("note", ""), ip=client_ip(request))
        except ValidationError as error:
            errors, status = error_messages(error), 422
        else:
            messages.success(request, f"已发布第{row.version}版推荐优先规则")
            return redirect("quotas:selection_rule_set", rule_set_id=row.pk)
    return render(request, "quotas/selection_rule_form.html", {
        "values": values, "errors": errors, "kinds": RULE_KINDS, "current": current}, status=status)


@division_admin_required
@require_GET
def selection_home(request, scope):
    return render(request, "quotas/selection_home.html", {
        "projects": list(selection_selectors.selection_projects(scope)[:200]),
        "page": paginate(request, selection_selectors.lists(scope))})


@division_admin_required
@require_http_methods(["GET", "POST"])
def project_lists(request, scope, project_id: int):
    try:
        project = selection.project_for_selection(scope, project_id)
    except ValidationError as error:
        raise Http404(error_text(error)) from None
    values = {"seats": request.POST.get("seats", ""), "reserve": request.POST.get("reserve", "")}
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        try:
            row = selection.nomination_list_build(scope=scope, actor=request.user, project_id=project.pk,
                                                  seats=values["seats"] or None, reserve=values["reserve"] or None,
                                                  ip=client_ip(request))
        except ValidationError as error:
            errors, status = error_messages(error), 422
        else:
            messages.success(request, f"已生成推荐名单：符合条件{row.eligible_count}人，入选{row.seats}人")
            return redirect("quotas:selection_list", list_id=row.pk)
    may_build = selection.may_build(scope) and project.state in ("draft", "open")
    return render(request, "quotas/selection_project.html", {
        "project": project, "lists": list(selection_selectors.lists(scope, project_id=project.pk)[:100]),
        "may_build": may_build, "values": values, "errors": errors,
        "seat_source": selection.seats_for(scope, project)
        if may_build else None,
        "in_force": selection.rule_set_in_force(scope, project.division_path)}, status=status)


@division_admin_required
@require_GET
def list_detail(request, scope, list_id: int):
    row = selection_selectors.list_get(scope, list_id)
    if request.GET.get("format") == "xlsx":
        return _export(request, scope, row)
    role = request.GET.get("role", "")
    role = role if role in PickRole.values else ""
    page = paginate(request, selection_selectors.picks(row, role=role))
    return render(request, "quotas/selection_list.html", {
        "row": row, "page": page, "role": role, "roles": PickRole.choices,
        "overrides": list(selection_selectors.overrides(row)),
        "may_change": row.state == "draft" and can(scope, Action.CHANGE, row),
        "outcomes": selection.OUTCOME_LABELS,
        "counts": {r: row.picks.filter(role=r).count() for r in PickRole.values}})


@division_admin_required
@require_GET
def list_search(request, scope, list_id: int):
    """Find a teacher of the jurisdiction to add (htmx: the results fragment; else the page)."""
    q = request.GET.get("q", "")
    errors: list[str] = []
    candidates: list = []
    more = False
    try:
        candidates, more = selection.nomination_candidates(scope=scope, list_id=list_id, q=q)
    except ValidationError as error:
        errors = error_messages(error)
    context = {"list_id": list_id, "q": q.strip(), "candidates": candidates, "more": more, "errors": errors,
               "limit": selection.SEARCH_LIMIT}
    if request.headers.get("HX-Request"):
        # htmx swaps only 2xx answers (base.html): the fragment carries the Chinese message itself.
        return render(request, "quotas/_selection_search.html", context)
    context["row"] = selection_selectors.list_get(scope, list_id)
    return render(request, "quotas/selection_search.html", context, status=422 if errors else 200)


def _export(request, scope, row):
    if rate_limited("export", str(request.user.pk), limit=settings.EXPORT_MAX_PER_HOUR, seconds=3600):
        raise PermissionDenied("导出过于频繁，请稍后再试")
    book = new_workbook()
    rows = [[p.rank or "增补", p.teacher.name, p.teacher.school.name, p.get_role_display(), p.points, p.explanation,
             selection.OUTCOME_LABELS.get(p.outcome, ""), "；".join(p.outcome_reasons or [])]
            for p in selection_selectors.picks(row)]
    count = add_table(book, sheet="推荐名单", title=f"{row.project.title}（{row.project.code}）高端培训推荐名单",
                      jurisdiction=row.division.name, exported_by=exporter_name(request.user),
                      header=["排名", "姓名", "学校", "状态", "积分", "积分说明", "推荐结果", "未能推荐原因"], rows=rows)
    audit_record(action=Audit.SELECTION_EXPORT, actor=request.user, ip=client_ip(request),
                 scope_path=row.division_path, object_type="nomination_list", object_id=row.pk,
                 detail={"rows": count})
    handle = tempfile.TemporaryFile()
    book.save(handle)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=f"推荐名单-{row.project.code}-{row.pk}.xlsx")


@division_admin_required
@require_POST
def list_drop(request, scope, list_id: int):
    form_step(request, lambda: selection.nomination_pick_drop(
        scope=scope, actor=request.user, list_id=list_id, pick_id=object_id(request.POST.get("pick")),
        reason=request.POST.get("reason", ""), ip=client_ip(request)), "已调出，候补第一位递补")
    return redirect("quotas:selection_list", list_id=list_id)


@division_admin_required
@require_POST
def list_add(request, scope, list_id: int):
    form_step(request, lambda: selection.nomination_pick_add(
        scope=scope, actor=request.user, list_id=list_id, teacher_id=object_id(request.POST.get("teacher")),
        reason=request.POST.get("reason", ""), ip=client_ip(request)), "已增补")
    return redirect("quotas:selection_list", list_id=list_id)


@division_admin_required
@require_POST
def list_submit(request, scope, list_id: int):
    try:
        row = selection.nomination_list_submit(scope=scope, actor=request.user, list_id=list_id,
                                               ip=client_ip(request))
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, f"已提交推荐（{row.picks.filter(role='selected').count()}人），各人结果见下表")
    return redirect("quotas:selection_list", list_id=list_id)
