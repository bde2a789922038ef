"""Background work of the course library: the nightly refresh of every teacher's pushed courses."""

import datetime as dt

from celery import shared_task

from learning.push.services import push_refresh_all, push_refresh_range


@shared_task(acks_late=True)
def push_refresh_all_task() -> dict:
    """Nightly (celery beat): fits the model and queues the teachers in ranges. Idempotent: a
    re-delivered run recomputes the same lists."""
    return push_refresh_all()


@shared_task(acks_late=True)
def push_refresh_range_task(low: int, high: int, now: str) -> int:
    """One range of teachers' lists; idempotent (an upsert per teacher)."""
    return push_refresh_range(low, high, now=dt.datetime.fromisoformat(now))
