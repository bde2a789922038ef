from celery import shared_task


@shared_task
def rating_windows_close_task() -> int:
    """Daily: fix the response rate's base on every rating window that closed (evaluation.ratings),
    and give a shown window's 授课质量 score to the project's trainer bookings."""
    from evaluation.ratings import close_windows

    return close_windows()
