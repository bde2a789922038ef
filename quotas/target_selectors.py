"""Reads of the high-end training task: rates in force, baselines, each division's target,
progress and projections, and allocations.

A division's task has an area (whose teachers count):
- the province: every teacher of the province;
- a city: its teachers except those of its 省直管县 (they report to the province);
- a county: its own teachers (a 省直管县 included: it has its own county task).
Target = ceil(rate × teachers / 100), with the teachers frozen in the cycle's baseline, or the
live count (marked as such, with today's date) until the province freezes it.

Progress = distinct teachers of the area who completed a high-end project of the task's level
ending inside the cycle, counted from the progress table (`quotas.progress`: one row per teacher,
level and cycle, written when completion is judged, with the teacher's division at completion).
Active teachers are counted from the partial index of active teachers per division path and
school (index-only scans). Everything is read with a fixed number of grouped queries whatever the
number of divisions: the divisions under the one shown, active teachers per division path,
completers per division path and level, open seats per organiser and level, the baselines and the
rates (`targets_view` asserts it in the tests)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from access.errors import NotVisible
from access.policy import Action, can, visible
from access.scope import Scope
from catalog.constants import PlanState
from catalog.models import Project
from credits.models import Cycle
from org.models import Division, School
from people.models import Teacher
from quotas.progress_models import HighEndCompletion
from quotas.target_models import Allocation, AllocationShare, TargetBaseline, TargetRate, TaskLevel

LEVELS = tuple(TaskLevel.values)


def cycle_choose(code: str = "", today: dt.date | None = None) -> Cycle:
    """The cycle named by `code`, else the one running today (else the latest)."""
    if code:
        cycle = Cycle.objects.filter(code=code).first()
        if cycle is None:
            raise NotVisible("没有该继续教育周期")
        return cycle
    today = today or timezone.localdate()
    cycle = (Cycle.objects.filter(starts_on__lte=today, ends_on__gte=today).first()
             or Cycle.objects.order_by("-starts_on").first())
    if cycle is None:
        raise NotVisible("尚未设置继续教育周期")
    return cycle


def rates_in_force(scope: Scope, cycle: Cycle) -> dict[str, TargetRate]:
    """Per level, the latest version in effect on the cycle's first day (one query)."""
    found: dict[str, TargetRate] = {}
    rows = visible(scope, TargetRate).filter(effective_from__lte=cycle.starts_on).order_by(
        "level", "-effective_from", "-version")
    for row in rows:
        found.setdefault(row.level, row)
    return found


def rate_versions(scope: Scope) -> list[TargetRate]:
    return list(visible(scope, TargetRate).select_related("created_by").order_by("level", "-version"))


def target_of(rate: Decimal | None, teachers: int) -> int:
    if rate is None:
        return 0
    return int((rate * teachers / 100).to_integral_value(rounding=ROUND_CEILING))


def division_for(scope: Scope, code: str = "") -> Division:
    """The division a page or route is about: `code` if the viewer's jurisdiction covers it, else
    the viewer's own (404 for a division outside it, as for any row)."""
    if not scope.is_division:
        raise NotVisible("只有县级及以上管理员可以查看高端培训任务")
    code = code or ""
    rows = visible(scope, Division)
    division = rows.filter(code=code).first() if code else rows.filter(path=scope.path).first()
    if division is None:
        raise NotVisible("区划不存在或不在您的管辖范围内")
    return division


def area_teachers(division: Division, teachers_by_path: dict[str, int], direct_paths: list[str]) -> int:
    """The teachers of a division's task area (see the module's docstring)."""
    total = sum(n for path, n in teachers_by_path.items() if path.startswith(division.path))
    if division.level == TaskLevel.CITY:
        total -= sum(n for path, n in teachers_by_path.items()
                     if any(path.startswith(d) for d in direct_paths if d.startswith(division.path)))
    return total


@dataclass
class TaskRow:
    division: Division
    level: str
    teachers: int
    frozen: bool
    counted_on: dt.date
    rate: Decimal | None
    target: int
    completed: int
    open_seats: int
    pace: int  # projection (a): completed so far ÷ the elapsed share of the cycle
    planned: int  # projection (b): completed + seats of approved high-end projects not finished
    is_own: bool = False
    read_only: bool = False

    @property
    def code(self) -> str:
        return self.division.code

    @property
    def name(self) -> str:
        return self.division.name

    @property
    def level_label(self) -> str:
        return TaskLevel(self.level).label

    @property
    def percent(self) -> float:
        return round(self.completed * 100 / self.target, 1) if self.target else 0.0

    @property
    def at_risk(self) -> bool:
        """Projected to miss: neither projection reaches the target."""
        return self.target > 0 and max(self.pace, self.planned) < self.target

    @property
    def gap(self) -> int:
        return max(0, self.target - self.completed)


@dataclass
class SchoolRow:
    school: School
    teachers: int
    completed: int


@dataclass
class TargetsView:
    division: Division
    cycle: Cycle
    today: dt.date
    elapsed: float  # share of the cycle elapsed, 0–1
    rows: list[TaskRow]  # the division's own task first, then each child's
    schools: list[SchoolRow] = field(default_factory=list)
    rates: dict[str, TargetRate] = field(default_factory=dict)

    @property
    def own(self) -> TaskRow | None:
        return next((row for row in self.rows if row.is_own), None)

    @property
    def children(self) -> list[TaskRow]:
        return [row for row in self.rows if not row.is_own]

    @property
    def frozen(self) -> bool:
        return bool(self.rows) and all(row.frozen for row in self.rows)


def elapsed_share(cycle: Cycle, today: dt.date) -> float:
    days = (cycle.ends_on - cycle.starts_on).days + 1
    gone = (min(today, cycle.ends_on) - cycle.starts_on).days + 1
    return max(0.0, min(1.0, gone / days))


def _completers(scope: Scope, division_path: str, cycle: Cycle) -> dict[tuple[str, str], int]:
    """Completers of high-end projects ending in the cycle, per division path (the teacher's at
    completion) and level: one grouped count over the progress table, which holds each teacher
    once per level and cycle (an index-only scan of `quotas_highend_progress`)."""
    rows = (visible(scope, HighEndCompletion)
            .filter(cycle=cycle, level__in=LEVELS, division_path__startswith=division_path)
            .order_by().values_list("division_path", "level").annotate(n=Count("*")))
    return {(path, level): n for path, level, n in rows}


def targets_view(scope: Scope, division: Division, cycle: Cycle, today: dt.date | None = None) -> TargetsView:
    today = today or timezone.localdate()
    below = list(visible(scope, Division).filter(path__startswith=division.path).order_by("code"))
    direct_paths = [d.path for d in below if d.is_direct_county]
    children = [d for d in below if d.parent_id == division.pk]
    if division.level == TaskLevel.PROVINCE:  # 省直管县 report their county task to the province
        children += [d for d in below if d.is_direct_county and d.parent_id != division.pk]
    teachers_by_path = dict(visible(scope, Teacher).filter(division_path__startswith=division.path, status="active")
                            .order_by().values_list("division_path").annotate(n=Count("*")))
    completers = _completers(scope, division.path, cycle)
    units = [division, *children]
    baselines = {b.division_id: b for b in visible(scope, TargetBaseline).filter(
        cycle=cycle, division_id__in=[u.pk for u in units])}
    # Seats not yet completed: high-end projects of the organiser's level in its approved annual
    # plan, ending between today and the cycle's end, completion not yet judged.
    open_seats = dict(
        ((organiser, level), seats) for organiser, level, seats in
        visible(scope, Project).filter(is_high_end=True, plan__state=PlanState.APPROVED, organiser_school__isnull=True,
                                       organiser_id__in=[u.pk for u in units], ends_on__gte=today,
                                       ends_on__lte=cycle.ends_on, completion_judged_at__isnull=True)
        .order_by().values_list("organiser_id", "level").annotate(n=Sum("seats")))
    rates = rates_in_force(scope, cycle)
    elapsed = elapsed_share(cycle, today)
    rows = []
    for unit in units:
        level = unit.level
        if level not in LEVELS:
            continue
        baseline = baselines.get(unit.pk)
        live = area_teachers(unit, teachers_by_path, direct_paths)
        teachers = baseline.teachers if baseline else live
        rate = rates[level].percent if level in rates else None
        completed_by_path = {path: n for (path, lv), n in completers.items() if lv == level}
        completed = area_teachers(unit, completed_by_path, direct_paths)
        seats = open_seats.get((unit.pk, level), 0)
        cap = max(teachers, live)
        pace = min(cap, math.floor(completed / elapsed)) if elapsed > 0 else completed
        rows.append(TaskRow(
            division=unit, level=level, teachers=teachers, frozen=baseline is not None,
            counted_on=baseline.counted_on if baseline else today, rate=rate, target=target_of(rate, teachers),
            completed=completed, open_seats=seats, pace=pace, planned=min(cap, completed + seats),
            is_own=unit.pk == division.pk,
            read_only=unit.pk != division.pk and not can(scope, Action.CHANGE, unit)))
    schools: list[SchoolRow] = []
    if division.level == TaskLevel.COUNTY:
        schools = _school_rows(scope, division, cycle)
    return TargetsView(division=division, cycle=cycle, today=today, elapsed=elapsed, rows=rows, schools=schools,
                       rates=rates)


def _school_rows(scope: Scope, division: Division, cycle: Cycle) -> list[SchoolRow]:
    """A county's schools: active teachers and county-level completers (two grouped queries; a
    completer counts for the school they were at when they completed)."""
    schools = list(visible(scope, School).filter(division=division).order_by("code"))
    teachers = dict(visible(scope, Teacher).filter(division_path=division.path, status="active")
                    .order_by().values_list("school_id").annotate(n=Count("*")))
    completed = dict(visible(scope, HighEndCompletion).filter(
        cycle=cycle, level=TaskLevel.COUNTY, division_path=division.path)
        .order_by().values_list("school_id").annotate(n=Count("*")))
    return [SchoolRow(school=s, teachers=teachers.get(s.pk, 0), completed=completed.get(s.pk, 0)) for s in schools]


def chart_options(view: TargetsView) -> dict:
    """ECharts: per division target (bar), completed (bar), both projections (lines)."""
    rows = view.rows
    names = [row.name for row in rows]
    return {
        "tooltip": {"trigger": "axis"}, "legend": {},
        "grid": {"left": 10, "right": 10, "top": 40, "bottom": 10, "containLabel": True},
        "xAxis": {"type": "category", "data": names, "axisLabel": {"rotate": 30 if len(names) > 8 else 0}},
        "yAxis": {"type": "value", "name": "人", "minInterval": 1},
        "series": [
            {"type": "bar", "name": "任务数", "data": [row.target for row in rows]},
            {"type": "bar", "name": "已完成", "data": [row.completed for row in rows]},
            {"type": "line", "name": "按当前进度预计", "data": [row.pace for row in rows]},
            {"type": "line", "name": "按已批计划预计", "data": [row.planned for row in rows]},
        ],
    }


# --- allocations --------------------------------------------------------------------------------

def allocation_children(scope: Scope, division: Division) -> tuple[str, list]:
    """Who receives a division's seats: ("divisions", [...]) or ("schools", [...]).
    The province: its cities and the 省直管县 (which report to it); a city: its counties except
    the 省直管县; a county: its schools."""
    if division.level == TaskLevel.PROVINCE:
        rows = Division.objects.filter(Q(parent=division) | Q(is_direct_county=True, path__startswith=division.path))
        return "divisions", list(rows.order_by("code"))
    if division.level == TaskLevel.CITY:
        return "divisions", list(Division.objects.filter(parent=division, is_direct_county=False).order_by("code"))
    return "schools", list(visible(scope, School).filter(division=division).order_by("code"))


def child_teachers(scope: Scope, division: Division, kind: str, children: list, cycle: Cycle | None) -> dict[str, int]:
    """Each child's teachers: its cycle baseline where frozen, else the live count (two queries)."""
    if kind == "schools":
        counts = dict(visible(scope, Teacher).filter(division_path=division.path, status="active").order_by()
                      .values_list("school_id").annotate(n=Count("*")))
        return {s.code: counts.get(s.pk, 0) for s in children}
    baselines = {}
    if cycle is not None:
        baselines = dict(visible(scope, TargetBaseline).filter(cycle=cycle, division__in=children).values_list("division_id", "teachers"))
    if all(d.pk in baselines for d in children):  # frozen: no live count needed
        return {d.code: baselines[d.pk] for d in children}
    by_path = dict(visible(scope, Teacher).filter(division_path__startswith=division.path, status="active").order_by()
                   .values_list("division_path").annotate(n=Count("*")))
    # A city child's area leaves out its 省直管县 (allocated by the province directly).
    directs = list(Division.objects.filter(path__startswith=division.path, is_direct_county=True)
                   .values_list("path", flat=True))
    return {d.code: baselines[d.pk] if d.pk in baselines else area_teachers(d, by_path, directs) for d in children}


def allocations(scope: Scope, *, division: Division | None = None, year: int | None = None):
    rows = visible(scope, Allocation).select_related("division", "created_by")
    if division is not None:
        rows = rows.filter(division=division)
    if year:
        rows = rows.filter(year=year)
    return rows.order_by("-year", "division__code", "-version")


def allocation_get(scope: Scope, allocation_id: int) -> Allocation:
    row = visible(scope, Allocation).select_related("division", "created_by", "supersedes").filter(
        pk=allocation_id).first()
    if row is None:
        raise NotVisible("分配不存在或不在您的管辖范围内")
    return row


def allocation_shares(scope: Scope, allocation: Allocation) -> list[AllocationShare]:
    return list(visible(scope, AllocationShare).filter(allocation=allocation).order_by("child_code"))


def received_shares(scope: Scope, year: int | None = None) -> list[AllocationShare]:
    """The current shares the viewer's unit received (a school administrator: their school's)."""
    rows = visible(scope, AllocationShare).filter(allocation__is_current=True).select_related(
        "allocation", "allocation__division")
    if scope.school_id is not None:
        rows = rows.filter(child_school_id=scope.school_id)
    elif scope.path is not None:
        rows = rows.filter(child_path=scope.path, child_school__isnull=True)
    if year:
        rows = rows.filter(allocation__year=year)
    return list(rows.order_by("-allocation__year", "allocation__level"))
