"""Background work of the learning-record store: crediting completions after they are stored,
and the statement table's coming months."""

from celery import shared_task

from lrs.crediting import credits_process, credits_process_waiting
from lrs.partitions import statement_partitions_ensure


@shared_task(acks_late=True)
def credits_process_task(ids: list[int]) -> dict[str, int]:
    """Idempotent: a re-delivered task finds its credits no longer queued and does nothing."""
    return credits_process(ids)


@shared_task(acks_late=True)
def credits_sweep_task() -> dict[str, int]:
    """Every few minutes (celery beat): queued credits whose task was lost."""
    return credits_process_waiting()


@shared_task
def statement_partitions_task() -> list[str]:
    """Daily (celery beat): the statement table's partitions for this month and the next few."""
    return statement_partitions_ensure()
