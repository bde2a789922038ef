"""Reads of the project library: what a viewer may see, filtered; a teacher's enrolments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.utils import timezone

from access.policy import visible
from access.scope import Scope
from catalog.constants import ProjectState
from catalog.models import Enrolment, Project
from catalog.phase import with_phase
from institutions import gate


def project_queryset(*, scope: Scope, level: str = "", category: str = "", mode: str = "", q: str = "",
                     year: int | None = None, phase: str = "", today: dt.date | None = None) -> QuerySet[Project]:
    """Published projects are a public library for every signed-in user; drafts are
    visible to the administrators of the organising jurisdiction only (a school's: its own).
    Each row carries its `phase` (catalog.phase), which `phase` filters on."""
    projects = with_phase(visible(scope, Project).select_related("organiser", "institution", "base"), today)
    if phase:
        projects = projects.filter(phase=phase)
    if level:
        projects = projects.filter(level=level)
    if category:
        projects = projects.filter(category=category)
    if mode:
        projects = projects.filter(mode=mode)
    if q:
        projects = projects.filter(title__contains=q[:50])
    if year:
        projects = projects.filter(starts_on__year=year)
    return projects.order_by("-starts_on", "code")


def project_get(*, scope: Scope, project_id: int) -> Project | None:
    return project_queryset(scope=scope).filter(pk=project_id).first()


def teacher_enrolments(*, scope: Scope, teacher_id: int) -> QuerySet[Enrolment]:
    return (visible(scope, Enrolment).filter(teacher_id=teacher_id).select_related("project")
            .order_by("-created_at"))


def library_counts(*, scope: Scope, year: int | None = None) -> dict[tuple[str, str], dict]:
    """The library by level × category: projects, seats, seats taken and projects open for
    enrolment, in one grouped query over what the viewer may see."""
    from django.db.models import Count, Sum

    projects = project_queryset(scope=scope)
    if year:
        projects = projects.filter(starts_on__year=year)
    rows = (projects.order_by().values("level", "category")
            .annotate(projects=Count("id"), seats=Sum("seats"), taken=Sum("seats_taken"),
                      open=Count("id", filter=Q(state=ProjectState.OPEN))))
    return {(row["level"], row["category"]): dict(row) for row in rows}


def blocked_reasons(projects: Iterable[Project], today: dt.date | None = None) -> dict[int, str]:
    """Why each of these projects is held by the 准入 gate (one query for them all): a draft may
    not be published, an enrolling one takes no enrolment (both judged on the rest of its dates),
    one past enrolment runs no session today. Finished projects are past the gate."""
    today = today or timezone.localdate()
    projects = [p for p in projects if p.state != ProjectState.FINISHED]
    rows = gate.held_by(p.institution_id for p in projects if not gate.is_exempt(p))
    found = {}
    for project in projects:
        ahead = project.state in (ProjectState.DRAFT, ProjectState.OPEN)
        held = rows.get(project.institution_id, []) if project.institution_id is not None else []
        if reason := gate.judge(project, held, today=today, ahead=ahead):
            found[project.pk] = reason
    return found
