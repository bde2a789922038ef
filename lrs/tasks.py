"""Background work of the learning-record store: the after-work of stored batches (index rows,
definitions, credits noted), crediting completions, and the statement table's coming months."""

from celery import shared_task

from lrs.crediting import credits_process, credits_process_waiting
from lrs.indexing import pending_drain
from lrs.partitions import statement_partitions_ensure


@shared_task(acks_late=True)
def statements_index_task() -> int:
    """After each stored batch, and every minute (celery beat): every waiting batch no one else
    is doing. Idempotent: a batch is deleted with its work done, in one transaction."""
    return pending_drain(wait=False)


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
