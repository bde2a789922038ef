"""A project's dashboard page: its figures and charts, for those who run it
(administrators of the organising jurisdiction, staff of the implementing institution)."""

from django.http import Http404
from django.shortcuts import render

from accounts.decorators import scoped_view
from catalog.attendance import may_run_project
from catalog.constants import EnrolmentState
from catalog.dashboard import project_figures
from catalog.models import Project


@scoped_view
def project_dashboard(request, scope, project_id: int):
    project = Project.objects.select_related("organiser").filter(pk=project_id).first()
    if project is None or not may_run_project(user=request.user, scope=scope, project=project):
        raise Http404("项目不存在或不由你管理")
    return render(request, "catalog/project_dashboard.html", {
        "project": project, "figures": project_figures(project), "states": EnrolmentState.choices,
    })
