"""Training-funding compliance over a whole province at size L: every division (~160 counties, the
cities and the province) with three years of payroll, ratio and direct budgets, ~40,000 schools
with their public and training budgets, three projects per division in the year.

Rows are made once with set-based SQL (INSERT … SELECT over generate_series; PostgreSQL only), then
the reads the pages and the API make are timed as the province, a city (开封市, with its 省直管县) and
a county (杞县): the overview (own row, child divisions with their schools' summary), the gaps list
(divisions below, the first page of schools below by shortfall, the counts), the five-year chart,
and the pages, the API and the gaps export end to end as the province. Prints one JSON object.

    createdb -h 127.0.0.1 -U postgres yanxiu_bench_funding
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yanxiu_bench_funding .venv/bin/python bench/bench_funding.py
"""

import argparse
import datetime as dt
import json
import os
import time

from _django import setup
from learning_search import percentiles

YEAR = 2026


def build(schools: int, seed: int) -> dict:
    from django.db import connection, transaction

    from catalog.models import Project
    from org.models import Division

    if connection.vendor != "postgresql":
        raise SystemExit("bench_funding builds its rows with PostgreSQL's generate_series: set DATABASE_URL")
    units = Division.objects.filter(level="county").count() + Division.objects.filter(
        level="city", children__isnull=True).count()
    per_unit = -(-schools // units)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
        cursor.execute("""
            INSERT INTO org_school (code, name, division_id, division_path, stages, is_rural)
            SELECT d.code || lpad(g::text, 4, '0'), d.name || '基准学校' || g, d.id, d.path, '["primary"]'::jsonb,
                   g %% 3 = 0
            FROM org_division d CROSS JOIN generate_series(1, %s) g
            WHERE d.level = 'county' OR (d.level = 'city' AND NOT EXISTS (
                SELECT 1 FROM org_division c WHERE c.parent_id = d.id))
            ON CONFLICT (code) DO NOTHING""", [per_unit])
        cursor.execute("""
            INSERT INTO funding_divisionfunding (division_id, division_path, year, payroll, ratio_percent, updated_at)
            SELECT d.id, d.path, y, round((50000000 + random() * 950000000)::numeric, 2),
                   (ARRAY[1.50, 1.80, 2.00, 2.20, 2.50])[1 + floor(random() * 5)::int], now()
            FROM org_division d CROSS JOIN generate_series(%s, %s) y""", [YEAR - 2, YEAR])
        cursor.execute("""
            INSERT INTO funding_trainingbudget (division_id, division_path, year, amount, purpose, created_at)
            SELECT division_id, division_path, year, round(payroll * ratio_percent / 100 * (0.7 + random() * 0.55)::numeric, 2),
                   '基准培训经费', now()
            FROM funding_divisionfunding""")
        cursor.execute("""
            INSERT INTO funding_schoolfunding (school_id, division_path, year, public_budget, training_budget, updated_at)
            SELECT id, division_path, y, p,
                   round(p * (CASE WHEN r < 0.2 THEN 0.02 + r2 * 0.028 ELSE 0.052 + r2 * 0.028 END)::numeric, 2), now()
            FROM (SELECT s.id, s.division_path, y, round((200000 + random() * 2000000)::numeric, 2) AS p,
                         random() AS r, random() AS r2
                  FROM org_school s CROSS JOIN generate_series(%s, %s) y) q""", [YEAR - 2, YEAR])
        projects = [Project(code=f"BENCH-FUND-{d.code}-{k}", title=f"{d.name}经费基准项目{k}", level=d.level,
                            category="backbone", mode="centralised", organiser=d, division_path=d.path, seats=50,
                            hours=24, hour_category="centralised", starts_on=dt.date(YEAR, 3 + k, 1),
                            ends_on=dt.date(YEAR, 3 + k, 5), budget=200000 + 50000 * k, state="open")
                    for d in Division.objects.all() for k in range(3)]
        Project.objects.bulk_create(projects, batch_size=2000)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE org_school, funding_divisionfunding, funding_schoolfunding, "
                       "funding_trainingbudget, catalog_project")
    return {"write_seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schools", type=int, default=40_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from access.scope import Scope
    from accounts.models import Role, User
    from funding import selectors
    from funding.models import DivisionFunding, SchoolFunding
    from org.models import Division, School

    call_command("migrate", verbosity=0)
    built = {}
    if not SchoolFunding.objects.dangerously_unscoped().exists():
        built = build(args.schools, args.seed)
    province = Division.objects.get(level="province")
    personas = {"province_admin": (Scope.division(province), province),
                "city_admin": (Scope.division(Division.objects.get(code="410200")), Division.objects.get(code="410200")),
                "county_admin": (Scope.division(Division.objects.get(code="410221")), Division.objects.get(code="410221"))}
    years = list(range(YEAR - 4, YEAR + 1))
    load_before = os.getloadavg()
    results: dict = {}
    queries: dict = {}

    def gaps_first_page(scope, division):
        found = selectors.gaps(scope=scope, division=division, year=YEAR)
        return list(found.schools[:50]), found.schools.count()

    for persona, (scope, division) in personas.items():
        calls = {
            "overview": lambda s=scope, d=division: selectors.overview(scope=s, division=d, year=YEAR),
            "gaps": lambda s=scope, d=division: gaps_first_page(s, d),
            "chart": lambda s=scope, d=division: selectors.division_years(scope=s, division=d, years=years),
        }
        for name, call in calls.items():
            call()  # warm-up
            with CaptureQueriesContext(connection) as captured:
                call()
            queries[f"{persona}.{name}"] = len(captured)
            samples = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                call()
                samples.append((time.perf_counter() - started) * 1000)
            results[f"{persona}.{name}"] = percentiles(samples)
    short = selectors.overview(scope=personas["province_admin"][0], division=province, year=YEAR)
    admin = User.objects.filter(username="bench-funding-admin").first() or User.objects.create(
        username="bench-funding-admin", role=Role.PROVINCE_ADMIN, division=province)
    client = Client()
    client.force_login(admin)
    for name, url in (("page_overview", f"/funding/?year={YEAR}"), ("page_gaps", f"/funding/gaps/?year={YEAR}"),
                      ("api_compliance", f"/api/v1/funding/compliance?year={YEAR}"),
                      ("api_gaps", f"/api/v1/funding/gaps?year={YEAR}&limit=200")):
        samples = []
        for round_number in range(args.repeat + 1):
            started = time.perf_counter()
            response = client.get(url)
            if round_number:
                samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.content[:300]
        results[f"{name}_province_admin"] = percentiles(samples)
        reset_queries()
    started = time.perf_counter()
    export = client.get(f"/funding/gaps/?year={YEAR}&format=xlsx")
    size = len(b"".join(export.streaming_content))
    export_ms = round((time.perf_counter() - started) * 1000, 1)
    print(json.dumps({
        "bench": "funding_compliance", "database": connection.vendor,
        "divisions": Division.objects.count(), "schools": School.objects.dangerously_unscoped().count(),
        "division_rows": DivisionFunding.objects.dangerously_unscoped().count(),
        "school_rows": SchoolFunding.objects.dangerously_unscoped().count(), **built,
        "province_cities": len(short.children),
        "cities_short": sum(row.state == "short" for row in short.children),
        "schools_short_in_year": sum((row.schools.short if row.schools else 0) for row in short.children),
        "gaps_export_province": {"ms": export_ms, "bytes": size},
        "queries_per_call": queries,
        "load_average": {"before": [round(x, 1) for x in load_before], "after": [round(x, 1) for x in os.getloadavg()]},
        "latency": results,
    }, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
