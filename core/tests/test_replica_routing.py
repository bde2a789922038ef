"""Read routing against a real streaming replica of the test cluster.

A session fixture makes the replica once (pg_basebackup -R of the primary on a free loopback
port, deploy/replica/make_replica.sh); the test databases, created on the primary, stream to
it like any other write. Each test adds the `replica` alias for itself only."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.db import connections, transaction
from django.db.models.expressions import RawSQL
from django.urls import reverse

from core import dbrouting
from core.dbrouting import health_cache, replica_reads
from people.models import Teacher

pytestmark = [pytest.mark.pg_only, pytest.mark.django_db(transaction=True, serialized_rollback=True, databases="__all__")]

REPO = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Replica:
    def __init__(self, datadir: Path, port: int):
        self.datadir, self.port = datadir, port

    def _pg_ctl(self, *args: str) -> None:
        command = [str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "immediate", "-w")

    def start(self) -> None:
        primary = settings.DATABASES["default"]
        subprocess.run([str(REPO / "deploy/replica/make_replica.sh"), str(self.datadir), str(self.port),
                        primary.get("HOST") or "127.0.0.1", str(primary.get("PORT") or 5432)],
                       check=True, capture_output=True, timeout=300)


@pytest.fixture(scope="session")
def replica_server(django_db_setup, django_db_blocker):
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("needs PostgreSQL")
    if not (PG_BIN / "pg_basebackup").exists() or not (PG_BIN / "pg_ctl").exists():
        pytest.skip(f"PostgreSQL server binaries not found in {PG_BIN} (set PG_BIN)")
    primary = settings.DATABASES["default"]
    allow = subprocess.run([str(REPO / "deploy/replica/allow_replication.sh"), primary.get("HOST") or "127.0.0.1",
                            str(primary.get("PORT") or 5432)], capture_output=True, text=True, timeout=60)
    if allow.returncode != 0:
        pytest.skip(f"the primary refuses replication connections: {allow.stderr.strip()}")
    datadir = Path(tempfile.mkdtemp(prefix="yanxiu-replica-"))
    replica = Replica(datadir, _free_port())
    try:
        replica.start()
    except subprocess.CalledProcessError as error:
        log = (datadir / "replica.log").read_text(errors="replace")[-2000:] if (datadir / "replica.log").exists() else ""
        shutil.rmtree(datadir, ignore_errors=True)
        pytest.fail(f"could not make the replica: {error.stderr!r} {log}")
    yield replica
    try:
        replica.stop()
    except subprocess.CalledProcessError:
        pass  # already stopped by a test
    shutil.rmtree(datadir, ignore_errors=True)


@pytest.fixture(scope="module")
def replica_alias(replica_server):
    """The `replica` alias, as DATABASE_REPLICA_URL would make it, for this module only: module
    scope, so it exists before each test case class names the databases it may use."""
    # DATABASES and connections.settings are one dict: Django fills in the alias's defaults.
    alias = dict(settings.DATABASES["default"], HOST="127.0.0.1", PORT=replica_server.port,
                 OPTIONS={"connect_timeout": 2}, TEST={"MIRROR": "default"})
    connections.configure_settings({"default": settings.DATABASES["default"], "replica": alias})
    settings.DATABASES["replica"] = alias
    yield replica_server
    connections["replica"].close()
    del connections["replica"]
    settings.DATABASES.pop("replica", None)
    health_cache.forget()


@pytest.fixture
def replica(replica_alias, settings):
    settings.REPLICA_HEALTH_SECONDS = 0  # every read probes: the tests stop and start it
    settings.REPLICA_MAX_LAG = 3600  # replay is paused on purpose in one test
    health_cache.forget()
    yield replica_alias
    health_cache.forget()


def _replica_sql(sql: str):
    with connections["replica"].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def _wait_replayed(timeout: float = 10) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        target = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connections["replica"].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)
    raise AssertionError("the replica did not catch up")


def _server_port_of_teacher_read() -> int | None:
    return Teacher.objects.dangerously_unscoped().annotate(port=RawSQL("inet_server_port()", [])).values_list("port", flat=True).first()


class _Reads:
    """Which alias each query of a request went to."""

    def __init__(self):
        self.aliases: list[str] = []

    def __enter__(self):
        self._hooks = []
        for alias in ("default", "replica"):
            hook = connections[alias].execute_wrapper(self._recorder(alias))
            hook.__enter__()
            self._hooks.append(hook)
        return self

    def _recorder(self, alias):
        def record(execute, sql, params, many, context):
            self.aliases.append(alias)
            return execute(sql, params, many, context)
        return record

    def __exit__(self, *exc):
        for hook in reversed(self._hooks):
            hook.__exit__(*exc)


def test_replica_reads_use_the_replica_but_not_after_a_write_nor_in_atomic_blocks(replica, province):
    _wait_replayed()
    assert _server_port_of_teacher_read() == int(settings.DATABASES["default"].get("PORT") or 5432)
    with replica_reads():
        assert _server_port_of_teacher_read() == replica.port
        assert _replica_sql("SELECT pg_is_in_recovery()") is True
        assert Teacher.objects.dangerously_unscoped().filter(name="张三").exists()  # committed on the primary, replayed here
        Teacher.objects.dangerously_unscoped().filter(name="张三").update(title=Teacher.objects.dangerously_unscoped().get(name="张三").title)
        # After a write, the same unit of work reads its own writes from the primary.
        assert _server_port_of_teacher_read() != replica.port
    with replica_reads(), transaction.atomic():
        assert _server_port_of_teacher_read() != replica.port  # read-modify-write stays on the primary


def _rename_form(teacher, name: str) -> dict:
    subjects = teacher.subject_codes
    return {"name": name, "school_code": teacher.school.code, "stage": teacher.stage,
            "main_subject": subjects[0] if subjects else "chinese", "other_subjects": subjects[1:],
            "title": teacher.title, "hire_date": teacher.hire_date.isoformat(), "status": teacher.status,
            "honours": ""}


def test_a_page_after_a_write_shows_the_write(replica, users, province, client):
    teacher = province.teacher
    admin = users["province_admin"]
    _wait_replayed()
    client.force_login(admin)
    with _Reads() as reads:
        assert client.get(reverse("people:teacher_list")).status_code == 200
    assert "replica" in reads.aliases

    # Replay paused: the replica keeps the old name, so only the primary can show the new one.
    _replica_sql("SELECT pg_wal_replay_pause()")
    try:
        response = client.post(reverse("people:teacher_edit", args=[teacher.pk]), _rename_form(teacher, "张三丰"))
        assert response.status_code == 302, response.content.decode()[:2000]
        assert dbrouting.PIN_COOKIE in response.cookies
        with _Reads() as reads:
            page = client.get(reverse("people:teacher_list"))
        assert "张三丰" in page.content.decode()
        assert "replica" not in reads.aliases

        # Another browser, not pinned, reads the lagging replica: the old name.
        other = client.__class__()
        other.force_login(admin)
        with _Reads() as reads:
            stale = other.get(reverse("people:teacher_list"))
        assert "replica" in reads.aliases
        assert "张三丰" not in stale.content.decode()
    finally:
        _replica_sql("SELECT pg_wal_replay_resume()")


def test_the_pin_expires(replica, users, client):
    client.force_login(users["province_admin"])
    response = client.post(reverse("people:teacher_edit", args=[0]))  # an unsafe method pins, even a 404
    assert dbrouting.PIN_COOKIE in response.cookies
    _wait_replayed()
    with _Reads() as reads:
        client.get(reverse("people:teacher_list"))
    assert "replica" not in reads.aliases
    # The signed cookie's own timestamp ends the pin, whatever the browser keeps.
    with time_machine.travel(time.time() + settings.REPLICA_PIN_SECONDS + 1):
        with _Reads() as reads:
            client.get(reverse("people:teacher_list"))
    assert "replica" in reads.aliases


def test_pages_answer_while_the_replica_is_down_and_use_it_again_after(replica, users, client, settings):
    client.force_login(users["province_admin"])
    _wait_replayed()
    with _Reads() as reads:
        assert client.get(reverse("people:teacher_list")).status_code == 200
    assert "replica" in reads.aliases

    replica.stop()
    try:
        # Still believed healthy (a long cache): the first read fails, the view runs again on the primary.
        settings.REPLICA_HEALTH_SECONDS = 300
        with _Reads() as reads:
            assert client.get(reverse("people:teacher_list")).status_code == 200
        assert not health_cache.current().usable
        # Known to be down: straight to the primary, no connection attempt.
        for name in ("people:teacher_list", "credits:compliance"):
            response = client.get(reverse(name), follow=True)
            assert response.status_code == 200
        settings.REPLICA_HEALTH_SECONDS = 0
        assert client.get(reverse("people:teacher_list")).status_code == 200
    finally:
        replica.start()
    _wait_replayed()
    # The compliance page rebuilt its stale snapshot (a write): that browser is pinned for a while.
    client.cookies.pop(dbrouting.PIN_COOKIE, None)
    # Replayed from its own WAL first; used again once its WAL receiver streams from the primary.
    deadline = time.monotonic() + 30
    while not dbrouting.probe_replica().usable and time.monotonic() < deadline:
        time.sleep(0.1)
    with _Reads() as reads:
        assert client.get(reverse("people:teacher_list")).status_code == 200
    assert "replica" in reads.aliases
