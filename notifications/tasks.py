"""Periodic notification work (Celery beat, config.settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task


@shared_task
def sessions_tomorrow_task() -> dict[str, int]:
    """Daily: every enrolled teacher hears of tomorrow's sessions (notifications.reminders)."""
    from notifications.reminders import sessions_tomorrow_notify

    return sessions_tomorrow_notify()


@shared_task
def digest_daily_task() -> dict[str, int]:
    """Daily: one summary of the last day's unread messages per willing account, then send them."""
    from notifications.digest import digests_deliver, digests_prepare

    prepared = digests_prepare()
    return {"prepared": prepared, **digests_deliver()}


@shared_task
def digest_retry_task() -> dict[str, int]:
    """Half-hourly: digests whose sending failed are tried again."""
    from notifications.digest import digests_deliver

    return digests_deliver()
