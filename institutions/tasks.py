from celery import shared_task


@shared_task
def accreditations_expire_task() -> int:
    """Daily: accreditations past their end date expire (institutions.services)."""
    from institutions.services import accreditations_expire

    return accreditations_expire()
