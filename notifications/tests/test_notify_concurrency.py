"""Unread counts under concurrent writers and readers, on PostgreSQL with real threads: the same
events told twice at once, other events, and messages read off meanwhile — the counts end equal
to the unread rows.

In a file of its own: a transactional test flushes the database when it ends."""

import threading

import pytest
from django.db import connection
from django.db.models import Count, Q

from access.scope import scope_for_user
from accounts.models import Role, User
from notifications.models import Notification
from notifications.services import notification_read, notify


@pytest.mark.pg_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_counts_stay_exact_under_concurrent_notify_and_read(province, make_user):
    accounts = [make_user(f"c-{i}", Role.TEACHER) for i in range(20)]
    ids = [u.pk for u in accounts]
    notify(recipients=ids, kind="plan.decided", title="已有", event_key="before")
    to_read = list(Notification.objects.dangerously_unscoped().filter(event_key="before").values_list("recipient_id", "pk"))
    errors: list[BaseException] = []
    jobs = []
    for n in range(6):  # events 0-2 told twice each, at the same time
        jobs.append(lambda n=n: notify(recipients=ids, kind="session.tomorrow", title="明日", event_key=f"e:{n % 3}"))
    for user_id, pk in to_read:
        jobs.append(lambda user_id=user_id, pk=pk: notification_read(
            scope=scope_for_user(User.objects.get(pk=user_id)), notification_id=pk))
    barrier = threading.Barrier(len(jobs))

    def run(job):
        try:
            barrier.wait()
            job()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Notification.objects.dangerously_unscoped().filter(kind="session.tomorrow").count() == 3 * len(ids)
    rows = dict(User.objects.filter(pk__in=ids).annotate(
        n=Count("notifications", filter=Q(notifications__read_at__isnull=True))).values_list("pk", "n"))
    assert rows == dict.fromkeys(ids, 3)
    assert dict(User.objects.filter(pk__in=ids).values_list("pk", "unread_notices")) == rows
