"""The synthetic funding: plausible figures for three years, about a fifth of schools below 5 %,
divisions below their ratio as well as above it, the same seed giving the same figures."""

import datetime as dt
from decimal import Decimal

from access.scope import Scope
from funding import selectors
from funding.models import DivisionFunding, SchoolFunding, TrainingBudget
from org.models import Division, School
from synth.funding import funding_synthesize

TODAY = dt.date(2026, 11, 28)


def _rows(model):
    return list(model.objects.dangerously_unscoped().order_by("pk").values_list(
        *[f.attname for f in model._meta.concrete_fields if f.attname not in ("id", "updated_at", "created_at")]))


def test_funding_synthesis(province):
    School.objects.bulk_create([School(code=f"41022101{n:02d}", name=f"杞县学校{n}", division=province.county,
                                       division_path=province.county.path) for n in range(100)]
                               + [School(code=f"41022201{n:02d}", name=f"通许县学校{n}", division=province.sibling,
                                         division_path=province.sibling.path) for n in range(100)])
    made = funding_synthesize(seed=3, today=TODAY, county_codes=["410221", "410222", "410225", "410305"])
    years = {2024, 2025, 2026}
    figures = DivisionFunding.objects.dangerously_unscoped()
    assert set(figures.values_list("year", flat=True)) == years
    # the four counties, their cities and the province, three years each
    assert made["divisions"] == figures.count() == (4 + 2 + 1) * 3
    county = figures.get(division=province.county, year=2026)  # 杞县 has one teacher: ¥90–120k
    assert Decimal(90_000) <= county.payroll <= Decimal(120_000)
    assert all(Decimal("1.50") <= ratio <= Decimal("2.50") for ratio in figures.values_list("ratio_percent", flat=True))
    schools = SchoolFunding.objects.dangerously_unscoped()
    assert schools.count() == made["schools"] == (200 + 4) * 3
    short = sum(1 for public, training in schools.values_list("public_budget", "training_budget")
                if training < public * Decimal("0.05"))
    assert 0.1 < short / schools.count() < 0.3
    assert TrainingBudget.objects.dangerously_unscoped().exists()
    states = {row.state for year in years for row in selectors.division_rows(
        scope=Scope.division(province.province), divisions=Division.objects.filter(level__in=["city", "county"]),
        year=year) if row.state != "no_data"}
    assert states == {"met", "short"}
    before = (_rows(DivisionFunding), _rows(SchoolFunding), _rows(TrainingBudget))
    assert funding_synthesize(seed=3, today=TODAY, county_codes=["410221"])["divisions"] == 0  # idempotent
    for model in (TrainingBudget, SchoolFunding, DivisionFunding):
        model.objects.dangerously_unscoped().all().delete()
    funding_synthesize(seed=3, today=TODAY, county_codes=["410221", "410222", "410225", "410305"])
    assert (_rows(DivisionFunding), _rows(SchoolFunding), _rows(TrainingBudget)) == before
