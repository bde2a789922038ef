"""Deterministic generation of a synthetic province from the real divisions.

Everything random comes from `random.Random(f"{seed}:{county_code}")`, so a
county's schools and teachers are the same whatever else is generated. Rows are
produced as tuples of database values, county by county, for the bulk writer.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate

from synth.facts import province_stage_facts, province_teacher_total
from synth.names import GIVEN_CHARACTERS, NUMERALS, SURNAMES, TOWNSHIP_STEMS

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"

FEMALE_SHARE = {"kindergarten": 0.97, "primary": 0.72, "junior": 0.56, "senior": 0.50, "special": 0.72}
SUBJECTS = {
    "kindergarten": (("preschool", 100),),
    "primary": (("chinese", 30), ("math", 24), ("english", 9), ("morality_law", 6), ("pe", 7), ("music", 5),
                ("art", 5), ("science", 5), ("it", 3), ("practice", 2), ("labour", 2), ("psychology", 2)),
    "junior": (("chinese", 15), ("math", 15), ("english", 14), ("physics", 7), ("chemistry", 5), ("biology", 5),
               ("history", 6), ("geography", 5), ("morality_law", 7), ("pe", 7), ("music", 3), ("art", 3),
               ("it", 3), ("psychology", 2), ("labour", 1), ("japanese", 1), ("russian", 1)),
    "senior": (("chinese", 14), ("math", 14), ("english", 13), ("physics", 9), ("chemistry", 8), ("biology", 7),
               ("history", 7), ("geography", 7), ("politics", 7), ("pe", 6), ("music", 2), ("art", 2), ("it", 3),
               ("psychology", 1)),
    "special": (("special_ed", 80), ("chinese", 6), ("math", 6), ("pe", 4), ("art", 4)),
}
SECOND_SUBJECT_SHARE = {"kindergarten": 0.0, "primary": 0.25, "junior": 0.10, "senior": 0.04, "special": 0.3}
# (title, level, share of teachers, rural only)
HONOURS = (
    ("backbone", "county", 0.060, False), ("backbone", "city", 0.030, False), ("backbone", "province", 0.010, False),
    ("master_teacher", "county", 0.010, False), ("master_teacher", "city", 0.005, False),
    ("master_teacher", "province", 0.0015, False), ("subject_leader", "city", 0.008, False),
    ("chief_teacher", "county", 0.012, True),
)
STAGE_SCHOOL_KIND = {
    "kindergarten": ("幼儿园", "中心幼儿园"),
    "primary": ("小学", "中心小学"),
    "junior": ("初级中学", "中学"),
    "senior": ("高级中学", "高级中学"),
    "special": ("特殊教育学校", "特殊教育学校"),
}


@dataclass
class CountyPlan:
    code: str
    name: str
    path: str
    division_id: int
    kind: str  # district / county / county_city
    weight: float
    schools: dict[str, int] = field(default_factory=dict)
    teachers: dict[str, int] = field(default_factory=dict)


def county_kind(code: str) -> str:
    if code == "419001":
        return "county_city"
    tail = int(code[4:6])
    if tail <= 20:
        return "district"
    return "county" if tail <= 80 else "county_city"


def largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Integer shares of `total` proportional to weights, summing exactly to total."""
    weight_sum = sum(weights) or 1.0
    exact = [total * w / weight_sum for w in weights]
    floors = [math.floor(x) for x in exact]
    remainder = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: exact[i] - floors[i], reverse=True)
    for i in order[:remainder]:
        floors[i] += 1
    return floors


def plan_counties(counties: list[dict], *, seed: int, fraction: float, only: set[str] | None = None) -> list[CountyPlan]:
    """Share the province's schools and teachers (times fraction) across all
    counties by seeded weights; return the plans of `only` (default: all)."""
    plans = []
    for county in counties:
        rng = random.Random(f"{seed}:weight:{county['code']}")
        kind = county_kind(county["code"])
        weight = rng.lognormvariate(0, 0.3) * {"district": 0.75, "county": 1.25, "county_city": 1.35}[kind]
        if county["code"].startswith("4101"):
            weight *= 1.5  # 郑州: the largest city
        plans.append(CountyPlan(county["code"], county["name"], county["path"], county["id"], kind, weight))
    weights = [p.weight for p in plans]
    for fact in province_stage_facts():
        teachers = largest_remainder(round(fact.teachers * fraction), weights)
        schools = largest_remainder(round(fact.schools * fraction), weights)
        for plan, n_teachers, n_schools in zip(plans, teachers, schools, strict=True):
            plan.teachers[fact.stage] = n_teachers
            plan.schools[fact.stage] = max(1, min(n_schools, n_teachers)) if n_teachers else 0
    return [plan for plan in plans if only is None or plan.code in only]


def id_number(area: str, birth: dt.date, serial: int) -> str:
    first17 = f"{area}{birth:%Y%m%d}{serial:03d}"
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return first17 + CHECK[total % 11]


@dataclass
class SchoolRow:
    id: int
    code: str
    name: str
    stage: str
    is_rural: bool
    township: str


@dataclass
class TeacherRow:
    id: int
    name: str
    id_number: str
    birth_date: dt.date
    sex: str
    stage: str
    title: str
    hire_date: dt.date
    school_id: int
    status: str
    subjects: list[str]
    honours: list[tuple[str, str, dt.date, dt.date | None]]


class CountyGenerator:
    def __init__(self, plan: CountyPlan, *, seed: int, today: dt.date, school_id_start: int, teacher_id_start: int,
                 used_ids: set[str]):
        self.plan, self.today = plan, today
        self.rng = random.Random(f"{seed}:{plan.code}")
        self.next_school_id, self.next_teacher_id = school_id_start, teacher_id_start
        self.used_ids = used_ids
        surnames, weights = zip(*SURNAMES, strict=True)
        self.surnames, self.surname_cum = surnames, list(accumulate(weights))
        self.subject_tables = {
            stage: ([c for c, _ in table], list(accumulate(w for _, w in table))) for stage, table in SUBJECTS.items()
        }
        short = plan.name[:-1] if len(plan.name) > 2 else plan.name
        self.short_name = short
        n_towns = max(3, min(25, round(sum(plan.schools.values()) / 12)))
        self.townships = self.rng.sample(TOWNSHIP_STEMS, k=min(n_towns, len(TOWNSHIP_STEMS)))

    def schools(self) -> list[SchoolRow]:
        rural_share = {"district": 0.12, "county": 0.78, "county_city": 0.6}[self.plan.kind]
        rows, sequence = [], 0
        for stage, count in self.plan.schools.items():
            urban_number = 0
            for index in range(count):
                sequence += 1
                rural = stage != "special" and self.rng.random() < rural_share * (0.5 if stage == "senior" else 1)
                township = self.rng.choice(self.townships) if rural else "城区"
                plain, central = STAGE_SCHOOL_KIND[stage]
                if rural:
                    name = f"{self.short_name}{township}{'镇' if index % 3 else '乡'}{central if index % 4 == 0 else plain}"
                    name += "" if index < len(self.townships) else f"（{index}）"
                else:
                    urban_number += 1
                    name = f"{self.plan.name}第{self._numeral(urban_number)}{plain}" if stage != "special" else f"{self.plan.name}{plain}"
                rows.append(SchoolRow(self.next_school_id, f"{self.plan.code}{sequence:04d}", name, stage, rural, township))
                self.next_school_id += 1
        return rows

    @staticmethod
    def _numeral(n: int) -> str:
        if n <= 10:
            return NUMERALS[n - 1]
        if n < 20:
            return "十" + NUMERALS[n - 11]
        if n < 100:
            return NUMERALS[n // 10 - 1] + "十" + (NUMERALS[n % 10 - 1] if n % 10 else "")
        return str(n)

    def teachers(self, schools: list[SchoolRow]) -> Iterator[TeacherRow]:
        rng = self.rng
        for stage, total in self.plan.teachers.items():
            stage_schools = [s for s in schools if s.stage == stage]
            if not stage_schools or not total:
                continue
            sizes = largest_remainder(total, [rng.lognormvariate(0, 0.45) for _ in stage_schools])
            for school, size in zip(stage_schools, sizes, strict=True):
                for _ in range(size):
                    yield self._teacher(stage, school)

    def _teacher(self, stage: str, school: SchoolRow) -> TeacherRow:
        rng, today = self.rng, self.today
        female = rng.random() < FEMALE_SHARE[stage]
        new_teacher = rng.random() < 0.08
        if new_teacher:
            hire_date = today - dt.timedelta(days=rng.randint(30, 3 * 365 - 30))
            age_at_hire = rng.randint(21, 27)
        else:
            age_at_hire = rng.randint(20, 26)
            age = rng.triangular(24, 60, 42)
            hire_date = today - dt.timedelta(days=int((age - age_at_hire) * 365.25))
        birth = hire_date - dt.timedelta(days=int(age_at_hire * 365.25) + rng.randint(0, 364))
        age = (today - birth).days / 365.25
        title = self._title(stage, age, (today - hire_date).days / 365.25)
        status = "active"
        roll = rng.random()
        if age > 58 and roll < 0.3:
            status = "retired"
        elif roll < 0.02:
            status = "leave"
        area = self.plan.code if rng.random() < 0.85 else rng.choice(("410102", "410221", "411302", "410522", "411625"))
        sex_bit = 0 if female else 1
        while True:
            serial = rng.randrange(0, 500) * 2 + sex_bit
            number = id_number(area, birth, serial)
            if number not in self.used_ids:
                self.used_ids.add(number)
                break
        codes, cum = self.subject_tables[stage]
        subjects = [rng.choices(codes, cum_weights=cum)[0]]
        if rng.random() < SECOND_SUBJECT_SHARE[stage]:
            extra = rng.choices(codes, cum_weights=cum)[0]
            if extra != subjects[0]:
                subjects.append(extra)
        honours: list[tuple[str, str, dt.date, dt.date | None]] = []
        years_served = (today - hire_date).days / 365.25
        if years_served > 5:
            for honour_title, level, share, rural_only in HONOURS:
                if rural_only and not school.is_rural:
                    continue
                if rng.random() < share * (1.6 if title in ("senior", "full_senior") else 1):
                    awarded = today - dt.timedelta(days=rng.randint(60, int(min(years_served - 3, 12) * 365)))
                    honours.append((honour_title, level, awarded, awarded + dt.timedelta(days=5 * 365)))
        teacher = TeacherRow(
            self.next_teacher_id, self._name(female), number, birth, "F" if female else "M", stage, title, hire_date,
            school.id, status, subjects, honours,
        )
        self.next_teacher_id += 1
        return teacher

    def _title(self, stage: str, age: float, years: float) -> str:
        roll = self.rng.random()
        if years < 1:
            return "none"
        if years < 4:
            return "third" if roll < 0.4 else "second"
        if years < 10:
            return "second" if roll < 0.55 else "first"
        senior_share = 0.12 if stage == "kindergarten" else 0.3 if stage == "primary" else 0.42
        if age > 40 and roll < senior_share:
            return "full_senior" if self.rng.random() < 0.008 else "senior"
        return "first" if roll < 0.9 else "second"

    def _name(self, female: bool) -> str:
        rng = self.rng
        surname = rng.choices(self.surnames, cum_weights=self.surname_cum)[0]
        length = 1 if rng.random() < 0.35 else 2
        half = len(GIVEN_CHARACTERS) // 2
        pool = GIVEN_CHARACTERS[:half] if female else GIVEN_CHARACTERS[half:]
        return surname + "".join(rng.choice(pool) for _ in range(length))


__all__ = ["CountyGenerator", "CountyPlan", "plan_counties", "province_teacher_total", "largest_remainder", "id_number"]
