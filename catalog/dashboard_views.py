"""A project's dashboard page: its figures and charts, for those who run it
(administrators of the organising jurisdiction, staff of the implementing institution)."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from access.policy import Action, fetch
from accounts.decorators import scoped_view
from catalog.constants import EnrolmentState
from catalog.dashboard import project_figures
from catalog.models import Project
from core.dbrouting import replica_view


@replica_view
@scoped_view
@require_GET
def project_dashboard(request, scope, project_id: int):
    project = fetch(scope, Project, project_id, Action.RUN, select_related=("organiser",))
    return render(request, "catalog/project_dashboard.html", {
        "project": project, "figures": project_figures(scope=scope, project=project), "states": EnrolmentState.choices,
    })
