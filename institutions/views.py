"""Pages of training-institution accreditation (准入): the list with filters, the application
form with evidence upload, one application's page (scope, evidence, scores, history, and the
forms this viewer may use), and one POST per step. Views parse the form, call one service and
redirect; refusals come back as Chinese messages and write nothing."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access.policy import fetch
from accounts.decorators import DIVISION_ADMIN_ROLES, roles_required
from accounts.models import Role
from catalog.constants import Level, Mode, ProjectCategory
from core.lists import paginate
from core.requests import client_ip, error_text, form_step
from institutions import machine, selectors, services
from institutions.constants import SCOPE_CATEGORIES, SCOPE_LEVELS, SCOPE_MODES
from institutions.constants import AccreditationState as S
from institutions.models import Accreditation, AccreditationEvidence

ROLES = DIVISION_ADMIN_ROLES | {Role.INSTITUTION_STAFF}
# Institution staff and division administrators; what each may do to an application is the policy's.
accreditation_page = roles_required(ROLES)


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        raise ValidationError({"valid_until": "日期格式应为 YYYY-MM-DD"}) from None


def _choices():
    return {"levels": [(c, Level(c).label) for c in SCOPE_LEVELS],
            "categories": [(c, ProjectCategory(c).label) for c in SCOPE_CATEGORIES],
            "modes": [(c, Mode(c).label) for c in SCOPE_MODES]}


@accreditation_page
@require_GET
def accreditation_list(request, scope):
    state = request.GET.get("state", "")
    q = request.GET.get("q", "").strip()[:50]
    to_decide = request.GET.get("to_decide") == "1"
    page = paginate(request, selectors.accreditations(scope, state=state, q=q, to_decide=to_decide))
    return render(request, "institutions/list.html", {
        "page": page, "states": S.choices, "filters": {"state": state, "q": q, "to_decide": to_decide},
        "labels": {**dict(Level.choices), **dict(ProjectCategory.choices), **dict(Mode.choices)}})


@accreditation_page
@require_http_methods(["GET", "POST"])
def accreditation_apply(request, scope):
    institutions = selectors.institutions_to_apply_for(scope)
    values = {"institution": _int(request.POST.get("institution")) or (institutions[0].pk if institutions else None),
              "levels": request.POST.getlist("levels"), "categories": request.POST.getlist("categories"),
              "modes": request.POST.getlist("modes"), "note": request.POST.get("note", "")}
    if request.method == "POST":
        try:
            row = services.accreditation_apply(
                scope=scope, actor=request.user, institution_id=values["institution"] or 0, levels=values["levels"],
                categories=values["categories"], modes=values["modes"], note=values["note"],
                files=request.FILES.getlist("evidence"), ip=client_ip(request))
        except ValidationError as error:
            messages.error(request, error_text(error))
            return render(request, "institutions/apply.html",
                          {"institutions": institutions, "values": values, **_choices()}, status=400)
        messages.success(request, "申请已保存为草稿，请核对后提交审核")
        return redirect("institutions:detail", accreditation_id=row.pk)
    return render(request, "institutions/apply.html", {"institutions": institutions, "values": values, **_choices()})


@accreditation_page
@require_GET
def accreditation_detail(request, scope, accreditation_id: int):
    row = selectors.accreditation_get(scope, accreditation_id)
    if row is None:
        raise Http404("准入申请不存在或不在您的范围内")
    may = selectors.what_may_be_done(scope, row)
    scores = {s.criterion_id: s for s in row.scores.all()}
    items = [(item, scores.get(item.pk)) for item in row.criteria.items.all()] if row.criteria else []
    labels = {**dict(Level.choices), **dict(ProjectCategory.choices), **dict(Mode.choices)}
    return render(request, "institutions/detail.html", {
        "row": row, "may": may, "items": items, "evidence": row.evidence.all(),
        "history": _history(row), "labels": labels,
        "scope_levels": [labels[c] for c in row.levels], "scope_categories": [labels.get(c, c) for c in row.categories],
        "scope_modes": [labels.get(c, c) for c in row.modes], "total": sum(s.score for s in scores.values())})


ACTION_LABELS = {"apply": "申请（草稿）", "evidence": "上传证明材料",
                 **{name: t.label for name, t in machine.TRANSITIONS.items()}}


def _history(row: Accreditation) -> list[dict]:
    states = dict(S.choices)
    return [{"at": e.at, "actor": e.actor.username if e.actor else "系统", "label": ACTION_LABELS.get(e.action, e.action),
             "from": states.get(e.from_state, ""), "to": states.get(e.to_state, ""), "reason": e.reason}
            for e in row.events.select_related("actor")]


def _step(request, accreditation_id: int, done: str, call) -> object:
    form_step(request, call, done)
    return redirect("institutions:detail", accreditation_id=accreditation_id)


@accreditation_page
@require_POST
def evidence_upload(request, scope, accreditation_id: int):
    return _step(request, accreditation_id, "证明材料已上传", lambda: services.evidence_add(
        scope=scope, actor=request.user, accreditation_id=accreditation_id,
        files=request.FILES.getlist("evidence"), ip=client_ip(request)))


@accreditation_page
@require_GET
def evidence_download(request, scope, accreditation_id: int, evidence_id: int):
    evidence = fetch(scope, AccreditationEvidence, evidence_id)
    if evidence.accreditation_id != accreditation_id:
        raise Http404("证明材料不存在")
    return FileResponse(evidence.file.open("rb"), as_attachment=True, filename=evidence.name)


@accreditation_page
@require_POST
def accreditation_submit(request, scope, accreditation_id: int):
    return _step(request, accreditation_id, "已提交审核", lambda: services.accreditation_submit(
        scope=scope, actor=request.user, accreditation_id=accreditation_id, ip=client_ip(request)))


@accreditation_page
@require_POST
def accreditation_renew(request, scope, accreditation_id: int):
    return _step(request, accreditation_id, "续期申请已提交", lambda: services.accreditation_renew(
        scope=scope, actor=request.user, accreditation_id=accreditation_id, note=request.POST.get("note", ""),
        files=request.FILES.getlist("evidence"), ip=client_ip(request)))


@accreditation_page
@require_POST
def accreditation_decide(request, scope, accreditation_id: int):
    def call():
        row = fetch(scope, Accreditation, accreditation_id)
        scores: dict[str, int] = {}
        comments: dict[str, str] = {}
        if row.criteria is not None:
            for item in row.criteria.items.all():
                raw = request.POST.get(f"score_{item.code}", "").strip()
                if raw:
                    value = _int(raw)
                    if value is None:
                        raise ValidationError({"scores": f"“{item.name}”的得分应为整数"})
                    scores[item.code] = value
                    comments[item.code] = request.POST.get(f"comment_{item.code}", "")
        services.accreditation_decide(
            scope=scope, actor=request.user, accreditation_id=accreditation_id,
            decision=request.POST.get("decision", ""), reason=request.POST.get("reason", ""), scores=scores,
            comments=comments, valid_from=_date(request.POST.get("valid_from")),
            valid_until=_date(request.POST.get("valid_until")), ip=client_ip(request))

    return _step(request, accreditation_id, "已作出决定，并通知申请人", call)


def _reviewer_view(service, done: str):
    @accreditation_page
    @require_POST
    def view(request, scope, accreditation_id: int):
        return _step(request, accreditation_id, done, lambda: service(
            scope=scope, actor=request.user, accreditation_id=accreditation_id, reason=request.POST.get("reason", ""),
            ip=client_ip(request)))

    return view


accreditation_suspend = _reviewer_view(services.accreditation_suspend, "已暂停准入，并通知申请人")
accreditation_reinstate = _reviewer_view(services.accreditation_reinstate, "已恢复准入，并通知申请人")
accreditation_revoke = _reviewer_view(services.accreditation_revoke, "已撤销准入，并通知申请人")
