"""Trainer pool search latency over a 20,000-trainer provincial pool (target: p95 under 100 ms).

Builds its pools once in the database it is given (migrations first), over the real divisions:
the province's pool (2,000), each city's (300) and each county's (the rest, ~80 each), made-up
trainers as `yanxiu synth` makes them (synth.pools: sources, stages, subjects, the five
capabilities and topics, grades), bulk-written; 5 % away for a few days; projects of the
province, every city and every county with sessions over the coming weeks, staffed from their
organiser's pool (one trainer a day). Then runs a mix of searches through the selector the page
and the API call (scope, filters, a stable order, one page and its trainers' session counts) as
the province, a city (开封: its counties and its 省直管县 兰考) and a county (杞县) administrator,
and the API and the page end to end as the province. Prints one JSON object: p50 / p95 / p99 per persona and
query kind.

    createdb -h 127.0.0.1 -U postgres yanxiu_bench_trainers
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yanxiu_bench_trainers .venv/bin/python bench/trainer_search.py
"""

import argparse
import datetime as dt
import json
import os
import random
import statistics
import time

from _django import setup
from learning_search import percentiles

DAY = dt.date(2027, 4, 7)  # a day with sessions booked
QUERIES = {
    "plain_list": [{}],
    "one_filter": [{"stage": "primary"}, {"subject": "math"}, {"topic": "homework"}, {"source": "university"},
                   {"grade": "4"}, {"level": "county"}],
    "combined": [{"stage": "junior", "subject": "physics"}, {"stage": "primary", "topic": "classroom"},
                 {"level": "city", "topic": "experiment", "grade": "2"}, {"subject": "chinese", "topic": "moral_in_subject"},
                 {"stage": "senior", "source": "research_staff", "topic": "family"}],
    "name": [{"q": q} for q in ("王", "李", "张华", "刘")],
    "available_on": [{"available_on": DAY.isoformat()}, {"available_on": DAY.isoformat(), "stage": "primary"},
                     {"available_on": DAY.isoformat(), "topic": "homework", "level": "county"}],
    "deep_page": [{"page": "50"}, {"stage": "primary", "page": "20"}],
    "no_match": [{"q": "欧阳不存在"}, {"subject": "russian", "topic": "experiment", "grade": "4"}],
}
POOL_SIZES = {"province": 2000, "city": 300}


def build(total: int, seed: int) -> dict:
    from django.db import connection, transaction

    from access.scope import Scope
    from catalog.models import Project, ProjectSession
    from org.models import Division
    from synth.pools import PoolGenerator, away_periods, grade_history, staff_sessions
    from trainers.models import Trainer, TrainerBooking, TrainerLevelChange, TrainerUnavailability

    counties = list(Division.objects.filter(level="county").order_by("code")) + list(
        Division.objects.filter(level="city", children__isnull=True).order_by("code"))
    generator = PoolGenerator(seed, DAY, [c.code for c in counties])
    rng = random.Random(seed)
    divisions = list(Division.objects.order_by("path"))
    fixed = sum(POOL_SIZES.get(d.level, 0) for d in divisions if d.level != "county" and d not in counties)
    per_county = max(1, -(-(total - fixed) // len(counties)))  # rounded up, then cut to `total`
    made = []
    for division in divisions:
        size = per_county if division in counties else POOL_SIZES[division.level]
        made += [generator.trainer(division) for _ in range(size)]
    made = made[:total]
    for trainer in made:
        trainer.fill_derived()
    started = time.perf_counter()
    with transaction.atomic():
        made = Trainer.objects.bulk_create(made, batch_size=2000)
        TrainerLevelChange.objects.bulk_create(grade_history(made), batch_size=2000)
        away = away_periods(rng, made, DAY - dt.timedelta(days=30))
        TrainerUnavailability.objects.bulk_create([row for rows in away.values() for row in rows], batch_size=2000)
        projects = []
        for n, division in enumerate(divisions):
            for k in range(2 if division.level == "county" else 6):
                projects.append(Project(
                    code=f"BENCH-{n}-{k}", title=f"{division.name}培训专家检索基准项目{k}", level=division.level,
                    category="backbone", mode="centralised", organiser=division, division_path=division.path,
                    audience={"stages": [rng.choice(["primary", "junior", "senior"])]}, topics=[rng.choice(
                        ["homework", "classroom", "experiment", "family", "moral_in_subject"])], seats=50, hours=48,
                    hour_category="centralised", starts_on=DAY - dt.timedelta(days=20),
                    ends_on=DAY + dt.timedelta(days=40), state="open"))
        projects = Project.objects.bulk_create(projects, batch_size=2000)
        sessions = [ProjectSession(project=p, number=d + 1, title=f"第{d + 1}场", check_in_code="0",
                                   held_on=DAY - dt.timedelta(days=20) + dt.timedelta(days=d * 3 + i % 3))
                    for i, p in enumerate(projects) for d in range(20)]
        ProjectSession.objects.bulk_create(sessions, batch_size=5000)
        province = Division.objects.get(level="province")
        bookings = staff_sessions(rng, Scope.division(province), made, away, share=0.9)
        TrainerBooking.objects.bulk_create(bookings, batch_size=5000)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return {"trainers_written": len(made), "bookings_written": len(bookings), "sessions_written": len(sessions),
            "write_seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trainers", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=20, help="rounds over each kind's queries")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from access.scope import Scope
    from accounts.models import Role, User
    from org.models import Division
    from trainers import selectors
    from trainers.models import Trainer, TrainerBooking

    call_command("migrate", verbosity=0)
    built = {}
    if not Trainer.objects.dangerously_unscoped().exists():
        built = build(args.trainers, args.seed)
    personas = {"province_admin": Scope.division(Division.objects.get(level="province")),
                "city_admin": Scope.division(Division.objects.get(code="410200")),
                "county_admin": Scope.division(Division.objects.get(code="410221"))}
    load_before = os.getloadavg()
    results: dict = {}
    found: dict = {}
    everything: list[float] = []
    for persona, scope in personas.items():
        for kind, cases in QUERIES.items():
            samples, sizes = [], []
            for case in cases:  # warm-up
                selectors.trainer_page(scope, selectors.TrainerFilters.from_query(case), page=case.get("page", 1),
                                       today=DAY)
            for _ in range(args.repeat):
                for case in cases:
                    started = time.perf_counter()
                    page = selectors.trainer_page(scope, selectors.TrainerFilters.from_query(case),
                                                  page=case.get("page", 1), today=DAY)
                    samples.append((time.perf_counter() - started) * 1000)
                    sizes.append(page.page.paginator.count)
            everything += samples
            results[f"{persona}.{kind}"] = percentiles(samples)
            found[f"{persona}.{kind}"] = round(statistics.mean(sizes), 1)
    admin = User.objects.filter(username="bench-trainers-admin").first() or User.objects.create(
        username="bench-trainers-admin", role=Role.PROVINCE_ADMIN, division=Division.objects.get(level="province"))
    client = Client()
    client.force_login(admin)
    for name, url in (("api", "/api/v1/trainers"), ("page", "/trainers/")):
        for kind in ("plain_list", "combined", "available_on"):
            samples = []
            for round_number in range(args.repeat + 1):
                for case in QUERIES[kind]:
                    started = time.perf_counter()
                    response = client.get(url, case)
                    if round_number:
                        samples.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.content
            results[f"{name}_province_admin.{kind}"] = percentiles(samples)
    every = [value["p95_ms"] for value in results.values()]
    print(json.dumps({
        "bench": "trainer_search", "database": connection.vendor,
        "trainers": Trainer.objects.dangerously_unscoped().count(),
        "bookings": TrainerBooking.objects.dangerously_unscoped().count(), **built,
        "searches_all_kinds": percentiles(everything), "worst_p95_ms": max(every), "target_p95_ms": 100,
        # the machine is shared: 1-, 5- and 15-minute load averages before and after the runs
        "load_average": {"before": [round(x, 1) for x in load_before], "after": [round(x, 1) for x in os.getloadavg()]},
        "latency": results, "mean_matches": found,
    }, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
