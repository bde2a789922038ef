"""Reads for instruments and assessments, each through the access policy: the instruments a viewer
sees (with item counts in the same query), one instrument with its items, the attachments of a
project, and a teacher's open assessments (one query, with whether each is answered)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import timezone

from access.policy import Action, can, visible
from access.scope import Scope
from catalog.models import Enrolment, Project
from evaluation.constants import InstrumentKind, InstrumentState
from evaluation.instruments import TAKERS
from evaluation.models import AssessmentResponse, Instrument, ProjectInstrument

PAGE_MAX = 200


def instruments_visible(scope: Scope, *, kind: str = "", state: str = "") -> QuerySet[Instrument]:
    rows = visible(scope, Instrument).select_related("division").annotate(item_count=Count("items"))
    if kind in InstrumentKind.values:
        rows = rows.filter(kind=kind)
    if state in InstrumentState.values:
        rows = rows.filter(state=state)
    return rows.order_by("code", "-version")


def instrument_get(scope: Scope, instrument_id: int) -> Instrument | None:
    return visible(scope, Instrument).select_related("division").filter(pk=instrument_id).first()


def instrument_may(scope: Scope, instrument: Instrument) -> dict[str, bool]:
    change = can(scope, Action.CHANGE, instrument)
    draft = instrument.state == InstrumentState.DRAFT
    return {"edit": change and draft, "publish": change and draft,
            "new_version": change and not draft, "retire": change and instrument.state == InstrumentState.PUBLISHED}


def attachable_instruments(scope: Scope) -> QuerySet[Instrument]:
    return instruments_visible(scope, kind=InstrumentKind.ASSESSMENT, state=InstrumentState.PUBLISHED)


def project_attachments(scope: Scope, project: Project) -> list[ProjectInstrument]:
    return list(visible(scope, ProjectInstrument).filter(project=project).select_related("instrument")
                .annotate(response_count=Count("responses")).order_by("opens_on", "point"))


@dataclass(frozen=True)
class MyAssessment:
    attachment: ProjectInstrument
    answered: bool
    open: bool
    upcoming: bool


def my_assessments(scope: Scope, *, today: dt.date | None = None) -> list[MyAssessment]:
    """The assessments of projects the teacher is admitted to (or completed), open now or later,
    and those already answered; one query."""
    if scope.teacher_id is None:
        return []
    today = today or timezone.localdate()
    admitted = visible(scope, Enrolment).filter(teacher_id=scope.teacher_id, state__in=TAKERS,
                                                project_id=OuterRef("project_id"))
    answered = AssessmentResponse.objects.visible_to(scope).filter(attachment_id=OuterRef("pk"),
                                                                   teacher_id=scope.teacher_id)
    rows = (visible(scope, ProjectInstrument).filter(Exists(admitted))
            .annotate(answered=Exists(answered)).select_related("project", "instrument")
            .order_by("closes_on", "pk")[:PAGE_MAX])
    found = []
    for row in rows:
        if not row.answered and row.closes_on < today:
            continue  # missed and closed: nothing to do
        found.append(MyAssessment(attachment=row, answered=row.answered,
                                  open=row.opens_on <= today <= row.closes_on, upcoming=today < row.opens_on))
    return found


# Dimensions that are also topics of the course library (catalog.constants.Topic): a weak one can
# steer what the learning push favours.
TOPIC_DIMENSIONS = frozenset({"moral_in_subject", "classroom", "homework", "experiment", "family", "it"})


def weak_topics(scope: Scope, teacher_ids: list[int]) -> dict[int, str]:
    """Each teacher's weakest dimension after training: on their latest 训后 response, the lowest
    dimension that is a library topic, when it lies below the instrument's scale midpoint. One query
    for the whole list (for the learning push's batch); teachers without one are absent."""
    from evaluation.models import DimensionScore

    rows = (visible(scope, DimensionScore).filter(teacher_id__in=teacher_ids, point="post",
                                                  dimension__in=TOPIC_DIMENSIONS)
            .values_list("teacher_id", "response_id", "dimension", "score",
                         "response__attachment__instrument__scale_min", "response__attachment__instrument__scale_max")
            .order_by("teacher_id", "-response__submitted_at", "-response_id", "score", "dimension"))
    found: dict[int, str] = {}
    latest: dict[int, int] = {}
    for teacher_id, response_id, dimension, score, low, high in rows:
        if latest.setdefault(teacher_id, response_id) != response_id or teacher_id in found:
            continue  # an older response, or the weakest dimension already taken
        if score < (low + high) / 2:
            found[teacher_id] = dimension
        else:
            found.setdefault(teacher_id, "")
    return {teacher_id: dimension for teacher_id, dimension in found.items() if dimension}


def outcome_rows(scope: Scope, *, year: int | None = None, measure: str = ""):
    """The stored teaching outcomes of teachers the viewer sees, newest year first (one query a page)."""
    from evaluation.models import TeachingOutcome

    rows = visible(scope, TeachingOutcome).select_related("teacher__school")
    if year is not None:
        rows = rows.filter(year=year)
    if measure:
        rows = rows.filter(measure=measure[:40])
    return rows.order_by("-year", "measure", "teacher__school__code", "teacher_id")


def outcome_measures(scope: Scope) -> list[tuple[str, int, int]]:
    """(measure, year, rows) of what is stored, for the filters and the summary."""
    from evaluation.models import TeachingOutcome

    return list(visible(scope, TeachingOutcome).order_by().values_list("measure", "year")
                .annotate(n=Count("id")).order_by("-year", "measure"))
