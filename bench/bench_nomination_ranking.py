"""Ranking a county's teachers for a high-end project (the fair selection of nominees).

Fills its own PostgreSQL database (yanxiu_selection_…): migrations, then a county (杞县) with
20,000 eligible teachers made with set-based SQL (generate_series): rural and urban schools, 15 %
with an honour, 25 % with a completed high-end training at some level and year. Then times, as
the county's administrator:
  - rank:  eligibility and every rule's points in SQL, the count and the top N + reserve
           (quotas.selection.ranking_compute) — building without storing;
  - build: the same, stored (nomination_list_build: the list, its picks, the audit row).

    .venv/bin/python bench/bench_nomination_ranking.py [--teachers 20000] [--repeat 15] [--keep]
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys

from _django import ROOT, timed

SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")

TEACHERS_SQL = """
INSERT INTO people_teacher (name, id_cipher, id_index, birth_date, sex, stage, title, hire_date, school_id,
                            division_path, status, updated_at)
SELECT '教师' || n, 'bench', 'bench-' || n, DATE '1970-01-01' + (n %% 7000), CASE WHEN n %% 2 = 0 THEN 'F' ELSE 'M' END,
       'primary', 'first', DATE '1995-09-01' + (n %% 10000), (%(schools)s::int[])[1 + n %% array_length(%(schools)s::int[], 1)],
       %(path)s, 'active', now()
FROM generate_series(1, %(teachers)s) AS n
"""
HONOURS_SQL = """
INSERT INTO people_teacherhonour (teacher_id, title, level, awarded_on, expires_on)
SELECT id, (ARRAY['backbone', 'subject_leader', 'master_teacher', 'chief_teacher'])[1 + id %% 4], 'county',
       DATE '2018-09-01' + (id %% 1500)::int, NULL
FROM people_teacher WHERE division_path = %(path)s AND id %% 7 = 0
"""
TRAINED_SQL = """
INSERT INTO catalog_enrolment (project_id, teacher_id, state, created_at)
SELECT (%(projects)s::int[])[1 + (id / 4) %% array_length(%(projects)s::int[], 1)], id, 'completed', now()
FROM people_teacher WHERE division_path = %(path)s AND id %% 4 = 0
"""


def fill(args) -> dict:
    import time

    started = time.monotonic()
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", args.database], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.database], check=True)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], check=True,
                   env={**os.environ, "DATABASE_URL": f"{SERVER}/{args.database}"})
    migrated = time.monotonic() - started
    import django

    django.setup()
    from django.db import connection, transaction

    from accounts.models import Role, User
    from catalog.models import Project
    from institutions.tests.helpers import accredited_institution
    from org.models import Division, School

    county, city = Division.objects.get(code="410221"), Division.objects.get(code="410200")
    with transaction.atomic():
        schools = [School.objects.create(code=f"41022109{n:02d}", name=f"杞县基准学校{n}", division=county,
                                         stages=["primary"], is_rural=n % 3 != 0).pk for n in range(40)]
        institution = accredited_institution()
        projects = []
        for n, (level, year) in enumerate([("city", 2016), ("city", 2021), ("county", 2019), ("province", 2023)]):
            organiser = city if level == "city" else county if level == "county" else Division.objects.get(
                code="410000")
            projects.append(Project.objects.create(
                code=f"BENCH-OLD-{n}", title=f"往年高端研修{n}", level=level, category="master_teacher",
                mode="centralised", organiser=organiser, division_path=organiser.path, institution=institution,
                seats=100000, hours=60, hour_category="centralised", starts_on=dt.date(year, 6, 1),
                ends_on=dt.date(year, 6, 30), state="finished", is_high_end=True).pk)
        with connection.cursor() as cursor:
            params = {"schools": schools, "path": county.path, "teachers": args.teachers, "projects": projects}
            cursor.execute(TEACHERS_SQL, params)
            cursor.execute(HONOURS_SQL, params)
            cursor.execute(TRAINED_SQL, params)
            cursor.execute("ANALYZE")
        User.objects.create(username="bench-410221", role=Role.COUNTY_ADMIN, division=county)
        Project.objects.create(
            code="BENCH-HE", title="市级名师高端研修", level="city", category="master_teacher", mode="centralised",
            organiser=city, division_path=city.path, institution=institution, seats=60, hours=60,
            hour_category="centralised", starts_on=dt.date(2027, 3, 1), ends_on=dt.date(2027, 3, 20), state="open",
            is_high_end=True)
    return {"fill_seconds": round(time.monotonic() - started, 1), "migrate_seconds": round(migrated, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="yanxiu_selection_bench")
    parser.add_argument("--teachers", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--seats", type=int, default=60)
    parser.add_argument("--reserve", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help="reuse the filled database")
    args = parser.parse_args()
    if not args.database.startswith("yanxiu_selection_"):
        raise SystemExit("the benchmark database must be named yanxiu_selection_…")
    os.environ["DATABASE_URL"] = f"{SERVER}/{args.database}"
    result: dict = {"teachers": args.teachers}
    if not args.keep:
        result.update(fill(args))
    else:
        import django

        django.setup()
    from django.db import connection

    from access.scope import scope_for_user
    from accounts.models import User
    from catalog.models import Project
    from quotas import selection

    user = User.objects.get(username="bench-410221")
    scope = scope_for_user(user)
    project = Project.objects.dangerously_unscoped().get(code="BENCH-HE")
    today = dt.date(2026, 11, 28)
    rule_set = selection.rule_set_in_force(scope, project.division_path) or selection._province_default(
        project.division_path, None, None)
    rules = list(rule_set.rules.all())
    seed = selection.list_seed(project, scope.path or "")
    limit = args.seats + args.reserve

    def rank():
        count, rows = selection.ranking_compute(scope=scope, project=project, rules=rules, limit=limit, today=today,
                                                seed=seed)
        assert count >= args.teachers and len(rows) == limit, (count, len(rows))

    def build():
        selection.nomination_list_build(scope=scope, actor=user, project_id=project.pk, seats=args.seats,
                                        reserve=args.reserve, today=today)

    def queries(function) -> int:
        seen = []

        def count(execute, sql, params, many, context):
            seen.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            function()
        return len(seen)

    rank_queries, build_queries = queries(rank), queries(build)
    count, top = selection.ranking_compute(scope=scope, project=project, rules=rules, limit=3, today=today, seed=seed)
    result.update({
        "vendor": connection.vendor, "eligible": count, "seats": args.seats, "reserve": args.reserve,
        "rank_queries": rank_queries, "build_queries": build_queries,
        "rank": timed(rank, args.repeat), "build": timed(build, args.repeat),
        "top": [{"points": r.points, "explanation": r.explanation} for r in top],
    })
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
