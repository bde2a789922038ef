"""Comparative evaluation of a project (训前、训中、训后对比评价).

Per dimension, the trainees who answered both points are paired: n, the two means, the mean
change and its SD, Cohen's d_z (mean change / SD of the changes) with Hedges' small-sample
correction (g_z = J · d_z, J = 1 − 3 / (4·df − 1)), the 95 % CI of the mean change (t with n − 1
degrees of freedom), the 95 % CI of d_z (inverting the noncentral t of t = d_z·√n), and the p value
of scipy.stats.ttest_rel. A row with fewer than MIN_PAIRS pairs is suppressed (样本不足).

Where teaching-outcome data exist (TeachingOutcome), a difference in differences: the change of
the project's completed trainees from the school year before the project to the school year after,
against untrained peers matched exactly on stage, main subject, title band and county (not enrolled
in the project). The estimate is the trainees' mean change minus the control cells' mean changes
weighted by how many trainees each cell holds (the effect on the trained); its variance adds the
trainees' variance of change over n and the controls' pooled within-cell variance times Σ w²/n_c.
Suppressed below MIN_PAIRS trainees or MIN_PAIRS matched controls.

Every read is a few set-based queries per project, never one per teacher."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db.models import OuterRef, Subquery
from scipy import optimize, stats

from access.errors import Forbidden
from access.policy import PROJECT_OVERSEE, fetch, visible
from access.scope import Scope
from catalog.constants import EnrolmentState
from catalog.models import Project
from evaluation.constants import DIMENSION_LABELS, MIN_PAIRS, Dimension, Point
from evaluation.models import DimensionScore, ProjectInstrument, TeachingOutcome
from people.models import TeacherSubject

SUPPRESSED = "样本不足"
CONFIDENCE = 0.95
# Title bands for matching: 未评/三级/二级, 一级, 高级/正高级.
TITLE_BANDS = {"none": "junior", "third": "junior", "second": "junior", "first": "intermediate",
               "senior": "senior", "full_senior": "senior"}
TITLE_BAND_LABELS = {"junior": "二级及以下", "intermediate": "一级", "senior": "高级及以上"}
COMPARISONS = ((Point.PRE, Point.POST), (Point.PRE, Point.MID))


@dataclass(frozen=True)
class PairedStats:
    n: int
    mean_before: float
    mean_after: float
    change: float
    sd_change: float
    ci_low: float
    ci_high: float
    d_z: float | None
    g_z: float | None
    d_ci_low: float | None
    d_ci_high: float | None
    p: float | None


def hedges_j(df: int) -> float:
    """The small-sample correction of a standardised mean difference with `df` degrees of freedom."""
    return 1 - 3 / (4 * df - 1)


def d_z_interval(d_z: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The CI of d_z: the noncentrality parameters that put t = d_z·√n at the upper and lower
    tail quantiles of a noncentral t with n − 1 degrees of freedom, divided by √n."""
    df, t_obs = n - 1, d_z * math.sqrt(n)
    alpha = 1 - confidence

    def solve(tail: float) -> float:
        def f(ncp: float) -> float:
            return float(stats.nct.cdf(t_obs, df, ncp)) - tail

        span = max(10.0, abs(t_obs) * 2 + 10)
        return optimize.brentq(f, t_obs - span, t_obs + span, xtol=1e-10)

    return solve(1 - alpha / 2) / math.sqrt(n), solve(alpha / 2) / math.sqrt(n)


def paired_stats(before: list[float], after: list[float], confidence: float = CONFIDENCE) -> PairedStats:
    """The paired statistics of two equally long lists (at least two pairs)."""
    x, y = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    n = len(x)
    if n < 2 or len(y) != n:
        raise ValueError("paired_stats needs at least two pairs of equal length")
    diff = y - x
    change = float(diff.mean())
    sd = float(diff.std(ddof=1))
    se = sd / math.sqrt(n)
    t_crit = float(stats.t.ppf(1 - (1 - confidence) / 2, n - 1))
    d_z: float | None = None
    g_z: float | None = None
    d_low: float | None = None
    d_high: float | None = None
    if sd > 0:
        d_z = change / sd
        g_z = hedges_j(n - 1) * change / sd
        d_low, d_high = d_z_interval(change / sd, n, confidence)
        p: float | None = float(stats.ttest_rel(y, x).pvalue)
    else:  # everyone changed by the same amount: no spread, no standardised effect
        p = None if change == 0 else 0.0
    return PairedStats(n=n, mean_before=float(x.mean()), mean_after=float(y.mean()), change=change, sd_change=sd,
                       ci_low=change - t_crit * se, ci_high=change + t_crit * se, d_z=d_z, g_z=g_z,
                       d_ci_low=d_low, d_ci_high=d_high, p=p)


@dataclass(frozen=True)
class DimensionRow:
    dimension: str
    label: str
    before: str
    after: str
    n: int
    stats: PairedStats | None  # None: suppressed

    @property
    def suppressed(self) -> bool:
        return self.stats is None

    @property
    def reason(self) -> str:
        return f"{SUPPRESSED}（配对 {self.n} 人，少于 {MIN_PAIRS} 人不显示）" if self.stats is None else ""


@dataclass(frozen=True)
class DidRow:
    measure: str
    before_year: int
    after_year: int
    n_trained: int
    n_controls: int
    trained_change: float | None = None
    control_change: float | None = None
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def suppressed(self) -> bool:
        return self.estimate is None

    @property
    def reason(self) -> str:
        if self.estimate is not None:
            return ""
        return (f"{SUPPRESSED}（参训 {self.n_trained} 人、匹配对照 {self.n_controls} 人，"
                f"任一方少于 {MIN_PAIRS} 人不显示）")


@dataclass
class Comparison:
    project: Project
    points: list[str]
    rows: list[DimensionRow] = field(default_factory=list)
    did: list[DidRow] = field(default_factory=list)
    before_year: int = 0
    after_year: int = 0

    def rows_for(self, before: str, after: str) -> list[DimensionRow]:
        return [row for row in self.rows if row.before == before and row.after == after]

    @property
    def shown(self) -> list[DimensionRow]:
        return [row for row in self.rows if row.stats is not None]


def project_for_comparison(scope: Scope, project_id: int) -> Project:
    """The project, if the viewer oversees it (the access policy's rule for a project's evaluation)."""
    project = fetch(scope, Project, project_id)
    if not PROJECT_OVERSEE.test(scope, project):
        raise Forbidden("只有项目的主管单位和实施机构可以查看对比评价")
    return project


def paired_rows(scope: Scope, project: Project) -> tuple[list[str], list[DimensionRow]]:
    """The points with answers and a row per comparison × dimension (one query)."""
    scores: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for teacher_id, point, dimension, score in (visible(scope, DimensionScore).filter(project=project)
                                                .values_list("teacher_id", "point", "dimension", "score")):
        scores[(point, dimension)][teacher_id] = score
    points = [p for p in Point.values if any(point == p for point, _ in scores)]
    order = {code: n for n, code in enumerate(Dimension.values)}
    dimensions = sorted({dimension for _, dimension in scores}, key=lambda code: order.get(code, 99))
    rows = []
    for before, after in COMPARISONS:
        if before not in points or after not in points:
            continue
        for dimension in dimensions:
            first, second = scores.get((before, dimension), {}), scores.get((after, dimension), {})
            paired = sorted(set(first) & set(second))
            result = None
            if len(paired) >= MIN_PAIRS:
                result = paired_stats([first[t] for t in paired], [second[t] for t in paired])
            rows.append(DimensionRow(dimension=dimension, label=DIMENSION_LABELS.get(dimension, dimension),
                                     before=before, after=after, n=len(paired), stats=result))
    return points, rows


def school_year(day) -> int:
    """The school year a date falls in (from September): 2026-12-01 is in 2026, 2027-03-01 too."""
    return day.year if day.month >= 9 else day.year - 1


def _main_subject():
    return Subquery(TeacherSubject.objects.dangerously_unscoped().filter(teacher_id=OuterRef("teacher_id"))
                    .order_by("-is_main", "subject").values("subject")[:1])


def did_effect(trained: dict[tuple, list[float]], controls: dict[tuple, list[float]],
               confidence: float = CONFIDENCE) -> tuple[float, float, float, float, float, int, int] | None:
    """Exact-match difference in differences: `trained` and `controls` are changes by cell.
    (estimate, low, high, trained mean change, weighted control change, n trained, n controls)
    over the cells with both; None when either side is below MIN_PAIRS."""
    cells = [cell for cell in trained if controls.get(cell)]
    t_changes = [value for cell in cells for value in trained[cell]]
    n_t = len(t_changes)
    n_c = sum(len(controls[cell]) for cell in cells)
    if n_t < MIN_PAIRS or n_c < MIN_PAIRS:
        return None
    t_mean = float(np.mean(t_changes))
    weights = {cell: len(trained[cell]) / n_t for cell in cells}
    c_mean = sum(weights[cell] * float(np.mean(controls[cell])) for cell in cells)
    # Pooled within-cell variance of the controls (cells of one contribute no degrees of freedom).
    within = sum(float(np.sum((np.asarray(controls[cell]) - np.mean(controls[cell])) ** 2)) for cell in cells)
    df_c = n_c - len(cells)
    s2_c = within / df_c if df_c > 0 else float(np.var([v for cell in cells for v in controls[cell]], ddof=1))
    s2_t = float(np.var(t_changes, ddof=1))
    se = math.sqrt(s2_t / n_t + s2_c * sum(weights[cell] ** 2 / len(controls[cell]) for cell in cells))
    df = max(1, min(n_t - 1, max(df_c, 1)))
    t_crit = float(stats.t.ppf(1 - (1 - confidence) / 2, df))
    estimate = t_mean - c_mean
    return estimate, estimate - t_crit * se, estimate + t_crit * se, t_mean, c_mean, n_t, n_c


def did_rows(scope: Scope, project: Project) -> tuple[int, int, list[DidRow]]:
    """The difference in differences per outcome measure (three queries)."""
    before_year, after_year = school_year(project.starts_on) - 1, school_year(project.ends_on) + 1
    years = (before_year, after_year)
    # The project was fetched through the policy: its enrolments are reached from it.
    completed = (project.enrolments.filter(state=EnrolmentState.COMPLETED)
                 .annotate(main_subject=_main_subject())
                 .values_list("teacher_id", "teacher__stage", "teacher__title", "teacher__division_path",
                              "main_subject"))
    cells_of = {row[0]: (row[1], row[4] or "", TITLE_BANDS.get(row[2], row[2]), row[3]) for row in completed}
    trained_ids = set(cells_of)
    if not trained_ids:
        return before_year, after_year, []
    counties = {cell[3] for cell in cells_of.values()}
    stages = {cell[0] for cell in cells_of.values()}
    values: dict[tuple[int, str], dict[int, float]] = defaultdict(dict)
    control_cells: dict[int, tuple] = {}
    rows = (visible(scope, TeachingOutcome).filter(year__in=years, teacher__division_path__in=counties,
                                                   teacher__stage__in=stages)
            .annotate(main_subject=_main_subject())
            .values_list("teacher_id", "measure", "year", "value", "teacher__stage", "teacher__title",
                         "teacher__division_path", "main_subject"))
    enrolled = set(project.enrolments.values_list("teacher_id", flat=True))
    for teacher_id, measure, year, value, stage, title, path, subject in rows:
        if teacher_id in enrolled and teacher_id not in trained_ids:
            continue  # enrolled but not completed: neither trained nor untrained
        values[(teacher_id, measure)][year] = value
        if teacher_id not in trained_ids:
            control_cells[teacher_id] = (stage, subject or "", TITLE_BANDS.get(title, title), path)
    measures = sorted({measure for _, measure in values})
    result = []
    for measure in measures:
        trained: dict[tuple, list[float]] = defaultdict(list)
        controls: dict[tuple, list[float]] = defaultdict(list)
        for (teacher_id, m), by_year in values.items():
            if m != measure or before_year not in by_year or after_year not in by_year:
                continue
            change = by_year[after_year] - by_year[before_year]
            if teacher_id in trained_ids:
                trained[cells_of[teacher_id]].append(change)
            else:
                controls[control_cells[teacher_id]].append(change)
        effect = did_effect(trained, controls)
        if effect is None:
            n_t = sum(len(v) for v in trained.values())
            n_c = sum(len(controls[c]) for c in trained if c in controls)
            result.append(DidRow(measure=measure, before_year=before_year, after_year=after_year,
                                 n_trained=n_t, n_controls=n_c))
            continue
        estimate, low, high, t_mean, c_mean, n_t, n_c = effect
        result.append(DidRow(measure=measure, before_year=before_year, after_year=after_year, n_trained=n_t,
                             n_controls=n_c, trained_change=t_mean, control_change=c_mean, estimate=estimate,
                             ci_low=low, ci_high=high))
    return before_year, after_year, result


def project_comparison(scope: Scope, project_id: int) -> Comparison:
    """Everything the comparison page, its export and the API show, for one project."""
    project = project_for_comparison(scope, project_id)
    points, rows = paired_rows(scope, project)
    before_year, after_year, did = did_rows(scope, project)
    return Comparison(project=project, points=points, rows=rows, did=did, before_year=before_year,
                      after_year=after_year)


def attachments_of(scope: Scope, project: Project) -> list[ProjectInstrument]:
    return list(visible(scope, ProjectInstrument).filter(project=project).select_related("instrument")
                .order_by("opens_on"))


def chart_spec(comparison: Comparison) -> dict:
    """The data the comparison chart draws (static/evaluation/comparison_chart.js): per shown
    dimension of the pre → post comparison, the two means and the CI of the post mean implied by
    the CI of the change (pre mean + change CI)."""
    shown = [row for row in comparison.rows_for(Point.PRE, Point.POST) if row.stats is not None]
    return {
        "labels": [row.label for row in shown],
        "before": [round(row.stats.mean_before, 3) for row in shown if row.stats],
        "after": [round(row.stats.mean_after, 3) for row in shown if row.stats],
        "low": [round(row.stats.mean_before + row.stats.ci_low, 3) for row in shown if row.stats],
        "high": [round(row.stats.mean_before + row.stats.ci_high, 3) for row in shown if row.stats],
        "names": [Point.PRE.label, Point.POST.label],
    }
