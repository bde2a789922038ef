"""Pages of the course library: 课程资源库 (teachers: the published courses open to them;
division administrators: their jurisdiction's courses in every state, too), a course, its
curation (发布、下架、合并), 导入课程目录 with the row report, and the providers."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access.policy import Action, can
from accounts.decorators import (
    DIVISION_ADMIN_ROLES,
    division_admin_required,
    division_of,
    scoped_view,
)
from catalog.constants import Topic
from core.requests import client_ip, error_text, object_id
from learning import selectors, study_selectors
from learning.catalogue import COLUMNS, catalogue_import, file_rows
from learning.constants import CourseState, ProviderKind, RequiredContent
from learning.services import course_merge, course_publish, course_retire, provider_create
from learning.study import playable
from org.constants import Stage
from people.constants import Subject
from people.roster.files import RosterFileError


@scoped_view
@require_GET
def course_list(request, scope):
    admin = request.user.role in DIVISION_ADMIN_ROLES
    error, status = "", 200
    try:
        filters = selectors.course_filters_from(request.GET, admin=admin)
    except ValidationError as problem:
        error, status = error_text(problem), 400
        filters = selectors.CourseFilters(q=request.GET.get("q", "")[: selectors.MAX_QUERY_LENGTH])
        page = selectors.CoursePage(courses=[])
    else:
        page = selectors.course_page(scope, filters, after=object_id(request.GET.get("after")) or None,
                                     page=object_id(request.GET.get("page")) or 1)
    query = request.GET.copy()
    query.pop("after", None)
    query.pop("page", None)
    return render(request, "learning/course_list.html", {
        "page": page, "filters": filters, "admin": admin, "query": query.urlencode(), "error": error,
        "stages": Stage.choices, "subjects": Subject.choices, "topics": Topic.choices,
        "required": RequiredContent.choices, "states": CourseState.choices,
        "providers": selectors.course_providers(scope),
    }, status=status)


@scoped_view
@require_GET
def course_detail(request, scope, course_id: int):
    course = selectors.course_get(scope, course_id)
    if course is None:
        raise Http404("课程不存在或未向您开放")
    return render(request, "learning/course_detail.html", {
        "course": course, "may_change": can(scope, Action.CHANGE, course),
        "studies": scope.teacher_id is not None, "enrolment": study_selectors.enrolment_for(scope, course_id),
        "unplayable": playable(course), "stars": range(1, 6),
    })


@division_admin_required
@require_POST
def course_publish_view(request, scope, course_id: int):
    try:
        course_publish(scope=scope, actor=request.user, course_id=course_id, ip=client_ip(request))
    except ValidationError as error:  # refusals (403/404) are the policy's answer, not a message
        messages.error(request, error_text(error))
    else:
        messages.success(request, "已发布：课程向本区划及下级的教师开放，完成后自动计入学时。")
    return redirect("courses:course_detail", course_id=course_id)


@division_admin_required
@require_POST
def course_retire_view(request, scope, course_id: int):
    course_retire(scope=scope, actor=request.user, course_id=course_id, ip=client_ip(request))
    messages.success(request, "已下架：课程不再向教师开放，此后的完成记录不再计入学时（已计入的不变）。")
    return redirect("courses:course_detail", course_id=course_id)


@division_admin_required
@require_POST
def course_merge_view(request, scope, course_id: int):
    into = object_id(request.POST.get("into_id"))
    try:
        course_merge(scope=scope, actor=request.user, course_id=course_id, into_id=into or 0, ip=client_ip(request))
    except ValidationError as error:
        messages.error(request, error_text(error))
        return redirect("courses:course_detail", course_id=course_id)
    messages.success(request, "已合并：重复课程已下架，其完成人次与评分并入目标课程。")
    return redirect("courses:course_detail", course_id=into)


@division_admin_required
@require_http_methods(["GET", "POST"])
def catalogue_import_view(request, scope):
    error, report = "", None
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = "请选择文件"
        else:
            try:
                rows, digest = file_rows(upload.file, upload.name)
            except RosterFileError as problem:
                error = str(problem)
            else:
                if not rows:
                    error = "文件中没有课程"
                else:
                    report = catalogue_import(scope=scope, actor=request.user, division=division_of(request.user),
                                              rows=rows, source=upload.name, digest=digest, ip=client_ip(request))
    status = 400 if error or (report is not None and not report.applied) else 200
    return render(request, "learning/catalogue_import.html", {
        "error": error, "report": report, "columns": list(COLUMNS), "providers": selectors.providers_list(scope),
    }, status=status)


@division_admin_required
@require_http_methods(["GET", "POST"])
def provider_list(request, scope):
    status = 200
    if request.method == "POST":
        form = request.POST
        try:
            provider_create(scope=scope, actor=request.user, division=division_of(request.user), code=form.get("code", ""),
                            name=form.get("name", ""), kind=form.get("kind", ""), iri_base=form.get("iri_base", ""),
                            ip=client_ip(request))
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, error_text(error))
            status = 400
        else:
            messages.success(request, "已登记。")
            return redirect("courses:provider_list")
    providers = selectors.providers_list(scope)
    return render(request, "learning/provider_list.html", {
        "providers": providers,
        "kinds": ProviderKind.choices, "form": request.POST if status == 400 else {},
    }, status=status)
