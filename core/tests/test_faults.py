"""Faults with real processes: a Celery worker killed in the middle of a task, Redis restarted
with tasks queued, and pages while Redis is down. Each test starts its own redis-server on a free
port (append-only file on), never the shared one, and its own workers against the test database."""

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.urls import reverse

from people.models import ImportBatch, Teacher
from people.roster.columns import COLUMNS
from people.tests.factories import make_id_number

REPO = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")
needs_redis = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(condition, timeout: float, what: str, every: float = 0.1, state=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what} {state()}")


class RedisServer:
    """A private redis-server with appendonly on and fsync on every write, as production should run."""

    def __init__(self, directory: Path):
        self.directory, self.port = directory, _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def answers():
            try:
                return self.client().ping()
            except redis.exceptions.ConnectionError:
                return False
        _wait(answers, 20, "redis-server")

    def crash(self) -> None:
        """SIGKILL: no shutdown save; only what the append-only file already holds survives."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.process and server.process.poll() is None:
        server.crash()


class Workers:
    """Celery workers in their own process groups, against the test database and the private Redis."""

    def __init__(self, redis_url: str, log_dir: Path):
        database = settings.DATABASES["default"]
        self.env = {key: value for key, value in os.environ.items() if not key.startswith(("CELERY_", "REDIS_"))}
        self.env.update(
            DATABASE_URL=f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}",
            REDIS_URL=redis_url, CELERY_TASK_ALWAYS_EAGER="0", YANXIU_VAR_DIR=str(settings.VAR_DIR),
            # A dead worker's message comes back after 3 s (production: longer than the longest task).
            CELERY_VISIBILITY_TIMEOUT="3", CELERY_UNACKED_RESTORE_INTERVAL="1",
            CELERY_UNACKED_MUTEX_EXPIRE="5")
        self.log_dir, self.started = log_dir, []

    def start(self) -> subprocess.Popen:
        log = (self.log_dir / f"worker-{len(self.started)}.log").open("w")
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "config", "worker", "-P", "prefork", "-c", "1",
             "-l", "info", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append(process)
        return process

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        os.killpg(process.pid, signal.SIGKILL)  # the worker and its pool child, mid-task
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                self.kill(process)


@pytest.fixture
def workers(redis_server, tmp_path):
    pool = Workers(redis_server.url, tmp_path)
    yield pool
    pool.stop_all()


def _roster(path: Path, school_code: str, count: int, first: int = 0) -> Path:
    lines = [",".join(COLUMNS)]
    for i in range(first, first + count):
        birth = dt.date(1970, 1, 1) + dt.timedelta(days=i // 400)
        number = make_id_number(i % 400, birth=birth, area="410221")
        lines.append(f",故障{i:05d},{number},{school_code},小学,数学,一级教师,2012-09-01,在岗,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _send_import(redis_url: str, path: Path, actor_id: int) -> None:
    # A producer of its own: the test process's Celery app runs tasks eagerly.
    producer = Celery(broker=redis_url, set_as_current=False)  # the test process keeps its own app
    producer.send_task("people.tasks.roster_import_task",
                       kwargs={"upload_path": str(path), "file_name": path.name, "actor_id": actor_id})
    producer.close()


def _batches():
    return ImportBatch.objects.dangerously_unscoped()


def _imported() -> int:
    return Teacher.objects.dangerously_unscoped().filter(name__startswith="故障").count()


@needs_redis
@pytest.mark.pg_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_import_redelivers_and_imports_once(users, province, redis_server, workers, tmp_path):
    rows = 6000
    upload = _roster(tmp_path / "roster.csv", province.school.code, rows)
    actor = users["county_admin"]
    first = workers.start()
    _send_import(redis_server.url, upload, actor.pk)
    # Killed once the first chunks are committed and before the last one.
    batch = _wait(lambda: _batches().filter(rows_done__gte=1000).first(), 180, "the first committed chunk", every=0.02)
    workers.kill(first)
    batch.refresh_from_db()
    assert batch.state == ImportBatch.State.RUNNING and batch.rows_done < rows
    assert 0 < _imported() < rows
    assert upload.exists()  # the killed task never reached its clean-up

    client = redis_server.client()
    assert client.hlen("unacked") == 1  # delivered, never acknowledged: kept by Redis, not lost
    workers.start()  # finds the message its dead predecessor never acknowledged
    _wait(lambda: _batches().filter(state=ImportBatch.State.DONE).exists(), 180, "the redelivered import",
          state=lambda: f"redis keys {client.keys('*')}, batches {list(_batches().values('state', 'rows_done'))}")
    assert _batches().count() == 1  # resumed, not started over as a second batch
    batch = _batches().get()
    assert (batch.rows_done, batch.rejected) == (rows, 0)
    assert _imported() == rows  # nothing lost, nothing doubled
    assert Teacher.objects.dangerously_unscoped().filter(name="故障00000").count() == 1
    assert not upload.exists()
    # Done once: the queue is empty and nothing is waiting for an acknowledgement.
    assert client.llen("celery") == 0
    assert client.hlen("unacked") == 0


@needs_redis
@pytest.mark.pg_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_queued_tasks_survive_a_redis_crash(users, province, redis_server, workers, tmp_path):
    actor = users["county_admin"]
    for n in range(3):
        _send_import(redis_server.url, _roster(tmp_path / f"roster-{n}.csv", province.school.code, 1, first=n), actor.pk)
    assert redis_server.client().llen("celery") == 3
    redis_server.crash()
    redis_server.start()  # same directory: the append-only file is replayed
    assert redis_server.client().llen("celery") == 3
    workers.start()
    _wait(lambda: _batches().filter(state=ImportBatch.State.DONE).count() == 3, 180, "the three queued imports")
    assert _imported() == 3


@needs_redis
def test_pages_answer_while_redis_is_down(users, client, redis_server, settings):
    settings.CACHES = {"default": {"BACKEND": "core.cache.FallbackRedisCache", "LOCATION": redis_server.url,
                                   "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5, "retry_seconds": 5}}}
    from django.core.cache import cache

    cache.set("probe", 1)
    assert redis_server.client().exists(":1:probe")  # really in Redis while it is up
    redis_server.crash()

    anonymous = client.__class__()
    assert anonymous.get(reverse("accounts:login")).status_code == 200
    # A failed log-in counts failures in the cache: still counted, in this process's memory.
    for _ in range(settings.LOGIN_MAX_FAILURES_PER_ACCOUNT):
        response = anonymous.post(reverse("accounts:login"), {"username": "admin-410000", "password": "wrong"})
        assert response.status_code in (200, 429)
    assert cache.get("probe") is None and cache.set("later", 2) is None and cache.get("later") == 2
    client.force_login(users["province_admin"])
    assert client.get(reverse("people:teacher_list")).status_code == 200
    assert client.get(reverse("people:roster_export")).status_code == 200  # rate-limited through the cache
