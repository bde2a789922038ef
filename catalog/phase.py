"""Where a project stands, derived from its stored state and its dates: one rule table read
both as a queryset annotation (lists and filters, set-based) and on a loaded row (a page),
so nothing has to move a stored field each night.

草稿 → 报名中 (published, not started) → 进行中 (between its dates) → 已结束 (past its end date,
or its completion judged)."""

from __future__ import annotations

import datetime as dt
import operator

from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from catalog.constants import ProjectState


class Phase(models.TextChoices):
    DRAFT = "draft", "草稿"
    ENROLLING = "enrolling", "报名中"
    CLOSED = "closed", "报名截止"
    RUNNING = "running", "进行中"
    FINISHED = "finished", "已结束"


TODAY = object()  # stands for the day the rule is judged on
# The first rule that matches wins; none: ENROLLING (published, before its start date).
RULES: tuple[tuple[str, dict], ...] = (
    (Phase.DRAFT, {"state": ProjectState.DRAFT}),
    (Phase.FINISHED, {"state": ProjectState.FINISHED}),
    (Phase.FINISHED, {"ends_on__lt": TODAY}),
    (Phase.FINISHED, {"completion_judged_at__isnull": False}),
    (Phase.RUNNING, {"starts_on__lte": TODAY}),
    (Phase.CLOSED, {"state": ProjectState.CLOSED}),
)
DEFAULT = Phase.ENROLLING
_OPS = {"": operator.eq, "lt": operator.lt, "lte": operator.le, "isnull": lambda value, wanted: (value is None) == wanted}


def _bind(conditions: dict, today: dt.date) -> dict:
    return {key: today if value is TODAY else value for key, value in conditions.items()}


def phase_expression(today: dt.date | None = None) -> Case:
    today = today or timezone.localdate()
    return Case(*(When(Q(**_bind(conditions, today)), then=Value(str(phase))) for phase, conditions in RULES),
                default=Value(str(DEFAULT)), output_field=models.CharField())


def with_phase(projects, today: dt.date | None = None):
    """The queryset with `phase` annotated; filter on it with `.filter(phase=…)`."""
    return projects.annotate(phase=phase_expression(today))


def phase_of(project, today: dt.date | None = None) -> str:
    """The same rules on a loaded row."""
    today = today or timezone.localdate()
    for phase, conditions in RULES:
        if all(_OPS[(key.split("__") + [""])[1]](getattr(project, key.split("__")[0]), value)
               for key, value in _bind(conditions, today).items()):
            return str(phase)
    return str(DEFAULT)


def phase_label(value: str) -> str:
    return Phase(value).label
