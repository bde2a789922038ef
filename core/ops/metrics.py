"""Prometheus metrics beyond django-prometheus's request metrics: database queries, Celery
tasks and the queues' depth, and the exposition that merges every process's values.

gunicorn and Celery run several processes; in production each writes its values to files under
METRICS_DIR (prometheus_client's multiprocess mode, switched on by PROMETHEUS_MULTIPROC_DIR,
which `yanxiu serve` and `yanxiu worker` set: METRICS_DIR/web and METRICS_DIR/worker). A scrape
of /metrics on any web process adds up the files of both, so one target shows the whole host."""

import os
import time
from pathlib import Path

from django.conf import settings
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

QUERY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TASK_BUCKETS = (0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)

DB_QUERIES = Counter("yanxiu_db_queries_total", "SQL statements executed, by database alias.",
                     ["alias"])
DB_QUERY_ERRORS = Counter("yanxiu_db_query_errors_total", "SQL statements that raised, by alias.",
                          ["alias"])
DB_QUERY_SECONDS = Histogram("yanxiu_db_query_duration_seconds", "Time of one SQL statement.",
                             ["alias"], buckets=QUERY_BUCKETS)
TASKS = Counter("yanxiu_celery_tasks_total",
                "Celery task runs by task name and outcome (success, failure, retry).",
                ["task", "outcome"])
TASK_SECONDS = Histogram("yanxiu_celery_task_duration_seconds", "Time of one Celery task run.",
                         ["task"], buckets=TASK_BUCKETS)


# --- database --------------------------------------------------------------------------------


def observe_queries(sender, connection, **kwargs) -> None:
    """connection_created: time every statement of this connection. The wrapper stays on the
    connection object across reconnects, so it is added once."""
    if not any(getattr(wrapper, "yanxiu_metrics", False) for wrapper in connection.execute_wrappers):
        connection.execute_wrappers.append(QueryTimer(connection.alias))


class QueryTimer:
    yanxiu_metrics = True

    def __init__(self, alias: str):
        self.alias = alias

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        except Exception:
            DB_QUERY_ERRORS.labels(self.alias).inc()
            raise
        finally:
            DB_QUERIES.labels(self.alias).inc()
            DB_QUERY_SECONDS.labels(self.alias).observe(time.perf_counter() - started)


# --- queue depth, read at scrape time --------------------------------------------------------


class QueueDepthCollector:
    """The number of messages waiting in each worker queue (Redis LLEN), read when Prometheus
    scrapes. Redis down or not used: yanxiu_celery_broker_up is 0 and no depth is reported."""

    def __init__(self, broker_url: str, queues: list[str]):
        self.broker_url = broker_url
        self.queues = queues

    def collect(self):
        up = GaugeMetricFamily("yanxiu_celery_broker_up", "1 when the Celery broker (Redis) answered the scrape.")
        depth = GaugeMetricFamily("yanxiu_celery_queue_length", "Messages waiting in a Celery queue.",
                                  labels=["queue"])
        lengths = self._lengths()
        up.add_metric([], 0 if lengths is None else 1)
        for queue, length in (lengths or {}).items():
            depth.add_metric([queue], length)
        yield up
        if lengths is not None:
            yield depth

    def _lengths(self) -> dict[str, int] | None:
        if not self.broker_url.startswith(("redis://", "rediss://", "unix://")):
            return None
        import redis

        try:
            client = redis.Redis.from_url(self.broker_url, socket_connect_timeout=0.5, socket_timeout=0.5)
            try:
                pipe = client.pipeline(transaction=False)
                for queue in self.queues:
                    pipe.llen(queue)
                return dict(zip(self.queues, (int(n) for n in pipe.execute()), strict=True))
            finally:
                client.close()
        except Exception:
            return None


# --- exposition ------------------------------------------------------------------------------


class MergedFilesCollector:
    """Every process's values from the multiprocess files of the web and worker folders."""

    def __init__(self, folders: list[Path]):
        self.folders = folders

    def collect(self):
        files = [str(path) for folder in self.folders if folder.is_dir() for path in sorted(folder.glob("*.db"))]
        return MultiProcessCollector.merge(files, accumulate=True)


def metric_folders() -> list[Path]:
    own = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    root = Path(settings.METRICS_DIR)
    folders = [own] + sorted(p for p in root.glob("*") if p.is_dir() and p.resolve() != own.resolve())
    return folders


def exposition() -> bytes:
    """The text Prometheus scrapes."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueDepthCollector(settings.CELERY_BROKER_URL or "", list(settings.WORKER_QUEUES)))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry.register(MergedFilesCollector(metric_folders()))
        return generate_latest(registry)
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY) + generate_latest(registry)
