"""Background work of the hours ledger: the compliance snapshot, the nightly ledger checkpoint."""

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


@shared_task(acks_late=True)
def ledger_checkpoint_task() -> dict:
    """Nightly (celery beat): a keyed checkpoint of the ledger in INTEGRITY_CHECKPOINT_DIR, which
    the operator ships off the host; `credits verify --checkpoint` later proves it all still there.
    Harmless when re-delivered: another file, a little later."""
    from credits.verification import ledger_checkpoint

    return {"checkpoint": str(ledger_checkpoint())}


@shared_task(acks_late=True)
def external_import_task(*, upload_path: str, file_name: str, actor_id: int, ip: str | None = None) -> dict:
    """A large external-hours file, imported by a worker. Re-delivery is harmless:
    every record is idempotent by its source key."""
    from pathlib import Path

    from access.scope import scope_for_user
    from accounts.models import User
    from credits.external_import import external_hours_import
    from people.roster.files import RosterFileError

    path = Path(upload_path)
    actor = User.objects.get(pk=actor_id)
    try:
        with path.open("rb") as handle:
            batch = external_hours_import(scope=scope_for_user(actor), actor=actor, handle=handle, name=file_name, ip=ip).batch
    except RosterFileError as error:
        return {"error": str(error)}
    finally:
        path.unlink(missing_ok=True)
    return {"import": batch.pk, "created": batch.created, "duplicates": batch.duplicates, "rejected": batch.rejected}
