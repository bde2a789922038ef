"""推荐参训: an administrator searches teachers of their own jurisdiction by name and
nominates them for a project; the outcome is shown per teacher, refusals with reasons."""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from access.policy import Action, can
from accounts.decorators import admin_required
from accounts.throttle import Throttled
from catalog import selectors
from catalog.constants import EnrolmentState, ProjectState
from catalog.nominations import (
    ON_THE_LIST,
    NomineeNotFound,
    nominee_search,
    nominees_get,
    project_nominate,
)
from core.requests import client_ip, object_id


@admin_required
@require_http_methods(["GET", "POST"])
def project_nominate_view(request, scope, project_id: int):
    project = selectors.project_get(scope=scope, project_id=project_id)
    if project is None:
        raise Http404("项目不存在")
    results, error = None, ""
    q = request.GET.get("q", "")[:50].strip()
    if request.method == "POST":
        try:
            teachers = nominees_get(scope=scope, teacher_ids=[object_id(v) for v in request.POST.getlist("teacher")])
        except NomineeNotFound:
            raise Http404("教师不存在或不在本辖区") from None
        except ValidationError as problem:
            error = "；".join(problem.messages)
        else:
            results = project_nominate(scope=scope, actor=request.user, project=project, teachers=teachers,
                                       ip=client_ip(request))
            project.refresh_from_db()
        q = request.POST.get("q", "")[:50].strip()
    try:
        found = list(nominee_search(scope=scope, actor=request.user, q=q, ip=client_ip(request))) if q else []
    except Throttled:
        if request.method != "POST":
            raise
        # The nominations are made and shown; only the list to pick from again is withheld.
        q, found = "", []
    states = dict(project.enrolments.filter(teacher__in=found).values_list("teacher_id", "state")) if found else {}
    candidates = [{"teacher": t, "writable": can(scope, Action.NOMINATE, t),
                   "state": EnrolmentState(states[t.pk]).label if t.pk in states else "",
                   "on_list": states.get(t.pk) in ON_THE_LIST} for t in found]
    return render(request, "catalog/project_nominate.html", {
        "project": project, "q": q, "candidates": candidates, "results": results, "error": error,
        "is_open": project.state == ProjectState.OPEN,
    }, status=422 if error else 200)
