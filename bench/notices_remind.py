"""Tomorrow's-session reminder at province scale: `--projects` projects each holding a session
tomorrow, `--teachers` teachers with accounts, each enrolled in `--per-teacher` of them. Runs the
reminder twice (the second finds everyone told) and prints one JSON object: rows written, queries,
seconds, and whether every account's unread count equals its unread rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yanxiu_notices_bench \\
        .venv/bin/yanxiu migrate && \\
        DATABASE_URL=... .venv/bin/python bench/notices_remind.py --teachers 100000 --projects 2000

Writes its rows with bulk inserts into a database of its own (never a real one).
"""

import argparse
import datetime as dt
import json
import random
import time

from _django import setup


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teachers", type=int, default=100_000)
    parser.add_argument("--projects", type=int, default=2000)
    parser.add_argument("--per-teacher", type=int, default=2)
    parser.add_argument("--digest", action="store_true", help="then give every account an e-mail and run the digest")
    args = parser.parse_args()
    setup()
    from django.db import connection, reset_queries
    from django.db.models import Count, F, Q
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.models import Role, User
    from catalog.models import Enrolment, Project, ProjectSession
    from notifications.reminders import sessions_tomorrow_notify
    from org.models import Division, School
    from people.models import Teacher

    rng = random.Random(7)
    today = timezone.localdate()
    county = Division.objects.get(code="410221")
    school, _ = School.objects.dangerously_unscoped().get_or_create(code="4102219999", defaults={"name": "压测学校", "division": county})
    started = time.perf_counter()
    teachers = Teacher.objects.bulk_create(
        [Teacher(name=f"教师{i}", id_cipher="x", id_index=f"bench-{i}", birth_date=dt.date(1985, 1, 1), sex="F",
                 stage="primary", hire_date=dt.date(2010, 9, 1), school=school, division_path=school.division_path)
         for i in range(args.teachers)], batch_size=5000)
    User.objects.bulk_create([User(username=f"bench-t-{t.pk}", role=Role.TEACHER, teacher_id=t.pk, password="!")  # noqa: S106 - unusable
                              for t in teachers], batch_size=5000)
    projects = Project.objects.bulk_create(
        [Project(code=f"BENCH-{i}", title=f"压测项目{i}", level="county", category="backbone", mode="centralised",
                 organiser=county, division_path=county.path, seats=args.teachers, hours=8, hour_category="centralised",
                 starts_on=today, ends_on=today + dt.timedelta(days=3), state="open") for i in range(args.projects)],
        batch_size=2000)
    ProjectSession.objects.bulk_create([ProjectSession(project=p, number=1, title="集中研修", held_on=today + dt.timedelta(days=1))
                                        for p in projects], batch_size=2000)
    rows = []
    for t in teachers:
        for p in rng.sample(projects, args.per_teacher):
            rows.append(Enrolment(project=p, teacher=t, state="enrolled"))
    Enrolment.objects.bulk_create(rows, batch_size=10000)
    loaded = time.perf_counter() - started

    reset_queries()
    with CaptureQueriesContext(connection) as first_queries:
        began = time.perf_counter()
        first = sessions_tomorrow_notify(today=today)
        first_s = time.perf_counter() - began
    with CaptureQueriesContext(connection) as second_queries:
        began = time.perf_counter()
        second = sessions_tomorrow_notify(today=today)
        second_s = time.perf_counter() - began
    mismatched = (User.objects.annotate(n=Count("notifications", filter=Q(notifications__read_at__isnull=True)))
                  .exclude(unread_notices=F("n"))
                  .count())
    digest = {}
    if args.digest:
        import logging

        from notifications.digest import digests_deliver, digests_prepare

        logging.getLogger("notifications.senders").setLevel(logging.WARNING)  # one line per e-mail otherwise
        User.objects.filter(username__startswith="bench-t-").update(email="bench@example.cn")
        with CaptureQueriesContext(connection) as prepare_queries:
            began = time.perf_counter()
            prepared = digests_prepare()
            digest["prepare_s"], digest["prepared"] = round(time.perf_counter() - began, 1), prepared
        digest["prepare_queries"] = len(prepare_queries.captured_queries)
        with CaptureQueriesContext(connection) as deliver_queries:
            began = time.perf_counter()
            digest.update(digests_deliver())
            digest["deliver_s"] = round(time.perf_counter() - began, 1)
        digest["deliver_queries"] = len(deliver_queries.captured_queries)
    print(json.dumps({"digest": digest, "teachers": args.teachers, "projects": args.projects, "enrolments": len(rows),
                      "load_s": round(loaded, 1), "first": first, "first_s": round(first_s, 1),
                      "first_queries": len(first_queries.captured_queries), "second": second,
                      "second_s": round(second_s, 1), "second_queries": len(second_queries.captured_queries),
                      "counts_wrong": mismatched}, ensure_ascii=False))


if __name__ == "__main__":
    main()
