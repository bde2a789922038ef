"""The synthetic province's training funding: for the last three years, every synthesised county,
its city and the province a teacher payroll, a committed ratio and direct training budgets; every
school a public operating budget and a training budget; spend on the finished projects.

- a county's payroll ≈ its teachers × ¥90–120k a year; a city's or the province's own payroll ≈ 6 %
  (the teachers of the schools they run themselves) of the payroll under them;
- the ratio is one of 1.5 %–2.5 %; the training budget (direct entries plus the projects it
  organises that start in the year) clears ratio × payroll for about four divisions in five and
  falls 5–40 % short for the rest;
- a school's public budget ≈ its teachers × ¥8–15k; its training budget is 5.2–8 % of it for about
  four schools in five and 2–4.8 % for the rest;
- each finished project of a synthesised county with a budget gets one spend row of 70–100 % of it.

Every random stream is seeded by the seed, the unit's code and the year. Rows are written with
bulk_create; nothing happens when funding figures exist already."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import ExtractYear

from catalog.models import Project
from funding.models import RATIO_MAX, DivisionFunding, ProjectSpend, SchoolFunding, TrainingBudget
from org.models import Division, School
from people.models import Teacher

YEARS = 3
SHORT_SHARE = 0.2
RATIOS = [Decimal("1.50"), Decimal("1.80"), Decimal("2.00"), Decimal("2.20"), Decimal("2.50")]
CENT = Decimal("0.01")
BATCH = 5000


def _yuan(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(CENT)


def funding_synthesize(*, seed: int, today: dt.date, county_codes: list[str]) -> dict[str, int]:
    if DivisionFunding.objects.dangerously_unscoped().exists():
        return {"divisions": 0, "schools": 0, "budgets": 0, "spend": 0}
    years = list(range(today.year - YEARS + 1, today.year + 1))
    counties = list(Division.objects.filter(code__in=county_codes).order_by("code"))
    teachers_by_path = dict(Teacher.objects.dangerously_unscoped().filter(status="active")
                            .values("division_path").annotate(n=Count("id")).values_list("division_path", "n"))
    per_division: dict[int, tuple[Division, float]] = {}  # division -> teachers it pays for
    above: dict[int, float] = defaultdict(float)
    ancestors = {d.pk: d for d in Division.objects.filter(level__in=["province", "city"])}
    for county in counties:
        teachers = sum(n for path, n in teachers_by_path.items() if path.startswith(county.path))
        per_division[county.pk] = (county, float(teachers))
        for pk, division in ancestors.items():
            if county.path.startswith(division.path) and division.pk != county.pk:
                above[pk] += teachers
    for pk, teachers in above.items():
        per_division[pk] = (ancestors[pk], max(teachers * 0.06, 50.0))
    project_budgets = {(row["organiser_id"], row["y"]): row["total"] for row in Project.objects.dangerously_unscoped()
                       .filter(organiser_id__in=list(per_division), organiser_school__isnull=True,
                               starts_on__year__gte=years[0], starts_on__year__lte=years[-1])
                       .annotate(y=ExtractYear("starts_on")).values("organiser_id", "y")
                       .annotate(total=Sum("budget"))}
    figures, budgets = [], []
    for pk, (division, teachers) in sorted(per_division.items(), key=lambda item: item[1][0].code):
        for year in years:
            rng = random.Random(f"{seed}:funding:{division.code}:{year}")
            payroll = _yuan(teachers * rng.uniform(90_000, 120_000))
            ratio = rng.choice(RATIOS)
            required = payroll * ratio / 100
            factor = rng.uniform(0.6, 0.95) if rng.random() < SHORT_SHARE else rng.uniform(1.02, 1.3)
            direct = required * Decimal(str(factor)) - Decimal(project_budgets.get((pk, year)) or 0)
            figures.append(DivisionFunding(division=division, division_path=division.path, year=year,
                                           payroll=payroll, ratio_percent=min(ratio, RATIO_MAX)))
            if direct > 0:
                parts = rng.randint(1, 3)
                for n in range(parts):
                    budgets.append(TrainingBudget(division=division, division_path=division.path, year=year,
                                                  amount=(direct / parts).quantize(CENT),
                                                  purpose=("教师培训专项经费", "骨干教师研修经费", "乡村教师培训经费")[n]))
    DivisionFunding.objects.bulk_create(figures, batch_size=BATCH)
    TrainingBudget.objects.bulk_create(budgets, batch_size=BATCH)

    paths = [county.path for county in counties]
    school_teachers = dict(Teacher.objects.dangerously_unscoped().filter(status="active", division_path__in=paths)
                           .values("school_id").annotate(n=Count("id")).values_list("school_id", "n"))
    schools = []
    for school_id, code, path in (School.objects.dangerously_unscoped().filter(division_path__in=paths)
                                  .order_by("code").values_list("pk", "code", "division_path")):
        teachers = max(school_teachers.get(school_id, 0), 5)
        for year in years:
            rng = random.Random(f"{seed}:funding:{code}:{year}")
            public = _yuan(teachers * rng.uniform(8_000, 15_000))
            share = rng.uniform(0.02, 0.048) if rng.random() < SHORT_SHARE else rng.uniform(0.052, 0.08)
            schools.append(SchoolFunding(school_id=school_id, division_path=path, year=year, public_budget=public,
                                         training_budget=_yuan(float(public) * share)))
            if len(schools) >= BATCH:
                SchoolFunding.objects.bulk_create(schools)
                schools = []
    SchoolFunding.objects.bulk_create(schools, batch_size=BATCH)
    school_rows = SchoolFunding.objects.dangerously_unscoped().count()

    spend = []
    for pk, code, budget, path, ends_on in (Project.objects.dangerously_unscoped()
                                            .filter(organiser__in=counties, organiser_school__isnull=True,
                                                    ends_on__lt=today, budget__gt=0)
                                            .values_list("pk", "code", "budget", "division_path", "ends_on")):
        rng = random.Random(f"{seed}:funding:spend:{code}")
        spend.append(ProjectSpend(project_id=pk, division_path=path, spent_on=ends_on, note="培训费用结算",
                                  amount=(budget * Decimal(str(rng.uniform(0.7, 1.0)))).quantize(CENT)))
    ProjectSpend.objects.bulk_create(spend, batch_size=BATCH)
    return {"divisions": len(figures), "schools": school_rows, "budgets": len(budgets), "spend": len(spend)}
