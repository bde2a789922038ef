"""The inbox page and API: paged, filtered by kind and unread, marking one or all read, the
digest setting; the same few queries whatever a page holds."""

from access.scope import scope_for_user
from notifications.models import NoticePreference, Notification
from notifications.services import notify


def _fill(user, n, kind="plan.decided", prefix="k"):
    for i in range(n):
        notify(recipients=[user.pk], kind=kind, title=f"{prefix}{i:02d}", event_key=f"{prefix}:{i}", url="/home/")


def test_the_inbox_pages_filters_and_keeps_its_queries(users, client_for, django_assert_max_num_queries):
    teacher = users["teacher"]
    client = client_for(teacher)
    _fill(teacher, 3)
    client.get("/notifications/")  # session and caches warm
    with django_assert_max_num_queries(12) as few:
        assert client.get("/notifications/").status_code == 200
    _fill(teacher, 40, kind="session.tomorrow", prefix="s")
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/notifications/").content.decode()
    assert "共 43 条，第 1/3 页" in page and "s39" in page and "k00" not in page
    assert "明日培训提醒" in page and '<option value="claim.decided">学时申报已审核</option>' in page
    last = client.get("/notifications/?page=3").content.decode()
    assert "k00" in last and "s39" not in last
    only = client.get("/notifications/?kind=plan.decided").content.decode()
    assert "共 3 条" in only and "s00" not in only and "kind=plan.decided&amp;" not in only  # one page: no pager links
    bad = client.get("/notifications/?kind=nonsense", follow=True).content.decode()
    assert "未知的站内信类型" in bad and "共 43 条" in bad


def test_mark_one_and_all_of_a_kind_read_on_the_page(users, client_for):
    teacher = users["teacher"]
    client = client_for(teacher)
    _fill(teacher, 2)
    _fill(teacher, 2, kind="session.tomorrow", prefix="s")
    first = Notification.objects.visible_to(scope_for_user(teacher)).order_by("pk").first()
    response = client.post(f"/notifications/{first.pk}/read/", {"next": "/notifications/?unread=1"})
    assert response.status_code == 302 and response["Location"] == "/notifications/?unread=1"
    assert client.post(f"/notifications/{first.pk}/read/", {"next": "https://evil.example/"})["Location"] == "/notifications/"
    teacher.refresh_from_db()
    assert teacher.unread_notices == 3
    client.post("/notifications/read-all/", {"kind": "session.tomorrow"})
    teacher.refresh_from_db()
    assert teacher.unread_notices == 1
    page = client.get("/notifications/?unread=1").content.decode()
    assert "k01" in page and "s00" not in page and '<mark class="badge">1</mark>' in page


def test_the_api_pages_filters_and_refuses_a_bad_kind(users, client_for):
    teacher = users["teacher"]
    client = client_for(teacher)
    _fill(teacher, 25)
    _fill(teacher, 1, kind="session.tomorrow", prefix="s")
    body = client.get("/api/v1/me/notifications?page=2").json()
    assert (body["unread"], body["total"], body["page"], body["pages"]) == (26, 26, 2, 2)
    assert len(body["items"]) == 6 and body["items"][0]["kind_label"] == "年度计划已审核"
    only = client.get("/api/v1/me/notifications?kind=session.tomorrow").json()
    assert only["total"] == 1 and only["items"][0]["title"] == "s00"
    bad = client.get("/api/v1/me/notifications?kind=nonsense")
    assert bad.status_code == 422 and "kind" in str(bad.json())
    assert client.get("/api/v1/me/notifications?page=0").status_code == 422
    refused = client.post("/api/v1/me/notifications/read-all", {"kind": "nonsense"}, content_type="application/json")
    assert refused.status_code == 422
    marked = client.post("/api/v1/me/notifications/read-all", {"kind": "session.tomorrow"},
                         content_type="application/json")
    assert marked.json() == {"marked": 1}
    assert client.get("/api/v1/me/notifications?unread_only=true").json()["total"] == 25


def test_the_digest_setting_is_ones_own(users, client_for):
    teacher, other = users["teacher"], users["county_admin"]
    client = client_for(teacher)
    page = client.get("/notifications/settings/").content.decode()
    assert "checked" in page and "还没有登记邮箱" in page
    assert client.post("/notifications/settings/", {}).status_code == 302  # unticked: off
    assert NoticePreference.objects.visible_to(scope_for_user(teacher)).get().digest is False
    assert NoticePreference.objects.visible_to(scope_for_user(other)).count() == 0
    assert client.get("/api/v1/me/notifications/settings").json() == {"digest": False, "reachable": False}
    teacher.email = "zhang@example.cn"
    teacher.save(update_fields=["email"])
    turned = client.post("/api/v1/me/notifications/settings", {"digest": True}, content_type="application/json")
    assert turned.json() == {"digest": True, "reachable": True}
    assert client.post("/api/v1/me/notifications/settings", {"digest": "perhaps"},
                       content_type="application/json").status_code == 422
