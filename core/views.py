from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.decorators import scoped_view
from accounts.models import ADMIN_ROLES, Role
from core import homes
from core.selectors import stage_title_chart
from credits.selectors import teacher_cycle_summary
from institutions.registry_views import staff_home
from learning.push.selectors import push_for
from org.selectors import school_count
from people.selectors import teacher_get


@scoped_view
@require_GET
def home(request, scope):
    user = request.user
    today = timezone.localdate()
    context = {"scope": scope, "today": today}
    if user.role in ADMIN_ROLES:
        chart, total = stage_title_chart(scope=scope)
        context.update(chart=chart, teacher_total=total, school_total=school_count(scope=scope),
                       todos=homes.admin_todos(scope, role=user.role, today=today),
                       unjudged=list(homes.ended_unjudged(scope, today)[:homes.SHORT_LIST]),
                       unrecorded=list(homes.sessions_without_attendance(scope, today)[:homes.SHORT_LIST]))
        return render(request, "core/home_admin.html", context)
    if user.role == Role.INSTITUTION_STAFF and user.institution_id:
        return staff_home(request, scope)
    teacher = teacher_get(scope=scope, teacher_id=user.teacher_id) if user.teacher_id else None
    if teacher is not None:
        context.update(
            teacher=teacher, summary=teacher_cycle_summary(teacher=teacher, today=today),
            sessions=homes.upcoming_sessions(scope, teacher_id=teacher.pk, today=today),
            open_projects=homes.open_projects(scope, teacher=teacher, today=today),
            claims=homes.recent_claims(scope, teacher_id=teacher.pk),
            questions=homes.my_open_questions(scope), notices=homes.recent_notices(scope),
            push=push_for(scope, teacher))
        if user.role == Role.EXPERT:
            context["desk"] = homes.expert_desk(scope, teacher_id=teacher.pk, today=today)
    return render(request, "core/home_member.html", context)


@login_not_required
@require_GET
def root(request):
    return redirect("core:home")
