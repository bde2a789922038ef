"""Reads of performance scores, rankings and elimination cases, through the caller's scope: the
administrators over a project's organiser see its score and case, the implementing institution
its own projects' (never who rated them: a score holds only per-source means)."""

from __future__ import annotations

from django.db.models import QuerySet

from access.errors import NotVisible
from access.policy import visible
from access.scope import Scope
from evaluation.models import EliminationCase, ProjectScore, ScoreWeights


def weights_versions(scope: Scope, year: int | None = None) -> QuerySet:
    rows = visible(scope, ScoreWeights).select_related("created_by").order_by("-year", "-version")
    return rows.filter(year=year) if year else rows


def ranking_years(scope: Scope) -> list[int]:
    return sorted(set(visible(scope, ProjectScore).order_by().values_list("year", flat=True)), reverse=True)


def ranking(scope: Scope, *, year: int, level: str = "", category: str = "") -> QuerySet:
    """A year's scores the viewer sees, by level, category and rank (one query, with projects)."""
    rows = (visible(scope, ProjectScore).filter(year=year)
            .select_related("project", "institution", "weights", "case")
            .order_by("level", "category", "rank", "project_id"))
    if level:
        rows = rows.filter(level=level)
    if category:
        rows = rows.filter(category=category)
    return rows


def project_score(scope: Scope, project_id: int, year: int | None = None) -> ProjectScore:
    """The project's latest (or the year's) score the viewer sees, or NotVisible."""
    rows = visible(scope, ProjectScore).filter(project_id=project_id).select_related(
        "project", "institution", "weights", "case")
    if year:
        rows = rows.filter(year=year)
    row = rows.order_by("-year").first()
    if row is None:
        raise NotVisible("该项目没有您可查看的绩效得分")
    return row


def cases(scope: Scope, *, state: str = "", year: int | None = None) -> QuerySet:
    rows = (visible(scope, EliminationCase)
            .select_related("score__project", "score__institution", "score__weights")
            .order_by("-score__year", "score__level", "score__category", "score__rank", "pk"))
    if state:
        rows = rows.filter(state=state)
    if year:
        rows = rows.filter(score__year=year)
    return rows


def case_get(scope: Scope, case_id: int) -> EliminationCase:
    row = cases(scope).filter(pk=case_id).select_related("appealed_by", "decided_by", "score__weights").first()
    if row is None:
        raise NotVisible("对象不存在或不在您的管辖范围内")
    return row
