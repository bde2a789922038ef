"""Pages of instruments and assessments: the instruments (list, a page each, the form with its items,
publish / new version / retire), a project's assessments (attach at 训前 / 训中 / 训后, move dates,
remove), a teacher's 我的测评 and the page to take one (phone-friendly), the comparison of a
project (table, chart, Excel) and the teaching-outcome import. Views parse the form, call one
service or selector and redirect; refusals come back as Chinese messages and write nothing."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access.policy import Action, can, fetch
from accounts.decorators import DIVISION_ADMIN_ROLES, roles_required
from accounts.models import ADMIN_ROLES, Role
from accounts.throttle import export_throttle
from audit.actions import Action as Audit
from audit.services import audit_record
from core.excel import add_table, exporter_name, new_workbook, xlsx_response
from core.lists import paginate
from core.requests import client_ip, error_text, form_step, object_id
from evaluation import comparison as cmp
from evaluation import instrument_selectors as selectors
from evaluation import instruments as services
from evaluation import outcomes
from evaluation.constants import Dimension, InstrumentKind, InstrumentState, Point
from evaluation.models import ProjectInstrument
from people.roster.files import RosterFileError

READ_ROLES = ADMIN_ROLES | {Role.INSTITUTION_STAFF}
TAKER_ROLES = frozenset({Role.TEACHER, Role.EXPERT})
read_page = roles_required(READ_ROLES)
admin_page = roles_required(DIVISION_ADMIN_ROLES)
taker_page = roles_required(TAKER_ROLES)
BLANK_ITEMS = 5


def _choices() -> dict:
    return {"kinds": InstrumentKind.choices, "dimensions": Dimension.choices, "states": InstrumentState.choices,
            "points": Point.choices}


# --- instruments -------------------------------------------------------------------------------

@read_page
@require_GET
def instrument_list(request, scope):
    kind, state = request.GET.get("kind", ""), request.GET.get("state", "")
    rows = list(selectors.instruments_visible(scope, kind=kind, state=state)[:selectors.PAGE_MAX])
    return render(request, "evaluation/instrument_list.html", {
        "rows": rows, "kind": kind, "state": state, "may_add": services.may_add(scope),
        **_choices()})


def _items_from(post) -> list[dict]:
    """The form's item rows (text_N, dimension_N, reverse_N), blank rows dropped, in order."""
    numbers = sorted({object_id(key.rpartition("_")[2]) for key in post if key.startswith("text_")})
    items = []
    for number in numbers[:services.ITEMS_MAX + BLANK_ITEMS]:
        text = post.get(f"text_{number}", "").strip()
        dimension = post.get(f"dimension_{number}", "")
        if not text and not dimension:
            continue
        items.append({"text": text, "dimension": dimension, "reverse": bool(post.get(f"reverse_{number}"))})
    return items


def _form_rows(items: list) -> list[dict]:
    rows = [{"n": n, "text": item["text"], "dimension": item["dimension"], "reverse": item["reverse"]}
            for n, item in enumerate(items, start=1)]
    start = len(rows) + 1
    return rows + [{"n": n, "text": "", "dimension": "", "reverse": False} for n in range(start, start + BLANK_ITEMS)]


def _values(post) -> dict:
    return {"code": post.get("code", "").strip(), "kind": post.get("kind", InstrumentKind.ASSESSMENT),
            "title": post.get("title", ""), "description": post.get("description", ""),
            "scale_min": post.get("scale_min", "1"), "scale_max": post.get("scale_max", "5")}


@admin_page
@require_http_methods(["GET", "POST"])
def instrument_new(request, scope):
    values = _values(request.POST) if request.method == "POST" else {
        "code": "", "kind": InstrumentKind.ASSESSMENT, "title": "", "description": "", "scale_min": "1", "scale_max": "5"}
    items = _items_from(request.POST) if request.method == "POST" else []
    context = {"values": values, "rows": _form_rows(items), "new": True, **_choices()}
    if request.method == "POST":
        try:
            row = services.instrument_create(scope=scope, actor=request.user, items=items, ip=client_ip(request),
                                             **values)
        except ValidationError as error:
            messages.error(request, error_text(error))
            return render(request, "evaluation/instrument_form.html", context, status=400)
        messages.success(request, f"已保存测评工具草稿：{row}")
        return redirect("evaluation:instrument_detail", instrument_id=row.pk)
    return render(request, "evaluation/instrument_form.html", context)


@read_page
@require_GET
def instrument_detail(request, scope, instrument_id: int):
    row = selectors.instrument_get(scope, instrument_id)
    if row is None:
        raise Http404("测评工具不存在或不在您的范围内")
    return render(request, "evaluation/instrument_detail.html", {
        "row": row, "items": list(row.items.order_by("number")), "may": selectors.instrument_may(scope, row)})


@admin_page
@require_http_methods(["GET", "POST"])
def instrument_edit(request, scope, instrument_id: int):
    row = fetch(scope, services.Instrument, instrument_id, Action.CHANGE)
    if row.state != InstrumentState.DRAFT:
        messages.error(request, "只有草稿可以修改；已发布的工具请新建版本")
        return redirect("evaluation:instrument_detail", instrument_id=row.pk)
    if request.method == "POST":
        values, items = _values(request.POST), _items_from(request.POST)
    else:
        values = {"code": row.code, "kind": row.kind, "title": row.title, "description": row.description,
                  "scale_min": row.scale_min, "scale_max": row.scale_max}
        items = [{"text": i.text, "dimension": i.dimension, "reverse": i.reverse} for i in row.items.order_by("number")]
    context = {"values": values, "rows": _form_rows(items), "row": row, "new": False, **_choices()}
    if request.method == "POST":
        try:
            services.instrument_update(scope=scope, actor=request.user, instrument_id=row.pk, items=items,
                                       ip=client_ip(request), title=values["title"], description=values["description"],
                                       scale_min=values["scale_min"], scale_max=values["scale_max"])
        except ValidationError as error:
            messages.error(request, error_text(error))
            return render(request, "evaluation/instrument_form.html", context, status=400)
        messages.success(request, "已保存")
        return redirect("evaluation:instrument_detail", instrument_id=row.pk)
    return render(request, "evaluation/instrument_form.html", context)


@admin_page
@require_POST
def instrument_publish(request, scope, instrument_id: int):
    form_step(request, lambda: services.instrument_publish(scope=scope, actor=request.user,
                                                           instrument_id=instrument_id, ip=client_ip(request)),
              "已发布：此后题目不再改动，修改请新建版本")
    return redirect("evaluation:instrument_detail", instrument_id=instrument_id)


@admin_page
@require_POST
def instrument_new_version(request, scope, instrument_id: int):
    try:
        copy = services.instrument_new_version(scope=scope, actor=request.user, instrument_id=instrument_id,
                                               ip=client_ip(request))
    except ValidationError as error:
        messages.error(request, error_text(error))
        return redirect("evaluation:instrument_detail", instrument_id=instrument_id)
    messages.success(request, f"已新建第{copy.version}版草稿")
    return redirect("evaluation:instrument_edit", instrument_id=copy.pk)


@admin_page
@require_POST
def instrument_retire(request, scope, instrument_id: int):
    form_step(request, lambda: services.instrument_retire(scope=scope, actor=request.user,
                                                          instrument_id=instrument_id, ip=client_ip(request)),
              "已停用：已安排的项目不受影响")
    return redirect("evaluation:instrument_detail", instrument_id=instrument_id)


# --- a project's assessments -------------------------------------------------------------------

@read_page
@require_http_methods(["GET", "POST"])
def project_assessments(request, scope, project_id: int):
    project = cmp.project_for_comparison(scope, project_id)
    may_run = can(scope, Action.RUN, project)
    if request.method == "POST":
        if not may_run:
            raise PermissionDenied("只有项目的组织者和实施机构可以安排测评")
        form_step(request, lambda: services.attachment_create(
            scope=scope, actor=request.user, project_id=project.pk,
            instrument_id=object_id(request.POST.get("instrument")), point=request.POST.get("point", ""),
            opens_on=request.POST.get("opens_on", ""), closes_on=request.POST.get("closes_on", ""),
            ip=client_ip(request)), "已安排测评")
        return redirect("evaluation:project_assessments", project_id=project.pk)
    return render(request, "evaluation/assessment_project.html", {
        "project": project, "attachments": selectors.project_attachments(scope, project), "may_run": may_run,
        "instruments": list(selectors.attachable_instruments(scope)[:selectors.PAGE_MAX]) if may_run else [],
        **_choices()})


@read_page
@require_POST
def attachment_change(request, scope, attachment_id: int):
    row = fetch(scope, ProjectInstrument, attachment_id, Action.CHANGE)
    if request.POST.get("remove"):
        form_step(request, lambda: services.attachment_delete(scope=scope, actor=request.user,
                                                              attachment_id=row.pk, ip=client_ip(request)),
                  "已取消该测评安排")
    else:
        form_step(request, lambda: services.attachment_update(
            scope=scope, actor=request.user, attachment_id=row.pk, opens_on=request.POST.get("opens_on", ""),
            closes_on=request.POST.get("closes_on", ""), ip=client_ip(request)), "已修改开放日期")
    return redirect("evaluation:project_assessments", project_id=row.project_id)


# --- taking an assessment ----------------------------------------------------------------------

@taker_page
@require_GET
def my_assessments(request, scope):
    return render(request, "evaluation/assessment_mine.html", {"rows": selectors.my_assessments(scope)})


@taker_page
@require_http_methods(["GET", "POST"])
def assessment_take(request, scope, attachment_id: int):
    attachment = fetch(scope, ProjectInstrument, attachment_id, select_related=("instrument", "project"))
    instrument = attachment.instrument
    items = list(instrument.items.order_by("number"))
    scale = list(range(instrument.scale_min, instrument.scale_max + 1))
    answers = {str(item.number): request.POST.get(f"q{item.number}", "") for item in items} if request.method == "POST" else {}
    answered = attachment.responses.filter(teacher_id=scope.teacher_id).exists()
    context = {"attachment": attachment, "instrument": instrument, "items": items, "scale": scale,
               "answers": answers, "answered": answered}
    if request.method == "POST":
        try:
            services.response_submit(scope=scope, actor=request.user, attachment_id=attachment.pk, answers=answers)
        except ValidationError as error:
            messages.error(request, error_text(error))
            return render(request, "evaluation/assessment_take.html", context, status=400)
        messages.success(request, f"已提交：{instrument.title}（{attachment.get_point_display()}）")
        return redirect("evaluation:my_assessments")
    return render(request, "evaluation/assessment_take.html", context)


# --- comparison --------------------------------------------------------------------------------

def _fmt(value, digits: int = 2):
    return "" if value is None else round(value, digits)


def _comparison_export(request, scope, comparison: cmp.Comparison):
    export_throttle(request.user)

    project = comparison.project
    book = new_workbook()
    header = ["对比", "维度", "配对人数", "前测均值", "后测均值", "平均变化", "变化标准差", "变化95%CI下限",
              "变化95%CI上限", "Cohen's d_z", "Hedges' g_z", "d_z 95%CI下限", "d_z 95%CI上限", "p 值", "说明"]
    rows = []
    for row in comparison.rows:
        label = f"{Point(row.before).label}→{Point(row.after).label}"
        s = row.stats
        if s is None:
            rows.append([label, row.label, row.n, *[""] * 11, row.reason])
        else:
            rows.append([label, row.label, s.n, _fmt(s.mean_before), _fmt(s.mean_after), _fmt(s.change),
                         _fmt(s.sd_change), _fmt(s.ci_low), _fmt(s.ci_high), _fmt(s.d_z), _fmt(s.g_z),
                         _fmt(s.d_ci_low), _fmt(s.d_ci_high), _fmt(s.p, 4), ""])
    count = add_table(book, sheet="训前训后对比", title=f"{project.title}（{project.code}）训前训后对比评价",
                      jurisdiction=scope.label, exported_by=exporter_name(request.user), header=header, rows=rows)
    did_rows = [[d.measure, f"{d.before_year}→{d.after_year}", d.n_trained, d.n_controls, _fmt(d.trained_change),
                 _fmt(d.control_change), _fmt(d.estimate), _fmt(d.ci_low), _fmt(d.ci_high), d.reason]
                for d in comparison.did]
    count += add_table(book, sheet="与未参训教师对比", title=f"{project.title}（{project.code}）双重差分",
                       jurisdiction=scope.label, exported_by=exporter_name(request.user),
                       header=["指标", "学年", "参训人数", "匹配对照人数", "参训组变化", "对照组变化", "双重差分",
                               "95%CI下限", "95%CI上限", "说明"], rows=did_rows)
    audit_record(action=Audit.COMPARISON_EXPORT, actor=request.user, ip=client_ip(request),
                 scope_path=project.division_path, object_type="project", object_id=project.pk, detail={"rows": count})
    return xlsx_response(book, f"对比评价-{project.code}.xlsx")


@read_page
@require_GET
def project_comparison(request, scope, project_id: int):
    comparison = cmp.project_comparison(scope, project_id)
    if request.GET.get("format") == "xlsx":
        return _comparison_export(request, scope, comparison)
    groups = [(f"{Point(before).label} → {Point(after).label}", comparison.rows_for(before, after))
              for before, after in cmp.COMPARISONS if comparison.rows_for(before, after)]
    return render(request, "evaluation/comparison_project.html", {
        "comparison": comparison, "project": comparison.project, "groups": groups,
        "chart": cmp.chart_spec(comparison), "min_pairs": cmp.MIN_PAIRS,
        "attachments": selectors.project_attachments(scope, comparison.project)})


# --- teaching outcomes -------------------------------------------------------------------------

@admin_page
@require_http_methods(["GET", "POST"])
def outcome_import(request, scope):
    context: dict = {"columns": outcomes.COLUMNS}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "请选择要导入的文件（Excel 或 CSV）")
            return render(request, "evaluation/outcome_import.html", context, status=400)
        try:
            result = outcomes.outcome_import(scope=scope, actor=request.user, handle=upload.file, name=upload.name,
                                             ip=client_ip(request))
        except RosterFileError as error:
            messages.error(request, str(error))
            return render(request, "evaluation/outcome_import.html", context, status=400)
        context["result"] = result
        context["rejections"] = result.rejections[:outcomes.REJECTIONS_SHOWN]
        if result.rejections:
            messages.error(request, f"有 {len(result.rejections)} 行未通过检查，整个文件未导入；请修改后重新上传")
            return render(request, "evaluation/outcome_import.html", context, status=400)
        messages.success(request, f"已导入：新增 {result.created} 条，更新 {result.updated} 条，未变 {result.unchanged} 条")
    return render(request, "evaluation/outcome_import.html", context)



@roles_required(ADMIN_ROLES)
@require_GET
def outcome_list(request, scope):
    """The teaching outcomes stored for the viewer's teachers, filtered by school year and measure."""
    year = _year_filter(request.GET.get("year"))
    measure = str(request.GET.get("measure") or "")[:40]
    page = paginate(request, selectors.outcome_rows(scope, year=year, measure=measure))
    return render(request, "evaluation/outcome_list.html", {
        "page": page, "year": year, "measure": measure, "summary": selectors.outcome_measures(scope)})


def _year_filter(value) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and 2000 <= int(text) <= 2100 else None
