"""Background work of the hours ledger: the compliance snapshot."""

from celery import shared_task

from credits.compliance import compliance_refresh, compliance_refresh_all, compliance_refresh_done
from credits.models import Cycle


@shared_task(acks_late=True)
def compliance_refresh_task(cycle_id: int) -> dict:
    """Idempotent: a re-delivered task rebuilds the same snapshot."""
    try:
        cycle = Cycle.objects.filter(pk=cycle_id).first()
        if cycle is None:
            return {"error": "no such cycle"}
        refresh = compliance_refresh(cycle=cycle)
        return {"cycle": cycle.code, "teachers": refresh.teachers, "seconds": refresh.seconds}
    finally:
        compliance_refresh_done(cycle_id)


@shared_task(acks_late=True)
def compliance_refresh_all_task() -> list[dict]:
    """Nightly (celery beat): every cycle's snapshot, so on-track follows the calendar."""
    return [{"cycle": r.cycle.code, "teachers": r.teachers, "seconds": r.seconds} for r in compliance_refresh_all()]
