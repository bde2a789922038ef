"""Background work of the course library: the nightly refresh of every teacher's pushed courses."""

from celery import shared_task

from learning.push.services import push_refresh_all


@shared_task(acks_late=True)
def push_refresh_all_task() -> dict:
    """Nightly (celery beat). Idempotent: a re-delivered run recomputes the same lists."""
    return push_refresh_all()
