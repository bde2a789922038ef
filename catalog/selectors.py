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


# --- the project form's pick-lists -----------------------------------------------------------


def audience_region_choices(*, scope: Scope, organiser) -> list:
    """The divisions a project of this organiser may name as its audience region, as grouped
    choices (a select with optgroups): each city with its counties for the province, the
    counties for a city, none for a county. Only divisions `project_problems` accepts."""
    from access.policy import DIVISION
    from access.policy import Action as Can
    from catalog.services import LEVEL_OF_DIVISION, serving_scope
    from org.models import Division

    level = LEVEL_OF_DIVISION.get(organiser.level)
    if level is None or organiser.level == "county":
        return []
    serving = serving_scope(path=organiser.path, school_id=None, level=level)
    rows = [d for d in visible(scope, Division).filter(path__startswith=organiser.path).exclude(pk=organiser.pk)
            .order_by("path") if DIVISION[Can.CHANGE].test(serving, d)]
    if organiser.level == "city":
        return [(d.code, d.name) for d in rows]
    groups: dict[int, list] = {}
    names: dict[int, str] = {}
    for d in rows:
        if d.level == "city":
            names[d.pk] = d.name
            groups.setdefault(d.pk, []).insert(0, (d.code, f"{d.name}（全市）"))
        elif d.parent_id is not None:
            groups.setdefault(d.parent_id, []).append((d.code, d.name))
    return [(names.get(pk, "其他"), options) for pk, options in groups.items()]


def institutions_in_force(institution_ids: Iterable[int], today: dt.date | None = None) -> set[int]:
    """Which of these institutions hold an accreditation in force today (one query). Only the
    yes/no the 准入 gate itself acts on, so an organiser may see it for any institution."""
    from institutions.machine import IN_FORCE

    today = today or timezone.localdate()
    held = gate.held_by(institution_ids)
    return {pk for pk, rows in held.items()
            if any(row.state in IN_FORCE and row.valid_from is not None and row.valid_until is not None
                   and row.valid_from <= today <= row.valid_until for row in rows)}


def audience_words(rule: dict | None) -> list[str]:
    """A project's audience rule as people read it ("学段：小学、初中"); regions by name (one
    query when the rule names any)."""
    from catalog.conflicts import AUDIENCE_LABELS, VALUE_LABELS
    from catalog.constants import NEW_TEACHER_YEARS
    from org.models import Division

    rule = rule or {}
    words = [f"{label}：{'、'.join(VALUE_LABELS[key].get(v, v) for v in rule[key])}"
             for key, label in AUDIENCE_LABELS.items() if rule.get(key)]
    if rule.get("divisions"):
        names = dict(Division.objects.filter(code__in=rule["divisions"]).values_list("code", "name"))
        words.append(f"地区：{'、'.join(names.get(code, code) for code in rule['divisions'])}")
    if rule.get("new_teachers"):
        words.append(f"入职 {NEW_TEACHER_YEARS} 年内的新教师")
    return words
