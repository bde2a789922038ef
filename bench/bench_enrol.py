"""200 concurrent enrolment requests for the last seats of a popular project (issue 4):
never more enrolled than seats. Each request is a real `POST
/api/v1/projects/{id}/enrolments` through the Django stack, from its own thread
and database connection, released together by a barrier and served by a pool
of `--workers` (as a web server's workers would; PostgreSQL allows 100 connections).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yanxiu_bench_synth \
        .venv/bin/python bench/bench_enrol.py --requests 200 --seats 20

Uses teachers of one county of a synthesised database; creates one project
(code BENCH-ENROL-<run>) and leaves it there. Prints one JSON object.
"""

import argparse
import datetime as dt
import json
import threading
import time
import uuid

from _django import setup


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seats", type=int, default=20)
    parser.add_argument("--county", default="410221")
    parser.add_argument("--workers", type=int, default=40,
                        help="requests served at once, as by the web server's worker pool (PostgreSQL allows 100 connections)")
    args = parser.parse_args()
    setup()
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from access.scope import scope_for_user
    from accounts.models import Role, User
    from catalog.models import Enrolment
    from catalog.services import project_create, project_open
    from org.models import Division, Institution
    from people.models import Teacher

    county = Division.objects.get(code=args.county)
    admin = User.objects.get(username=f"admin-{args.county}")
    # The county's teacher-development centre implements it (synth accredits it for its projects).
    centre = Institution.objects.dangerously_unscoped().get(code=f"{args.county}-JSFZ")
    project = project_open(scope=scope_for_user(admin), actor=admin, project_id=project_create(
        scope=scope_for_user(admin), actor=admin, code=f"BENCH-ENROL-{uuid.uuid4().hex[:6]}", title="并发报名压测项目",
        level="county", category="all_staff", mode="online", organiser=county, starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + dt.timedelta(days=3), seats=args.seats, hours=6, hour_category="online",
        self_enrolment=True, needs_approval=False, institution=centre,
    ).pk)
    teachers = list(Teacher.objects.dangerously_unscoped().filter(division_path=county.path, status="active")
                    .order_by("id")[:args.requests])
    users = []
    for teacher in teachers:
        # The teacher's own account when they have one (bench/rush makes them too).
        user = User.objects.filter(teacher=teacher).first() or User.objects.create(
            username=f"bench-enrol-{teacher.pk}", role=Role.TEACHER, teacher=teacher)
        users.append(user)
    clients = []
    for user in users:
        client = Client()
        client.force_login(user)
        clients.append(client)
    barrier = threading.Barrier(len(clients))
    workers = threading.Semaphore(args.workers)
    timings: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def request(client):
        barrier.wait()
        started = time.perf_counter()  # from the common release: includes waiting for a worker
        with workers:
            response = client.post(f"/api/v1/projects/{project.pk}/enrolments", {}, content_type="application/json")
            connection.close()
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            timings.append(elapsed)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    threads = [threading.Thread(target=request, args=(client,)) for client in clients]
    wall = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = (time.perf_counter() - wall) * 1000
    project.refresh_from_db()
    states: dict[str, int] = {}
    for state in Enrolment.objects.dangerously_unscoped().filter(project=project).values_list("state", flat=True):
        states[state] = states.get(state, 0) + 1
    timings.sort()
    print(json.dumps({
        "requests": len(clients), "seats": project.seats, "seats_taken": project.seats_taken, "states": states,
        "statuses": statuses, "oversubscribed": states.get("enrolled", 0) > project.seats,
        "p50_ms": round(timings[len(timings) // 2], 1), "p95_ms": round(timings[int(len(timings) * 0.95)], 1),
        "max_ms": round(timings[-1], 1), "wall_ms": round(wall, 1), "workers": args.workers, "vendor": connection.vendor,
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
