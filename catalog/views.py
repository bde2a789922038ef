"""Project library pages: search and filter, a project with enrolment, my enrolments."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from access.policy import Action as Can
from access.policy import fetch
from accounts.decorators import scoped_view
from catalog import selectors
from catalog.attendance import may_run_project
from catalog.constants import SEAT_HOLDING, EnrolmentState, Level, Mode, ProjectCategory
from catalog.models import Enrolment
from catalog.phase import Phase
from catalog.services import enrol, enrolment_refusals, enrolment_withdraw
from core.lists import paginate
from core.requests import client_ip, error_text, object_id, year_param
from people.selectors import teacher_get

PAGE_SIZE = 50


@scoped_view
@require_GET
def project_list(request, scope):
    filters = {name: request.GET.get(name, "")[:50] for name in ("level", "category", "mode", "q", "phase")}
    if filters["phase"] not in Phase.values:
        filters["phase"] = ""
    year = year_param(request.GET.get("year"))
    projects = selectors.project_queryset(scope=scope, **filters, year=year or None)
    page = paginate(request, projects, per_page=PAGE_SIZE)
    this_year = timezone.localdate().year
    return render(request, "catalog/project_list.html", {
        "projects": page.object_list, "page": page, "filters": filters, "levels": Level.choices,
        "categories": ProjectCategory.choices, "modes": Mode.choices, "phases": Phase.choices, "year": year,
        "years": range(this_year + 1, this_year - 5, -1),
    })


@scoped_view
@require_http_methods(["GET", "POST"])
def project_detail(request, scope, project_id: int):
    project = selectors.project_get(scope=scope, project_id=project_id)
    if project is None:
        raise Http404("项目不存在")
    teacher = teacher_get(scope=scope, teacher_id=request.user.teacher_id) if request.user.teacher_id else None
    if request.method == "POST":
        if teacher is None:
            raise PermissionDenied("只有教师本人可以报名")
        try:
            enrolment = enrol(scope=scope, project_id=project.pk, teacher=teacher, actor=request.user, ip=client_ip(request),
                              project=project)
        except ValidationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, {"waiting": "名额已满，已进入候补名单。", "pending": "已报名，等待审核。"}
                             .get(enrolment.state, "报名成功。"))
        return redirect("catalog:project_detail", project_id=project.pk)
    mine = project.enrolments.filter(teacher=teacher).first() if teacher else None
    return render(request, "catalog/project_detail.html", {
        "project": project, "teacher": teacher, "mine": mine,
        "refusals": enrolment_refusals(project=project, teacher=teacher) if teacher and (not mine or mine.state == EnrolmentState.WITHDRAWN) else [],
        "may_manage": may_run_project(scope=scope, project=project),
        "blocked": selectors.blocked_reasons([project]).get(project.pk, ""),
        "audience": selectors.audience_words(project.audience),
    })


@scoped_view
@require_GET
def my_enrolments(request, scope):
    if not request.user.teacher_id:
        raise Http404("账户未绑定教师档案")
    return render(request, "catalog/my_enrolments.html",
                  {"enrolments": selectors.teacher_enrolments(scope=scope, teacher_id=request.user.teacher_id)[:200]})


@scoped_view
@require_http_methods(["GET", "POST"])
def enrolment_withdraw_view(request, scope):
    """退出项目 / 取消报名: a page that says what happens, then the POST that does it."""
    teacher = teacher_get(scope=scope, teacher_id=request.user.teacher_id) if request.user.teacher_id else None
    if teacher is None:
        raise PermissionDenied("只有教师本人可以退出项目")
    if request.method == "GET":
        enrolment = fetch(scope, Enrolment, object_id(request.GET.get("enrolment")), Can.WITHDRAW,
                          select_related=("project",))
        return render(request, "catalog/enrolment_withdraw.html", {
            "enrolment": enrolment, "project": enrolment.project,
            "active": enrolment.state in (*SEAT_HOLDING, EnrolmentState.WAITING),
            "verb": "退出项目" if enrolment.state == EnrolmentState.ENROLLED else "取消报名",
        })
    try:
        enrolment = enrolment_withdraw(scope=scope, enrolment_id=object_id(request.POST.get("enrolment")),
                                       actor=request.user, ip=client_ip(request))
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, f"已退出“{enrolment.project.title}”；名额已让给候补名单中的下一位，已获得的学时保留。"
                                  "报名开放期间可以重新报名。")
    return redirect("catalog:my_enrolments")


def _own_teacher(request, scope):
    teacher = teacher_get(scope=scope, teacher_id=request.user.teacher_id) if request.user.teacher_id else None
    if teacher is None:
        raise Http404("账户未绑定教师档案")
    return teacher


@scoped_view
@require_GET
def open_to_me(request, scope):
    from django.utils import timezone

    from catalog.schedule import open_to_teacher

    teacher = _own_teacher(request, scope)
    return render(request, "catalog/open_to_me.html",
                  {"projects": open_to_teacher(scope=scope, teacher=teacher, today=timezone.localdate())})


@scoped_view
@require_GET
def my_schedule(request, scope):
    from django.utils import timezone

    from catalog.schedule import teacher_schedule

    teacher = _own_teacher(request, scope)
    today = timezone.localdate()
    items = teacher_schedule(scope=scope, teacher_id=teacher.pk)
    return render(request, "catalog/my_schedule.html", {
        "upcoming": [i for i in items if i.session.held_on >= today],
        "past": list(reversed([i for i in items if i.session.held_on < today])), "today": today,
    })


@scoped_view
@require_GET
def my_schedule_ics(request, scope):
    from django.http import HttpResponse

    from catalog.schedule import schedule_ics, teacher_schedule

    teacher = _own_teacher(request, scope)
    body = schedule_ics(teacher_schedule(scope=scope, teacher_id=teacher.pk), host=request.get_host().split(":")[0] or "yanxiu")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="schedule.ics"'
    return response
