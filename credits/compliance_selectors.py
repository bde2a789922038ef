"""Reads of compliance: a division's roll-up and its children's (from the school
snapshot), a school's teachers (live), and the ECharts specs of the pages.
Every read starts from a division or school the caller has already resolved
within the viewer's scope (see `compliance_division` / `compliance_school`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import Substr
from django.utils import timezone

from access.policy import Action, can, visible
from access.scope import Scope
from credits.constants import CATEGORY_LABELS, Category
from credits.models import ComplianceRefresh, Cycle, SchoolCompliance
from credits.selectors import rule_set_in_force
from credits.standing import BAND_EDGES, TeacherStanding, teacher_standings
from org.models import Division, School

BAND_LABELS = ("<20%", "20–40%", "40–60%", "60–80%", "80–100%", "已完成")
COUNT_FIELDS = ("teachers", "complete", "on_track", "new_teachers", *(f"band_{i}" for i in range(len(BAND_EDGES) + 1)))
HOUR_FIELDS = ("required_hours", "counted_hours", "pending_hours", "owed_hours", *(f"{c}_hours" for c in Category.values))


@dataclass
class Rollup:
    """Totals of one division or school (or one child row of a roll-up)."""

    name: str
    code: str = ""
    school_id: int | None = None
    values: dict = field(default_factory=dict)

    def __getattr__(self, name: str):
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def _rate(self, part: str) -> float:
        teachers = self.values.get("teachers") or 0
        return round(100 * (self.values.get(part) or 0) / teachers, 1) if teachers else 0.0

    @property
    def complete_rate(self) -> float:
        return self._rate("complete")

    @property
    def on_track_rate(self) -> float:
        return self._rate("on_track")

    @property
    def behind(self) -> int:
        return (self.values.get("teachers") or 0) - (self.values.get("on_track") or 0)

    @property
    def bands(self) -> list[int]:
        return [self.values.get(f"band_{i}") or 0 for i in range(len(BAND_LABELS))]

    @property
    def categories(self) -> list[tuple[str, Decimal]]:
        return [(CATEGORY_LABELS[c], self.values.get(f"{c}_hours") or Decimal(0)) for c in Category.values]


def _sums() -> dict:
    return {name: Sum(name) for name in (*COUNT_FIELDS, *HOUR_FIELDS)}


def _clean(row: dict) -> dict:
    return {key: (value if value is not None else (Decimal(0) if key in HOUR_FIELDS else 0)) for key, value in row.items()}


def compliance_division(*, scope: Scope, code: str) -> Division | None:
    """A division whose roll-up the viewer may read (a school administrator reads only their school)."""
    if scope.path is None or scope.school_id is not None:
        return None
    division = Division.objects.filter(code=code[:6]).first()
    return division if division is not None and can(scope, Action.VIEW, division) else None


def compliance_school(*, scope: Scope, school_id: int) -> School | None:
    return visible(scope, School).select_related("division").filter(pk=school_id).first()


def compliance_refreshed(cycle: Cycle) -> ComplianceRefresh | None:
    return ComplianceRefresh.objects.filter(cycle=cycle).first()


def compliance_is_stale(refresh: ComplianceRefresh | None, *, max_age_minutes: int) -> bool:
    if refresh is None:
        return True
    return refresh.as_of != timezone.localdate() or timezone.now() - refresh.computed_at > dt.timedelta(minutes=max_age_minutes)


def division_rollup(*, scope: Scope, cycle: Cycle, division: Division) -> tuple[Rollup, list[Rollup]]:
    """The division's totals and one row per child division, or per school for a county."""
    rows = visible(scope, SchoolCompliance).filter(cycle=cycle, division_path__startswith=division.path)
    total = Rollup(name=division.name, code=division.code, values=_clean(rows.aggregate(**_sums())))
    children = list(Division.objects.filter(parent=division).order_by("code").only("code", "name", "path"))
    if children:
        width = len(division.path) + 7  # one more "NNNNNN." segment
        by_path: dict[str, dict] = {
            row["child"]: dict(row) for row in rows.annotate(child=Substr("division_path", 1, width))
            .values("child").annotate(**_sums()).order_by()
        }
        return total, [
            Rollup(name=child.name, code=child.code, values=_clean(by_path.get(child.path, dict.fromkeys(_sums()))))
            for child in children
        ]
    schools = rows.select_related("school").order_by("school__code")
    return total, [
        Rollup(name=row.school.name, code=row.school.code, school_id=row.school_id,
               values={name: getattr(row, name) for name in (*COUNT_FIELDS, *HOUR_FIELDS)})
        for row in schools
    ]


def school_rollup(*, scope: Scope, cycle: Cycle, school: School) -> Rollup:
    rows = visible(scope, SchoolCompliance).filter(cycle=cycle, school=school)
    return Rollup(name=school.name, code=school.code, school_id=school.pk, values=_clean(rows.aggregate(**_sums())))


def school_standings(*, cycle: Cycle, school: School, behind_only: bool = False,
                     today: dt.date | None = None) -> list[TeacherStanding]:
    """Live standings of a school's active teachers, least done first."""
    today = today or timezone.localdate()
    standings = teacher_standings(
        cycle=cycle, rule_set=rule_set_in_force(cycle), today=today, where="t.school_id = %s", where_params=(school.pk,),
    )
    return [s for s in standings if not s.on_track] if behind_only else standings


def rollup_charts(total: Rollup, children: list[Rollup]) -> dict:
    """ECharts options: progress distribution, on-track rate by child, hours by category."""
    return {
        "distribution": {
            "tooltip": {}, "grid": {"left": 10, "right": 10, "top": 30, "bottom": 10, "containLabel": True},
            "xAxis": {"type": "category", "data": list(BAND_LABELS)},
            "yAxis": {"type": "value", "name": "教师"},
            "series": [{"type": "bar", "data": total.bands}],
        },
        "on_track": {
            "tooltip": {}, "grid": {"left": 10, "right": 10, "top": 40, "bottom": 10, "containLabel": True},
            "xAxis": {"type": "category", "data": [c.name for c in children], "axisLabel": {"rotate": 45}},
            "yAxis": {"type": "value", "max": 100, "name": "%"},
            "series": [
                {"type": "bar", "name": "进度正常率", "data": [c.on_track_rate for c in children]},
                {"type": "bar", "name": "已达标率", "data": [c.complete_rate for c in children]},
            ],
            "legend": {},
        },
        "categories": {
            "tooltip": {"trigger": "item"},
            "series": [{"type": "pie", "radius": ["35%", "65%"], "stillShowZeroSum": False,
                        "data": [{"name": label, "value": float(hours)} for label, hours in total.categories]}],
        },
    }
