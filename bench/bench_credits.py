"""Hours ledger latency and throughput (issue 3), against a database loaded by
`yanxiu synth` with hours histories (bench_synth.py --with-ledger):

- compliance roll-up pages (province, city, county, school) through the full
  Django stack — target: province page under 1 s;
- a teacher's "my hours" page — target p95 under 50 ms;
- recording an entry (`ledger_entry_record`, and POST /api/v1/credits/entries)
  — target p95 under 20 ms;
- rebuilding the compliance snapshot, and reconciling the whole province
  (`credits_reconcile`) — target under 10 minutes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yanxiu_bench_synth \
        .venv/bin/python bench/bench_credits.py --repeat 40

Entries recorded by the benchmark use source ids `bench:<run>:<n>` and stay in
the database (the ledger is append-only). Prints one JSON object.
"""

import argparse
import datetime as dt
import itertools
import json
import random
import time
import uuid

from _django import setup, timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--county", default="410221")
    parser.add_argument("--skip-reconcile", action="store_true")
    args = parser.parse_args()
    setup()
    from django.core.exceptions import ValidationError
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from accounts.models import Role, User
    from credits.compliance import compliance_refresh
    from credits.models import LedgerEntry
    from credits.selectors import current_cycle
    from credits.services import credits_reconcile, ledger_entry_record
    from people.models import Teacher

    rng = random.Random(7)
    cycle = current_cycle()
    results: dict = {"vendor": connection.vendor, "teachers": Teacher.objects.dangerously_unscoped().count()}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # planner estimate: an exact count of 60 M rows is itself slow
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'credits_ledgerentry'")
            results["ledger_entries_estimate"] = cursor.fetchone()[0]

    started = time.perf_counter()
    refresh = compliance_refresh(cycle=cycle)
    results["compliance_refresh_seconds"] = round(time.perf_counter() - started, 2)
    results["compliance_refresh_teachers"] = refresh.teachers

    province_admin = User.objects.get(username="admin-410000")
    county_admin = User.objects.get(username=f"admin-{args.county}")
    city_code = args.county[:4] + "00"
    city_admin = User.objects.get(username=f"admin-{city_code}")
    school_id = Teacher.objects.dangerously_unscoped().filter(division_path__endswith=f"{args.county}.") \
        .values_list("school_id", flat=True).first()
    for name, user, url in [
        ("page.province", province_admin, "/credits/compliance/d/410000/"),
        ("page.city", city_admin, f"/credits/compliance/d/{city_code}/"),
        ("page.county", county_admin, f"/credits/compliance/d/{args.county}/"),
        ("page.school_live", county_admin, f"/credits/compliance/s/{school_id}/"),
        ("api.province", province_admin, "/api/v1/compliance?division=410000"),
    ]:
        client = Client()
        client.force_login(user)

        def get(client=client, url=url):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        results[name] = timed(get, args.repeat)

    # "My hours": a teacher account, bound to a different random teacher for every request.
    max_id = Teacher.objects.dangerously_unscoped().order_by("-id").values_list("id", flat=True).first()
    viewer, _ = User.objects.get_or_create(username="bench-teacher", defaults={"role": Role.TEACHER})
    samples = []
    client = Client()
    for _ in range(args.repeat + 1):
        teacher = Teacher.objects.dangerously_unscoped().filter(id__gte=rng.randint(1, max_id)).order_by("id").first()
        User.objects.filter(pk=viewer.pk).update(role=Role.TEACHER, teacher=teacher)
        viewer.refresh_from_db()
        client.force_login(viewer)
        started = time.perf_counter()
        response = client.get(f"/credits/teachers/{teacher.pk}/")
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    samples = sorted(samples[1:])
    results["page.my_hours"] = {"p50_ms": round(samples[len(samples) // 2], 2),
                                "p95_ms": round(samples[int(len(samples) * 0.95)], 2), "max_ms": round(samples[-1], 2),
                                "n": len(samples)}

    # Recording: a fresh source each time, on a random teacher, a day in the current cycle.
    run = uuid.uuid4().hex[:8]
    counter = itertools.count()
    today = timezone.localdate()
    days = (today - cycle.starts_on).days

    picked = list(Teacher.objects.dangerously_unscoped().filter(id__in=rng.sample(range(1, max_id + 1), 2000)))
    rng.shuffle(picked)
    teachers = itertools.cycle(picked)

    def record():
        teacher = next(teachers)
        for _ in range(5):  # a day the teacher's history already filled (12 h) is refused: take another
            try:
                ledger_entry_record(teacher=teacher, category="online", hours="0.5",
                                    occurred_on=cycle.starts_on + dt.timedelta(days=rng.randint(0, days)),
                                    source_type="integration", source_id=f"bench:{run}:{next(counter)}",
                                    actor=province_admin)
                return
            except ValidationError:
                continue
    results["record.service"] = timed(record, args.repeat * 5)

    api = Client()
    api.force_login(province_admin)

    def post():
        teacher_id = next(teachers).pk
        for _ in range(5):
            response = api.post("/api/v1/credits/entries", content_type="application/json", data={
                "teacher_id": teacher_id, "category": "online", "hours": "0.5",
                "occurred_on": (cycle.starts_on + dt.timedelta(days=rng.randint(0, days))).isoformat(),
                "source_id": f"bench:{run}:api:{next(counter)}",
            })
            if response.status_code != 422:  # 422: the day was full, take another
                break
        assert response.status_code == 201, response.content
    results["record.api"] = timed(post, args.repeat * 2)
    results["recorded_entries"] = LedgerEntry.objects.dangerously_unscoped().filter(source_id__startswith=f"bench:{run}:").count()

    if not args.skip_reconcile:
        started = time.perf_counter()
        drift = credits_reconcile()
        results["reconcile_seconds"] = round(time.perf_counter() - started, 1)
        results["reconcile_drift"] = len(drift)
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
