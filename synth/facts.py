"""Province-level counts the synthetic province reproduces, read from the
project's copy of the verified fact sheet (synth/data/henan_teacher_stats.csv)."""

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

STATS = Path(__file__).resolve().parent / "data" / "henan_teacher_stats.csv"
SENIOR_TEACHERS_ESTIMATE = 150_000  # estimate: no published 2020-23 figure found
WAN = 10_000


@dataclass(frozen=True)
class StageFacts:
    stage: str
    schools: int
    teachers: int
    estimated: bool = False


def _value(rows, year: str, stage: str, metric: str) -> float:
    for row in rows:
        if row["year"] == year and row["region_code"] == "410000" and row["stage"] == stage and row["metric"] == metric:
            return float(row["value"]) * (WAN if row["unit"].startswith("万") else 1)
    raise KeyError(f"{year} {stage} {metric} missing from {STATS.name}")


@lru_cache(maxsize=1)
def province_stage_facts() -> tuple[StageFacts, ...]:
    with STATS.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    kindergarten = StageFacts("kindergarten", round(_value(rows, "2023", "kindergarten", "schools")),
                              round(_value(rows, "2023", "kindergarten", "fulltime_teachers")))
    primary_schools = round(_value(rows, "2023", "primary", "schools"))
    primary_teachers = round(_value(rows, "2023", "primary", "fulltime_teachers_primary_task"))
    compulsory_schools = round(_value(rows, "2023", "compulsory", "schools"))
    compulsory_teachers = round(_value(rows, "2023", "compulsory", "fulltime_teachers"))
    primary = StageFacts("primary", primary_schools, primary_teachers)
    junior = StageFacts("junior", compulsory_schools - primary_schools, compulsory_teachers - primary_teachers)
    senior = StageFacts("senior", round(_value(rows, "2019", "senior_secondary_general", "schools")),
                        SENIOR_TEACHERS_ESTIMATE, estimated=True)
    special = StageFacts("special", round(_value(rows, "2021", "special", "schools")),
                         round(_value(rows, "2016", "special", "fulltime_teachers")))
    return (kindergarten, primary, junior, senior, special)


def province_teacher_total() -> int:
    return sum(fact.teachers for fact in province_stage_facts())
