"""Synthetic training bases (培训基地) consistent with the synthetic 跟岗 projects: the province's
universities are provincial bases, each synthesised city's teacher-development centre a city base,
and in each synthesised county the largest urban primary school and, where there is one, a
kindergarten are county bases. Every 跟岗 project gets a base of its level (or the province's), and
no base holds more seats in a term than it offers: a base's seats per term are raised to what its
projects need. Idempotent: nothing happens when bases exist."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

from django.db import transaction
from django.db.models import Count

from catalog.constants import Mode
from catalog.models import Project
from institutions.bases import terms_between
from institutions.constants import BaseKind
from institutions.models import TrainingBase
from org.models import Division, Institution, School


def bases_synthesize(*, county_codes: list[str], today: dt.date) -> dict[str, int]:
    if TrainingBase.objects.dangerously_unscoped().exists():
        return {"bases": 0, "booked": 0}
    designated = today.replace(month=9, day=1) if today.month >= 9 else today.replace(year=today.year - 1, month=9, day=1)
    province = Division.objects.get(level="province")
    made: list[TrainingBase] = []
    for university in Institution.objects.dangerously_unscoped().filter(kind="university").order_by("code"):
        made.append(TrainingBase(name=f"{university.name}教师培训基地", kind=BaseKind.UNIVERSITY, division=province,
                                 institution=university, stages=["primary", "junior", "senior"], seats_per_term=120,
                                 designated_on=designated, note="高校教师培训基地：名师工作室跟岗、课例研修与专题讲座。"))
    counties = list(Division.objects.filter(code__in=county_codes).select_related("parent").order_by("code"))
    cities = {c.parent for c in counties if c.level == "county" and c.parent is not None}
    centres = {i.division_id: i for i in Institution.objects.dangerously_unscoped().filter(kind="city_centre")}
    for city in sorted(cities, key=lambda d: d.code):
        if city.pk in centres:
            made.append(TrainingBase(name=f"{city.name}教师培训基地", kind=BaseKind.INSTITUTION, division=city,
                                     institution=centres[city.pk], stages=["primary", "junior", "senior"],
                                     seats_per_term=60, designated_on=designated))
    for county in counties:
        schools = (School.objects.dangerously_unscoped().filter(division=county, is_rural=False)
                   .annotate(size=Count("teachers")).order_by("-size", "code"))
        primary = next((s for s in schools if "primary" in s.stages), None)
        kindergarten = next((s for s in schools if s.stages == ["kindergarten"]), None)
        for school, kind, stages, seats in ((primary, BaseKind.SCHOOL, ["primary"], 20),
                                            (kindergarten, BaseKind.KINDERGARTEN, ["kindergarten"], 8)):
            if school is not None:
                made.append(TrainingBase(name=f"{school.name}跟岗基地", kind=kind, division=county, school=school,
                                         stages=stages, seats_per_term=seats, designated_on=designated))
    for base in made:
        base.division_path = base.division.path
    with transaction.atomic():
        TrainingBase.objects.bulk_create(made, batch_size=500)
        booked = _book(made)
    return {"bases": len(made), "booked": booked}


def _book(made: list[TrainingBase]) -> int:
    """Every 跟岗 project at a base of its organiser's level (the province's when there is none),
    in turn; then each base offers at least what its busiest term holds."""
    by_division: dict[int, list[TrainingBase]] = defaultdict(list)
    for base in made:
        by_division[base.division_id].append(base)
    provincial = [b for b in made if b.division.level == "province"]
    projects = list(Project.objects.dangerously_unscoped().filter(mode=Mode.SHADOWING, base__isnull=True)
                    .order_by("starts_on", "code"))
    held: dict[int, dict] = defaultdict(lambda: defaultdict(int))
    for n, project in enumerate(projects):
        choices = by_division.get(project.organiser_id) or provincial
        if not choices:
            continue
        base = choices[n % len(choices)]
        project.base_id = base.pk
        for term in terms_between(project.starts_on, project.ends_on):
            held[base.pk][term] += project.seats
    Project.objects.bulk_update([p for p in projects if p.base_id], ["base"], batch_size=500)
    for base in made:
        busiest = max(held[base.pk].values(), default=0)
        if busiest > base.seats_per_term:
            base.seats_per_term = int(math.ceil(busiest / 10) * 10)
    TrainingBase.objects.bulk_update(made, ["seats_per_term"], batch_size=500)
    return sum(1 for p in projects if p.base_id)
