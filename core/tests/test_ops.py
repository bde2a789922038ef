"""Health checks, metrics, request ids and structured logs (core/ops)."""

import io
import json
import logging
import re
import subprocess
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.db.utils import OperationalError
from django.http import HttpResponse

from config.celery import app as celery_app
from core.logging import RedactPersonalDataFilter
from core.ops import celery_signals, health, metrics
from core.ops.log_format import JsonFormatter
from core.ops.middleware import RequestContextMiddleware
from core.ops.request_id import bind_request_id, current_request_id, unbind_request_id
from core.ops.static_finders import NodeFilesFinder
from core.ops.static_headers import cache_hashed_for_a_year
from people.tests.factories import make_id_number

ROOT = Path(__file__).resolve().parents[2]
ID_NUMBER = make_id_number(7)
HEX_ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(autouse=True)
def _fresh_migrations_check():
    health.forget_migrations_check()
    yield
    health.forget_migrations_check()


SEEN_IN_TASKS: list[str | None] = []


@celery_app.task(name="core.tests.test_ops.remember_request_id")
def remember_request_id() -> str | None:
    logging.getLogger("yanxiu.test").info("inside the task")
    SEEN_IN_TASKS.append(current_request_id())
    return current_request_id()


# --- liveness and readiness ------------------------------------------------------------------


def test_healthz_answers_without_the_database(client):
    # No django_db mark: any query would raise.
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_200_when_the_database_answers_and_nothing_is_unapplied(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}


@pytest.mark.django_db
def test_readyz_names_an_unapplied_migration(client, monkeypatch):
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("a migration", False)])
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "ok", "migrations": "pending"}}


@pytest.mark.django_db
def test_readyz_names_a_database_that_does_not_answer_without_its_host(client, monkeypatch):
    def refuse(self):
        raise OperationalError('connection to server at "10.9.8.7", port 5432 failed: password authentication')

    monkeypatch.setattr(type(connections["default"]), "cursor", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unavailable"
    assert b"10.9.8.7" not in response.content and b"password" not in response.content


@pytest.mark.django_db
def test_readyz_names_redis_when_it_does_not_answer_but_stays_ready(client, settings):
    settings.REDIS_URL = "redis://user:secret@127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    # Pages still serve without Redis (the cache falls back): degraded, not out of the pool.
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    assert response.json()["checks"]["redis"] == "unavailable"
    assert b"secret" not in response.content and b"127.0.0.1" not in response.content


@pytest.mark.django_db
def test_readyz_stays_ready_but_degraded_when_the_replica_does_not_answer(client, monkeypatch):
    from django.conf import settings as django_settings

    # A configured replica that does not answer: reads fall back to the primary, so the host stays
    # in the pool (200) while the answer names the failing alias.
    monkeypatch.setitem(django_settings.DATABASES, "replica", dict(django_settings.DATABASES["default"]))
    real_check = health.database_check
    monkeypatch.setattr(health, "database_check",
                        lambda alias: "unavailable" if alias == "replica" else real_check(alias))
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    assert response.json()["checks"]["database:replica"] == "unavailable"
    assert response.json()["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_the_migrations_check_is_kept_for_a_few_seconds(monkeypatch, settings):
    settings.READYZ_MIGRATIONS_CACHE_SECONDS = 60
    plans = []
    original = MigrationExecutor.migration_plan

    def counted(self, targets):
        plans.append(1)
        return original(self, targets)

    monkeypatch.setattr(MigrationExecutor, "migration_plan", counted)
    assert health.migrations_check() == "ok" and health.migrations_check() == "ok"
    assert len(plans) == 1
    settings.READYZ_MIGRATIONS_CACHE_SECONDS = 0
    health.migrations_check()
    assert len(plans) == 2


@pytest.mark.django_db
def test_the_probes_skip_the_https_redirect_but_pages_do_not(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/accounts/login/").status_code == 301


# --- metrics ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_answer_loopback_and_refuse_other_addresses(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 200  # the test client comes from 127.0.0.1
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    # Through our proxy, the address the proxy reports counts, not the proxy's own.
    settings.TRUSTED_PROXY_HOPS = 1
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403
    settings.METRICS_ALLOWED_IPS = ["203.0.113.0/24"]
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 200
    assert client.get("/metrics").status_code == 403


@pytest.mark.django_db
def test_metrics_answer_a_bearer_token_from_anywhere(client, settings):
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    outside = {"REMOTE_ADDR": "198.51.100.4"}
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-0123456789", **outside).status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong", **outside).status_code == 403
    assert client.get("/metrics", **outside).status_code == 403


@pytest.mark.django_db
def test_request_metrics_are_labelled_by_route_never_by_path(client, users, client_for, province):
    signed_in = client_for(users["county_admin"])
    teacher_id = province.teacher.pk
    assert signed_in.get(f"/teachers/{teacher_id}/?q={ID_NUMBER}").status_code == 200
    signed_in.generic("BREW", "/healthz")  # an invented method is not a label of its own
    text = client.get("/metrics").content.decode()
    assert re.search(r'django_http_requests_latency_seconds_by_view_method_count\{method="GET",view="people:teacher_detail"\} [1-9]', text), text[:3000]
    assert re.search(r'django_http_responses_total_by_status_view_method_total\{method="GET",status="200",view="people:teacher_detail"\}', text)
    assert f"/teachers/{teacher_id}" not in text and ID_NUMBER not in text
    assert "BREW" not in text
    assert re.search(r'yanxiu_db_queries_total\{alias="default"\} [1-9]', text)
    assert "yanxiu_db_query_duration_seconds_bucket" in text


def test_database_statements_are_counted_and_timed():
    timer = metrics.QueryTimer("replica")
    before = metrics.DB_QUERIES.labels("replica")._value.get()
    assert timer(lambda sql, params, many, context: "rows", "SELECT 1", (), False, {}) == "rows"

    def failing(sql, params, many, context):
        raise OperationalError("gone")

    with pytest.raises(OperationalError):
        timer(failing, "SELECT 1", (), False, {})
    assert metrics.DB_QUERIES.labels("replica")._value.get() == before + 2
    assert metrics.DB_QUERY_ERRORS.labels("replica")._value.get() >= 1


def test_task_outcomes_are_counted():
    class Task:
        name = "credits.tasks.ledger_checkpoint_task"

    def count(outcome):
        return metrics.TASKS.labels(Task.name, outcome)._value.get()

    before = {outcome: count(outcome) for outcome in ("success", "failure", "retry")}
    celery_signals.task_succeeded(sender=Task())
    celery_signals.task_failed(sender=Task())
    celery_signals.task_retried(sender=Task())
    assert {outcome: count(outcome) - before[outcome] for outcome in before} == {"success": 1, "failure": 1, "retry": 1}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_keeps_its_database_connection_between_tasks_until_it_is_too_old():
    class Task:
        def __init__(self, eager):
            self.request = type("Request", (), {"is_eager": eager})()

    connection = connections["default"]
    if connection.vendor == "sqlite":
        pytest.skip("Django never closes the in-memory SQLite test database")
    connection.ensure_connection()
    held = connection.connection
    # Celery's own fixup would close it after every task; the worker reuses it instead.
    assert celery_app.conf.get("CELERY_DB_REUSE_MAX") >= 100
    connection.close_at = time.monotonic() + 60  # as CONN_MAX_AGE = 60 sets it
    celery_signals.database_connections_checked(sender=Task(eager=False))
    assert connection.connection is held
    connection.close_at = time.monotonic() - 1  # older than CONN_MAX_AGE: closed, reopened by the next query
    celery_signals.database_connections_checked(sender=Task(eager=True))  # a task run in place: untouched
    assert connection.connection is held
    celery_signals.database_connections_checked(sender=Task(eager=False))
    assert connection.connection is None


def _redis_or_skip():
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return client


def _samples(collector) -> dict:
    return {(sample.name, tuple(sample.labels.values())): sample.value
            for family in collector.collect() for sample in family.samples}


def test_queue_depth_is_read_from_redis_at_scrape_time():
    client = _redis_or_skip()
    queue = "yanxiu-test-queue-depth"
    client.delete(queue)
    client.rpush(queue, "a", "b", "c")
    try:
        samples = _samples(metrics.QueueDepthCollector("redis://127.0.0.1:6379/15", [queue, "empty-queue"]))
    finally:
        client.delete(queue)
        client.close()
    assert samples[("yanxiu_celery_broker_up", ())] == 1
    assert samples[("yanxiu_celery_queue_length", (queue,))] == 3
    assert samples[("yanxiu_celery_queue_length", ("empty-queue",))] == 0


def test_queue_depth_tolerates_redis_being_down():
    samples = _samples(metrics.QueueDepthCollector("redis://127.0.0.1:1/0", ["celery"]))
    assert samples == {("yanxiu_celery_broker_up", ()): 0}


def test_multiprocess_files_of_web_and_worker_are_added_up(tmp_path, settings):
    """What a gunicorn scrape shows: the values every process wrote (web and worker folders)."""
    script = """
import os, sys
from prometheus_client import Counter
Counter("yanxiu_test_runs", "test", ["role"]).labels(sys.argv[1]).inc(int(sys.argv[2]))
"""
    for role, times in (("web", 2), ("web", 3), ("worker", 4)):
        folder = tmp_path / role
        folder.mkdir(exist_ok=True)
        subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", script, role, str(times)], check=True,
                       env={"PROMETHEUS_MULTIPROC_DIR": str(folder)}, timeout=60)
    collector = metrics.MergedFilesCollector([tmp_path / "web", tmp_path / "worker"])
    samples = _samples(collector)
    assert samples[("yanxiu_test_runs_total", ("web",))] == 5
    assert samples[("yanxiu_test_runs_total", ("worker",))] == 4


# --- request ids -----------------------------------------------------------------------------


@pytest.mark.parametrize(("sent", "kept"), [
    ("4f1c2b9e0d8a4c6b9a7e5d3c1b2a0f9e", True), ("lb-7.trace:42", True),
    ("bad id with spaces", False), ("<script>", False), ("x" * 129, False), ("", False),
])
def test_the_request_id_header_round_trip(client, sent, kept):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=sent)
    if kept:
        assert response["X-Request-ID"] == sent
    else:
        assert HEX_ID.match(response["X-Request-ID"])


def test_each_request_gets_its_own_id(client):
    first, second = client.get("/healthz")["X-Request-ID"], client.get("/healthz")["X-Request-ID"]
    assert HEX_ID.match(first) and HEX_ID.match(second) and first != second


@pytest.mark.django_db
def test_a_request_logs_one_line_with_route_status_time_and_account_id(client_for, users, province, caplog):
    user = users["county_admin"]
    with caplog.at_level(logging.INFO, logger="yanxiu.request"):
        response = client_for(user).get(f"/teachers/{province.teacher.pk}/?q={ID_NUMBER}&token=abc",
                                        HTTP_X_REQUEST_ID="req-line-1")
    assert response.status_code == 200
    [record] = [r for r in caplog.records if r.name == "yanxiu.request"]
    assert record.request_id == "req-line-1"
    assert (record.method, record.route, record.status, record.user_id) == ("GET", "people:teacher_detail", 200, user.pk)
    assert record.duration_ms >= 0
    line = JsonFormatter().format(record)
    for leaked in (ID_NUMBER, "token=abc", "?q=", user.username, str(province.teacher.pk) + "/"):
        assert leaked not in line


def test_log_lines_inside_a_request_carry_its_id(caplog, rf):
    def view(request):
        logging.getLogger("yanxiu.test").warning("working")
        return HttpResponse("ok")

    with caplog.at_level(logging.INFO):
        RequestContextMiddleware(view)(rf.get("/anything", HTTP_X_REQUEST_ID="req-inner-7"))
    [record] = [r for r in caplog.records if r.getMessage() == "working"]
    assert record.request_id == "req-inner-7"
    assert current_request_id() is None  # let go after the request


# --- structured logs -------------------------------------------------------------------------


def _json_line(record_factory_logger: str, message: str, *args, extra=None, exc_info=None) -> dict:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactPersonalDataFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(record_factory_logger)
    logger.addHandler(handler)
    try:
        logger.warning(message, *args, extra=extra, exc_info=exc_info)
    finally:
        logger.removeHandler(handler)
    [line] = stream.getvalue().splitlines()
    return json.loads(line)


def test_json_lines_have_the_standard_fields_and_the_request_id():
    token = bind_request_id("req-json-1")
    try:
        entry = _json_line("yanxiu.test", "导入完成 %s 行", 12)
    finally:
        unbind_request_id(token)
    assert entry["message"] == "导入完成 12 行"  # readable, not \\u escapes
    assert (entry["level"], entry["logger"], entry["request_id"]) == ("WARNING", "yanxiu.test", "req-json-1")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", entry["timestamp"])


def test_json_lines_keep_redacting_id_numbers_and_tokens():
    entry = _json_line("yanxiu.test", "lookup %s with Bearer abc.def-123", ID_NUMBER)
    assert ID_NUMBER not in json.dumps(entry) and "abc.def-123" not in entry["message"]
    try:
        raise ValueError(f"bad row {ID_NUMBER}")
    except ValueError as error:
        entry = _json_line("yanxiu.test", "import failed", exc_info=error)
    assert "ValueError" in entry["exc_info"] and ID_NUMBER not in entry["exc_info"]


def test_json_lines_drop_fields_nobody_listed(rf):
    request = rf.get(f"/teachers/?q={ID_NUMBER}")
    entry = _json_line("django.request", "Not Found: %s", request.path,
                       extra={"status_code": 404, "request": request, "username": "zhangsan", "mobile": "13800000000"})
    assert entry["status_code"] == 404
    assert set(entry) <= {"timestamp", "level", "logger", "message", "request_id", "status_code"}
    assert ID_NUMBER not in json.dumps(entry)


def test_production_defaults_to_json_logs():
    from core.tests.test_headers import PROD, _manage

    result = _manage("shell", "-c", "from django.conf import settings as s; print(s.LOG_FORMAT, "
                     "s.LOGGING['handlers']['console']['formatter'])", **PROD)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "json json"


# --- Celery carries the request id -----------------------------------------------------------


def test_publishing_puts_the_current_request_id_in_the_headers():
    headers: dict = {}
    token = bind_request_id("req-publish-3")
    try:
        celery_signals.add_request_id_header(headers=headers)
    finally:
        unbind_request_id(token)
    assert headers == {"request_id": "req-publish-3"}
    celery_signals.add_request_id_header(headers=(empty := {}))
    assert empty == {}  # outside a request nothing is added


def test_a_worker_restores_the_id_from_the_headers_and_lets_it_go():
    class Request:
        request_id = "req-from-header"

    class Task:
        name = "some.task"
        request = Request()

    celery_signals.task_started(task_id="t-1", task=Task())
    assert current_request_id() == "req-from-header"
    celery_signals.task_finished(task_id="t-1", task=Task())
    assert current_request_id() is None
    Request.request_id = "not a safe id!"
    celery_signals.task_started(task_id="t-2", task=Task())
    assert HEX_ID.match(current_request_id())  # a fresh one, not the header's text
    celery_signals.task_finished(task_id="t-2", task=Task())


def test_apply_async_with_the_header_runs_under_that_id(caplog):
    with caplog.at_level(logging.INFO, logger="yanxiu.test"):
        result = remember_request_id.apply_async(headers={"request_id": "req-hdr-5"})
    assert result.get() == "req-hdr-5"
    assert [r.request_id for r in caplog.records if r.getMessage() == "inside the task"] == ["req-hdr-5"]


def test_a_task_queued_inside_a_request_sees_the_request_id(rf):
    def view(request):
        return HttpResponse(remember_request_id.delay().get())

    response = RequestContextMiddleware(view)(rf.get("/x", HTTP_X_REQUEST_ID="req-eager-8"))
    assert response.content == b"req-eager-8"


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def test_a_real_worker_logs_under_the_id_of_the_request_that_queued_it():
    """Not eager: the message goes through a broker (in memory) to a worker thread, whose
    context knows nothing of the caller: the id can only come through the message headers."""
    from celery.contrib.testing.worker import start_worker

    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url")}
    celery_app.conf.update(task_always_eager=False, broker_url="memory://")
    SEEN_IN_TASKS.clear()
    # On the task's own logger: a starting worker sets up the root logger's handlers itself.
    lines, task_logger = ListHandler(), logging.getLogger("yanxiu.test")
    task_logger.addHandler(lines)
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False):
            token = bind_request_id("req-worker-9")
            try:
                remember_request_id.delay()
            finally:
                unbind_request_id(token)
            for _ in range(300):
                if SEEN_IN_TASKS:
                    break
                time.sleep(0.1)
    finally:
        celery_app.conf.update(saved)
        task_logger.removeHandler(lines)
    assert SEEN_IN_TASKS == ["req-worker-9"]
    assert [r.request_id for r in lines.records if r.getMessage() == "inside the task"] == ["req-worker-9"]


# --- static files and process commands -------------------------------------------------------


def test_hashed_static_files_are_cached_for_a_year():
    from wsgiref.headers import Headers

    hashed = Headers([("Cache-Control", "max-age=315360000, public, immutable")])
    cache_hashed_for_a_year(hashed, "x", "/static/css/yanxiu.0123456789ab.css")
    assert hashed["Cache-Control"] == "max-age=31536000, public, immutable"
    plain = Headers([("Cache-Control", "max-age=60, public")])
    cache_hashed_for_a_year(plain, "x", "/static/css/yanxiu.css")
    assert plain["Cache-Control"] == "max-age=60, public"


def test_only_the_listed_node_files_are_published():
    finder = NodeFilesFinder()
    assert finder.find("vendor/htmx/htmx.min.js").endswith("node_modules/htmx.org/dist/htmx.min.js")
    assert not finder.find("vendor/htmx/htmx.js")
    assert not finder.find("vendor/echarts/../../package.json")
    listed = {f"{storage.prefix}/{name}" for name, storage in finder.list([])}
    assert listed == {"vendor/echarts/echarts.min.js", "vendor/htmx/htmx.min.js", "vendor/pico/pico.min.css"}


def test_the_worker_takes_one_task_at_a_time_and_is_recycled(settings):
    settings.WORKER_QUEUES = ["celery", "imports"]
    out = io.StringIO()
    call_command("worker", "--print", stdout=out)
    argv = out.getvalue().split()
    assert argv[argv.index("--queues") + 1] == "celery,imports"
    assert argv[argv.index("--prefetch-multiplier") + 1] == "1"
    assert "--max-tasks-per-child" in argv and "--max-memory-per-child" in argv


def test_beat_keeps_its_schedule_under_var_dir(settings):
    out = io.StringIO()
    call_command("beat", "--print", stdout=out)
    argv = out.getvalue().split()
    assert argv[argv.index("--schedule") + 1] == str(Path(settings.VAR_DIR) / "celerybeat-schedule")


def test_serve_runs_gunicorn_with_the_configuration_module():
    out = io.StringIO()
    call_command("serve", "--print", "--bind", "127.0.0.1:9001", "--workers", "3", stdout=out)
    argv = out.getvalue().split()
    assert argv[argv.index("--config") + 1] == str(ROOT / "config" / "gunicorn.py")
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:9001" and argv[argv.index("--workers") + 1] == "3"


def test_gunicorn_configuration(tmp_path, monkeypatch):
    import runpy

    folder = tmp_path / "web"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"stale")
    # Set first: reading the configuration sets the variable when it is missing, and this
    # process's /metrics would then read (empty) multiprocess files for the rest of the run.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    config = runpy.run_path(str(ROOT / "config" / "gunicorn.py"))
    assert [config["default_workers"](cores, 8) for cores in (1, 2, 3, 16)] == [3, 5, 7, 8]
    assert not list(folder.glob("*.db"))  # a previous run's values are not added to this run's
    assert (config["workers"], config["worker_class"], config["preload_app"]) == (3, "gthread", True)
    assert config["max_requests"] > 0 and config["max_requests_jitter"] > 0
    assert config["accesslog"] is None  # the request log line replaces it (no query strings)
