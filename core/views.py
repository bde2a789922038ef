from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from accounts.decorators import scoped_view
from accounts.models import ADMIN_ROLES, Role
from core.selectors import stage_title_chart
from institutions.registry_views import staff_home
from learning.push.selectors import push_for
from org.selectors import school_count
from people.selectors import teacher_get


@scoped_view
@require_GET
def home(request, scope):
    user = request.user
    context = {"scope": scope}
    if user.role in ADMIN_ROLES:
        chart, total = stage_title_chart(scope=scope)
        context.update(chart=chart, teacher_total=total, school_total=school_count(scope=scope))
        return render(request, "core/home_admin.html", context)
    if user.role == Role.INSTITUTION_STAFF and user.institution_id:
        return staff_home(request, scope)
    if user.teacher_id:
        teacher = context["teacher"] = teacher_get(scope=scope, teacher_id=user.teacher_id)
        if teacher is not None:
            context["push"] = push_for(scope, teacher)
    return render(request, "core/home_member.html", context)


@login_not_required
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@login_not_required
@require_GET
def root(request):
    return redirect("core:home")
