"""A jurisdiction's training projects for one year (issue 4 item 5), for its division
administrators: projects organised within it by level × category × state, seats,
admissions and completions; the projects of other organisers its teachers attend
(their own enrolments only); and the high-end training share against the policy
targets (§二(五): province 4 %, city 7 %, county 20 % of full-time teachers).

High-end share of a division: its active teachers who completed a high-end project
organised by that division itself (so at its level) in the year ÷ its active teachers.
Shown for the division and for each division directly below it.

Every figure is one grouped query over the year; nothing is listed by name."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, F, Q, Sum

from access.policy import Action, can, visible
from access.scope import Scope
from catalog.constants import EnrolmentState, Level, ProjectCategory, ProjectState
from catalog.models import Enrolment, Project
from catalog.plans import HIGH_END_TARGET_PERCENT
from catalog.services import LEVEL_OF_DIVISION
from core.excel import COUNT, TOTAL_LABEL
from org.models import Division
from people.models import Teacher

ADMITTED = (EnrolmentState.ENROLLED, EnrolmentState.COMPLETED)
ENROLEES = (EnrolmentState.PENDING, EnrolmentState.ENROLLED, EnrolmentState.COMPLETED)
LEVEL_ORDER = {level: n for n, level in enumerate(Level.values)}
CATEGORY_ORDER = {category: n for n, category in enumerate(ProjectCategory.values)}


def _rate(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


@dataclass
class OverviewRow:
    """One level × category (or the total when both are empty)."""

    level: str
    category: str
    states: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ProjectState.values, 0))
    seats: int = 0
    taken: int = 0
    admitted: int = 0
    completed: int = 0

    @property
    def level_label(self) -> str:
        return Level(self.level).label if self.level else "合计"

    @property
    def category_label(self) -> str:
        return ProjectCategory(self.category).label if self.category else ""

    @property
    def projects(self) -> int:
        return sum(self.states.values())

    @property
    def completion_rate(self) -> float:
        return _rate(self.completed, self.admitted)

    def add(self, other: OverviewRow) -> None:
        for state, n in other.states.items():
            self.states[state] += n
        self.seats += other.seats
        self.taken += other.taken
        self.admitted += other.admitted
        self.completed += other.completed


@dataclass
class OutsideRow:
    """Projects of other organisers that the jurisdiction's teachers attend (their enrolments only)."""

    level: str
    category: str
    projects: int
    enrolees: int
    admitted: int
    completed: int

    @property
    def level_label(self) -> str:
        return Level(self.level).label

    @property
    def category_label(self) -> str:
        return ProjectCategory(self.category).label

    @property
    def completion_rate(self) -> float:
        return _rate(self.completed, self.admitted)


@dataclass
class HighEndRow:
    code: str
    name: str
    level: str
    teachers: int  # active teachers of the division
    completed: int  # of them, those who completed a high-end project the division organised
    is_own: bool = False

    @property
    def level_label(self) -> str:
        return Level(self.level).label

    @property
    def target_percent(self) -> int:
        return HIGH_END_TARGET_PERCENT[self.level]

    @property
    def percent(self) -> float:
        return _rate(self.completed, self.teachers)

    @property
    def needed(self) -> int:
        return -(-self.teachers * self.target_percent // 100)  # ceiling

    @property
    def met(self) -> bool:
        return self.completed >= self.needed


@dataclass
class Overview:
    division: Division
    year: int
    rows: list[OverviewRow]
    total: OverviewRow
    outside: list[OutsideRow]
    high_end: list[HighEndRow]


def overview_division(*, scope: Scope, user, code: str = "") -> Division | None:
    """The division to show: the viewer's own, or one below it they may read (?division=CODE)."""
    if not code:
        return Division.objects.filter(pk=user.division_id).first() if user.division_id else None
    division = Division.objects.filter(code=code[:6]).first()
    return division if division is not None and can(scope, Action.VIEW, division) else None


def _year_bounds(year: int) -> dict:
    return {"starts_on__gte": dt.date(year, 1, 1), "starts_on__lt": dt.date(year + 1, 1, 1)}


def organised_rows(*, scope: Scope, division: Division, year: int) -> list[OverviewRow]:
    """Projects organised within the division starting in the year: two grouped queries
    (projects by level × category × state with seats; enrolments by level × category)."""
    projects = visible(scope, Project).filter(division_path__startswith=division.path, **_year_bounds(year))
    rows: dict[tuple[str, str], OverviewRow] = {}
    for row in (projects.order_by().values("level", "category", "state")
                .annotate(n=Count("id"), seats=Sum("seats"), taken=Sum("seats_taken"))):
        cell = rows.setdefault((row["level"], row["category"]), OverviewRow(row["level"], row["category"]))
        cell.states[row["state"]] = row["n"]
        cell.seats += row["seats"] or 0
        cell.taken += row["taken"] or 0
    year_bounds = {f"project__{key}": value for key, value in _year_bounds(year).items()}
    enrolments = (visible(scope, Enrolment).filter(project__division_path__startswith=division.path, **year_bounds)
                  .order_by()
                  .values("project__level", "project__category")
                  .annotate(admitted=Count("id", filter=Q(state__in=ADMITTED)),
                            completed=Count("id", filter=Q(state=EnrolmentState.COMPLETED))))
    for entry in enrolments:
        found = rows.get((entry["project__level"], entry["project__category"]))
        if found is not None:
            found.admitted, found.completed = entry["admitted"], entry["completed"]
    return sorted(rows.values(), key=lambda r: (LEVEL_ORDER[r.level], CATEGORY_ORDER[r.category]))


def outside_rows(*, scope: Scope, division: Division, year: int) -> list[OutsideRow]:
    """Projects organised outside the division (above it, or elsewhere) in which its teachers
    hold or held a seat: one grouped query over those teachers' own enrolments."""
    year_bounds = {f"project__{key}": value for key, value in _year_bounds(year).items()}
    rows = (visible(scope, Enrolment).filter(teacher__division_path__startswith=division.path, state__in=ENROLEES,
                                              **year_bounds)
            .exclude(project__division_path__startswith=division.path).order_by()
            .values("project__level", "project__category")
            .annotate(projects=Count("project_id", distinct=True), enrolees=Count("id"),
                      admitted=Count("id", filter=Q(state__in=ADMITTED)),
                      completed=Count("id", filter=Q(state=EnrolmentState.COMPLETED))))
    found = [OutsideRow(row["project__level"], row["project__category"], row["projects"], row["enrolees"],
                        row["admitted"], row["completed"]) for row in rows]
    return sorted(found, key=lambda r: (LEVEL_ORDER[r.level], CATEGORY_ORDER[r.category]))


def high_end_rows(*, scope: Scope, division: Division, year: int) -> list[HighEndRow]:
    """The division and each division below it: three queries (the children, active
    teachers by division path, completers of high-end projects by organiser)."""
    children = list(Division.objects.filter(parent=division).order_by("code"))
    units = [division, *children]
    teachers_by_path = dict(visible(scope, Teacher).filter(division_path__startswith=division.path,
                                                                    status="active").order_by()
                            .values_list("division_path").annotate(n=Count("id")))
    year_bounds = {f"project__{key}": value for key, value in _year_bounds(year).items()}
    completers = dict(
        visible(scope, Enrolment).filter(
            state=EnrolmentState.COMPLETED, project__is_high_end=True, project__organiser_school__isnull=True,
            project__organiser__in=[unit.pk for unit in units], **year_bounds,
            # the division's own teachers (a project may admit teachers from elsewhere)
            teacher__division_path__startswith=F("project__division_path"),
        ).order_by().values_list("project__organiser_id").annotate(n=Count("teacher_id", distinct=True))
    )
    rows = []
    for unit in units:
        level = LEVEL_OF_DIVISION.get(unit.level)
        if level is None or level not in HIGH_END_TARGET_PERCENT:
            continue
        teachers = sum(n for path, n in teachers_by_path.items() if path.startswith(unit.path))
        rows.append(HighEndRow(code=unit.code, name=unit.name, level=level, teachers=teachers,
                               completed=completers.get(unit.pk, 0), is_own=unit.pk == division.pk))
    return rows


def jurisdiction_overview(*, scope: Scope, division: Division, year: int) -> Overview:
    rows = organised_rows(scope=scope, division=division, year=year)
    total = OverviewRow("", "")
    for row in rows:
        total.add(row)
    outside = outside_rows(scope=scope, division=division, year=year) if division.parent_id else []
    return Overview(division=division, year=year, rows=rows, total=total, outside=outside,
                    high_end=high_end_rows(scope=scope, division=division, year=year))


def overview_charts(overview: Overview) -> dict:
    """ECharts options: projects by category stacked by level; seats, admissions and
    completions by level; high-end share against the target."""
    grid = {"left": 10, "right": 10, "top": 40, "bottom": 10, "containLabel": True}
    categories = [c for c in ProjectCategory.values if any(r.category == c for r in overview.rows)]
    levels = [lv for lv in Level.values if any(r.level == lv for r in overview.rows)]
    by_level: dict[str, OverviewRow] = {}
    for row in overview.rows:
        by_level.setdefault(row.level, OverviewRow(row.level, "")).add(row)
    cells = {(r.level, r.category): r.projects for r in overview.rows}
    return {
        "projects": {
            "tooltip": {"trigger": "axis"}, "legend": {}, "grid": grid,
            "xAxis": {"type": "category", "data": [ProjectCategory(c).label for c in categories],
                      "axisLabel": {"rotate": 30}},
            "yAxis": {"type": "value", "name": "项目", "minInterval": 1},
            "series": [{"type": "bar", "stack": "level", "name": Level(lv).label,
                        "data": [cells.get((lv, c), 0) for c in categories]} for lv in levels],
        },
        "people": {
            "tooltip": {"trigger": "axis"}, "legend": {}, "grid": grid,
            "xAxis": {"type": "category", "data": [Level(lv).label for lv in levels]},
            "yAxis": {"type": "value", "name": "人次", "minInterval": 1},
            "series": [
                {"type": "bar", "name": "名额", "data": [by_level[lv].seats for lv in levels]},
                {"type": "bar", "name": "录取", "data": [by_level[lv].admitted for lv in levels]},
                {"type": "bar", "name": "结业", "data": [by_level[lv].completed for lv in levels]},
            ],
        },
        "high_end": {
            "tooltip": {"trigger": "axis"}, "legend": {}, "grid": grid,
            "xAxis": {"type": "category", "data": [r.name for r in overview.high_end], "axisLabel": {"rotate": 30}},
            "yAxis": {"type": "value", "name": "%"},
            "series": [
                {"type": "bar", "name": "高端培训结业占比", "data": [r.percent for r in overview.high_end]},
                {"type": "line", "name": "目标", "step": "middle", "data": [r.target_percent for r in overview.high_end]},
            ],
        },
    }


OVERVIEW_FORMATS = {label: COUNT for label in ["项目数", *ProjectState.labels, "名额", "已占名额", "录取", "结业"]}
OVERVIEW_FORMATS["结业率%"] = "0.0"
OVERVIEW_HEADER = ["层级", "类别", "项目数", *ProjectState.labels, "名额", "已占名额", "录取", "结业", "结业率%"]


def overview_sheet_rows(overview: Overview):
    """The tables as one sheet: organised projects with the total, the outside projects, the high-end share."""
    for row in [*overview.rows, overview.total]:
        yield [row.level_label if row is not overview.total else TOTAL_LABEL, row.category_label, row.projects, *row.states.values(), row.seats, row.taken,
               row.admitted, row.completed, row.completion_rate]
    if overview.outside:
        yield []
        yield ["本辖区教师参加的其他单位项目", "", "项目数", "报名人数", "录取", "结业", "结业率%"]
        for outside in overview.outside:
            yield [outside.level_label, outside.category_label, outside.projects, outside.enrolees, outside.admitted,
                   outside.completed, outside.completion_rate]
    yield []
    yield ["高端培训占比", "层级", "在岗教师", "高端培训结业", "占比%", "目标%", "目标人数", "是否达标"]
    for unit in overview.high_end:
        yield [unit.name, unit.level_label, unit.teachers, unit.completed, unit.percent, unit.target_percent,
               unit.needed, "是" if unit.met else "否"]
