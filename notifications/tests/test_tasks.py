"""The daily jobs: tomorrow's sessions told once per (teacher, session) in a few queries, and the
digest sent once a day per willing account, through the configured sender, retried on failure."""

import datetime as dt
import logging

import pytest
import time_machine
from django.db.models import Count, Q

from access.scope import scope_for_user
from accounts.models import Role, User
from accounts.services import user_set_mobile
from catalog.models import ProjectSession
from catalog.services import enrol, project_create
from catalog.tests.helpers import as_teacher, publish
from institutions.tests.helpers import accredited_institution
from notifications.digest import digests_deliver, digests_prepare, recipient_contacts
from notifications.models import NoticeDigest, Notification
from notifications.reminders import sessions_tomorrow_notify
from notifications.services import notify, preference_set
from notifications.tasks import digest_daily_task, digest_retry_task, sessions_tomorrow_task
from people.tests.factories import TeacherFactory

TODAY = dt.date(2026, 12, 9)
NOW = dt.datetime(2026, 12, 9, 10, 0, tzinfo=dt.UTC)


def _project(province, users, code, *, mode="blended", state_open=True):
    project = project_create(
        institution=accredited_institution(), scope=scope_for_user(users["county_admin"]), actor=users["county_admin"],
        code=code, title=f"研修{code}", level="county", category="backbone", mode=mode, organiser=province.county,
        starts_on=dt.date(2026, 12, 10), ends_on=dt.date(2026, 12, 12), seats=500, hours=24,
        hour_category="centralised", self_enrolment=True, needs_approval=False)
    return publish(project) if state_open else project


def _enrolled(province, project, make_user, n, prefix):
    accounts = []
    for i in range(n):
        teacher = TeacherFactory(school=province.school)
        accounts.append(make_user(f"{prefix}-{i}", Role.TEACHER, teacher=teacher))
        enrol(scope=as_teacher(teacher), project_id=project.pk, teacher=teacher)
    return accounts


def _counts_match_rows():
    rows = dict(User.objects.annotate(n=Count("notifications", filter=Q(notifications__read_at__isnull=True)))
                .values_list("pk", "n"))
    assert dict(User.objects.values_list("pk", "unread_notices")) == rows


def test_tomorrows_sessions_are_told_once_to_each_enrolled_teacher(province, users, make_user):
    project = _project(province, users, "A")
    session = ProjectSession.objects.create(project=project, number=1, title="作业设计工作坊", held_on=TODAY + dt.timedelta(days=1),
                                            check_in_code="482913")
    ProjectSession.objects.create(project=project, number=2, title="第二天", held_on=TODAY + dt.timedelta(days=2))
    draft = _project(province, users, "D", state_open=False)
    ProjectSession.objects.create(project=draft, number=1, title="草稿场次", held_on=TODAY + dt.timedelta(days=1))
    told = _enrolled(province, project, make_user, 3, "a")
    TeacherFactory(school=province.school)  # a teacher with no account: nobody to tell
    later = _project(province, users, "C")  # another project of the same teacher, nothing tomorrow
    ProjectSession.objects.create(project=later, number=1, title="后天", held_on=TODAY + dt.timedelta(days=2))
    enrol(scope=as_teacher(told[0].teacher), project_id=later.pk, teacher=told[0].teacher)

    assert sessions_tomorrow_notify(today=TODAY) == {"sessions": 1, "told": 3}
    assert sessions_tomorrow_notify(today=TODAY) == {"sessions": 1, "told": 0}  # idempotent per (teacher, session)
    [notice] = Notification.objects.visible_to(scope_for_user(told[0]))
    assert notice.kind == "session.tomorrow" and notice.title == "明日培训：《研修A》第1场"
    assert "2026年12月10日（星期四）作业设计工作坊" in notice.body and "签到码" in notice.body
    assert "482913" not in notice.body  # the code is announced on site, never sent
    assert notice.url == "/projects/mine/schedule/"
    assert notice.event_key == f"session:{session.pk}:20261210"
    assert Notification.objects.dangerously_unscoped().count() == 3  # nobody else, nothing of the draft
    _counts_match_rows()


def test_the_reminder_takes_the_same_queries_for_many_teachers(province, users, make_user,
                                                              django_assert_max_num_queries):
    project = _project(province, users, "A", mode="online")
    ProjectSession.objects.create(project=project, number=1, title="线上", held_on=TODAY + dt.timedelta(days=1))
    _enrolled(province, project, make_user, 5, "few")
    with django_assert_max_num_queries(10) as few:
        assert sessions_tomorrow_notify(today=TODAY)["told"] == 5
    other = _project(province, users, "B", mode="online")
    ProjectSession.objects.create(project=other, number=1, title="线上", held_on=TODAY + dt.timedelta(days=1))
    _enrolled(province, other, make_user, 40, "many")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert sessions_tomorrow_notify(today=TODAY)["told"] == 40
    assert "线上（网络研修）" in Notification.objects.dangerously_unscoped().first().body


class Recording:
    sent: list = []

    def send_email(self, to, subject, body):
        Recording.sent.append((to, subject, body))

    def send_sms(self, to, text):
        Recording.sent.append((to, text))


class Failing:
    def send_email(self, to, subject, body):
        raise ConnectionError(f"relay refused {to}")

    def send_sms(self, to, text):
        raise ConnectionError("down")


@pytest.fixture
def recording(settings):
    settings.NOTICE_SENDER = "notifications.tests.test_tasks.Recording"
    Recording.sent = []
    return Recording.sent


def test_the_digest_goes_once_a_day_to_willing_reachable_accounts(users, make_user, recording):
    teacher, admin, quiet = users["teacher"], users["county_admin"], users["school_admin"]
    for user, email in ((teacher, "zhang@example.cn"), (admin, "admin@example.cn"), (quiet, "school@example.cn")):
        user.email = email
        user.save(update_fields=["email"])
    no_email = users["sibling_teacher_user"]
    with time_machine.travel(NOW - dt.timedelta(days=2), tick=False):
        notify(recipients=[admin.pk], kind="plan.decided", title="很早的消息", event_key="old")
    with time_machine.travel(NOW - dt.timedelta(hours=3), tick=False):
        notify(recipients=[teacher.pk, no_email.pk, quiet.pk], kind="enrolment.decided", title="报名已录取：《研修》",
               event_key="e1")
        notify(recipients=[teacher.pk], kind="session.tomorrow", title="明日培训：《研修》第1场", event_key="e2")
    preference_set(scope=scope_for_user(quiet), actor=quiet, digest=False)
    with time_machine.travel(NOW, tick=False):
        result = digest_daily_task()
        assert result == {"prepared": 1, "sent": 1, "failed": 0}
        assert digest_daily_task() == {"prepared": 1, "sent": 0, "failed": 0}  # the day's row exists: not twice
        assert digest_retry_task() == {"sent": 0, "failed": 0}
    [(to, subject, body)] = recording
    assert to == "zhang@example.cn" and subject == "研修平台：您有 2 条未读站内信"
    assert "明日培训：《研修》第1场" in body and "报名已录取" in body
    digest = NoticeDigest.objects.visible_to(scope_for_user(teacher)).get()
    assert (digest.day, digest.notices, digest.channel, digest.attempts) == (TODAY, 2, "email", 1)
    assert digest.sent_at is not None
    # Nothing for the account without an e-mail, the one that turned it off, or a two-day-old message.
    assert NoticeDigest.objects.dangerously_unscoped().count() == 1


def test_a_failing_gateway_is_retried_and_the_error_keeps_no_address(users, settings, recording):
    teacher = users["teacher"]
    teacher.email = "zhang@example.cn"
    teacher.save(update_fields=["email"])
    settings.NOTICE_SENDER = "notifications.tests.test_tasks.Failing"
    settings.NOTICE_DIGEST_MAX_ATTEMPTS = 3
    with time_machine.travel(NOW, tick=False):
        notify(recipients=[teacher.pk], kind="plan.decided", title="计划已批准", event_key="p1")
        assert digest_daily_task() == {"prepared": 1, "sent": 0, "failed": 1}  # no exception escapes
        digest = NoticeDigest.objects.visible_to(scope_for_user(teacher)).get()
        assert digest.sent_at is None and digest.attempts == 1
        assert "ConnectionError" in digest.last_error and "zhang" not in digest.last_error
        assert digests_deliver()["failed"] == 1
        settings.NOTICE_SENDER = "notifications.tests.test_tasks.Recording"
        assert digest_retry_task() == {"sent": 1, "failed": 0}
        assert digest_retry_task() == {"sent": 0, "failed": 0}
    digest.refresh_from_db()
    assert digest.attempts == 3 and digest.sent_at is not None and digest.last_error == ""
    assert len(recording) == 1


def test_gives_up_after_the_allowed_attempts(users, settings):
    teacher = users["teacher"]
    teacher.email = "zhang@example.cn"
    teacher.save(update_fields=["email"])
    settings.NOTICE_SENDER = "notifications.tests.test_tasks.Failing"
    settings.NOTICE_DIGEST_MAX_ATTEMPTS = 2
    with time_machine.travel(NOW, tick=False):
        notify(recipients=[teacher.pk], kind="plan.decided", title="计划已批准", event_key="p1")
        assert digests_prepare() == 1
        assert [digests_deliver()["failed"] for _ in range(3)] == [1, 1, 0]


def test_the_default_sender_logs_masked_recipients(users, caplog):
    teacher = users["teacher"]
    teacher.email = "zhangsan@example.cn"
    teacher.save(update_fields=["email"])
    with time_machine.travel(NOW, tick=False), caplog.at_level(logging.INFO, logger="notifications.senders"):
        notify(recipients=[teacher.pk], kind="plan.decided", title="计划已批准", event_key="p1")
        assert digest_daily_task()["sent"] == 1
    assert "z***@example.cn" in caplog.text and "zhangsan@" not in caplog.text


def test_recipient_contacts_give_the_email_and_the_decrypted_mobile(users, recording):
    teacher = users["teacher"]
    assert recipient_contacts(teacher) == (None, None)
    teacher.email = " zhang@example.cn "
    assert recipient_contacts(teacher) == ("zhang@example.cn", None)
    teacher.email = ""
    teacher.save(update_fields=["email"])
    user_set_mobile(scope=scope_for_user(teacher), actor=teacher, mobile="13812345678")
    teacher.refresh_from_db()
    assert recipient_contacts(teacher) == (None, "13812345678")
    # An account with only a mobile number gets its digest by SMS.
    with time_machine.travel(NOW, tick=False):
        notify(recipients=[teacher.pk], kind="plan.decided", title="计划已批准", event_key="sms-1")
        assert digest_daily_task()["sent"] == 1
    assert recording == [("13812345678", "【研修平台】您有1条未读站内信，请登录查看。")]


def test_the_session_task_runs_the_reminder(province, users, make_user):
    project = _project(province, users, "A")
    ProjectSession.objects.create(project=project, number=1, title="第一天", held_on=TODAY + dt.timedelta(days=1))
    _enrolled(province, project, make_user, 2, "t")
    with time_machine.travel(dt.datetime(2026, 12, 9, 9, 0, tzinfo=dt.UTC), tick=False):
        assert sessions_tomorrow_task() == {"sessions": 1, "told": 2}
