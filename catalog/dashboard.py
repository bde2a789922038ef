"""A project's dashboard for those who run it: enrolment by state, seats, the waiting
list, attendance per session, completion, the assessment, and where the enrolees come
from (counts only, never names). Each figure is one grouped query, so the page costs the
same for 10 enrolees as for 10,000."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q

from access.policy import Action, require
from access.scope import Scope
from catalog.constants import EnrolmentState
from catalog.models import Project

ADMITTED = (EnrolmentState.ENROLLED, EnrolmentState.COMPLETED)
# Counted by county and school: those holding or having held a seat.
ENROLEES = (EnrolmentState.PENDING, EnrolmentState.ENROLLED, EnrolmentState.COMPLETED)


def _rate(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


@dataclass
class ProjectFigures:
    states: dict[str, int]  # every EnrolmentState value, zero when absent
    admitted: int
    completed: int
    completion_rate: float
    assessed_passed: int
    assessed_failed: int
    sessions: list[dict]  # {"number", "held_on", "title", "present", "rate"}
    attendance_rate: float  # attendances ÷ (sessions × admitted)
    origins: list[dict]  # {"code", "county", "school", "enrolees"}: by county code, then largest school first
    counties: list[dict] = field(default_factory=list)  # {"county", "enrolees"}, summed from origins, largest first
    charts: dict = field(default_factory=dict)


def project_figures(*, scope: Scope, project: Project) -> ProjectFigures:
    """Three queries: enrolments by state, sessions with attendance, enrolees by county and school."""
    require(scope, Action.RUN, project)
    states = dict.fromkeys(EnrolmentState.values, 0)
    passed = failed = 0
    for row in (project.enrolments.order_by().values("state")
                .annotate(n=Count("id"), passed=Count("id", filter=Q(assessment_passed=True)),
                          failed=Count("id", filter=Q(assessment_passed=False)))):
        states[row["state"]] = row["n"]
        passed += row["passed"]
        failed += row["failed"]
    admitted = sum(states[state] for state in ADMITTED)
    sessions: list[dict] = [{"number": s.number, "held_on": s.held_on, "title": s.topic, "present": s.present,  # type: ignore[attr-defined]
                 "rate": _rate(s.present, admitted)}  # type: ignore[attr-defined]
                for s in (project.sessions.order_by("number")
                          .annotate(present=Count("attendance", filter=Q(attendance__enrolment__state__in=ADMITTED))))]
    origins = [{"code": row["teacher__school__division__code"], "county": row["teacher__school__division__name"],
                "school": row["teacher__school__name"], "enrolees": row["n"]}
               for row in (project.enrolments.filter(state__in=ENROLEES).order_by()
                           .values("teacher__school__division__code", "teacher__school__division__name",
                                   "teacher__school_id", "teacher__school__name")
                           .annotate(n=Count("id"))
                           .order_by("teacher__school__division__code", "-n", "teacher__school__name"))]
    completed = states[EnrolmentState.COMPLETED]
    figures = ProjectFigures(
        states=states, admitted=admitted, completed=completed, completion_rate=_rate(completed, admitted),
        assessed_passed=passed, assessed_failed=failed, sessions=sessions,
        attendance_rate=_rate(sum(s["present"] for s in sessions), admitted * len(sessions)), origins=origins,
    )
    counties: dict[str, dict] = {}
    for origin in origins:
        county = counties.setdefault(origin["code"], {"county": origin["county"], "enrolees": 0})
        county["enrolees"] += origin["enrolees"]
    figures.counties = sorted(counties.values(), key=lambda c: -c["enrolees"])
    figures.charts = _charts(project, figures)
    return figures


def _charts(project: Project, figures: ProjectFigures) -> dict:
    """ECharts options, drawn by static/js/charts.js from json_script blocks."""
    grid = {"left": 10, "right": 10, "top": 40, "bottom": 10, "containLabel": True}
    return {
        "states": {
            "tooltip": {"trigger": "item"}, "legend": {"bottom": 0},
            "series": [{"type": "pie", "radius": ["35%", "60%"], "stillShowZeroSum": False,
                        "data": [{"name": EnrolmentState(state).label, "value": n}
                                 for state, n in figures.states.items() if n]}],
        },
        "attendance": {
            "tooltip": {"trigger": "axis"}, "grid": grid, "legend": {},
            "xAxis": {"type": "category", "data": [f"第{s['number']}场" for s in figures.sessions]},
            "yAxis": [{"type": "value", "name": "出勤人数", "minInterval": 1},
                      {"type": "value", "name": "出勤率%", "max": 100}],
            "series": [
                {"type": "bar", "name": "出勤人数", "data": [s["present"] for s in figures.sessions]},
                {"type": "line", "name": "出勤率%", "yAxisIndex": 1, "data": [s["rate"] for s in figures.sessions]},
            ],
        },
        "seats": {
            "tooltip": {}, "grid": grid, "legend": {},
            "xAxis": {"type": "value", "minInterval": 1}, "yAxis": {"type": "category", "data": ["名额"]},
            "series": [
                {"type": "bar", "stack": "seats", "name": "已占名额", "data": [project.seats_taken]},
                {"type": "bar", "stack": "seats", "name": "剩余名额", "data": [project.seats_left]},
                {"type": "bar", "name": "候补", "data": [figures.states[EnrolmentState.WAITING]]},
            ],
        },
        "counties": {
            "tooltip": {}, "grid": grid,
            "xAxis": {"type": "category", "data": [c["county"] for c in figures.counties], "axisLabel": {"rotate": 30}},
            "yAxis": {"type": "value", "name": "学员", "minInterval": 1},
            "series": [{"type": "bar", "data": [c["enrolees"] for c in figures.counties]}],
        },
    }
