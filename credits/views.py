from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.decorators import division_admin_required, scoped_view
from accounts.models import Role
from core.requests import client_ip
from credits import selectors
from credits.constants import Category
from credits.models import Cycle, RuleSet
from credits.services import rule_set_revise
from people.selectors import teacher_get


@scoped_view
def my_hours(request, scope):
    if not request.user.teacher_id:
        raise Http404("账户未绑定教师档案")
    return redirect("credits:teacher_hours", teacher_id=request.user.teacher_id)


@scoped_view
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
        "entries": selectors.teacher_entries(teacher=teacher, cycle=summary.cycle),
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
