from celery import shared_task

# The performance tasks live beside their services (registered as evaluation.performance.*); imported
# here so the worker's autodiscovery of tasks modules registers them.
from evaluation.performance import cases_confirm_due_task, ranking_compute_task

__all__ = ["cases_confirm_due_task", "ranking_compute_task", "rating_reminders_task", "rating_windows_close_task"]


@shared_task
def rating_windows_close_task() -> int:
    """Daily: fix the response rate's base on every rating window that closed (evaluation.ratings),
    and give a shown window's 授课质量 score to the project's trainer bookings."""
    from evaluation.ratings import close_windows

    return close_windows()


@shared_task
def rating_reminders_task() -> int:
    """Daily: remind trainees who have not rated a window that closes within two days (once each)."""
    from django.utils import timezone

    from notifications.evaluation_events import rating_reminders

    return rating_reminders(today=timezone.localdate())
