"""High-end training targets at L: the province-wide progress view (the province's task and each
city's) and allocations (the province to its cities and 省直管县; a county to its schools), on
1.3 M teachers and ~400 k high-end completions. Target: each under 1 s.

The data are built inside PostgreSQL with set-based SQL (INSERT … SELECT generate_series) into a
fresh database, on the real divisions of the migrations: 10 schools per county, teachers spread
over them, high-end projects per level (the province's, each city's, each county's), ~30 % of the
teachers with one completion (county, city or province level), and an approved plan with open
seats per county. The high-end task's progress table (`quotas.progress`) is then filled from the
completions with the backfill's one INSERT … SELECT, as the data migration does on a real database.

    .venv/bin/python bench/bench_quotas.py                 # build (about 4 minutes) and measure
    .venv/bin/python bench/bench_quotas.py --reuse         # measure on the database already built
Prints one JSON object.
"""

import argparse
import json
import os
import subprocess
import sys
import time

SCHOOLS_SQL = """
INSERT INTO org_school (code, name, division_id, division_path, stages, is_rural)
SELECT d.code || lpad(n::text, 4, '0'), d.name || '第' || n || '学校', d.id, d.path, '["primary"]', n %% 3 = 0
FROM org_division d CROSS JOIN generate_series(1, 10) AS n WHERE d.level = 'county';
"""
TEACHERS_SQL = """
WITH s AS (SELECT id, division_path, row_number() OVER (ORDER BY id) - 1 AS k, count(*) OVER () AS m FROM org_school)
INSERT INTO people_teacher (name, id_cipher, id_index, birth_date, sex, stage, title, hire_date, school_id,
                            division_path, status, updated_at)
SELECT '教师' || i, 'bench', md5('bench' || i), DATE '1980-01-01' + (i %% 7000), CASE WHEN i %% 2 = 0 THEN 'F' ELSE 'M' END,
       'primary', 'none', DATE '2005-09-01' + (i %% 5000), s.id, s.division_path,
       CASE WHEN i %% 50 = 0 THEN 'retired' ELSE 'active' END, now()
FROM generate_series(0, %(teachers)s - 1) AS i JOIN s ON s.k = i %% s.m;
"""
PROJECTS_SQL = """
INSERT INTO catalog_project (code, title, outline, level, category, topics, mode, organiser_id, division_path, audience,
                             self_enrolment, needs_approval, seats, seats_taken, hours, hour_category, starts_on, ends_on,
                             budget, is_high_end, min_attendance_percent, has_assessment, state, created_at)
SELECT d.code || '-H' || n, d.name || '高端研修' || n, '', d.level, 'backbone', '[]', 'centralised', d.id, d.path, '{}',
       false, true, 100000, 0, 40, 'centralised', DATE '2026-03-01' + n * 20, DATE '2026-03-10' + n * 20, 0, true, 80,
       false, 'finished', now()
FROM org_division d CROSS JOIN generate_series(1, 3) AS n;
"""
PLANS_SQL = """
INSERT INTO catalog_annualplan (division_id, level, year, division_path, review_path, state, note, review_note, created_at)
SELECT d.id, d.level, 2027, d.path, d.path, 'approved', '', '', now() FROM org_division d;
INSERT INTO catalog_project (code, title, outline, level, category, topics, mode, organiser_id, division_path, audience,
                             self_enrolment, needs_approval, seats, seats_taken, hours, hour_category, starts_on, ends_on,
                             budget, is_high_end, min_attendance_percent, has_assessment, state, created_at, plan_id)
SELECT d.code || '-P', d.name || '高端研修（计划）', '', d.level, 'backbone', '[]', 'centralised', d.id, d.path, '{}',
       false, true, 200, 0, 40, 'centralised', DATE '2029-05-01', DATE '2029-05-10', 0, true, 80, false, 'open', now(), p.id
FROM org_division d JOIN catalog_annualplan p ON p.division_id = d.id AND p.year = 2027;
"""
# ~30 % of teachers complete one project: i % 10 in (0, 1) their county's, 2 their city's, (3 the
# province's every other time), so each level has completions to count.
ENROLMENTS_SQL = """
WITH t AS (
  SELECT id, division_path, id %% 10 AS r, split_part(division_path, '.', 1) || '.' AS province_path,
         split_part(division_path, '.', 1) || '.' || split_part(division_path, '.', 2) || '.' AS city_path
  FROM people_teacher WHERE id %% 10 < 3 OR id %% 20 = 3
), target AS (
  SELECT t.id AS teacher_id,
         CASE WHEN t.r < 2 THEN t.division_path WHEN t.r = 2 THEN t.city_path ELSE t.province_path END AS path,
         1 + t.id %% 3 AS n
  FROM t
)
INSERT INTO catalog_enrolment (project_id, teacher_id, state, created_at, completed_at)
SELECT p.id, target.teacher_id, 'completed', now(), now()
FROM target JOIN org_division d ON d.path = target.path
JOIN catalog_project p ON p.organiser_id = d.id AND p.code = d.code || '-H' || target.n;
"""


def build(env: dict, database: str, host: str, teachers: int) -> dict:
    subprocess.run(["dropdb", "-h", host, "-U", "postgres", "--if-exists", database], check=True)
    subprocess.run(["createdb", "-h", host, "-U", "postgres", database], check=True)
    started = time.monotonic()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], check=True, env=env)
    migrated = time.monotonic()
    from django.db import connection

    from quotas.progress import completions_backfill

    with connection.cursor() as cursor:
        for sql in (SCHOOLS_SQL, TEACHERS_SQL, PROJECTS_SQL, PLANS_SQL, ENROLMENTS_SQL):
            cursor.execute(sql, {"teachers": teachers})
    loaded = time.monotonic()
    # The high-end task's progress table, from the completions just loaded (one INSERT … SELECT,
    # the statement of the data migration and of `yanxiu quotas progress-rebuild`).
    progress_rows = completions_backfill()
    filled = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # outside a transaction: Django's autocommit
    return {"migrate_s": round(migrated - started, 1), "load_s": round(loaded - migrated, 1),
            "progress_backfill_s": round(filled - loaded, 1), "progress_rows": progress_rows,
            "vacuum_s": round(time.monotonic() - filled, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="yanxiu_bench_quotas")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--teachers", type=int, default=1_300_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="measure on the database already built")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"{args.server}/{args.database}"
    env = {**os.environ}
    from _django import ROOT, setup, timed

    os.chdir(ROOT)
    setup()
    host = args.server.rsplit("@", 1)[-1].split(":")[0]
    results: dict = {"database": args.database}
    if not args.reuse:
        results.update(build(env, args.database, host, args.teachers))

    from django.db import transaction

    from access.scope import Scope
    from catalog.models import Enrolment
    from org.models import Division
    from people.models import Teacher
    from quotas import target_selectors as selectors
    from quotas.targets import allocation_create, baseline_freeze

    province = Division.objects.get(level="province")
    city = Division.objects.filter(level="city").order_by("code").first()
    county = Division.objects.filter(level="county", is_direct_county=False).order_by("code").first()
    assert city is not None and county is not None
    results["teachers"] = Teacher.objects.dangerously_unscoped().count()
    results["completions"] = Enrolment.objects.dangerously_unscoped().filter(state="completed").count()
    cycle = selectors.cycle_choose("2026-2030")
    province_scope, city_scope, county_scope = Scope.division(province), Scope.division(city), Scope.division(county)

    def progress_province():
        view = selectors.targets_view(province_scope, province, cycle)
        assert view.own is not None and view.own.completed > 0

    def progress_city():
        selectors.targets_view(city_scope, city, cycle)

    def rolled_back(call):
        def run():
            with transaction.atomic():
                call()
                transaction.set_rollback(True)
        return run

    results["progress_province_live"] = timed(progress_province, args.repeat)
    results["progress_city_live"] = timed(progress_city, args.repeat)
    results["allocate_province"] = timed(rolled_back(lambda: allocation_create(
        scope=province_scope, actor=None, division_code="", year=2027, total=5000)), args.repeat)
    results["allocate_county_to_schools"] = timed(rolled_back(lambda: allocation_create(
        scope=county_scope, actor=None, division_code="", year=2027, total=100)), args.repeat)
    results["freeze_baseline"] = timed(rolled_back(lambda: baseline_freeze(scope=province_scope, actor=None,
                                                                          cycle_code="2026-2030")), 2)
    with transaction.atomic():
        baseline_freeze(scope=province_scope, actor=None, cycle_code="2026-2030")
        results["progress_province_frozen"] = timed(progress_province, args.repeat)
        results["allocate_province_frozen"] = timed(rolled_back(lambda: allocation_create(
            scope=province_scope, actor=None, division_code="", year=2027, total=5000)), args.repeat)
        transaction.set_rollback(True)
    own = selectors.targets_view(province_scope, province, cycle).own
    assert own is not None
    results["province_task"] = {"teachers": own.teachers, "target": own.target, "completed": own.completed,
                                "projection_pace": own.pace, "projection_planned": own.planned}
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
