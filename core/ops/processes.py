"""How `yanxiu serve`, `yanxiu worker` and `yanxiu beat` start their programs: the command line
and environment of gunicorn and Celery. The commands then replace themselves with the program
(exec), so systemd's signals reach gunicorn and Celery directly."""

import os
import sys
from pathlib import Path

from django.conf import settings

GUNICORN_CONFIG = Path(settings.BASE_DIR) / "config" / "gunicorn.py"
CELERY_APP = "config.celery:app"


def metrics_env(role: str) -> dict[str, str]:
    """Each program family writes its metrics files to its own folder under METRICS_DIR, emptied
    by its own start (gunicorn's configuration, `yanxiu worker`), never by the other's."""
    folder = Path(settings.METRICS_DIR) / role
    return {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), "METRICS_DIR": str(settings.METRICS_DIR)}


def env_without_metrics() -> dict[str, str]:
    """beat only sends tasks: it keeps no metrics files."""
    return {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}


def empty_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)


def gunicorn_argv(*, bind: list[str], workers: int | None) -> list[str]:
    argv = [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONFIG)]
    for address in bind:
        argv += ["--bind", address]
    if workers:
        argv += ["--workers", str(workers)]
    return [*argv, "config.wsgi:application"]


def worker_argv(*, queues: list[str], concurrency: int | None, max_tasks_per_child: int,
                max_memory_mb: int, loglevel: str) -> list[str]:
    argv = [sys.executable, "-m", "celery", "--app", CELERY_APP, "worker",
            "--queues", ",".join(queues),
            # Tasks are acknowledged after they ran (acks_late): a worker that took several at
            # once would hold them back from idle workers, and lose none of them by crashing.
            "--prefetch-multiplier", "1",
            # A fresh process after this many tasks or this much memory: the nightly batches
            # (push model, compliance) leave large heaps behind.
            "--max-tasks-per-child", str(max_tasks_per_child),
            "--max-memory-per-child", str(max_memory_mb * 1024),
            "--loglevel", loglevel,
            # Workers need not know each other: less broker traffic, faster start.
            "--without-gossip", "--without-mingle"]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    return argv


def beat_argv(*, loglevel: str) -> list[str]:
    var = Path(settings.VAR_DIR)
    return [sys.executable, "-m", "celery", "--app", CELERY_APP, "beat",
            "--schedule", str(var / "celerybeat-schedule"),
            "--pidfile", str(var / "celerybeat.pid"),
            "--loglevel", loglevel]


def replace_process(argv: list[str], env: dict[str, str]) -> None:
    os.execvpe(argv[0], argv, env)  # noqa: S606 - our own interpreter, a fixed program
