"""Pages of the trainer pool: the search, a trainer's page (profile, bookings, sessions delivered,
development record, grade history; the forms this viewer may use), the add and edit forms, one
POST per step (promote, unavailable periods), and the staffing of a session (search the trainers
free that day, book, cancel) with the fragment the project's 管理 page loads. Views parse the
form, call one service or selector and redirect; refusals come back as Chinese messages and write
nothing."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access.policy import Action, fetch, visible
from accounts.decorators import DIVISION_ADMIN_ROLES, roles_required
from accounts.models import ADMIN_ROLES, Role
from catalog.constants import Topic
from catalog.models import Project
from core.requests import client_ip, error_text, form_step, object_id
from org.constants import Stage
from org.models import Division
from people.constants import Subject
from people.models import Teacher
from trainers import selectors, services
from trainers.constants import CAPABILITIES, Grade, PoolLevel, Source
from trainers.models import Trainer

# The pool's pages are the division administrators'; a trainer who is a teacher reads their own
# record; those who run a project (a school, an institution's staff) see who teaches its sessions.
VIEW_ROLES = DIVISION_ADMIN_ROLES | {Role.TEACHER, Role.EXPERT}
RUN_ROLES = ADMIN_ROLES | {Role.INSTITUTION_STAFF}
pool_page = roles_required(DIVISION_ADMIN_ROLES)
record_page = roles_required(VIEW_ROLES)
run_page = roles_required(RUN_ROLES)


def _choices() -> dict:
    capabilities = set(CAPABILITIES)
    return {"levels": PoolLevel.choices, "stages": Stage.choices, "subjects": Subject.choices,
            "topics": [(code, label) for code, label in Topic.choices if code not in capabilities],
            "capabilities": [(code, Topic(code).label) for code in CAPABILITIES],
            "sources": Source.choices, "grades": Grade.choices}


def _date(value: str | None, field: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        raise ValidationError({field: "日期格式应为 YYYY-MM-DD"}) from None


@pool_page
@require_GET
def trainer_list(request, scope):
    filters = selectors.TrainerFilters.from_query(request.GET)
    found = selectors.trainer_page(scope, filters, page=request.GET.get("page"))
    return render(request, "trainers/list.html", {
        "found": found, "filters": filters, "query": urlencode(filters.as_query()),
        "pools": visible(scope, Division).order_by("path"), "may_add": selectors.pool_divisions(scope).exists(),
        **_choices()})


def _profile_values(post) -> dict:
    return {"name": post.get("name", ""), "source": post.get("source", ""),
            "organisation": post.get("organisation", ""), "expertise": post.get("expertise", ""),
            "stages": post.getlist("stages"), "subjects": post.getlist("subjects"),
            "topics": post.getlist("topics")}


@pool_page
@require_http_methods(["GET", "POST"])
def trainer_new(request, scope):
    divisions = selectors.pool_divisions(scope)
    teacher_q = request.GET.get("teacher_q", "").strip()[:20]
    candidates = selectors.teacher_candidates(scope, teacher_q) if teacher_q else []
    teacher_id = object_id(request.POST.get("teacher") or request.GET.get("teacher"))
    teacher = visible(scope, Teacher).select_related("school").filter(pk=teacher_id).first() if teacher_id else None
    values = {**_profile_values(request.POST), "division": object_id(request.POST.get("division")),
              "grade": request.POST.get("grade", str(Grade.JUNIOR))}
    context = {"divisions": divisions, "values": values, "teacher": teacher, "teacher_q": teacher_q,
               "candidates": candidates, **_choices()}
    if request.method == "POST":
        try:
            row = services.trainer_create(
                scope=scope, actor=request.user, division_id=values["division"] or None,
                teacher_id=teacher.pk if teacher else None, grade=values["grade"], ip=client_ip(request),
                **{k: values[k] for k in services.PROFILE_FIELDS})
        except ValidationError as error:
            messages.error(request, error_text(error))
            return render(request, "trainers/form.html", context, status=400)
        messages.success(request, f"{row.name} 已加入{row.division.name}培训专家库")
        return redirect("trainers:detail", trainer_id=row.pk)
    return render(request, "trainers/form.html", context)


@record_page
@require_GET
def trainer_detail(request, scope, trainer_id: int):
    trainer = selectors.trainer_get(scope, trainer_id)
    if trainer is None:
        raise Http404("培训专家不存在或不在您的范围内")
    bookings = selectors.bookings_of(scope, trainer)
    delivered = selectors.delivered_of(bookings)
    today = timezone.localdate()
    return render(request, "trainers/detail.html", {
        "trainer": trainer, "may": selectors.what_may_be_done(scope, trainer),
        "upcoming": [b for b in bookings if b.held_on > today], "delivered": delivered,
        "development": selectors.development_of(scope, trainer), "history": selectors.level_history(scope, trainer),
        "unavailable": selectors.unavailable_of(scope, trainer), "labels": _labels(),
        "higher_grades": [(code, label) for code, label in Grade.choices if code > trainer.grade]})


def _labels() -> dict:
    return {**dict(Stage.choices), **dict(Subject.choices), **dict(Topic.choices)}


@record_page
@require_GET
def my_trainer(request, scope):
    trainer = selectors.own_trainer(scope)
    if trainer is not None:
        return redirect("trainers:detail", trainer_id=trainer.pk)
    if scope.is_division:
        return redirect("trainers:list")
    return render(request, "trainers/not_a_trainer.html")


@pool_page
@require_http_methods(["GET", "POST"])
def trainer_edit(request, scope, trainer_id: int):
    trainer = fetch(scope, Trainer, trainer_id, Action.CHANGE, select_related=("division", "teacher"))
    if request.method == "POST":
        changes = {**_profile_values(request.POST), "active": request.POST.get("active") == "1"}
        if trainer.teacher_id:
            changes.pop("name")
        try:
            services.trainer_update(scope=scope, actor=request.user, trainer_id=trainer.pk, changes=changes,
                                    ip=client_ip(request))
        except ValidationError as error:
            messages.error(request, error_text(error))
            values = {**changes, "name": trainer.name}
            return render(request, "trainers/form.html", {"trainer": trainer, "values": values, "editing": True,
                                                          **_choices()}, status=400)
        messages.success(request, "已保存")
        return redirect("trainers:detail", trainer_id=trainer.pk)
    values = {"name": trainer.name, "source": trainer.source, "organisation": trainer.organisation,
              "expertise": trainer.expertise, "stages": trainer.stages, "subjects": trainer.subjects,
              "topics": trainer.topics, "active": trainer.active}
    return render(request, "trainers/form.html", {"trainer": trainer, "values": values, "editing": True,
                                                  **_choices()})


def _step(request, trainer_id: int, done: str, call):
    form_step(request, call, done)
    return redirect("trainers:detail", trainer_id=trainer_id)


@pool_page
@require_POST
def trainer_promote(request, scope, trainer_id: int):
    return _step(request, trainer_id, "已晋升，并记入等级记录", lambda: services.trainer_promote(
        scope=scope, actor=request.user, trainer_id=trainer_id, grade=request.POST.get("grade", ""),
        reason=request.POST.get("reason", ""), ip=client_ip(request)))


@pool_page
@require_POST
def trainer_unavailable(request, scope, trainer_id: int):
    if request.POST.get("action") == "remove":
        return _step(request, trainer_id, "已删除该不可安排时段", lambda: services.unavailability_remove(
            scope=scope, actor=request.user, trainer_id=trainer_id,
            unavailability_id=object_id(request.POST.get("period")), ip=client_ip(request)))

    def add():
        services.unavailability_add(
            scope=scope, actor=request.user, trainer_id=trainer_id,
            starts_on=_date(request.POST.get("starts_on"), "starts_on"),
            ends_on=_date(request.POST.get("ends_on"), "ends_on"), reason=request.POST.get("reason", ""),
            ip=client_ip(request))

    return _step(request, trainer_id, "已登记不可安排时段", add)


# --- staffing sessions ------------------------------------------------------------------------

@pool_page
@require_http_methods(["GET", "POST"])
def session_staffing(request, scope, session_id: int):
    """Who teaches a session: its bookings, and the trainers of the viewer's pools free that day."""
    session = selectors.session_for_staffing(scope, session_id)
    if session is None:
        raise Http404("场次不存在或不在您的管辖范围内")
    back = request.get_full_path()
    if request.method == "POST":
        trainer_id = object_id(request.POST.get("trainer"))
        if request.POST.get("action") == "unbook":
            form_step(request, lambda: services.booking_delete(
                scope=scope, actor=request.user, trainer_id=trainer_id, session_id=session.pk, ip=client_ip(request)),
                "已取消授课安排")
        else:
            form_step(request, lambda: services.booking_create(
                scope=scope, actor=request.user, trainer_id=trainer_id, session_id=session.pk, ip=client_ip(request)),
                "已安排培训专家授课")
        return redirect(back)
    data = request.GET.copy()
    data["available_on"] = session.held_on.isoformat()
    filters = selectors.TrainerFilters.from_query(data)
    found = selectors.trainer_page(scope, filters, page=request.GET.get("page"))
    query = {k: v for k, v in filters.as_query().items() if k != "available_on"}
    return render(request, "trainers/staffing.html", {
        "session": session, "project": session.project,
        "bookings": selectors.bookings_of_sessions(scope, [session])[session.pk],
        "may_book": selectors.may_book(scope, session.project), "found": found, "filters": filters,
        "query": urlencode(query), **_choices()})


@run_page
@require_GET
def project_staffing(request, scope, project_id: int):
    """Who teaches each session of a project (for its 管理 page: an htmx fragment, or a page)."""
    project = fetch(scope, Project, project_id, Action.RUN)
    sessions = list(project.sessions.order_by("number"))
    booked = selectors.bookings_of_sessions(scope, sessions)
    context = {"project": project, "rows": [(session, booked[session.pk]) for session in sessions],
               "may_book": selectors.may_book(scope, project),
               "manage_url": reverse("catalog:project_manage", args=[project.pk])}
    template = "trainers/staffing_fragment.html" if request.headers.get("HX-Request") else "trainers/project_staffing.html"
    return render(request, template, context)
