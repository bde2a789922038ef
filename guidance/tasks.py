"""Periodic guidance work (Celery beat)."""

from celery import shared_task

from guidance.escalation import escalate_overdue


@shared_task
def escalate_overdue_task() -> dict[str, int]:
    return escalate_overdue()
