"""The personalised push through the database: the nightly batch over every teacher of a real
(synthetic) province, and one teacher on demand.

    .venv/bin/python bench/push_batch.py --scale M --database yanxiu_push_bench          # fill, then run
    .venv/bin/python bench/push_batch.py --database yanxiu_push_bench --keep             # run again
    .venv/bin/python bench/push_batch.py --scale L --database yanxiu_push_l --fill-only  # fill now, measure later
    .venv/bin/python bench/push_batch.py --database yanxiu_push_l --keep --one-range 10000  # one process's rate
    .venv/bin/python bench/push_batch.py --database yanxiu_push_l --keep --on-demand-only --seed 2  # as a web process

Fills a fresh PostgreSQL database: `yanxiu synth` at the given scale (teachers with stages and
subjects, no ledger), `--courses` published province courses with stage/subject tags and
credited activities, and about `--per-teacher` credited completions per teacher written in SQL
with structure (each stage × subject group has its own long-tailed favourites, plus a
province-wide long tail). Then runs `push_refresh_all` in this process (wall time, peak RSS,
its phases; the ranges of teachers in `--workers` processes, as Celery workers share them) and
`push_store` / `push_for` for `--sample` random teachers (p50/p95). Prints one
JSON object. Databases must be named `yanxiu_push_…`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgres://postgres@127.0.0.1:5432"

STAGES = ["primary", "junior", "senior", "kindergarten", "special", "vocational"]
SUBJECTS = ["chinese", "math", "english", "physics", "chemistry", "biology", "history", "geography", "politics",
            "morality_law", "science", "it", "pe", "music", "art", "labour", "practice", "psychology", "preschool",
            "special_ed"]

COMPLETIONS_SQL = """
INSERT INTO lrs_statementcredit (statement_id, client_id, credited_activity_id, activity_hash, agent_key, agent_hash,
                                 teacher_id, division_path, state, reason, created_at)
SELECT row_number() OVER () + %(first)s, %(client)s, picks.activity, 0, 'bench', 0, picks.teacher_id,
       picks.division_path, 'credited', '', now() - (random() * 700) * interval '1 day'
FROM (
  SELECT DISTINCT ON (t.id, c.course_no) t.id AS teacher_id, t.division_path, c.course_no,
         (%(activity_base)s + c.course_no) AS activity
  FROM people_teacher t
  LEFT JOIN people_teachersubject s ON s.teacher_id = t.id AND s.is_main
  JOIN LATERAL (
    SELECT CASE WHEN random() < 0.6
                -- the group's own favourites: a long tail starting at the group's offset
                THEN (abs(hashtext(t.stage || coalesce(s.subject, ''))) + floor(%(courses)s * power(random(), 3))::int)
                     %% %(courses)s
                -- the province's long tail
                ELSE floor(%(courses)s * power(random(), 4))::int END AS course_no
    FROM generate_series(1, 20 + floor(random() * (2 * %(per_teacher)s - 40))::int)
  ) c ON true
  WHERE t.id BETWEEN %(low)s AND %(high)s
) picks
"""


def _constraints_and_indexes_dropped(cursor, table: str) -> tuple[list, list]:
    """Drop the table's unique and foreign-key constraints and its other indexes (the primary
    key stays), returning their definitions: 100 M rows go in far faster without a dozen
    B-trees and three foreign-key checks per row, and are indexed once afterwards."""
    cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                   "WHERE conrelid = %s::regclass AND contype IN ('u', 'f')", [table])
    constraints = cursor.fetchall()
    for name, _ in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    cursor.execute("SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i "
                   "ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass AND NOT x.indisprimary", [table])
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return constraints, indexes


def _constraints_and_indexes_restored(cursor, table: str, constraints: list, indexes: list) -> None:
    for _, definition in indexes:
        cursor.execute(definition)
    for name, definition in constraints:  # unique ones build their index; foreign keys validate once
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def run(command: list[str], env: dict) -> str:
    return subprocess.run(command, check=True, env=env, capture_output=True, text=True).stdout


def fill(args, env: dict) -> dict:
    started = time.monotonic()
    if not args.reuse_province:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", args.database], check=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.database], check=True)
        manage = [sys.executable, str(ROOT / "manage.py")]
        run([*manage, "migrate", "-v0"], env)
        run([*manage, "synth", "--scale", args.scale, "--seed", "1", "--no-ledger", "--no-training"], env)
    synthesized = time.monotonic() - started

    from django.db import connection, transaction
    from django.utils import timezone

    from access.scope import Scope
    from learning.models import Course, Provider
    from lrs.clients import client_create
    from lrs.keys import value_hash
    from lrs.models import CreditedActivity
    from org.models import Division

    province = Division.objects.get(level="province")
    scope = Scope.division(province)
    with transaction.atomic():
        provider = Provider.objects.create(code="bench", name="基准课程平台", kind="provincial", division=province,
                                           division_path=province.path)
        base = "https://bench.example.org/course/"
        activities = CreditedActivity.objects.bulk_create([CreditedActivity(
            activity_iri=f"{base}{n}", activity_hash=value_hash(f"{base}{n}"), title=f"基准课程{n}", hours=2,
            division=province, division_path=province.path) for n in range(args.courses)], batch_size=5000)
        now = timezone.now()
        Course.objects.bulk_create([Course(
            provider=provider, code=f"B-{n}", title=f"基准课程{n}", hours=2, level="province",
            stages=[STAGES[n % len(STAGES)]] if n % 5 else [], subjects=[SUBJECTS[(n // 6) % len(SUBJECTS)]] if n % 7 else [],
            topics=["classroom" if n % 2 else "homework"], required_content=["ethics"] if n % 97 == 0 else [],
            activity_iri=f"{base}{n}", state="published", published_at=now, division=province,
            division_path=province.path, credited_activity=activities[n]) for n in range(args.courses)],
            batch_size=5000)
        client, _ = client_create(scope=scope, actor=None, name="基准客户端", division=province,
                                  activity_prefixes=[base], reads_all=True)
    first_activity = activities[0].pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM people_teacher")
        low, high = cursor.fetchone()
        step = 20000
        cursor.execute("SELECT coalesce(max(statement_id), 0) FROM lrs_statementcredit")  # a reused province has some
        first = base_statement = cursor.fetchone()[0]
        dropped = _constraints_and_indexes_dropped(cursor, "lrs_statementcredit")
        try:
            for start in range(low, high + 1, step):
                cursor.execute(COMPLETIONS_SQL, {"first": first, "client": client.pk, "activity_base": first_activity,
                                                 "courses": args.courses, "per_teacher": args.per_teacher,
                                                 "low": start, "high": start + step - 1})
                first += cursor.rowcount
        finally:  # a stopped fill leaves its rows indexed: a later --keep must not measure without them
            filled = time.monotonic()
            cursor.execute("SET maintenance_work_mem = '2GB'")  # each index is one sort of ~100 M rows at L
            _constraints_and_indexes_restored(cursor, "lrs_statementcredit", *dropped)
        indexed = time.monotonic() - filled
        cursor.execute("ANALYZE")
    return {"synth_seconds": round(synthesized, 1), "fill_seconds": round(time.monotonic() - started - synthesized, 1),
            "of_which_indexing_seconds": round(indexed, 1), "completions": first - base_statement}


def _range(job: tuple[int, int, str]) -> int:
    from django.db import connections

    from learning.push.services import push_refresh_range

    connections.close_all()  # a forked worker opens its own connection
    low, high, now = job
    import datetime as dt

    return push_refresh_range(low, high, now=dt.datetime.fromisoformat(now))


def measure(args) -> dict:
    import multiprocessing

    from django.db import connections

    from learning import tasks
    from learning.push import collaborative, interactions, services
    from learning.push.services import push_refresh_all

    # The nightly task queues one task per range of teachers; here they go to `--workers`
    # processes, as to that many Celery workers.
    queued: list[tuple[int, int, str]] = []
    tasks.push_refresh_range_task.delay = lambda low, high, now: queued.append((low, high, now))  # type: ignore[method-assign]
    # The refit (weekly in production: reading its sample's histories, then fitting) and the peer
    # table (nightly) timed apart. The forked workers inherit the wrappers; their time is not counted here.
    phases: dict[str, float] = {}
    for module, name, phase in ((interactions, "load", "refit_read_seconds"),
                                (collaborative, "fit_and_save", "refit_seconds"),
                                (services, "peers_refresh", "peers_seconds")):
        setattr(module, name, _timed(getattr(module, name), phases, phase))
    started = time.monotonic()
    result = push_refresh_all(refit=not args.no_refit)
    fitted = time.monotonic() - started
    fit_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    connections.close_all()
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        written = sum(pool.map(_range, queued, chunksize=1))
    batch = time.monotonic() - started
    worker_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    on_demand, stored = _on_demand(_chosen(args.sample, seed=1))
    refit = phases.get("refit_seconds", 0.0) + phases.get("refit_read_seconds", 0.0)
    return {"batch_seconds": round(batch, 1), "fit_and_peers_seconds": round(fitted, 1),
            **{phase: round(seconds, 1) for phase, seconds in phases.items()},
            "nightly_without_refit_seconds": round(batch - refit, 1), "workers": args.workers,
            "fit_peak_rss_mb": round(fit_rss), "worker_peak_rss_mb": round(worker_rss), **result, "written": written,
            "teachers_per_second": round(written / max(batch - fitted, 1e-9)), "on_demand": on_demand,
            "read_fresh": stored, "cpu_reference_s": _cpu_reference()}


def _chosen(count: int, *, seed: int) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM people_teacher WHERE status = 'active'")
        ids = [row[0] for row in cursor.fetchall()]
    return random.Random(seed).sample(ids, min(count, len(ids)))


def _on_demand(chosen: list[int]) -> tuple[dict, dict]:
    """One teacher's list computed and stored (`push_store`), then read fresh (`push_for`), for
    each of `chosen`, after this process has built its library once (as a web process keeps it)."""
    from access.scope import Scope
    from learning.push.selectors import push_for
    from learning.push.services import push_store
    from people.models import Teacher

    def timed(call) -> dict:
        samples = []
        for pk in chosen:
            teacher = Teacher.objects.dangerously_unscoped().get(pk=pk)
            began = time.perf_counter()
            call(teacher)
            samples.append((time.perf_counter() - began) * 1000)
        samples.sort()
        return {"p50_ms": round(samples[len(samples) // 2], 1), "p95_ms": round(samples[int(len(samples) * 0.95)], 1),
                "max_ms": round(samples[-1], 1), "n": len(samples)}

    first = Teacher.objects.dangerously_unscoped().get(pk=chosen[0])
    push_store(Scope.for_teacher(first), first)  # this process's library, built once
    return timed(lambda t: push_store(Scope.for_teacher(t), t)), timed(lambda t: push_for(Scope.for_teacher(t), t))


def _timed(call, phases: dict[str, float], phase: str):
    def timed(*args, **kwargs):
        began = time.monotonic()
        try:
            return call(*args, **kwargs)
        finally:
            phases[phase] = phases.get(phase, 0.0) + time.monotonic() - began
    return timed


def _cpu_reference() -> float:
    """Seconds for 20 M additions in a CPython loop: machines of the same kind have differed by
    3-4 times between days, so runs compare by this."""
    began, total = time.perf_counter(), 0
    for n in range(20_000_000):
        total += n
    return round(time.perf_counter() - began, 2)


def one_range(count: int) -> dict:
    """One process scoring `count` active teachers (from the 400,000th on) as one range, the
    library built first as a worker keeps it: the per-process rate, without the other worker."""
    from django.utils import timezone

    from learning.push import services
    from people.models import Teacher

    ids = list(Teacher.objects.dangerously_unscoped().filter(status="active").order_by("id")
               .values_list("id", flat=True)[400_000:400_000 + count])
    now = timezone.now()
    services.library_current(now=now)
    began = time.monotonic()
    written = services.push_refresh_range(ids[0], ids[-1], now=now)
    seconds = time.monotonic() - began
    return {"one_range_teachers": written, "one_range_seconds": round(seconds, 1),
            "one_range_teachers_per_second": round(written / seconds), "cpu_reference_s": _cpu_reference()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="M")
    parser.add_argument("--database", default="yanxiu_push_bench")
    parser.add_argument("--courses", type=int, default=20000)
    parser.add_argument("--per-teacher", type=int, default=77)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="processes sharing the ranges (as Celery workers)")
    parser.add_argument("--keep", action="store_true", help="reuse the filled database")
    parser.add_argument("--reuse-province", action="store_true",
                        help="the database already holds a synthetic province (e.g. an L database of "
                             "bench_synth.py renamed yanxiu_push_…): add only the courses and completions")
    parser.add_argument("--no-refit", action="store_true", help="score with the model saved by the last run")
    parser.add_argument("--one-range", type=int, metavar="N",
                        help="with --keep: only score N teachers as one range in this process")
    parser.add_argument("--on-demand-only", action="store_true",
                        help="with --keep: only time --sample teachers on demand, in a fresh process as a web process")
    parser.add_argument("--seed", type=int, default=1, help="which teachers --on-demand-only samples")
    parser.add_argument("--fill-only", action="store_true",
                        help="stop after the fill (measure later with --keep, on a quiet machine)")
    args = parser.parse_args()
    if not args.database.startswith("yanxiu_push_"):
        raise SystemExit("the benchmark database must be named yanxiu_push_…")
    env = {**os.environ, "DATABASE_URL": f"{SERVER}/{args.database}", "YANXIU_DEMO_PASSWORD": "Qiuyue-Lianxi-2026",
           "LEARNING_PUSH_MODEL": str(ROOT / "var" / "bench" / f"{args.database}-model.npz")}
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    if args.keep:
        django.setup()
        filled: dict = {"reused": True}
        if args.one_range:
            print(json.dumps({"scale": args.scale, **one_range(args.one_range)}, ensure_ascii=False))
            return
        if args.on_demand_only:
            on_demand, stored = _on_demand(_chosen(args.sample, seed=args.seed))
            print(json.dumps({"scale": args.scale, "on_demand": on_demand, "read_fresh": stored,
                              "cpu_reference_s": _cpu_reference()}, ensure_ascii=False))
            return
    else:
        django.setup()
        filled = fill(args, env)
        if args.fill_only:
            print(json.dumps({"scale": args.scale, "courses": args.courses, **filled}, ensure_ascii=False))
            return
    print(json.dumps({"scale": args.scale, "courses": args.courses, "cpus": os.cpu_count(), **filled,
                      **measure(args)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
