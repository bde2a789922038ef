"""In-site messages: told once per event, each account its own, the unread count kept in step."""

import pytest

from access.errors import NotVisible
from access.scope import scope_for_user
from notifications.models import Notification
from notifications.selectors import inbox
from notifications.services import notification_read, notifications_read_all, notify


def test_an_event_is_told_once_and_the_count_follows(users):
    teacher, admin = users["teacher"], users["county_admin"]
    assert notify(recipients=[teacher.pk, admin.pk, teacher.pk], kind="question.answered", title="有解答",
                  event_key="q:1:answered") == 2
    assert notify(recipients=[teacher.pk], kind="question.answered", title="有解答", event_key="q:1:answered") == 0
    teacher.refresh_from_db()
    assert teacher.unread_notices == 1
    scope = scope_for_user(teacher)
    [notice] = inbox(scope)
    notification_read(scope=scope, notification_id=notice.pk)
    notification_read(scope=scope, notification_id=notice.pk)  # twice: the count does not go below zero
    teacher.refresh_from_db()
    assert teacher.unread_notices == 0
    with pytest.raises(NotVisible):  # another account's message
        notification_read(scope=scope, notification_id=Notification.objects.visible_to(
            scope_for_user(admin)).get().pk)


def test_read_all_touches_only_ones_own(users, client_for):
    teacher, admin = users["teacher"], users["county_admin"]
    notify(recipients=[teacher.pk, admin.pk], kind="question.assigned", title="新问题", event_key="q:2")
    notify(recipients=[teacher.pk], kind="question.assigned", title="又一个", event_key="q:3", url="/guidance/mine/")
    assert notifications_read_all(scope=scope_for_user(teacher)) == 2
    admin.refresh_from_db()
    assert admin.unread_notices == 1
    assert Notification.objects.visible_to(scope_for_user(admin)).filter(read_at__isnull=True).count() == 1


def test_the_header_shows_the_unread_count_and_the_inbox_opens_links(users, client_for):
    teacher = users["teacher"]
    notify(recipients=[teacher.pk], kind="question.answered", title="您的问题有了解答", event_key="q:4",
           url="/guidance/mine/")
    notify(recipients=[teacher.pk], kind="question.answered", title="外链", event_key="q:5", url="https://evil.example/")
    client = client_for(teacher)
    page = client.get("/notifications/").content.decode()
    assert "您的问题有了解答" in page and '<mark class="badge">2</mark>' in page
    ours, outside = sorted(Notification.objects.visible_to(scope_for_user(teacher)), key=lambda n: n.pk)
    assert client.post(f"/notifications/{ours.pk}/open/")["Location"] == "/guidance/mine/"
    assert client.post(f"/notifications/{outside.pk}/open/")["Location"] == "/notifications/"  # never off-site
    assert "badge" not in client.get("/notifications/").content.decode()
