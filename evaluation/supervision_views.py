"""Pages of supervision: a project's 过程评价 (visits, outcome reviews, stakeholder ratings, their
means, and the forms of what the viewer may add), the edit form of one's own record, an expert's
我的视导, and the rubrics (list, new, a rubric with its draft form, publish / new version / retire).
Views parse the form, call one service or selector and redirect; refusals come back as Chinese
messages and write nothing."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import DIVISION_ADMIN_ROLES, roles_required
from accounts.models import ADMIN_ROLES, Role
from core.requests import client_ip, error_text, form_step, object_id
from evaluation import rubrics, supervision
from evaluation import supervision_selectors as selectors
from evaluation.constants import InstrumentState, OutcomeKind, RubricKind
from evaluation.ownership import owning_division_choices

# The 过程评价 page: administrators (organisers, stakeholders), experts (supervisors), the staff of
# the implementing institution (who read, never score). Teachers have no part in it.
EVALUATION_ROLES = ADMIN_ROLES | {Role.EXPERT, Role.INSTITUTION_STAFF}
project_page = roles_required(EVALUATION_ROLES)
expert_page = roles_required(DIVISION_ADMIN_ROLES | {Role.EXPERT})
rubric_page = roles_required(DIVISION_ADMIN_ROLES)


def _scores(post) -> dict[str, str]:
    return {key[len("score_"):]: value for key, value in post.items() if key.startswith("score_")}


def _back(project_id: int):
    return redirect("evaluation:supervision_project", project_id=project_id)


@project_page
@require_GET
def supervision_project(request, scope, project_id: int):
    found = selectors.project_evaluation(scope, project_id)
    candidates = selectors.supervisor_candidates(scope, found.project) if found.may_manage else []
    return render(request, "evaluation/supervision_project.html", {
        "e": found, "project": found.project, "means": found.means, "candidates": candidates,
        "outcome_kinds": OutcomeKind.choices, "edit_days": supervision.EDIT_DAYS,
        "visit_window": (supervision.VISIT_BEFORE_DAYS, supervision.VISIT_AFTER_DAYS),
        "me": request.user.pk})


@project_page
@require_POST
def supervision_supervisors(request, scope, project_id: int):
    if request.POST.get("action") == "remove":
        form_step(request, lambda: supervision.supervisor_remove(
            scope=scope, actor=request.user, supervisor_id=object_id(request.POST.get("supervisor")),
            project_id=project_id, ip=client_ip(request)), "已取消该视导专家")
    else:
        form_step(request, lambda: supervision.supervisor_add(
            scope=scope, actor=request.user, project_id=project_id, username=request.POST.get("username", ""),
            ip=client_ip(request)), "已指定视导专家")
    return _back(project_id)


@project_page
@require_POST
def supervision_record_add(request, scope, project_id: int, kind: str):
    post, ip = request.POST, client_ip(request)
    common = {"scope": scope, "actor": request.user, "project_id": project_id,
              "rubric_id": object_id(post.get("rubric")) or None, "scores": _scores(post),
              "note": post.get("note", ""), "ip": ip}
    if kind == "visit":
        form_step(request, lambda: supervision.visit_record(**common, visited_on=post.get("visited_on", "")),
                  "已记录视导")
    elif kind == "outcome":
        form_step(request, lambda: supervision.outcome_review_record(
            **common, title=post.get("title", ""), kind=post.get("kind", ""), file=request.FILES.get("file")),
            "已记录成果评审")
    elif kind == "stakeholder":
        form_step(request, lambda: supervision.stakeholder_rate(**common), "已提交本单位评价")
    else:
        raise Http404("未知的评价记录类型")
    return _back(project_id)


@project_page
@require_http_methods(["GET", "POST"])
def supervision_record_edit(request, scope, kind: str, record_id: int):
    if kind not in supervision.KINDS:
        raise Http404("未知的评价记录类型")
    row = selectors.record_get(scope, kind, record_id)
    if request.method == "POST":
        post = request.POST
        changes: dict = {"scores": _scores(post), "note": post.get("note", "")}
        if kind == "visit":
            changes["visited_on"] = post.get("visited_on", "")
        if kind == "outcome":
            changes |= {"title": post.get("title", ""), "kind": post.get("kind", "")}
        try:
            supervision.record_update(scope=scope, actor=request.user, kind=kind, record_id=row.pk, changes=changes,
                                      ip=client_ip(request))
        except ValidationError as error:
            messages.error(request, error_text(error))
            return render(request, "evaluation/supervision_record_edit.html", {
                "row": row, "kind": kind, "values": changes, "outcome_kinds": OutcomeKind.choices,
                "editable": supervision.is_editable(row), "until": supervision.editable_until(row)}, status=400)
        messages.success(request, "已保存修改")
        return _back(row.project_id)
    values = {"scores": row.scores, "note": row.note}
    if kind == "visit":
        values["visited_on"] = row.visited_on.isoformat()
    if kind == "outcome":
        values |= {"title": row.title, "kind": row.kind}
    return render(request, "evaluation/supervision_record_edit.html", {
        "row": row, "kind": kind, "values": values, "outcome_kinds": OutcomeKind.choices,
        "editable": supervision.is_editable(row), "until": supervision.editable_until(row)})


@project_page
@require_http_methods(["GET", "POST"])
def supervision_outcome_file(request, scope, record_id: int):
    """GET: the outcome's file, for whoever sees the review. POST: its author adds or replaces it."""
    if request.method == "POST":
        row = selectors.record_get(scope, "outcome", record_id)
        form_step(request, lambda: supervision.outcome_file_attach(
            scope=scope, actor=request.user, review_id=row.pk, file=request.FILES.get("file"), ip=client_ip(request)),
            "已上传成果文件")
        return _back(row.project_id)
    row = supervision.outcome_file_get(scope, record_id)
    return FileResponse(row.file.open("rb"), as_attachment=True, filename=row.file_name or "成果文件")


@expert_page
@require_GET
def supervision_mine(request, scope):
    return render(request, "evaluation/supervision_mine.html", {"rows": selectors.my_supervisions(scope)})


# --- rubrics ---------------------------------------------------------------------------------------

def parse_criteria(text: str) -> list[dict] | str:
    """Criteria typed one per line as 编号|名称|满分; lines that do not have three parts are kept
    as they are so the service names them."""
    found: list = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [part.strip() for part in line.replace("｜", "|").split("|")]
        if len(parts) != 3:
            found.append({"code": "", "label": line.strip(), "max": None})
            continue
        found.append({"code": parts[0], "label": parts[1], "max": parts[2]})
    return found


def criteria_text(criteria: list[dict]) -> str:
    return "\n".join(f"{item['code']}|{item['label']}|{item['max']}" for item in criteria or [])


def _rubric_choices(scope) -> dict:
    return {"kinds": RubricKind.choices, "states": InstrumentState.choices, "divisions": owning_division_choices(scope)}


@rubric_page
@require_GET
def rubric_list(request, scope):
    kind, state = request.GET.get("kind", ""), request.GET.get("state", "")
    return render(request, "evaluation/rubric_list.html", {
        "rows": selectors.rubric_list(scope, kind=kind, state=state), "kind": kind, "state": state,
        **_rubric_choices(scope)})


@rubric_page
@require_http_methods(["GET", "POST"])
def rubric_new(request, scope):
    post = request.POST
    values = {"kind": post.get("kind", ""), "code": post.get("code", ""), "title": post.get("title", ""),
              "criteria": post.get("criteria", ""), "division": object_id(post.get("division"))}
    if request.method == "POST":
        try:
            row = rubrics.rubric_create(scope=scope, actor=request.user, kind=values["kind"], code=values["code"],
                                        title=values["title"], criteria=parse_criteria(values["criteria"]),
                                        division_id=values["division"] or None, ip=client_ip(request))
        except ValidationError as error:
            messages.error(request, error_text(error))
            return render(request, "evaluation/rubric_form.html", {"values": values, **_rubric_choices(scope)},
                          status=400)
        messages.success(request, "已新建量规草稿；发布后即可用于评分")
        return redirect("evaluation:rubric_detail", rubric_id=row.pk)
    return render(request, "evaluation/rubric_form.html", {"values": values, **_rubric_choices(scope)})


@rubric_page
@require_http_methods(["GET", "POST"])
def rubric_detail(request, scope, rubric_id: int):
    row = selectors.rubric_get(scope, rubric_id)
    may_change = selectors.may_change_rubric(scope, row)
    text = criteria_text(row.criteria)
    if request.method == "POST":
        text = request.POST.get("criteria", "")
        if form_step(request, lambda: rubrics.rubric_update(
                scope=scope, actor=request.user, rubric_id=rubric_id, title=request.POST.get("title", ""),
                criteria=parse_criteria(text), ip=client_ip(request)), "已保存草稿"):
            return redirect("evaluation:rubric_detail", rubric_id=rubric_id)
    return render(request, "evaluation/rubric_detail.html", {
        "row": row, "may_change": may_change, "criteria_text": text,
        "total_max": sum(int(item.get("max") or 0) for item in row.criteria)},
        status=400 if request.method == "POST" else 200)


@rubric_page
@require_POST
def rubric_state(request, scope, rubric_id: int):
    action, ip = request.POST.get("action", ""), client_ip(request)
    if action == "publish":
        form_step(request, lambda: rubrics.rubric_publish(scope=scope, actor=request.user, rubric_id=rubric_id, ip=ip),
                  "已发布；量规内容已冻结")
    elif action == "retire":
        form_step(request, lambda: rubrics.rubric_retire(scope=scope, actor=request.user, rubric_id=rubric_id, ip=ip),
                  "已停用；已有记录不受影响")
    elif action == "version":
        made = []
        if form_step(request, lambda: made.append(rubrics.rubric_new_version(
                scope=scope, actor=request.user, rubric_id=rubric_id, ip=ip)), "已新建版本草稿"):
            return redirect("evaluation:rubric_detail", rubric_id=made[0].pk)
    else:
        messages.error(request, "未知的操作")
    return redirect("evaluation:rubric_detail", rubric_id=rubric_id)
