"""Pages of training funding: the overview per jurisdiction (drill-down ?division=CODE, the chart,
Excel), the gaps list (Excel), the entry forms (a division's payroll and ratio, a school's budgets,
direct budget entries, a project's spend with its evidence) and the imports. Views parse the form,
call one service or selector and render; refusals come back as Chinese messages (422) and write
nothing."""

from __future__ import annotations

import tempfile

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from access.policy import fetch
from accounts.decorators import DIVISION_ADMIN_ROLES, roles_required
from accounts.models import ADMIN_ROLES
from accounts.throttle import rate_limited
from audit.actions import Action as Audit
from audit.services import audit_record
from core.excel import MONEY, add_table, exporter_name, new_workbook
from core.lists import paginate
from core.requests import client_ip, error_text, object_id, year_param
from funding import imports, selectors, services
from funding.models import RATIO_MAX, RATIO_MIN, ProjectSpend
from people.roster.files import RosterFileError

admin_page = roles_required(ADMIN_ROLES)
division_page = roles_required(DIVISION_ADMIN_ROLES)


def _years(this_year: int) -> range:
    return range(this_year - 4, this_year + 2)


def _division(request, scope):
    division = selectors.overview_division(scope=scope, user=request.user, code=request.GET.get("division", ""))
    if division is None:
        raise Http404("区划不存在或不在本辖区")
    return division


def _errors(error: ValidationError) -> dict[str, str]:
    if hasattr(error, "error_dict"):
        return {key: "；".join(values) for key, values in error.message_dict.items()}
    return {"form": "；".join(error.messages)}


def _export_allowed(request) -> None:
    if rate_limited("export", str(request.user.pk), limit=settings.EXPORT_MAX_PER_HOUR, seconds=3600):
        raise PermissionDenied("导出过于频繁，请稍后再试")


def _send(book, filename: str) -> FileResponse:
    handle = tempfile.TemporaryFile()
    book.save(handle)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=filename)


def _division_sheet_row(row: selectors.DivisionRow) -> list:
    summary = row.schools
    return [row.code, row.name, row.level_label, "是" if row.is_direct_county else "", row.payroll,
            row.ratio_percent if row.ratio_committed else None, row.direct_budget, row.project_budget, row.budget,
            row.required, row.spend, row.verdict, row.shortfall,
            *([summary.schools, summary.met, summary.short, summary.no_data] if summary else ["", "", "", ""])]


DIVISION_HEADER = ["区划代码", "名称", "层级", "省直管县", "教师工资总额（元）", "承诺比例（%）", "直接预算（元）",
                   "项目预算（元）", "培训经费合计（元）", "按比例应安排（元）", "实际支出（元）", "达标情况", "缺口（元）",
                   "学校数", "学校达标", "学校未达标", "学校无数据"]
SCHOOL_HEADER = ["学校代码", "学校名称", "公用经费预算总额（元）", "培训经费预算（元）", "应安排（5%）（元）", "达标情况",
                 "缺口（元）"]
MONEY_COLUMNS = [label for label in DIVISION_HEADER + SCHOOL_HEADER if "（元）" in label]


# --- overview ---------------------------------------------------------------------------------------

@admin_page
@require_GET
def overview(request, scope):
    this_year = timezone.localdate().year
    year = year_param(request.GET.get("year"), this_year)
    division = _division(request, scope)
    result = selectors.overview(scope=scope, division=division, year=year)
    if request.GET.get("format") == "xlsx":
        return _overview_export(request, scope, result)
    span = list(range(this_year - selectors.YEARS_CHARTED + 1, this_year + 1))
    if scope.school_id is not None:
        points = selectors.school_years(scope=scope, school_id=scope.school_id, years=span)
        chart = selectors.chart_options(points, budget_label="本校培训经费预算")
    else:
        points = selectors.division_years(scope=scope, division=division, years=span)
        chart = selectors.chart_options(points)
    return render(request, "funding/overview.html", {
        "overview": result, "year": year, "years": _years(this_year), "chart": chart, "points": points,
        "is_school": scope.school_id is not None,
        "is_own": division.path == scope.path,
        "may_enter": scope.school_id is None and selectors.may_enter_division(scope, division),
        "may_enter_for": scope.school_id is None and selectors.may_enter_for(scope, division),
        "ratio_min": RATIO_MIN, "ratio_max": RATIO_MAX})


def _overview_export(request, scope, result: selectors.Overview):
    _export_allowed(request)
    book = new_workbook()
    formats = dict.fromkeys(MONEY_COLUMNS, MONEY)
    rows = [_division_sheet_row(row) for row in ([] if scope.school_id else [result.own]) + result.children]
    count = 0
    if rows:
        count += add_table(book, sheet="区划达标情况", title=f"{result.division.name}{result.year}年教师培训经费达标情况",
                           jurisdiction=scope.label, exported_by=exporter_name(request.user), header=DIVISION_HEADER,
                           rows=rows, formats=formats)
    count += add_table(book, sheet="学校达标情况", title=f"{result.division.name}{result.year}年学校教师培训经费（5%）",
                       jurisdiction=scope.label, exported_by=exporter_name(request.user), header=SCHOOL_HEADER,
                       rows=[[s.code, s.name, s.public_budget, s.training_budget, s.required, s.verdict, s.shortfall]
                             for s in result.schools], formats=formats)
    audit_record(action=Audit.FUNDING_EXPORT, actor=request.user, ip=client_ip(request),
                 scope_path=result.division.path, object_type="division", object_id=result.division.code,
                 detail={"year": result.year, "rows": count, "sheet": "compliance"})
    return _send(book, f"培训经费达标-{result.division.code}-{result.year}.xlsx")


# --- gaps -------------------------------------------------------------------------------------------

@division_page
@require_GET
def gaps(request, scope):
    this_year = timezone.localdate().year
    year = year_param(request.GET.get("year"), this_year)
    division = _division(request, scope)
    result = selectors.gaps(scope=scope, division=division, year=year)
    if request.GET.get("format") == "xlsx":
        _export_allowed(request)
        book = new_workbook()
        formats = dict.fromkeys(MONEY_COLUMNS + ["应安排（5%）（元）"], MONEY)
        count = add_table(book, sheet="未达标区划", title=f"{division.name}{year}年培训经费未达标的区划",
                          jurisdiction=scope.label, exported_by=exporter_name(request.user), header=DIVISION_HEADER,
                          rows=[_division_sheet_row(row) for row in result.divisions], formats=formats,
                          totals=["缺口（元）"])
        count += add_table(book, sheet="未达标学校", title=f"{division.name}{year}年培训经费未达5%的学校",
                           jurisdiction=scope.label, exported_by=exporter_name(request.user),
                           header=["学校代码", "学校名称", "公用经费预算总额（元）", "培训经费预算（元）", "应安排（5%）（元）",
                                   "缺口（元）"],
                           rows=([row.school.code, row.school.name, row.public_budget, row.training_budget,
                                  selectors._money(row.need), selectors._money(row.gap)]
                                 for row in result.schools.iterator(chunk_size=2000)),
                           formats=formats, totals=["缺口（元）"])
        audit_record(action=Audit.FUNDING_EXPORT, actor=request.user, ip=client_ip(request), scope_path=division.path,
                     object_type="division", object_id=division.code, detail={"year": year, "rows": count,
                                                                              "sheet": "gaps"})
        return _send(book, f"培训经费缺口-{division.code}-{year}.xlsx")
    return render(request, "funding/gaps.html", {
        "gaps": result, "page": paginate(request, result.schools), "division": division, "year": year,
        "years": _years(this_year), "is_own": division.path == scope.path})


# --- a division's payroll and ratio -----------------------------------------------------------------------

@division_page
@require_http_methods(["GET", "POST"])
def division_figures(request, scope):
    """One's own payroll and ratio; with ?division=CODE, a lower division's, entered on its behalf
    (the form says so: on_behalf=1) when the policy lets the viewer (the level above, for a division
    that has not reported)."""
    code = request.GET.get("division", "")
    division = services.division_for(scope, code) if code else request.user.division
    on_behalf = division.path != scope.path
    this_year = timezone.localdate().year
    context = {"division": division, "years": _years(this_year), "ratio_min": RATIO_MIN, "ratio_max": RATIO_MAX,
               "form": {"year": this_year}, "errors": {}, "on_behalf": on_behalf}
    status = 200
    if request.method == "POST":
        post = request.POST
        context["form"] = post
        correction = post.get("correction") == "1"
        payroll, ratio = post.get("payroll", "").strip(), post.get("ratio_percent", "").strip()
        try:
            if not payroll and not ratio:
                raise ValidationError({"payroll": "教师工资总额与培训经费比例至少填写一项"})
            with transaction.atomic():
                common = {"scope": scope, "actor": request.user, "division": division, "year": post.get("year"),
                          "correction": correction, "reason": post.get("reason", ""),
                          "on_behalf": post.get("on_behalf") == "1", "ip": client_ip(request)}
                if payroll:
                    services.payroll_set(payroll=payroll, **common)
                if ratio:
                    services.ratio_commit(ratio_percent=ratio, **common)
        except ValidationError as error:
            context["errors"] = _errors(error)
            messages.error(request, error_text(error))
            status = 422
        else:
            messages.success(request, "已更正" if correction else "已代填" if on_behalf else "已保存")
            return redirect(f"{request.path}?division={division.code}" if on_behalf else request.path)
    context["may_enter"] = (selectors.may_enter_for(scope, division) if on_behalf
                            else selectors.may_enter_division(scope, division))
    context["rows"] = list(selectors.division_figures(scope=scope, division=division)[:20])
    return render(request, "funding/division_figures.html", context, status=status)


# --- a school's budgets ----------------------------------------------------------------------------------

@admin_page
@require_http_methods(["GET", "POST"])
def school_figures(request, scope):
    this_year = timezone.localdate().year
    code = request.POST.get("school") or request.GET.get("school") or (request.user.school.code
                                                                      if request.user.school_id else "")
    school = services.school_for(scope, code) if code else None
    context = {"school": school, "years": _years(this_year), "form": {"year": this_year}, "errors": {},
               "choices": [] if scope.school_id else list(_enterable_schools(scope))}
    status = 200
    if request.method == "POST":
        post = request.POST
        context["form"] = post
        correction = post.get("correction") == "1"
        try:
            if school is None:
                raise ValidationError({"school": "请选择学校"})
            services.school_funding_set(scope=scope, actor=request.user, school=school, year=post.get("year"),
                                        public_budget=post.get("public_budget"),
                                        training_budget=post.get("training_budget"), correction=correction,
                                        reason=post.get("reason", ""), ip=client_ip(request))
        except ValidationError as error:
            context["errors"] = _errors(error)
            messages.error(request, error_text(error))
            status = 422
        else:
            messages.success(request, "已更正" if correction else "已保存")
            return redirect(f"{request.path}?school={school.code}")
    if school is not None:
        context["may_enter"] = selectors.may_enter_school(scope, school)
        context["rows"] = list(selectors.school_figures(scope=scope, school=school)[:20])
    return render(request, "funding/school_figures.html", context, status=status)


def _enterable_schools(scope):
    """The schools whose figures this division enters (its own schools), for the pick-list."""
    from access.policy import visible
    from org.models import School

    return visible(scope, School).filter(division_path=scope.path).order_by("code").values_list("code", "name")[:2000]


# --- direct budgets ---------------------------------------------------------------------------------------

@division_page
@require_http_methods(["GET", "POST"])
def budgets(request, scope):
    this_year = timezone.localdate().year
    division = _division(request, scope)
    on_behalf = division.path != scope.path
    year = year_param(request.GET.get("year"), this_year)
    context = {"division": division, "year": year, "years": _years(this_year), "form": {"year": year}, "errors": {},
               "on_behalf": on_behalf}
    status = 200
    if request.method == "POST":
        context["form"] = request.POST
        try:
            row = services.budget_add(scope=scope, actor=request.user, division=division,
                                      year=request.POST.get("year"), amount=request.POST.get("amount"),
                                      purpose=request.POST.get("purpose", ""),
                                      on_behalf=request.POST.get("on_behalf") == "1",
                                      reason=request.POST.get("reason", ""), ip=client_ip(request))
        except ValidationError as error:
            context["errors"] = _errors(error)
            messages.error(request, error_text(error))
            status = 422
        else:
            messages.success(request, "已代填预算" if on_behalf else "已录入预算")
            suffix = f"&division={division.code}" if on_behalf else ""
            return redirect(f"{request.path}?year={row.year}{suffix}")
    rows = list(selectors.budget_entries(scope=scope, division=division, year=year))
    context["rows"] = [(row, selectors.may_change_entry(scope, row)) for row in rows]
    context["may_enter"] = (selectors.may_enter_for(scope, division) if on_behalf
                            else selectors.may_enter_division(scope, division))
    return render(request, "funding/budgets.html", context, status=status)


def _budget_page(request, scope, row, *, errors=None, form=None, delete_form=None, status=200):
    return render(request, "funding/budget_entry.html", {
        "row": row, "errors": errors or {},
        "form": form or {"year": row.year, "amount": row.amount, "purpose": row.purpose},
        "delete_form": delete_form or {}, "may_change": selectors.may_change_entry(scope, row)}, status=status)


@division_page
@require_http_methods(["GET", "POST"])
def budget_entry(request, scope, budget_id: int):
    """One direct budget entry: its correction (with a reason) and the way to its deletion."""
    row = selectors.budget_entry(scope=scope, budget_id=object_id(budget_id))
    if request.method == "POST":
        try:
            services.budget_correct(scope=scope, actor=request.user, budget_id=row.pk, year=request.POST.get("year"),
                                    amount=request.POST.get("amount"), purpose=request.POST.get("purpose", ""),
                                    reason=request.POST.get("reason", ""), ip=client_ip(request))
        except ValidationError as error:
            messages.error(request, error_text(error))
            return _budget_page(request, scope, row, errors=_errors(error), form=request.POST, status=422)
        messages.success(request, "已更正预算")
        return redirect("funding:budget_entry", budget_id=row.pk)
    return _budget_page(request, scope, row)


@division_page
@require_http_methods(["POST"])
def budget_delete(request, scope, budget_id: int):
    row = selectors.budget_entry(scope=scope, budget_id=object_id(budget_id))
    try:
        if request.POST.get("confirm") != "1":
            raise ValidationError({"confirm": "请勾选“确认删除”"})
        services.budget_delete(scope=scope, actor=request.user, budget_id=row.pk,
                               reason=request.POST.get("reason", ""), ip=client_ip(request))
    except ValidationError as error:
        messages.error(request, error_text(error))
        return _budget_page(request, scope, row, errors={f"delete_{k}": v for k, v in _errors(error).items()},
                            delete_form=request.POST, status=422)
    messages.success(request, "已删除该笔预算（记录保留，不再计入培训经费）")
    suffix = f"&division={row.division.code}" if row.division_path != scope.path else ""
    return redirect(f"{reverse('funding:budgets')}?year={row.year}{suffix}")


# --- plan vs spend ----------------------------------------------------------------------------------------

@division_page
@require_GET
def projects(request, scope):
    this_year = timezone.localdate().year
    division = _division(request, scope)
    year = year_param(request.GET.get("year"), this_year)
    rows = selectors.project_plan_spend(scope=scope, division=division, year=year)
    page = paginate(request, rows)
    plan = sum((row.budget for row in page), start=selectors.ZERO)
    spent = sum((row.spent for row in page), start=selectors.ZERO)
    return render(request, "funding/projects.html", {
        "division": division, "year": year, "years": _years(this_year), "page": page,
        "plan": selectors._money(plan), "spent": selectors._money(spent),
        "own": division.path == scope.path})


@division_page
@require_http_methods(["GET", "POST"])
def project_spend(request, scope, project_id: int):
    project = services.spend_project_visible(scope, project_id)  # a published project is public; its money is not
    context = {"project": project, "form": {}, "errors": {}}
    status = 200
    if request.method == "POST":
        context["form"] = request.POST
        try:
            services.spend_add(scope=scope, actor=request.user, project_id=project.pk,
                               amount=request.POST.get("amount"), spent_on=request.POST.get("spent_on"),
                               note=request.POST.get("note", ""), evidence=request.FILES.get("evidence"),
                               today=timezone.localdate(), ip=client_ip(request))
        except ValidationError as error:
            context["errors"] = _errors(error)
            messages.error(request, error_text(error))
            status = 422
        else:
            messages.success(request, "已录入支出")
            return redirect("funding:project_spend", project_id=project.pk)
    rows = list(selectors.project_spends(scope=scope, project=project))
    context |= {"rows": rows, "spent": selectors._money(sum((row.amount for row in rows), start=selectors.ZERO)),
                "without_evidence": sum(1 for row in rows if not row.evidence),
                "may_enter": project.organiser_school_id is None
                and selectors.may_enter_division(scope, project.organiser)}
    return render(request, "funding/project_spend.html", context, status=status)


@division_page
@require_GET
def spend_evidence(request, scope, spend_id: int):
    row = fetch(scope, ProjectSpend, object_id(spend_id))
    if not row.evidence:
        raise Http404("该笔支出没有凭证")
    return FileResponse(row.evidence.open("rb"), as_attachment=True, filename=row.evidence_name or "凭证")


def _spend_page(request, scope, row, *, errors=None, form=None, status=200):
    return render(request, "funding/spend_entry.html", {
        "row": row, "errors": errors or {},
        "form": form or {"amount": row.amount, "spent_on": row.spent_on.isoformat(), "note": row.note},
        "may_change": selectors.may_change_entry(scope, row)}, status=status)


@division_page
@require_http_methods(["GET", "POST"])
def spend_entry(request, scope, spend_id: int):
    """One spend entry: its correction (with a reason), its evidence (attach or replace), deletion."""
    row = selectors.spend_entry(scope=scope, spend_id=object_id(spend_id))
    if request.method == "POST":
        try:
            services.spend_correct(scope=scope, actor=request.user, spend_id=row.pk, amount=request.POST.get("amount"),
                                   spent_on=request.POST.get("spent_on"), note=request.POST.get("note", ""),
                                   reason=request.POST.get("reason", ""), today=timezone.localdate(),
                                   ip=client_ip(request))
        except ValidationError as error:
            messages.error(request, error_text(error))
            return _spend_page(request, scope, row, errors=_errors(error), form=request.POST, status=422)
        messages.success(request, "已更正支出")
        return redirect("funding:spend_entry", spend_id=row.pk)
    return _spend_page(request, scope, row)


@division_page
@require_http_methods(["POST"])
def spend_evidence_upload(request, scope, spend_id: int):
    row = selectors.spend_entry(scope=scope, spend_id=object_id(spend_id))
    try:
        services.spend_evidence_attach(scope=scope, actor=request.user, spend_id=row.pk,
                                       evidence=request.FILES.get("evidence"),
                                       reason=request.POST.get("evidence_reason", ""), ip=client_ip(request))
    except ValidationError as error:
        messages.error(request, error_text(error))
        return _spend_page(request, scope, row, status=422,
                           errors={f"evidence_{k}" if k != "evidence" else k: v for k, v in _errors(error).items()})
    messages.success(request, "已上传支出凭证")
    return redirect("funding:spend_entry", spend_id=row.pk)


@division_page
@require_http_methods(["POST"])
def spend_delete(request, scope, spend_id: int):
    row = selectors.spend_entry(scope=scope, spend_id=object_id(spend_id))
    try:
        if request.POST.get("confirm") != "1":
            raise ValidationError({"confirm": "请勾选“确认删除”"})
        services.spend_delete(scope=scope, actor=request.user, spend_id=row.pk, reason=request.POST.get("reason", ""),
                              ip=client_ip(request))
    except ValidationError as error:
        messages.error(request, error_text(error))
        return _spend_page(request, scope, row, status=422,
                           errors={f"delete_{k}": v for k, v in _errors(error).items()})
    messages.success(request, "已删除该笔支出（记录与凭证保留，不再计入实际支出）")
    return redirect("funding:project_spend", project_id=row.project_id)


# --- imports ---------------------------------------------------------------------------------------------

@admin_page
@require_http_methods(["GET", "POST"])
def funding_import(request, scope):
    kinds = [(kind, label) for kind, label in imports.KIND_LABELS.items()
             if kind == "school" or scope.school_id is None]
    kind = request.POST.get("kind") or request.GET.get("kind") or kinds[0][0]
    if kind not in dict(kinds):
        kind = kinds[0][0]
    context: dict = {"kinds": kinds, "kind": kind, "columns": imports.COLUMNS}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "请选择要导入的文件（Excel）")
            return render(request, "funding/import.html", context, status=422)
        try:
            result = imports.funding_import(scope=scope, actor=request.user, kind=kind, handle=upload.file,
                                            name=upload.name, today=timezone.localdate(), ip=client_ip(request))
        except RosterFileError as error:
            messages.error(request, str(error))
            return render(request, "funding/import.html", context, status=422)
        context["result"] = result
        context["rejections"] = result.rejections[:imports.REJECTIONS_SHOWN]
        if result.already:
            messages.error(request, "该文件已导入过（按文件内容识别），未重复写入")
            return render(request, "funding/import.html", context, status=200)
        if result.rejections:
            messages.error(request, f"有 {len(result.rejections)} 行未通过检查，整个文件未导入；请修改后重新上传")
            return render(request, "funding/import.html", context, status=422)
        messages.success(request, f"已导入：新增 {result.created} 条，更正 {result.corrected} 条")
    return render(request, "funding/import.html", context)
