"""The registration rush through the production server: gunicorn on a loopback port with
production settings, and locust (headless, bounded time) enrolling teachers, each once
and with their own API token, into one popular project.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yanxiu_rush \\
        .venv/bin/python bench/rush/run.py --teachers 20000 --seats 500 --users 100 --run-time 60s

The database: a synthetic province (`yanxiu synth --scale 0.02 --seed 1` has ~26 k
teachers). Each run opens a new province-level project (code RUSH-...) with --seats seats,
open to every teacher of the province, gives --teachers active teachers an account (made
once, in bulk) and a fresh API token each, starts gunicorn (config/gunicorn.py when the
repository has one, else --workers/--threads gthread) with YANXIU_ENV=prod, a generated
SECRET_KEY and the personal-data keys the database was written with (YANXIU_FIELD_KEY /
YANXIU_BLIND_INDEX_KEY from the environment, else the development keys under var/keys),
and runs locust against it. Prints one JSON object: throughput, latency percentiles,
errors by kind, enrolled vs seats and waiting (counted in the database), the server's
workers and threads, and the machine with its load.
"""

from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import json
import os
import platform
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _django import ROOT, setup  # noqa: E402

VENV_BIN = Path(sys.executable).parent


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", type=int, default=20_000, help="eligible teachers who rush (each enrols once)")
    parser.add_argument("--seats", type=int, default=500)
    parser.add_argument("--users", type=int, default=100, help="locust users: requests in flight at once")
    parser.add_argument("--spawn-rate", type=float, default=100)
    parser.add_argument("--run-time", default="60s", help="locust --run-time (bounded)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: config or 3)")
    parser.add_argument("--threads", type=int, default=None, help="gunicorn threads per worker (default: config or 4)")
    parser.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


# --- preparation (in this process, through the ORM) --------------------------------------------


def _teachers(limit: int) -> list[int]:
    from people.models import Teacher

    return list(Teacher.objects.dangerously_unscoped().filter(status="active").order_by("id")
                .values_list("id", flat=True)[:limit])


def _accounts(teacher_ids: list[int]) -> dict[int, int]:
    """Teacher id -> user id, making the missing teacher accounts in bulk (no usable password:
    they sign in with their token only)."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import Role, User

    users = User.objects
    have = dict(users.filter(teacher_id__in=teacher_ids).values_list("teacher_id", "id"))
    missing = [User(username=f"rush-{teacher_id}", role=Role.TEACHER, teacher_id=teacher_id,
                    password=make_password(None))
               for teacher_id in teacher_ids if teacher_id not in have]
    users.bulk_create(missing, batch_size=2000)
    return dict(users.filter(teacher_id__in=teacher_ids).values_list("teacher_id", "id"))


def _tokens(user_ids: list[int], folder: Path) -> Path:
    """A fresh API token per account, written one secret a line in a random order."""
    from django.utils import timezone

    from accounts.models import ApiToken
    from accounts.services import TOKEN_PREFIX

    expires = timezone.now() + dt.timedelta(days=1)
    secrets_by_user = {user_id: TOKEN_PREFIX + secrets.token_urlsafe(32) for user_id in user_ids}
    ApiToken.objects.dangerously_unscoped().bulk_create(
        [ApiToken(user_id=user_id, name="rush", prefix=secret[:10], token_hash=ApiToken.hash_secret(secret),
                  expires_at=expires) for user_id, secret in secrets_by_user.items()], batch_size=2000)
    lines = list(secrets_by_user.values())
    random.shuffle(lines)
    path = folder / "tokens.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def _project(seats: int) -> int:
    """A province-level project open to every teacher, implemented by an institution whose
    accreditation covers it (as the synthetic province accredits them)."""
    from django.utils import timezone

    from access.scope import scope_for_user
    from accounts.models import User
    from catalog.services import project_create, project_open
    from institutions.machine import IN_FORCE
    from institutions.models import Accreditation
    from org.models import Division

    today = timezone.localdate()
    starts, ends = today + dt.timedelta(days=30), today + dt.timedelta(days=34)
    accreditation = next(
        row for row in Accreditation.objects.dangerously_unscoped().filter(state__in=IN_FORCE, valid_until__gte=ends)
        .select_related("institution").order_by("id") if "province" in (row.levels or []))
    admin = User.objects.get(username="admin-410000")
    scope = scope_for_user(admin)
    project = project_create(
        scope=scope, actor=admin, code=f"RUSH-{uuid.uuid4().hex[:6]}", title="全省热门研修项目（报名压测）",
        level="province", category=accreditation.categories[0], mode=accreditation.modes[0],
        organiser=Division.objects.get(code="410000"), starts_on=starts, ends_on=ends, seats=seats, hours=24,
        hour_category="centralised", self_enrolment=True, needs_approval=False,
        institution=accreditation.institution)
    return project_open(scope=scope, actor=admin, project_id=project.pk).pk


def _outcome(project_id: int) -> dict:
    from django.db.models import Count

    from catalog.models import Enrolment, Project

    project = Project.objects.dangerously_unscoped().get(pk=project_id)
    states = dict(Enrolment.objects.dangerously_unscoped().filter(project_id=project_id)
                  .values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    holding = states.get("enrolled", 0) + states.get("pending", 0)
    return {"project": project.code, "seats": project.seats, "seats_taken": project.seats_taken,
            "enrolled": holding, "waiting": states.get("waiting", 0), "states": states,
            "oversubscribed": holding > project.seats or project.seats_taken > project.seats}


# --- the server and the load -------------------------------------------------------------------


def _key(name: str, file_name: str) -> str:
    """The key the database's personal data (and audit chain) were written with."""
    from django.conf import settings

    if os.environ.get(name):
        return os.environ[name]
    path = Path(settings.VAR_DIR) / "keys" / file_name
    base64.urlsafe_b64decode(path.read_text().strip().encode())  # fails loudly if it is not a key
    return path.read_text().strip()


def _server_environment() -> dict[str, str]:
    return {
        **os.environ,
        "YANXIU_ENV": "prod",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "YANXIU_FIELD_KEY": _key("YANXIU_FIELD_KEY", "field.key"),
        "YANXIU_BLIND_INDEX_KEY": _key("YANXIU_BLIND_INDEX_KEY", "blind_index.key"),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
    }


def _gunicorn(port: int, workers: int | None, threads: int | None, log: Path) -> tuple[subprocess.Popen, dict]:
    config = ROOT / "config" / "gunicorn.py"
    command = [str(VENV_BIN / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    if config.exists():
        command[1:1] = ["-c", str(config)]
    else:
        workers, threads = workers or 3, threads or 4
        command += ["--worker-class", "gthread"]
    if workers:
        command += ["--workers", str(workers)]
    if threads:
        command += ["--threads", str(threads)]
    server = subprocess.Popen(command, cwd=ROOT, env=_server_environment(), stdout=log.open("w"),  # noqa: S603
                              stderr=subprocess.STDOUT, start_new_session=True)
    described = {"config": str(config.relative_to(ROOT)) if config.exists() else None,
                 "workers": workers, "threads": threads, "command": " ".join(command[1:])}
    return server, described


def _wait_for(port: int, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit("gunicorn did not listen in time")


def _warm_up(port: int, project_id: int, requests: int) -> None:
    """Each worker loads the URLs and the API on its first request (seconds): an unsigned
    request per slot, at once, before the measured run."""
    from concurrent.futures import ThreadPoolExecutor
    from urllib.error import HTTPError
    from urllib.request import Request, urlopen

    def knock(_: int) -> None:
        request = Request(f"http://127.0.0.1:{port}/api/v1/projects/{project_id}",  # noqa: S310 - loopback
                          headers={"X-Forwarded-Proto": "https"})
        try:
            urlopen(request, timeout=60).close()  # noqa: S310 - loopback
        except HTTPError:
            pass  # 401: unsigned, as meant

    with ThreadPoolExecutor(requests) as pool:
        list(pool.map(knock, range(requests * 3)))


def _cpu_seconds(group: int) -> float:
    """CPU time (user + system) used so far by the processes of a process group (Linux), with
    that of the children they reaped: gunicorn replaces a worker after `max_requests`, and the
    master's cutime/cstime keep what the replaced ones used."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == group:  # pgrp
            total += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return total / ticks


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def _locust(args, port: int, project_id: int, tokens: Path, folder: Path) -> dict:
    prefix = folder / "locust"
    command = [str(VENV_BIN / "locust"), "-f", str(Path(__file__).with_name("locustfile.py")), "--headless",
               "--host", f"http://127.0.0.1:{port}", "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
               "--run-time", args.run_time, "--stop-timeout", "10", "--csv", str(prefix), "--only-summary",
               "--loglevel", "WARNING"]
    environment = {**os.environ, "RUSH_PROJECT": str(project_id), "RUSH_TOKENS": str(tokens)}
    started = time.monotonic()
    subprocess.run(command, env=environment, check=False, capture_output=True)  # noqa: S603 - exits 1 on failures
    elapsed = time.monotonic() - started
    stats = {row["Name"]: row for row in csv.DictReader(prefix.with_name("locust_stats.csv").open())}
    row = stats.get("enrol") or stats["Aggregated"]
    errors: dict[str, int] = {}
    for failure in csv.DictReader(prefix.with_name("locust_failures.csv").open()):
        errors[failure["Error"]] = errors.get(failure["Error"], 0) + int(failure["Occurrences"])

    def number(name: str) -> float:
        return round(float(row[name] or 0), 1)

    return {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
            "requests_per_s": number("Requests/s"), "p50_ms": number("50%"), "p95_ms": number("95%"),
            "p99_ms": number("99%"), "max_ms": number("Max Response Time"), "errors": errors,
            "locust_wall_s": round(elapsed, 1)}


def _machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"cpus": os.cpu_count(), "cpu": model, "python": platform.python_version(), "host": platform.node()}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    args = _arguments()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("DATABASE_URL must name a PostgreSQL database (a synthetic province)")
    random.seed(args.seed)
    setup()
    from django.db import connection

    folder = Path(tempfile.mkdtemp(prefix="rush-"))
    prepared = time.monotonic()
    teacher_ids = _teachers(args.teachers)
    accounts = _accounts(teacher_ids)
    tokens = _tokens([accounts[teacher_id] for teacher_id in teacher_ids], folder)
    project_id = _project(args.seats)
    prepare_s = round(time.monotonic() - prepared, 1)
    connection.close()

    port = args.port or _free_port()
    server, described = _gunicorn(port, args.workers, args.threads, folder / "gunicorn.log")
    load_before = os.getloadavg()
    try:
        _wait_for(port, server)
        _warm_up(port, project_id, (described["workers"] or 4) * (described["threads"] or 1))
        cpu_before = _cpu_seconds(server.pid)
        load = _locust(args, port, project_id, tokens, folder)
        server_cpu = _cpu_seconds(server.pid) - cpu_before
        load["server_cpu_s"] = round(server_cpu, 1)
        load["server_cpu_ms_per_request"] = round(server_cpu * 1000 / max(load["requests"], 1), 1)
    finally:
        load_after = os.getloadavg()
        _stop(server)
    print(json.dumps({
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "teachers": len(teacher_ids), "users": args.users, "spawn_rate": args.spawn_rate, "run_time": args.run_time,
        **load, **_outcome(project_id), "server": described, "prepare_s": prepare_s,
        "machine": {**_machine(), "load_before": [round(x, 2) for x in load_before],
                    "load_after": [round(x, 2) for x in load_after]},
        "logs": str(folder),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
