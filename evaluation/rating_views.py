"""Pages of the anonymous ratings: the trainee's open ratings and the phone-friendly form (one
rating per window, no way back to it), the organiser's window page of a project (open a window,
the response rate), and the results drill-down (all → level × category → institution → project →
window) with its chart. Views parse the form, call one service or selector and redirect; refusals
come back as Chinese messages and write nothing."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access.errors import NotVisible
from access.policy import Action, can, fetch, visible
from accounts.decorators import roles_required, scoped_view
from accounts.models import ADMIN_ROLES, Role
from accounts.throttle import export_throttle
from audit.actions import Action as Audit
from audit.services import audit_record
from catalog.models import Project
from core.excel import PERCENT, add_table, exporter_name, new_workbook, xlsx_response
from core.requests import client_ip, error_text
from evaluation import rating_results, ratings
from evaluation.constants import DIMENSION_LABELS, InstrumentKind, InstrumentState
from evaluation.models import Instrument, RatingWindow

OVERSEE_ROLES = ADMIN_ROLES | {Role.INSTITUTION_STAFF}
oversee_page = roles_required(OVERSEE_ROLES)


# --- the trainee ------------------------------------------------------------------------------


@scoped_view
@require_GET
def rating_mine(request, scope):
    """The ratings open to the trainee today, and whether they have rated in each."""
    if scope.teacher_id is None:
        raise PermissionDenied("只有参训学员可以参加匿名评价")
    return render(request, "evaluation/rating_mine.html", {"windows": ratings.rating_windows_for_teacher(scope)})


@scoped_view
@require_http_methods(["GET", "POST"])
def rating_form(request, scope, project_id: int):
    """The questionnaire of the project's open window; a POST is the one anonymous rating."""
    if scope.teacher_id is None:
        raise PermissionDenied("只有参训学员可以参加匿名评价")
    project = fetch(scope, Project, project_id)
    if not ratings.may_rate(scope, project):
        raise PermissionDenied("只有已录取或已结业的学员可以评价该项目")
    window = ratings.open_window(project)
    if request.method == "POST":
        answers = {key[2:]: value for key, value in request.POST.items() if key.startswith("q-")}
        try:
            ratings.rating_submit(scope=scope, actor=request.user, project_id=project.pk, answers=answers,
                                  ip=client_ip(request))
        except ValidationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, "已匿名提交评价，感谢参与。答卷不与您的账户关联，提交后不能查看或修改。")
            return redirect("evaluation:rating_mine")
    items = list(window.instrument.items.order_by("number")) if window is not None else []
    scale = (list(range(window.instrument.scale_min, window.instrument.scale_max + 1)) if window is not None else [])
    return render(request, "evaluation/rating_form.html", {
        "project": project, "window": window, "items": items, "scale": scale,
        "rated": window is not None and ratings.has_rated(scope, window),
        "given": {key[2:]: value for key, value in request.POST.items() if key.startswith("q-")},
    })


# --- the organiser -----------------------------------------------------------------------------


def _date(value: str | None, field: str) -> dt.date | None:
    """The form's date, None when left empty; a malformed one is refused as such (not as missing)."""
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        raise ValidationError({field: "日期格式有误，应为 YYYY-MM-DD"}) from None


@oversee_page
@require_http_methods(["GET", "POST"])
def rating_windows(request, scope, project_id: int):
    """A project's rating windows: dates, questionnaire, how many have rated of how many (the
    organiser's); the organiser opens a window here."""
    project = fetch(scope, Project, project_id)
    if not rating_results.overseen_projects(scope).filter(pk=project.pk).exists():
        raise NotVisible("对象不存在或不在您的管辖范围内")
    may_open = can(scope, Action.CHANGE, project)
    if request.method == "POST":
        try:
            ratings.window_open(scope=scope, actor=request.user, project_id=project.pk,
                                instrument_id=_int(request.POST.get("instrument")),
                                opens_on=_date(request.POST.get("opens_on"), "opens_on"),
                                closes_on=_date(request.POST.get("closes_on"), "closes_on"), ip=client_ip(request))
        except ValidationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, "已开设匿名评价窗口。")
            return redirect("evaluation:rating_windows", project_id=project.pk)
    rows = []
    today = ratings.today()
    for window in ratings.windows_of(scope, project):
        rated = eligible = None
        if can(scope, Action.CHANGE, window):
            rated = ratings.participation_count(window)
            eligible = window.eligible if window.eligible is not None else ratings.eligible_now(window)
        rows.append({"window": window, "rated": rated, "eligible": eligible, "deletable": rated == 0,
                     "rate": round(100 * rated / eligible) if rated is not None and eligible else None,
                     "state": "未开始" if today < window.opens_on else "进行中" if today <= window.closes_on else "已截止"})
    instruments = (visible(scope, Instrument).filter(kind=InstrumentKind.RATING, state=InstrumentState.PUBLISHED)
                   .order_by("code", "-version")[:100]) if may_open else []
    return render(request, "evaluation/rating_windows.html", {
        "project": project, "rows": rows, "may_open": may_open, "instruments": instruments,
    })


@oversee_page
@require_POST
def rating_window_delete(request, scope, window_id: int):
    """Remove a window nobody has rated in; back to the project's windows either way."""
    window = fetch(scope, RatingWindow, window_id)
    try:
        ratings.window_delete(scope=scope, actor=request.user, window_id=window.pk, ip=client_ip(request))
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, "已删除评价窗口。")
    return redirect("evaluation:rating_windows", project_id=window.project_id)


def _int(value) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 18 else None


# --- results -----------------------------------------------------------------------------------


def _find(cell: rating_results.Cell, key: str, trail: list) -> list | None:
    if cell.key == key:
        return [*trail, cell]
    for child in cell.children:
        found = _find(child, key, [*trail, cell])
        if found:
            return found
    return None


def _row(cell: rating_results.Cell, questions) -> dict:
    rate = cell.rate
    return {"cell": cell, "scores": rating_results.dimension_scores(cell, questions),
            "rate": None if cell.suppressed or rate is None else round(100 * float(rate)),
            "questions": rating_results.question_results(cell, questions) if cell.level in ("project", "window") else []}


def _results_export(request, scope, found: rating_results.Results):
    """The whole drill-down as one table, hidden cells with their reason only (audited, rate-limited)."""
    export_throttle(request.user)
    book = new_workbook()
    count = add_table(book, sheet="匿名评价结果", title="培训项目学员匿名评价结果", jurisdiction=scope.label,
                      exported_by=exporter_name(request.user), header=rating_results.export_header(),
                      rows=rating_results.export_rows(found), formats={"应答率": PERCENT})
    audit_record(action=Audit.RATING_RESULTS_EXPORT, actor=request.user, ip=client_ip(request),
                 scope_path=scope.path or "", object_type="rating_results", object_id="", detail={"rows": count})
    return xlsx_response(book, "匿名评价结果.xlsx")


@oversee_page
@require_GET
def rating_results_page(request, scope):
    """The drill-down: the cell asked for (`at`, default everything) and its children, each shown
    or hidden with the reason; the chart of the shown children's dimension scores."""
    found = rating_results.results_for(scope)
    if request.GET.get("format") == "xlsx":
        return _results_export(request, scope, found)
    trail = _find(found.root, str(request.GET.get("at") or "all")[:80], []) or [found.root]
    current = trail[-1]
    children = [_row(child, found.questions) for child in current.children]
    dimensions = [code for code in rating_results.RATING_DIMENSIONS]
    shown = [row for row in children if row["scores"]]
    chart = {
        "labels": [row["cell"].label for row in shown],
        "series": [{"name": DIMENSION_LABELS[code], "data": [row["scores"].get(code) for row in shown]}
                   for code in dimensions if any(code in row["scores"] for row in shown)],
    }
    return render(request, "evaluation/rating_results.html", {
        "trail": trail, "current": _row(current, found.questions), "children": children,
        "dimensions": [(code, DIMENSION_LABELS[code]) for code in dimensions], "chart": chart,
    })
