"""The four sources of a project's performance score, per project on 0–100, for many projects
at once: one aggregate query per source, never a row at a time.

- supervision: the mean total of the project's supervision visits;
- outcome: the mean total of its outcome reviews;
- stakeholder: the mean total of its stakeholder ratings;
- rating: the mean answer of its anonymous rating windows that have closed, each answer turned
  for a reverse-keyed item and rescaled from the questionnaire's scale to 0–100. Responses are
  only ever summed in the database (per window: a sum and a count); a window counts only when it
  has at least the minimum number of responses and, where its base is fixed, the minimum
  response rate, as for the published results, so that a score never stands for a few raters.

A project without rows of a source has None for it. `projects` is a queryset of catalog.Project
already restricted to what the caller may see; the source rows are read through the caller's
scope too."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.db.models import Avg, QuerySet

from access.policy import visible
from access.scope import Scope
from evaluation.constants import RATING_MIN_RATE, RATING_MIN_RESPONSES, Source
from evaluation.models import OutcomeReview, RatingWindow, StakeholderRating, SupervisionVisit

SOURCES = tuple(Source.values)
_RECORDS = {Source.SUPERVISION: SupervisionVisit, Source.OUTCOME: OutcomeReview,
            Source.STAKEHOLDER: StakeholderRating}


def source_scores(scope: Scope, projects: QuerySet, today: dt.date) -> dict[int, dict[str, float | None]]:
    """{project id: {source: score on 0–100 or None}} for every project of `projects`."""
    ids = list(projects.values_list("pk", flat=True))
    result: dict[int, dict[str, float | None]] = {pk: dict.fromkeys(SOURCES) for pk in ids}
    if not ids:
        return result
    project_ids = projects.values("pk")
    for source, model in _RECORDS.items():
        rows = (visible(scope, model).filter(project_id__in=project_ids).order_by()
                .values("project_id").annotate(mean=Avg("total")))
        for row in rows:
            result[row["project_id"]][source] = round(float(row["mean"]), 4)
    for pk, mean in rating_means(scope, project_ids, today).items():
        result[pk][Source.RATING] = mean
    return result


def rating_means(scope: Scope, project_ids: QuerySet, today: dt.date) -> dict[int, float]:
    """{project id: mean rescaled answer} over the closed windows that reach the minimum group."""
    windows = visible(scope, RatingWindow).filter(project_id__in=project_ids, closes_on__lt=today).order_by()
    window_sql, window_params = windows.values("pk").query.sql_with_params()
    if connection.vendor == "postgresql":
        each, value, key = "jsonb_each_text(r.answers) AS v", "CAST(v.value AS NUMERIC)", "v.key"
    else:
        each, value, key = "json_each(r.answers) AS v", "CAST(v.value AS REAL)", "v.key"
    turned = f"(CASE WHEN it.reverse THEN i.scale_max + i.scale_min - {value} ELSE {value} END)"
    # Per window: the sum of rescaled answers (0–1), their count, and the number of responses.
    sql = f"""
        SELECT w.id, w.project_id, w.eligible,
               SUM(({turned} - i.scale_min) * 1.0 / (i.scale_max - i.scale_min)) AS total,
               COUNT(*) AS answers, COUNT(DISTINCT r.id) AS responses
        FROM evaluation_ratingresponse r
        JOIN evaluation_ratingwindow w ON w.id = r.window_id
        JOIN evaluation_instrument i ON i.id = w.instrument_id
        CROSS JOIN {each}
        JOIN evaluation_instrumentitem it ON it.instrument_id = i.id AND CAST(it.number AS TEXT) = {key}
        WHERE r.window_id IN ({window_sql})
        GROUP BY w.id, w.project_id, w.eligible
    """  # noqa: S608 - the inserted parts are this module's constants and Django's own compiled SQL
    sums: dict[int, list[float]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, window_params)
        for _window, project_id, eligible, total, answers, responses in cursor.fetchall():
            if responses < RATING_MIN_RESPONSES:
                continue
            if eligible and Decimal(responses) / Decimal(eligible) < RATING_MIN_RATE:
                continue
            acc = sums.setdefault(project_id, [0.0, 0])
            acc[0] += float(total)
            acc[1] += answers
    return {pk: round(100.0 * total / count, 4) for pk, (total, count) in sums.items() if count}
