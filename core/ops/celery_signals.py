"""Celery: a task carries the id of the request that queued it, and every run is counted.

before_task_publish writes the current request id into the message headers; task_prerun makes
it current in the worker (a task queued by nothing, such as a beat task, gets a fresh id), so
the worker's log lines name the request that caused them; task_postrun lets it go."""

import time

from core.ops import metrics
from core.ops.request_id import (
    bind_request_id,
    current_request_id,
    new_request_id,
    safe_request_id,
    unbind_request_id,
)

HEADER = "request_id"

# Per task id, in the process running it: the context token to reset and the start time.
_running: dict[str, tuple[object, float]] = {}


def add_request_id_header(sender=None, headers=None, **kwargs) -> None:
    request_id = current_request_id()
    if headers is not None and request_id and not headers.get(HEADER):
        headers[HEADER] = request_id


def request_id_of(task) -> str | None:
    """The id the message carried: Celery puts custom headers on the task's request, as an
    attribute (message protocol 2) or inside `headers` (eager runs, older protocol)."""
    request = getattr(task, "request", None)
    if request is None:
        return None
    carried = getattr(request, HEADER, None) or (getattr(request, "headers", None) or {}).get(HEADER)
    return safe_request_id(carried)


def task_started(sender=None, task_id=None, task=None, **kwargs) -> None:
    # An eager run happens inside the request that called it: its id is already current.
    request_id = request_id_of(task) or current_request_id() or new_request_id()
    _running[task_id] = (bind_request_id(request_id), time.perf_counter())


def task_finished(sender=None, task_id=None, task=None, **kwargs) -> None:
    token, started = _running.pop(task_id, (None, None))
    if started is not None and task is not None:
        metrics.TASK_SECONDS.labels(task.name).observe(time.perf_counter() - started)
    if token is not None:
        unbind_request_id(token)


def task_succeeded(sender=None, **kwargs) -> None:
    metrics.TASKS.labels(_name(sender), "success").inc()


def task_failed(sender=None, **kwargs) -> None:
    # Celery logs the failure itself (celery.app.trace), with this run's request id.
    metrics.TASKS.labels(_name(sender), "failure").inc()


def task_retried(sender=None, request=None, **kwargs) -> None:
    metrics.TASKS.labels(_name(sender), "retry").inc()


def _name(sender) -> str:
    return getattr(sender, "name", None) or "unknown"


def database_connections_checked(sender=None, **kwargs) -> None:
    """Before and after each task in a worker, as Django does around each request: a connection
    older than CONN_MAX_AGE, or broken, is closed (the next query opens a new one); the rest are
    reused. Not for a task run in place (eager): its caller's connection and transaction are in use."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


def connect() -> None:
    from celery import signals

    signals.task_prerun.connect(database_connections_checked, dispatch_uid="yanxiu-db-prerun")
    signals.task_postrun.connect(database_connections_checked, dispatch_uid="yanxiu-db-postrun")

    signals.before_task_publish.connect(add_request_id_header, dispatch_uid="yanxiu-request-id-publish")
    signals.task_prerun.connect(task_started, dispatch_uid="yanxiu-request-id-prerun")
    signals.task_postrun.connect(task_finished, dispatch_uid="yanxiu-request-id-postrun")
    signals.task_success.connect(task_succeeded, dispatch_uid="yanxiu-task-success")
    signals.task_failure.connect(task_failed, dispatch_uid="yanxiu-task-failure")
    signals.task_retry.connect(task_retried, dispatch_uid="yanxiu-task-retry")
