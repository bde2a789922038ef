"""Reads of training funding, set-based: a jurisdiction's compliance in a fixed number of grouped
queries whatever the number of divisions and schools (never a query per school).

- a division is compliant when its training budget (its direct budget entries plus the budgets of
  the projects it organises that start in the year) is at least its committed ratio × its teacher
  payroll; without a committed ratio the law's floor, 1.5 %, applies; without a payroll: 无数据;
- a school is compliant when its training budget is at least 5 % of its public operating budget."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, ExtractYear, Substr

from access.policy import Action, can, fetch, visible
from access.scope import Scope
from catalog.models import Project
from funding.models import (
    RATIO_MIN,
    SCHOOL_SHARE,
    DivisionFunding,
    ProjectSpend,
    SchoolFunding,
    TrainingBudget,
)
from org.models import Division, School

CENT = Decimal("0.01")
ZERO = Decimal("0")
STATE_LABELS = {"met": "达标", "short": "未达标", "no_data": "无数据"}
MONEY_FIELD = DecimalField(max_digits=20, decimal_places=4)
YEARS_CHARTED = 5


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class DivisionRow:
    code: str
    name: str
    level: str
    path: str
    is_direct_county: bool
    year: int
    payroll: Decimal | None
    ratio_percent: Decimal | None
    direct_budget: Decimal
    project_budget: Decimal
    spend: Decimal
    schools: SchoolSummary | None = None

    @property
    def ratio_committed(self) -> bool:
        return self.ratio_percent is not None

    @property
    def ratio_used(self) -> Decimal:
        return self.ratio_percent if self.ratio_percent is not None else RATIO_MIN

    @property
    def budget(self) -> Decimal:
        return self.direct_budget + self.project_budget

    @property
    def required(self) -> Decimal | None:
        return None if self.payroll is None else _money(self.payroll * self.ratio_used / 100)

    @property
    def shortfall(self) -> Decimal:
        required = self.required
        return max(required - self.budget, ZERO) if required is not None else ZERO

    @property
    def state(self) -> str:
        if self.required is None:
            return "no_data"
        return "met" if self.budget >= self.required else "short"

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def verdict(self) -> str:
        """达标 / 缺口 ¥X / 无数据"""
        if self.state == "short":
            return f"缺口 ¥{self.shortfall:,.2f}"
        return self.state_label

    @property
    def level_label(self) -> str:
        return {"province": "省", "city": "市", "county": "县（市、区）"}.get(self.level, self.level)


@dataclass
class SchoolSummary:
    schools: int = 0
    with_data: int = 0
    met: int = 0
    short: int = 0
    shortfall: Decimal = ZERO

    @property
    def no_data(self) -> int:
        return self.schools - self.with_data


@dataclass
class SchoolRow:
    school_id: int
    code: str
    name: str
    year: int
    public_budget: Decimal | None
    training_budget: Decimal | None

    @property
    def need(self) -> Decimal | None:
        """5 % of the public budget, exact (as the grouped queries compare it)."""
        return None if self.public_budget is None else self.public_budget * SCHOOL_SHARE / 100

    @property
    def required(self) -> Decimal | None:
        return None if self.need is None else _money(self.need)

    @property
    def shortfall(self) -> Decimal:
        need = self.need
        return _money(max(need - (self.training_budget or ZERO), ZERO)) if need is not None else ZERO

    @property
    def state(self) -> str:
        if self.need is None:
            return "no_data"
        return "met" if (self.training_budget or ZERO) >= self.need else "short"

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def verdict(self) -> str:
        if self.state == "short":
            return f"缺口 ¥{self.shortfall:,.2f}"
        return self.state_label

    @property
    def percent(self) -> Decimal | None:
        if not self.public_budget:
            return None
        return ((self.training_budget or ZERO) * 100 / self.public_budget).quantize(CENT)


@dataclass
class Overview:
    division: Division
    year: int
    own: DivisionRow
    children: list[DivisionRow] = field(default_factory=list)
    schools: list[SchoolRow] = field(default_factory=list)  # a county's own schools
    school_total: SchoolSummary = field(default_factory=SchoolSummary)


# --- the division to show ------------------------------------------------------------------------------

def overview_division(*, scope: Scope, user, code: str = "") -> Division | None:
    """The division to show: the viewer's own (a school administrator's: its county), or one below
    it they may read (?division=CODE)."""
    if scope.path is None or scope.teacher_id is not None:
        return None
    if not code:
        if user.division_id:
            return Division.objects.filter(pk=user.division_id).first()
        return Division.objects.filter(path=scope.path).first()
    if scope.school_id is not None:
        return None
    return visible(scope, Division).filter(code=code[:6]).first()


# --- divisions -----------------------------------------------------------------------------------------

def _year_bounds(year: int, prefix: str = "") -> dict:
    return {f"{prefix}starts_on__gte": dt.date(year, 1, 1), f"{prefix}starts_on__lt": dt.date(year + 1, 1, 1)}


def _sum_by(rows: QuerySet, key: str, column: str) -> Subquery:
    return Subquery(rows.values(key).annotate(total=Sum(column)).values("total")[:1], output_field=MONEY_FIELD)


def division_rows(*, scope: Scope, divisions: QuerySet, year: int) -> list[DivisionRow]:
    """Compliance of each division of `divisions` (already inside the viewer's reach) in ONE query:
    the year's payroll and ratio, direct budgets, project budgets and spend as correlated subqueries."""
    figures = visible(scope, DivisionFunding).filter(division=OuterRef("pk"), year=year)
    budgets = visible(scope, TrainingBudget).filter(division=OuterRef("pk"), year=year)
    projects = visible(scope, Project).filter(organiser=OuterRef("pk"), organiser_school__isnull=True,
                                              **_year_bounds(year))
    spend = visible(scope, ProjectSpend).filter(project__organiser=OuterRef("pk"),
                                                project__organiser_school__isnull=True,
                                                **_year_bounds(year, "project__"))
    rows = (divisions.order_by("path")
            .annotate(f_payroll=Subquery(figures.values("payroll")[:1]),
                      f_ratio=Subquery(figures.values("ratio_percent")[:1]),
                      f_direct=_sum_by(budgets, "division", "amount"),
                      f_projects=_sum_by(projects, "organiser", "budget"),
                      f_spend=_sum_by(spend, "project__organiser", "amount"))
            .values("code", "name", "level", "path", "is_direct_county", "f_payroll", "f_ratio", "f_direct",
                    "f_projects", "f_spend"))
    return [DivisionRow(code=row["code"], name=row["name"], level=row["level"], path=row["path"],
                        is_direct_county=row["is_direct_county"], year=year,
                        payroll=None if row["f_payroll"] is None else _money(row["f_payroll"]),
                        ratio_percent=None if row["f_ratio"] is None else Decimal(row["f_ratio"]).quantize(CENT),
                        direct_budget=_money(row["f_direct"]), project_budget=_money(row["f_projects"]),
                        spend=_money(row["f_spend"])) for row in rows]


def _divisions_below(scope: Scope, division: Division) -> QuerySet:
    return visible(scope, Division).filter(parent=division)


def school_summaries(*, scope: Scope, under: Division, key_length: int, year: int) -> dict[str, SchoolSummary]:
    """Per child division of `under` (its path being the first `key_length` characters of a school's
    division path): schools, with figures, met, short and the total shortfall. Two grouped queries."""
    required = ExpressionWrapper(F("public_budget") * SCHOOL_SHARE / 100, output_field=MONEY_FIELD)
    schools = (visible(scope, School).filter(division_path__startswith=under.path)
               .annotate(key=Substr("division_path", 1, key_length)).values("key").annotate(n=Count("id")))
    figures = (visible(scope, SchoolFunding).filter(year=year, division_path__startswith=under.path)
               .annotate(key=Substr("division_path", 1, key_length), need=required)
               .values("key")
               .annotate(n=Count("id"), met=Count("id", filter=Q(training_budget__gte=F("need"))),
                         shortfall=Coalesce(Sum(F("need") - F("training_budget"),
                                                filter=Q(training_budget__lt=F("need")),
                                                output_field=MONEY_FIELD), Value(ZERO), output_field=MONEY_FIELD)))
    found: dict[str, SchoolSummary] = {}
    for row in schools:
        found.setdefault(row["key"], SchoolSummary()).schools = row["n"]
    for row in figures:
        summary = found.setdefault(row["key"], SchoolSummary())
        summary.with_data, summary.met = row["n"], row["met"]
        summary.short = row["n"] - row["met"]
        summary.shortfall = _money(row["shortfall"])
    return found


def school_rows(*, scope: Scope, division_path: str, year: int, school_id: int | None = None) -> list[SchoolRow]:
    """The schools directly in a division (a county's), each with its figures of the year: two queries."""
    schools = visible(scope, School).filter(division_path=division_path)
    if school_id is not None:
        schools = schools.filter(pk=school_id)
    figures = {row["school_id"]: row for row in visible(scope, SchoolFunding)
               .filter(year=year, division_path=division_path, **({"school_id": school_id} if school_id else {}))
               .values("school_id", "public_budget", "training_budget")}
    rows = []
    for pk, code, name in schools.order_by("code").values_list("pk", "code", "name"):
        figure = figures.get(pk)
        rows.append(SchoolRow(school_id=pk, code=code, name=name, year=year,
                              public_budget=_money(figure["public_budget"]) if figure else None,
                              training_budget=_money(figure["training_budget"]) if figure else None))
    return rows


def overview(*, scope: Scope, division: Division, year: int) -> Overview:
    """A division's funding: its own compliance, its child divisions' with their schools' summary,
    and (for a county) its schools. A fixed number of queries whatever the size of the jurisdiction."""
    if scope.school_id is not None:  # a school administrator: its own school only
        return Overview(division=division, year=year, own=_blank(division, year),
                        schools=school_rows(scope=scope, division_path=division.path, year=year,
                                            school_id=scope.school_id))
    rows = division_rows(scope=scope, divisions=Division.objects.filter(pk=division.pk), year=year)
    own = rows[0] if rows else _blank(division, year)
    children = division_rows(scope=scope, divisions=_divisions_below(scope, division), year=year)
    result = Overview(division=division, year=year, own=own, children=children)
    if children:
        summaries = school_summaries(scope=scope, under=division, key_length=len(children[0].path), year=year)
        for child in children:
            child.schools = summaries.get(child.path, SchoolSummary())
    own_schools = school_rows(scope=scope, division_path=division.path, year=year)
    result.schools = own_schools
    for school in own_schools:
        result.school_total.schools += 1
        if school.state != "no_data":
            result.school_total.with_data += 1
            result.school_total.met += school.state == "met"
            result.school_total.short += school.state == "short"
            result.school_total.shortfall += school.shortfall
    return result


def _blank(division: Division, year: int) -> DivisionRow:
    return DivisionRow(code=division.code, name=division.name, level=division.level, path=division.path,
                       is_direct_county=division.is_direct_county, year=year, payroll=None, ratio_percent=None,
                       direct_budget=ZERO, project_budget=ZERO, spend=ZERO)


# --- the gaps list -------------------------------------------------------------------------------------

@dataclass
class Gaps:
    year: int
    divisions: list[DivisionRow]
    divisions_no_data: int
    unreported: list[DivisionRow]  # no payroll figure for the year: the level above may enter it
    schools: QuerySet  # SchoolFunding rows below 5 %, largest shortfall first (paged by the caller)
    schools_no_data: int


def gaps(*, scope: Scope, division: Division, year: int) -> Gaps:
    """The divisions and schools below the ratios in a jurisdiction, largest shortfall first: one query
    for the divisions, one (paged) for the schools, two counts."""
    divisions = visible(scope, Division).filter(path__startswith=division.path, level__in=["city", "county"])
    rows = division_rows(scope=scope, divisions=divisions, year=year)
    short = sorted((row for row in rows if row.state == "short"), key=lambda row: (-row.shortfall, row.code))
    required = ExpressionWrapper(F("public_budget") * SCHOOL_SHARE / 100, output_field=MONEY_FIELD)
    schools = (visible(scope, SchoolFunding).filter(year=year, division_path__startswith=division.path)
               .annotate(need=required, gap=ExpressionWrapper(F("need") - F("training_budget"),
                                                              output_field=MONEY_FIELD))
               .filter(training_budget__lt=F("need")).select_related("school").order_by("-gap", "school__code"))
    school_count = visible(scope, School).filter(division_path__startswith=division.path).count()
    with_data = visible(scope, SchoolFunding).filter(year=year, division_path__startswith=division.path).count()
    unreported = sorted((row for row in rows if row.state == "no_data"), key=lambda row: row.code)
    return Gaps(year=year, divisions=short, divisions_no_data=len(unreported), unreported=unreported,
                schools=schools, schools_no_data=school_count - with_data)


# --- years, projects ----------------------------------------------------------------------------------

@dataclass
class YearPoint:
    year: int
    budget: Decimal
    required: Decimal | None


def division_years(*, scope: Scope, division: Division, years: list[int]) -> list[YearPoint]:
    """Budget against required over `years` for one division: three grouped queries."""
    first, last = min(years), max(years)
    figures = {row["year"]: row for row in visible(scope, DivisionFunding)
               .filter(division=division, year__gte=first, year__lte=last).values("year", "payroll", "ratio_percent")}
    direct = dict(visible(scope, TrainingBudget).filter(division=division, year__gte=first, year__lte=last)
                  .values("year").annotate(total=Sum("amount")).values_list("year", "total"))
    projects = dict(visible(scope, Project)
                    .filter(organiser=division, organiser_school__isnull=True,
                            starts_on__gte=dt.date(first, 1, 1), starts_on__lt=dt.date(last + 1, 1, 1))
                    .annotate(y=ExtractYear("starts_on")).values("y").annotate(total=Sum("budget"))
                    .values_list("y", "total"))
    points = []
    for year in years:
        figure = figures.get(year)
        required = None
        if figure and figure["payroll"] is not None:
            ratio = figure["ratio_percent"] if figure["ratio_percent"] is not None else RATIO_MIN
            required = _money(figure["payroll"] * ratio / 100)
        points.append(YearPoint(year=year, budget=_money(direct.get(year)) + _money(projects.get(year)),
                                required=required))
    return points


def school_years(*, scope: Scope, school_id: int, years: list[int]) -> list[YearPoint]:
    rows = {row["year"]: row for row in visible(scope, SchoolFunding)
            .filter(school_id=school_id, year__gte=min(years), year__lte=max(years))
            .values("year", "public_budget", "training_budget")}
    return [YearPoint(year=year, budget=_money(rows[year]["training_budget"]) if year in rows else ZERO,
                      required=_money(rows[year]["public_budget"] * SCHOOL_SHARE / 100) if year in rows else None)
            for year in years]


def chart_options(points: list[YearPoint], *, budget_label: str = "培训经费预算") -> dict:
    """ECharts options: the budget (bars) against what the ratio requires (line), in 万元."""
    def wan(value):
        return None if value is None else float((value / 10000).quantize(CENT))

    return {
        "tooltip": {"trigger": "axis"}, "legend": {},
        "grid": {"left": 10, "right": 10, "top": 40, "bottom": 10, "containLabel": True},
        "xAxis": {"type": "category", "data": [f"{point.year}年" for point in points]},
        "yAxis": {"type": "value", "name": "万元"},
        "series": [
            {"type": "bar", "name": budget_label, "data": [wan(point.budget) for point in points]},
            {"type": "line", "name": "按比例应安排", "data": [wan(point.required) for point in points],
             "connectNulls": False},
        ],
    }


def project_plan_spend(*, scope: Scope, division: Division, year: int) -> QuerySet:
    """The projects a division organises starting in the year, each with its budget, its spend and
    the number of its spend entries without evidence (one query; paged by the caller)."""
    spend = (visible(scope, ProjectSpend).filter(project=OuterRef("pk")).values("project")
             .annotate(total=Sum("amount")).values("total")[:1])
    bare = (visible(scope, ProjectSpend).filter(project=OuterRef("pk"), evidence="").values("project")
            .annotate(n=Count("id")).values("n")[:1])
    return (visible(scope, Project).filter(organiser=division, organiser_school__isnull=True, **_year_bounds(year))
            .annotate(spent=Coalesce(Subquery(spend, output_field=MONEY_FIELD), Value(ZERO),
                                     output_field=MONEY_FIELD),
                      without_evidence=Coalesce(Subquery(bare, output_field=IntegerField()), Value(0)))
            .order_by("starts_on", "code").only("pk", "code", "title", "budget", "starts_on", "state"))


def project_spends(*, scope: Scope, project: Project) -> QuerySet:
    """A project's live spend entries (deleted ones are left out by the policy), oldest first."""
    return (visible(scope, ProjectSpend).filter(project=project).select_related("created_by", "corrected_by")
            .order_by("spent_on", "pk"))


def budget_entries(*, scope: Scope, division: Division, year: int) -> QuerySet:
    """A division's live direct budget entries of the year, with who entered and corrected them."""
    return (visible(scope, TrainingBudget).filter(division=division, year=year)
            .select_related("created_by", "entered_above_by", "corrected_by").order_by("pk"))


def budget_entry(*, scope: Scope, budget_id: int) -> TrainingBudget:
    """One live direct budget entry the viewer may read (else 404)."""
    return fetch(scope, TrainingBudget, budget_id, select_related=("division", "created_by", "entered_above_by",
                                                                   "corrected_by"))


def spend_entry(*, scope: Scope, spend_id: int) -> ProjectSpend:
    """One live spend entry the viewer may read (else 404)."""
    return fetch(scope, ProjectSpend, spend_id, select_related=("project", "created_by", "corrected_by"))


def may_change_entry(scope: Scope, row: TrainingBudget | ProjectSpend) -> bool:
    """Whether the viewer may correct or delete the entry: its division's own, or a budget entry the
    level above entered on the division's behalf, by the level above."""
    return can(scope, Action.CHANGE, row)


def may_enter_for(scope: Scope, division: Division) -> bool:
    """Whether the viewer may enter this lower division's figures on its behalf (the policy's enter_for)."""
    return can(scope, Action.ENTER_FOR, DivisionFunding(division=division, division_path=division.path))


def division_figures(*, scope: Scope, division: Division) -> QuerySet:
    return visible(scope, DivisionFunding).filter(division=division).select_related("entered_above_by").order_by("-year")


def school_figures(*, scope: Scope, school: School) -> QuerySet:
    return visible(scope, SchoolFunding).filter(school=school).order_by("-year")


def may_enter_division(scope: Scope, division: Division) -> bool:
    return can(scope, Action.CHANGE, DivisionFunding(division=division, division_path=division.path))


def may_enter_school(scope: Scope, school: School) -> bool:
    return can(scope, Action.CHANGE, SchoolFunding(school=school, division_path=school.division_path))


def gaps_report(*, scope: Scope, division: Division, year: int, limit: int | None = None) -> dict:
    """The gaps list as plain data (the command's JSON): the divisions and the schools below their
    ratios, largest shortfall first, and how many have no figures."""
    found = gaps(scope=scope, division=division, year=year)
    schools = found.schools if limit is None else found.schools[:limit]

    def money(value):
        return None if value is None else str(_money(value))

    return {
        "year": year, "division": division.code, "division_name": division.name,
        "divisions": [{"code": row.code, "name": row.name, "level": row.level,
                       "is_direct_county": row.is_direct_county, "payroll": money(row.payroll),
                       "ratio_percent": None if row.ratio_percent is None else str(row.ratio_percent),
                       "ratio_used": str(row.ratio_used), "budget": money(row.budget), "required": money(row.required),
                       "shortfall": money(row.shortfall)} for row in found.divisions],
        "divisions_no_data": found.divisions_no_data,
        "schools": [{"code": row.school.code, "name": row.school.name, "division_path": row.division_path,
                     "public_budget": money(row.public_budget), "training_budget": money(row.training_budget),
                     "required": money(row.need), "shortfall": money(row.gap)} for row in schools.iterator(chunk_size=2000)],
        "schools_no_data": found.schools_no_data,
    }
