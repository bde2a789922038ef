"""gunicorn's configuration for production (`yanxiu serve`, or `gunicorn -c config/gunicorn.py
config.wsgi:application`). Every value can be changed from the environment; docs/OPERATIONS.md
(section 3.1) says why each default is what it is.

gthread workers: the app is synchronous Django on psycopg, so each request holds a thread while it
waits on the database; a few threads per process overlap those waits, and the thread pool keeps
nginx's idle keep-alive connections without tying up a worker."""

import multiprocessing
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("YANXIU_VAR_DIR") or BASE_DIR / "var")


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def default_workers(cores: int, cap: int) -> int:
    """2 × cores + 1, the usual rule for processes that wait on I/O, capped: each process holds
    its own copy of the app's caches and connections (PostgreSQL's max_connections is shared by
    every process × thread of every host)."""
    return max(1, min(2 * cores + 1, cap))


def prepare_metrics_dir() -> Path:
    """prometheus_client's multiprocess files of this server, emptied at start: files of a
    previous run's processes would otherwise be added to this run's counters for ever."""
    folder = Path(os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR", str(Path(os.environ.get("METRICS_DIR") or VAR_DIR / "metrics") / "web")))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)
    return folder


# Before the app is imported (preload): prometheus_client picks its storage at import time.
prepare_metrics_dir()

wsgi_app = "config.wsgi:application"
bind = [address for address in os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",") if address]
workers = _int("GUNICORN_WORKERS", default_workers(multiprocessing.cpu_count(), _int("GUNICORN_MAX_WORKERS", 8)))
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)
# Import the app once in the master: a broken deploy fails before any worker starts, and the
# workers share the imported code's memory (copy-on-write).
preload_app = True
# Recycle a worker after this many requests (± jitter, so they do not all restart together):
# bounds the growth of caches and fragmentation in a long-lived process.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# A request running longer than this is killed with its worker (exports and imports that may
# take longer run as Celery tasks).
timeout = _int("GUNICORN_TIMEOUT", 60)
# On SIGTERM/HUP, requests in flight get this long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Longer than nginx's idle upstream keep-alive (keepalive_timeout 60s in deploy/nginx): the
# proxy, not gunicorn, closes an idle connection, so it never reuses one gunicorn just closed.
keepalive = _int("GUNICORN_KEEPALIVE", 75)
# Only nginx (on this host by default) may set the scheme through X-Forwarded-Proto.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# The worker heartbeat file on a memory file system: a slow disk cannot make workers look hung.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - a folder, not a file name
# Django logs one line per request (core.ops.middleware: route, status, time, request id):
# gunicorn's access log would repeat it with the query string.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The runtime control socket is off unless a path is given (with ProtectSystem=strict its
# default under $HOME is not writable).
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
proc_name = "yanxiu-web"

if (os.environ.get("LOG_FORMAT") or ("json" if os.environ.get("YANXIU_ENV") == "prod" else "text")) == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "core.ops.log_format.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json",
                                 "stream": "ext://sys.stderr"}},
        "loggers": {"gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False}},
    }


def when_ready(server):
    # Preloading may have opened a database connection in the master; the workers must not
    # share its socket.
    from django.db import connections

    connections.close_all()


def child_exit(server, worker):
    """A worker ended: its live gauges leave the exposition (its counters stay, as they should)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)

