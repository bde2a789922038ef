"""Pages of the learning-record store: clients and their traffic (division administrators),
credited activities, held completions to decide, and a teacher's own 学习记录."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access.policy import Action, can, fetch
from accounts.decorators import division_admin_required, division_of, scoped_view
from core.lists import paginate
from core.requests import client_ip, error_text, object_id
from credits.constants import Category
from lrs import selectors
from lrs.clients import client_create, client_revoke
from lrs.credited import credited_activity_create, credited_activity_set_active
from lrs.crediting import credit_decide
from lrs.learners import identities_of, learner_identity_add, learner_identity_remove
from lrs.models import CreditState, LrsClient


@division_admin_required
@require_http_methods(["GET", "POST"])
def client_list(request, scope):
    created = None
    if request.method == "POST":
        form = request.POST
        try:
            client, secret = client_create(
                scope=scope, actor=request.user, name=form.get("name", ""), division=division_of(request.user),
                activity_prefixes=form.get("prefixes", "").split(), may_write=form.get("read_only") != "1",
                reads_all=form.get("reads_all") == "1", rate_per_minute=object_id(form.get("rate")) or 600,
                ip=client_ip(request))
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, error_text(error))
        else:
            created = {"client": client, "secret": secret}
    return render(request, "lrs/client_list.html", {"page": paginate(request, selectors.clients_list(scope)),
                                                    "created": created},
                  status=201 if created else 200)


@division_admin_required
@require_GET
def client_detail(request, scope, client_id: int):
    client = fetch(scope, LrsClient, client_id)
    days = selectors.client_days(client)
    chart = {
        "tooltip": {"trigger": "axis"}, "legend": {},
        "grid": {"left": 10, "right": 10, "top": 40, "bottom": 10, "containLabel": True},
        "xAxis": {"type": "category", "data": [d.day.strftime("%m-%d") for d in days]},
        "yAxis": [{"type": "value", "name": "语句", "minInterval": 1}, {"type": "value", "name": "拒绝", "minInterval": 1}],
        "series": [{"type": "bar", "name": "语句", "data": [d.statements for d in days]},
                   {"type": "line", "name": "拒绝的请求", "yAxisIndex": 1, "data": [d.rejected for d in days]}],
    }
    return render(request, "lrs/client_detail.html", {
        "client": client, "days": days, "chart": chart, "may_change": can(scope, Action.CHANGE, client),
        "total": sum(d.statements for d in days), "rejections": selectors.client_rejections(client),
        "unmatched": selectors.client_unmatched(scope, client),
        "flagged": [(credit, can(scope, Action.DECIDE, credit))
                    for credit in selectors.credits_list(scope, client=client)],
        "counts": selectors.credit_counts(scope, client),
    })


@division_admin_required
@require_POST
def client_revoke_view(request, scope, client_id: int):
    client_revoke(scope=scope, actor=request.user, client_id=client_id, ip=client_ip(request))
    messages.success(request, "已停用：该接入方的账号与密钥不再有效。")
    return redirect("learning:client_detail", client_id=client_id)


@division_admin_required
@require_http_methods(["GET", "POST"])
def credited_list(request, scope):
    status = 200
    if request.method == "POST":
        form = request.POST
        try:
            credited_activity_create(scope=scope, actor=request.user, division=division_of(request.user),
                                     activity_iri=form.get("activity_iri", ""), title=form.get("title", ""),
                                     hours=form.get("hours", ""), category=form.get("category", Category.ONLINE),
                                     is_prefix=form.get("is_prefix") == "1", ip=client_ip(request))
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, error_text(error))
            status = 400
        else:
            messages.success(request, "已登记：学员完成该活动后自动计入学时。")
            return redirect("learning:credited_list")
    search = request.GET.get("q", "").strip()[:100]
    page = paginate(request, selectors.credited_activities_list(scope, search=search))
    return render(request, "lrs/credited_list.html", {
        "page": page, "rows": [(row, can(scope, Action.CHANGE, row)) for row in page], "search": search,
        "categories": Category.choices, "form": request.POST if status == 400 else {},
    }, status=status)


@division_admin_required
@require_POST
def credited_toggle(request, scope, credited_id: int):
    credited_activity_set_active(scope=scope, actor=request.user, credited_id=credited_id,
                                 active=request.POST.get("active") == "1", ip=client_ip(request))
    return redirect("learning:credited_list")


@division_admin_required
@require_http_methods(["GET", "POST"])
def credit_queue(request, scope):
    """Completions held for a decision, of the teachers this administrator decides for."""
    if request.method == "POST":
        try:
            credit_decide(scope=scope, actor=request.user, credit_id=object_id(request.POST.get("credit")),
                          approve=request.POST.get("approve") == "1", note=request.POST.get("note", ""),
                          ip=client_ip(request))
        except ValidationError as error:  # refusals (403/404) are the policy's answer, not a message
            messages.error(request, error_text(error))
        else:
            messages.success(request, "已处理。")
        return redirect(request.POST.get("next") if request.POST.get("next", "").startswith("/learning/")
                        else "learning:credit_queue")
    state = request.GET.get("state", CreditState.FLAGGED)
    if state not in CreditState.values:
        state = CreditState.FLAGGED
    page = paginate(request, selectors.credits_queryset(scope, state=state))
    counts = selectors.credit_counts(scope)
    return render(request, "lrs/credit_queue.html", {
        "page": page, "credits": [(credit, can(scope, Action.DECIDE, credit)) for credit in page], "state": state,
        "states": [(value, label, counts[value]) for value, label in CreditState.choices],
    })


@scoped_view
@require_http_methods(["GET", "POST"])
def my_records(request, scope):
    """A teacher's own learning records, and the identities that make statements theirs."""
    teacher = request.user.teacher
    if teacher is None:
        raise Http404("账户未绑定教师档案")
    if request.method == "POST":
        try:
            if request.POST.get("remove"):
                learner_identity_remove(scope=scope, actor=request.user, identity_id=object_id(request.POST["remove"]),
                                        ip=client_ip(request))
                messages.success(request, "已删除。")
            else:
                learner_identity_add(scope=scope, actor=request.user, teacher=teacher, kind=request.POST.get("kind", ""),
                                     value=request.POST.get("value", ""), home_page=request.POST.get("home_page", ""),
                                     ip=client_ip(request))
                messages.success(request, "已登记：该身份下的学习记录已归入您的档案，完成的计学时课程将自动计入学时。")
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, error_text(error))
        return redirect("learning:my_records")
    records, more = selectors.teacher_records(scope, teacher, before=request.GET.get("before", "")[:40])
    return render(request, "lrs/my_records.html", {
        "records": records, "more": more, "identities": identities_of(scope, teacher),
    })
