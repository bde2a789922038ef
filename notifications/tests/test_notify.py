"""notify() for many recipients: a few queries whatever their number, once per event, and the
unread counts on the accounts always equal to the unread rows."""

import pytest
from django.db.models import Count, Q

from access.scope import scope_for_user
from accounts.models import Role, User
from notifications.models import Notification
from notifications.services import Notice, notices_write, notifications_read_all, notify


def _counts_match_rows() -> None:
    rows = dict(User.objects.annotate(n=Count("notifications", filter=Q(notifications__read_at__isnull=True)))
                .values_list("pk", "n"))
    kept = dict(User.objects.values_list("pk", "unread_notices"))
    assert kept == rows


@pytest.fixture
def many(make_user, province):
    return [make_user(f"t-{i}", Role.TEACHER) for i in range(60)]


def test_many_recipients_take_the_same_few_queries(many, django_assert_max_num_queries):
    ids = [u.pk for u in many]
    with django_assert_max_num_queries(6):  # savepoint, lock, lookup, insert, recount, release
        assert notify(recipients=ids, kind="plan.decided", title="计划已批准", event_key="plan:1") == 60
    with django_assert_max_num_queries(6):
        assert notify(recipients=ids[:5], kind="plan.decided", title="计划已批准", event_key="plan:1a") == 5
    _counts_match_rows()


def test_told_once_and_counts_exact_across_mixed_batches(many, users):
    ids = [u.pk for u in many]
    assert notify(recipients=ids[:30], kind="plan.decided", title="a", event_key="e:1") == 30
    # Half already told: only the other half are new, and their counts move by one.
    assert notify(recipients=ids, kind="plan.decided", title="a", event_key="e:1") == 30
    assert notify(recipients=ids, kind="plan.decided", title="a", event_key="e:1") == 0
    # One batch holding several events, one of them a duplicate inside the batch.
    batch = [Notice(uid, "session.tomorrow", "明日培训", "", "", f"s:{n}") for uid in ids[:10] for n in (1, 2)]
    assert notices_write([*batch, batch[0]]) == 20
    _counts_match_rows()
    first = User.objects.get(pk=ids[0])
    assert first.unread_notices == 3
    # Reading off one kind recounts exactly; the rest stay unread.
    assert notifications_read_all(scope=scope_for_user(first), kind="session.tomorrow") == 2
    first.refresh_from_db()
    assert first.unread_notices == 1
    _counts_match_rows()


def test_a_read_message_is_not_counted_again_when_others_arrive(users):
    teacher = users["teacher"]
    notify(recipients=[teacher.pk], kind="plan.decided", title="一", event_key="x:1")
    Notification.objects.visible_to(scope_for_user(teacher)).update(read_at="2026-11-30T00:00:00Z")
    notify(recipients=[teacher.pk], kind="plan.decided", title="二", event_key="x:2")
    teacher.refresh_from_db()
    assert teacher.unread_notices == 1  # recounted from the rows, not incremented from a stale value
