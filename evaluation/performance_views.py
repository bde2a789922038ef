"""Pages of the performance score: the province's weights (edited by the province, read by
other administrators and institutions), a year's ranking per level and category with its chart,
a project's score card, and elimination cases with the appeal and decision forms. Views parse
the form, call one service and redirect; refusals come back as Chinese messages."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access.policy import Action, can
from accounts.decorators import roles_required
from accounts.models import ADMIN_ROLES, Role
from accounts.throttle import export_throttle
from audit.actions import Action as Audit
from audit.services import audit_record
from catalog.constants import Level, ProjectCategory
from core.excel import add_table, exporter_name, new_workbook, xlsx_response
from core.lists import paginate
from core.requests import client_ip, error_text, form_step
from evaluation import performance, performance_selectors
from evaluation.constants import CaseState, Sanction, Source

ROLES = ADMIN_ROLES | {Role.INSTITUTION_STAFF}
performance_page = roles_required(ROLES)
SOURCE_LABELS = dict(Source.choices)
EXPORT_MAX_ROWS = 50_000


def _year(value, default: int | None = None) -> int | None:
    try:
        year = int(value)
    except (TypeError, ValueError):
        return default
    return year if 2000 <= year <= 2100 else default


@performance_page
@require_http_methods(["GET", "POST"])
def weights_page(request, scope):
    may_edit = performance.may_set_weights(scope)
    values = {"year": request.POST.get("year") or str(timezone.localdate().year)}
    status = 200
    if request.method == "POST":
        values.update({f: request.POST.get(f, "") for f in (*performance.WEIGHT_FIELDS, "bottom_share", "min_group",
                                                             "note")})
        try:
            try:
                min_group = int(values["min_group"] or 5)
            except ValueError:
                raise ValidationError({"min_group": "最少排名项目数应为整数"}) from None
            row = performance.weights_set(
                scope=scope, actor=request.user, year=_year(values["year"], 0) or 0, min_group=min_group,
                note=values["note"], ip=client_ip(request),
                **{f: values[f] for f in (*performance.WEIGHT_FIELDS, "bottom_share")})
        except ValidationError as error:
            messages.error(request, error_text(error))
            status = 400
        else:
            messages.success(request, f"已保存{row.year}年度权重第{row.version}版")
            return redirect("evaluation:performance_weights")
    return render(request, "evaluation/performance_weights.html", {
        "rows": performance_selectors.weights_versions(scope)[:50], "may_edit": may_edit, "values": values,
        "labels": SOURCE_LABELS}, status=status)


@performance_page
@require_GET
def ranking_page(request, scope):
    years = performance_selectors.ranking_years(scope)
    year = _year(request.GET.get("year"), years[0] if years else timezone.localdate().year)
    level = request.GET.get("level", "") if request.GET.get("level", "") in Level.values else ""
    category = request.GET.get("category", "")
    category = category if category in ProjectCategory.values else ""
    if request.GET.get("format") == "xlsx":
        return _ranking_export(request, scope, year=year, level=level, category=category)
    rows = list(performance_selectors.ranking(scope, year=year, level=level, category=category)[:2000])
    groups: dict[tuple[str, str], list] = {}
    for row in rows:
        groups.setdefault((row.level, row.category), []).append(row)
    chart = [{"id": f"ranking-chart-{n}", "title": f"{Level(k[0]).label} · {ProjectCategory(k[1]).label}",
              "names": [r.project.title for r in members], "values": [round(r.composite, 3) for r in members],
              "flagged": [r.flagged for r in members]}
             for n, (k, members) in enumerate(groups.items())]
    return render(request, "evaluation/ranking_list.html", {
        "year": year, "years": years, "level": level, "category": category,
        "groups": [{"label": c["title"], "rows": members, "chart": c} for c, members in zip(chart, groups.values(),
                                                                                              strict=True)],
        "levels": Level.choices, "categories": ProjectCategory.choices,
        "may_compute": performance.may_set_weights(scope),
        "weights": performance.weights_in_force(scope, year)})


def _score(value) -> float | str:
    return "" if value is None else round(value, 1)


def _ranking_export(request, scope, *, year: int, level: str, category: str):
    """The year's ranking the viewer sees, every group, as one titled Excel table (audited, rate-limited)."""
    export_throttle(request.user)
    rows = performance_selectors.ranking(scope, year=year, level=level, category=category)[:EXPORT_MAX_ROWS]
    table = [[Level(r.level).label, ProjectCategory(r.category).label, f"{r.rank}/{r.group_size}", r.project.code,
              r.project.title, r.institution.name if r.institution else "", _score(r.supervision), _score(r.rating),
              _score(r.outcome), _score(r.stakeholder), round(r.composite, 3), "拟末位淘汰" if r.flagged else ""]
             for r in rows]
    book = new_workbook()
    count = add_table(book, sheet="绩效排名", title=f"{year}年度培训项目绩效排名", jurisdiction=scope.label,
                      exported_by=exporter_name(request.user),
                      header=["层级", "类别", "组内排名", "项目编号", "项目名称", "实施机构", "专家视导", "匿名评价",
                              "成果质量", "利益群体", "综合得分", "末位"], rows=table)
    audit_record(action=Audit.RANKING_EXPORT, actor=request.user, ip=client_ip(request), scope_path=scope.path or "",
                 object_type="ranking", object_id=year, detail={"rows": count, "level": level, "category": category})
    return xlsx_response(book, f"绩效排名-{year}.xlsx")


@performance_page
@require_POST
def ranking_compute(request, scope, year: int):
    try:
        summary = performance.ranking_compute(scope=scope, actor=request.user, year=year, ip=client_ip(request))
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, f"已计算{year}年度排名：{summary['ranked']}个项目参与排名，"
                                  f"{summary['flagged']}个项目列入拟末位淘汰，申诉期至{summary['appeal_until']}")
    return redirect(f"{reverse('evaluation:ranking_list')}?year={year}")


@performance_page
@require_GET
def score_card(request, scope, project_id: int):
    row = performance_selectors.project_score(scope, project_id, _year(request.GET.get("year")))
    weights = row.weights
    sources = [{"label": label, "score": getattr(row, name), "weight": getattr(weights, name)}
               for name, label in Source.choices]
    case = getattr(row, "case", None)
    return render(request, "evaluation/performance_score.html", {"row": row, "sources": sources, "case": case})


@performance_page
@require_GET
def case_list(request, scope):
    state = request.GET.get("state", "")
    state = state if state in CaseState.values else ""
    year = _year(request.GET.get("year"))
    page = paginate(request, performance_selectors.cases(scope, state=state, year=year))
    return render(request, "evaluation/case_list.html", {"page": page, "states": CaseState.choices,
                                                          "filters": {"state": state, "year": year or ""}})


@performance_page
@require_GET
def case_detail(request, scope, case_id: int):
    case = performance_selectors.case_get(scope, case_id)
    today = timezone.localdate()
    deadline = performance.appeal_deadline(case)
    may_appeal = (case.state == CaseState.FLAGGED and today <= deadline and can(scope, Action.CHANGE, case))
    may_decide = (case.state == CaseState.APPEALED and can(scope, Action.DECIDE, case))
    return render(request, "evaluation/case_detail.html", {
        "case": case, "score": case.score, "deadline": deadline, "may_appeal": may_appeal, "may_decide": may_decide,
        "sanction_label": dict(Sanction.choices).get(case.sanction, "")})


@performance_page
@require_POST
def case_appeal(request, scope, case_id: int):
    form_step(request, lambda: performance.case_appeal(scope=scope, actor=request.user, case_id=case_id,
                                                       reason=request.POST.get("reason", ""), ip=client_ip(request)),
              "已提交申诉，等待省级管理员处理")
    return redirect("evaluation:case_detail", case_id=case_id)


@performance_page
@require_POST
def case_decide(request, scope, case_id: int):
    form_step(request, lambda: performance.case_decide(
        scope=scope, actor=request.user, case_id=case_id, decision=request.POST.get("decision", ""),
        note=request.POST.get("note", ""), ip=client_ip(request)), "已处理申诉")
    return redirect("evaluation:case_detail", case_id=case_id)
