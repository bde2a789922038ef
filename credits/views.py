import datetime as dt
import uuid
from pathlib import Path

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from access.policy import Action as Can
from access.policy import can, fetch
from accounts.decorators import admin_required, division_admin_required, scoped_view
from accounts.models import Role
from core.lists import paginate
from core.requests import client_ip, error_text, object_id
from credits import selectors
from credits.claims import (
    claim_approval_reverse,
    claim_county_decide,
    claim_get,
    claim_resubmit,
    claim_school_check,
    claim_submit,
    claims_decided,
    claims_to_check,
    with_history,
)
from credits.constants import Category
from credits.models import Cycle, LedgerEntry, RuleSet
from credits.services import rule_set_revise
from people.selectors import teacher_get


def _posted_date(request) -> dt.date | None:
    """The claim form's date (YYYY-MM-DD), or None when it is not one."""
    try:
        return dt.date.fromisoformat(request.POST.get("occurred_on", ""))
    except ValueError:
        return None


@scoped_view
@require_GET
def my_hours(request, scope):
    if not request.user.teacher_id:
        raise Http404("账户未绑定教师档案")
    target = reverse("credits:teacher_hours", args=[request.user.teacher_id])
    cycle = request.GET.get("cycle", "")[:20]
    return redirect(f"{target}?{urlencode({'cycle': cycle})}" if cycle else target)


@scoped_view
@require_GET
def teacher_hours(request, scope, teacher_id: int):
    """A teacher's hours for a cycle: progress, categories, entries (self or admins of the jurisdiction)."""
    teacher = teacher_get(scope=scope, teacher_id=teacher_id)
    if teacher is None:
        raise Http404("教师不存在或不在本辖区")
    cycle = Cycle.objects.filter(code=request.GET.get("cycle", "")[:20]).first()
    summary = selectors.teacher_cycle_summary(teacher=teacher, cycle=cycle)
    if summary is None:
        raise Http404("没有继续教育周期")
    return render(request, "credits/teacher_hours.html", {
        "teacher": teacher, "summary": summary, "cycles": Cycle.objects.all(),
        "entries": with_history(selectors.teacher_entries(teacher=teacher, cycle=summary.cycle), scope=scope),
    })


@division_admin_required
@require_http_methods(["GET", "POST"])
def rules(request, scope):
    """Cycle rules: every administrator reads them; the province administrator revises them (a new version)."""
    cycle = Cycle.objects.filter(code=request.GET.get("cycle", "")[:20]).first() or selectors.current_cycle()
    if cycle is None:
        raise Http404("没有继续教育周期")
    may_edit = request.user.role == Role.PROVINCE_ADMIN
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied("只有省级管理员可以修订学时规则")
        limits = {c: (request.POST.get(f"min_{c}", ""), request.POST.get(f"max_{c}", "")) for c in Category.values}
        try:
            rule_set_revise(actor=request.user, cycle=cycle, required_hours=request.POST.get("required_hours", ""),
                            hours_per_credit=request.POST.get("hours_per_credit", ""), category_limits=limits,
                            note=request.POST.get("note", ""), ip=client_ip(request))
        except ValidationError as error:
            messages.error(request, "；".join(f"{v[0]}" for v in error.message_dict.values()))
        else:
            messages.success(request, "已生成新版本规则；已有记录不变，之后的汇总按新规则计算。")
            return redirect(f"{request.path}?cycle={cycle.code}")
    versions = RuleSet.objects.filter(cycle=cycle).prefetch_related("category_rules").select_related("created_by")
    current = versions.first()
    limits = {rule.category: rule for rule in current.category_rules.all()} if current else {}
    return render(request, "credits/rules.html", {
        "cycle": cycle, "cycles": Cycle.objects.all(), "versions": versions, "current": current, "may_edit": may_edit,
        "rows": [(code, label, limits.get(code)) for code, label in Category.choices],
    })


@scoped_view
@require_http_methods(["GET", "POST"])
def claim_new(request, scope):
    """A teacher claims hours for an activity, with evidence."""
    teacher = teacher_get(scope=scope, teacher_id=request.user.teacher_id) if request.user.teacher_id else None
    if teacher is None:
        raise PermissionDenied("只有教师本人可以申报学时")
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        occurred_on = _posted_date(request)
        if occurred_on is None:
            errors = {"occurred_on": ["日期格式应为 YYYY-MM-DD"]}
        else:
            try:
                claim_submit(scope=scope, teacher=teacher, actor=request.user, category=request.POST.get("category", ""),
                             hours=request.POST.get("hours", ""), occurred_on=occurred_on, note=request.POST.get("note", ""),
                             evidence=request.FILES.get("evidence"), idempotency_key=request.POST.get("idempotency_key", ""),
                             ip=client_ip(request))
            except ValidationError as error:
                errors = error.message_dict
            else:
                messages.success(request, "申报已提交，待学校审核后由县级认定。")
                return redirect("credits:my_hours")
    return render(request, "credits/claim_new.html", {
        "categories": Category.choices, "errors": errors, "values": request.POST, "idempotency_key": uuid.uuid4().hex,
    }, status=422 if errors else 200)


@admin_required
@require_http_methods(["GET", "POST"])
def claims(request, scope):
    """Claims waiting for this administrator (school stage or county stage)."""
    if request.method == "POST":
        entry_id = object_id(request.POST.get("entry"))
        approve = request.POST.get("approve") == "1"
        decide = claim_school_check if scope.school_id is not None else claim_county_decide
        try:
            decide(scope=scope, actor=request.user, entry_id=entry_id, approve=approve,
                   reason=request.POST.get("reason", ""), ip=client_ip(request))
        except ValidationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, "已处理，已通知教师。")
        return redirect("credits:claims")
    stage = "学校审核" if scope.school_id is not None else "县级认定"
    page = paginate(request, claims_to_check(scope=scope).select_related("created_by"))
    return render(request, "credits/claims.html", {
        "claims": with_history(page, scope=scope), "page": page,
        "stage": stage, "decided": claims_decided(scope=scope),
    })


@scoped_view
@require_http_methods(["GET", "POST"])
def claim_detail(request, scope, entry_id: int):
    """A claim and its history (the teacher, the administrators of their jurisdiction); the
    deciding level reverses an approval here, with a reason."""
    if request.method == "POST":
        try:
            claim_approval_reverse(scope=scope, actor=request.user, entry_id=entry_id,
                                   reason=request.POST.get("reason", ""), ip=client_ip(request))
        except ValidationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, "已撤销认定：学时已冲销，已通知教师。")
        return redirect("credits:claim_detail", entry_id=entry_id)
    entry = claim_get(scope=scope, entry_id=entry_id)
    may_reverse = entry.state == "approved" and can(scope, Can.REVOKE, entry)
    may_resubmit = (entry.state == "rejected" and request.user.teacher_id == entry.teacher_id
                    and not any(step.kind == "resubmitted_as" for step in getattr(entry, "history", [])))
    return render(request, "credits/claim_detail.html", {
        "entry": entry, "may_reverse": may_reverse, "may_resubmit": may_resubmit})


@scoped_view
@require_http_methods(["GET", "POST"])
def claim_resubmit_view(request, scope, entry_id: int):
    """The teacher revises a refused claim and submits it again (the refused one stays, with its reason)."""
    teacher = teacher_get(scope=scope, teacher_id=request.user.teacher_id) if request.user.teacher_id else None
    if teacher is None:
        raise PermissionDenied("只有教师本人可以重新提交申报")
    old = claim_get(scope=scope, entry_id=entry_id)
    errors: dict[str, list[str]] = {}
    values = request.POST if request.method == "POST" else {
        "category": old.category, "hours": old.hours, "occurred_on": old.occurred_on.isoformat(), "note": old.note}
    if request.method == "POST":
        occurred_on = _posted_date(request)
        if occurred_on is None:
            errors = {"occurred_on": ["日期格式应为 YYYY-MM-DD"]}
        else:
            try:
                entry = claim_resubmit(scope=scope, teacher=teacher, actor=request.user, entry_id=old.pk,
                                       category=request.POST.get("category", ""), hours=request.POST.get("hours", ""),
                                       occurred_on=occurred_on, note=request.POST.get("note", ""),
                                       evidence=request.FILES.get("evidence"), ip=client_ip(request))
            except ValidationError as error:
                errors = error.message_dict
            else:
                messages.success(request, "已重新提交，待学校审核后由县级认定。")
                return redirect("credits:claim_detail", entry_id=entry.pk)
    return render(request, "credits/claim_resubmit.html", {
        "old": old, "categories": Category.choices, "errors": errors, "values": values,
    }, status=422 if errors else 200)


@scoped_view
@require_GET
def evidence(request, scope, entry_id: int):
    """The evidence of an entry, for the teacher and the administrators of their jurisdiction."""
    entry = fetch(scope, LedgerEntry, entry_id)
    if not entry.evidence:
        raise Http404("证明材料不存在或不在本辖区")
    return FileResponse(entry.evidence.open("rb"), as_attachment=True, filename=Path(entry.evidence.name or "evidence").name)
