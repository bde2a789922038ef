"""Backup drill: prove that a base backup plus archived WAL restores to a named point, exactly.

On a scratch cluster of its own (initdb on a free loopback port, WAL archived by
deploy/backup/archive_wal.sh) it migrates Yanxiu, loads a small synthetic province, takes a
verified base backup (deploy/backup/base_backup.sh), records more hours through the ledger's
service (audit events, entry checksums and seals grow), creates a restore point and records
the counts and both verifications, writes more again, then restores a copy to that point on
another port (deploy/backup/restore.sh) and checks the copy: the same counts, exactly, and
`yanxiu audit verify` / `yanxiu credits verify` pass with the same integrity keys.

    .venv/bin/python bench/backup_drill.py [--scale 0.001] [--keep]

Prints JSON (timings in seconds); exits 1 when the copy differs. Needs the PostgreSQL 15
server binaries (PG_BIN, default /usr/lib/postgresql/15/bin); as root, the clusters run as
user postgres. Internal modes --write/--counts run inside the app against DATABASE_URL.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
BACKUP_SCRIPTS = ROOT / "deploy" / "backup"
YANXIU = ROOT / ".venv" / "bin" / "yanxiu"
PYTHON = ROOT / ".venv" / "bin" / "python"
RESTORE_POINT = "drill-point"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(command: list) -> list:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    result = subprocess.run([str(part) for part in command], env=env, capture_output=True, text=True,
                            timeout=timeout, cwd=ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                           f"{result.stderr[-3000:]}")
    return result


def _give_to_postgres(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    path.chmod(0o700)


def _app_env(port: int, var_dir: Path) -> dict:
    """The app against one cluster; the integrity keys (var/keys) shared by original and copy."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DATABASE_", "REDIS_", "CELERY_", "YANXIU_"))}
    env.update(DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/yanxiu", YANXIU_VAR_DIR=str(var_dir),
               YANXIU_ENV="dev", DJANGO_SETTINGS_MODULE="config.settings")
    return env


def _counts(env: dict) -> dict:
    return json.loads(_run([PYTHON, __file__, "--counts"], env=env).stdout.strip().splitlines()[-1])


def _verifications(env: dict) -> dict:
    results = {}
    for name, command in (("audit_verify", [YANXIU, "audit", "verify"]), ("credits_verify", [YANXIU, "credits", "verify"])):
        done = subprocess.run([str(part) for part in command], env=env, capture_output=True, text=True, cwd=ROOT, timeout=900)
        results[name] = {"ok": done.returncode == 0, "output": (done.stdout + done.stderr).strip()[-300:]}
    return results


def drill(scale: str, keep: bool) -> dict:
    for tool in ("initdb", "pg_ctl", "pg_basebackup", "pg_verifybackup"):
        if not (PG_BIN / tool).exists():
            raise SystemExit(f"{PG_BIN / tool} missing: install the PostgreSQL 15 server or set PG_BIN")
    work = Path(tempfile.mkdtemp(prefix="yanxiu-drill-"))
    work.chmod(0o755)  # user postgres must reach its directories inside
    primary, archive, backup, restored, var_dir = (work / name for name in ("primary", "archive", "backup", "restored", "var"))
    for path in (primary, archive):
        _give_to_postgres(path)
    var_dir.mkdir()
    port, restored_port = _free_port(), _free_port()
    timings: dict[str, float] = {}
    report: dict = {"scale": scale, "work_dir": str(work), "ports": {"original": port, "restored": restored_port}}
    started = time.perf_counter()

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 2)
        return now

    clock = time.perf_counter()
    try:
        _run(_as_postgres([PG_BIN / "initdb", "-D", primary, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                           "--locale=C.UTF-8"]))
        with (primary / "postgresql.conf").open("a") as conf:
            conf.write(f"""
# backup drill
port = {port}
listen_addresses = '127.0.0.1'
unix_socket_directories = '{primary}'
wal_level = replica
archive_mode = on
archive_command = '{BACKUP_SCRIPTS / "archive_wal.sh"} %p %f {archive}'
# A scratch cluster: a crash loses it anyway, so no fsync (the WAL that is archived is the same).
fsync = off
synchronous_commit = off
shared_buffers = 64MB
""")
        _run(_as_postgres([PG_BIN / "pg_ctl", "-D", primary, "-l", primary / "server.log", "-w", "start"]))
        _run(["createdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "yanxiu"])
        clock = lap("cluster", clock)
        env = _app_env(port, var_dir)
        _run([YANXIU, "migrate", "--no-input", "-v0"], env=env)
        clock = lap("migrate", clock)
        _run([YANXIU, "synth", "--scale", scale, "--seed", "1"], env=dict(env, YANXIU_DEMO_PASSWORD=secrets.token_urlsafe(16)))
        clock = lap("synth", clock)
        _run([BACKUP_SCRIPTS / "base_backup.sh", backup, "127.0.0.1", port])
        clock = lap("base_backup", clock)
        _run([PYTHON, __file__, "--write", "before-point"], env=env)
        _run([BACKUP_SCRIPTS / "restore_point.sh", RESTORE_POINT, "127.0.0.1", port])
        recorded = _counts(env)
        recorded_checks = _verifications(env)
        clock = lap("write_and_record", clock)
        _run([PYTHON, __file__, "--write", "after-point"], env=env)
        after = _counts(env)
        # The point's segment was switched out; this one must reach the archive too (not needed to
        # reach the point, but a real restore needs everything archived).
        _run(["psql", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-XtAqc", "SELECT pg_switch_wal()", "postgres"])
        clock = lap("write_after", clock)
        _run([BACKUP_SCRIPTS / "restore.sh", backup, archive, restored, restored_port, "--name", RESTORE_POINT])
        clock = lap("restore", clock)
        restored_env = _app_env(restored_port, var_dir)
        copy = _counts(restored_env)
        copy_checks = _verifications(restored_env)
        lap("verify_copy", clock)
        report.update(
            recorded=recorded, recorded_checks={k: v["ok"] for k, v in recorded_checks.items()},
            after_point=after, restored=copy, restored_checks=copy_checks,
            counts_equal=copy == recorded, later_writes_absent=after != recorded and copy != after,
            archived_segments=len([p for p in archive.iterdir() if not p.name.startswith(".")]),
        )
        report["ok"] = bool(report["counts_equal"] and report["later_writes_absent"]
                            and all(report["recorded_checks"].values())
                            and all(check["ok"] for check in copy_checks.values()))
    finally:
        for datadir in (restored, primary):
            if (datadir / "postmaster.pid").exists():
                subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop"]),
                               capture_output=True, timeout=120)
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    timings["total"] = round(time.perf_counter() - started, 2)
    report["seconds"] = timings
    return report


# -- inside the app (DATABASE_URL set by the drill) -------------------------------------------


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def write_batch(tag: str, teachers: int = 40) -> int:
    """Hours for `teachers` teachers through ledger_entry_record: an entry, its checksum, the
    teacher's seal, the totals and an audit event each."""
    _setup_django()
    from django.utils import timezone

    from credits.constants import Category, SourceType
    from credits.services import ledger_entry_record
    from people.models import Teacher

    today = timezone.localdate()
    written = 0
    # Teachers whose day is still empty: the day cap (12 h) refuses more for a teacher the
    # synthetic history already gave a full day today (which day that is follows the clock).
    candidates = Teacher.objects.dangerously_unscoped().exclude(ledger_entries__occurred_on=today)
    for teacher in candidates.order_by("pk")[:teachers]:
        _entry, created = ledger_entry_record(teacher=teacher, category=Category.values[0], hours="1.5",
                                              occurred_on=today, source_type=SourceType.PROJECT,
                                              source_id=f"drill-{tag}-{teacher.pk}")
        written += int(created)
    return written


def counts() -> dict:
    _setup_django()
    from django.db import connection

    from audit.models import AuditEvent
    from credits.models import CycleTotal, LedgerDecision, LedgerEntry, LedgerSeal

    queries = {
        "audit_events": f"SELECT count(*) FROM {AuditEvent._meta.db_table}",  # noqa: S608 - model table names
        "ledger_entries": f"SELECT count(*) FROM {LedgerEntry._meta.db_table}",  # noqa: S608
        "ledger_decisions": f"SELECT count(*) FROM {LedgerDecision._meta.db_table}",  # noqa: S608
        "ledger_seals": f"SELECT count(*) FROM {LedgerSeal._meta.db_table}",  # noqa: S608
        "ledger_hours": f"SELECT COALESCE(sum(hours), 0)::text FROM {LedgerEntry._meta.db_table}",  # noqa: S608
        "approved_hours_total": f"SELECT COALESCE(sum(approved_hours), 0)::text FROM {CycleTotal._meta.db_table}",  # noqa: S608
        "pending_hours_total": f"SELECT COALESCE(sum(pending_hours), 0)::text FROM {CycleTotal._meta.db_table}",  # noqa: S608
        "last_audit_id": f"SELECT COALESCE(max(id), 0) FROM {AuditEvent._meta.db_table}",  # noqa: S608
    }
    found = {}
    with connection.cursor() as cursor:
        for name, sql in queries.items():
            cursor.execute(sql)
            found[name] = cursor.fetchone()[0]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="0.001", help="synthetic province share (yanxiu synth --scale)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (clusters stopped)")
    parser.add_argument("--write", metavar="TAG", help=argparse.SUPPRESS)
    parser.add_argument("--counts", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.write:
        print(json.dumps({"written": write_batch(options.write)}))
        return
    if options.counts:
        print(json.dumps(counts()))
        return
    report = drill(options.scale, options.keep)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    sys.exit(0 if report.get("ok") else 1)


if __name__ == "__main__":
    main()
