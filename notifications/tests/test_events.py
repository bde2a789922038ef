"""Events that used to pass silently now reach the people concerned, with a link to the thing."""

import datetime as dt

import pytest

from access.scope import scope_for_user
from accounts.models import Role
from catalog.models import Enrolment
from catalog.nominations import project_nominate
from catalog.plans import plan_create, plan_decide, plan_submit
from catalog.services import enrol, enrolment_decide, enrolment_withdraw, project_create
from catalog.tests.helpers import as_teacher, publish
from institutions.tests.helpers import accredited_institution
from notifications.models import Notification
from people.export_requests import export_request_create, export_request_decide
from people.selectors import TeacherFilters
from people.tests.factories import TeacherFactory


def _inbox(user):
    return list(Notification.objects.visible_to(scope_for_user(user)).order_by("pk"))


def _project(province, users, *, seats=1, approval=True, title="杞县小学数学骨干教师研修"):
    return publish(project_create(
        institution=accredited_institution(), scope=scope_for_user(users["county_admin"]), actor=users["county_admin"],
        code="P-1", title=title, level="county", category="backbone", mode="blended", organiser=province.county,
        starts_on=dt.date(2026, 12, 10), ends_on=dt.date(2026, 12, 12), seats=seats, hours=24,
        hour_category="centralised", self_enrolment=True, needs_approval=approval))


class FailingSender:
    def send_email(self, to, subject, body):
        raise ConnectionError("gateway down")

    def send_sms(self, to, text):
        raise ConnectionError("gateway down")


def test_an_enrolment_decided_and_a_waiting_teacher_promoted_are_told(province, users, make_user, client_for,
                                                                      settings):
    # Sending is the digest task's; a broken gateway cannot touch a decision made on a page.
    settings.NOTICE_SENDER = "notifications.tests.test_events.FailingSender"
    project = _project(province, users, seats=1)
    first, second = province.teacher, TeacherFactory(school=province.school, name="钱七")
    second_user = make_user("teacher-qian", Role.TEACHER, teacher=second)
    pending = enrol(scope=as_teacher(first), project_id=project.pk, teacher=first)
    waiting = enrol(scope=as_teacher(second), project_id=project.pk, teacher=second)
    assert (pending.state, waiting.state) == ("pending", "waiting")
    assert _inbox(users["teacher"]) == [] and _inbox(second_user) == []  # their own acts are not news

    response = client_for(users["county_admin"]).post(f"/projects/{project.pk}/manage/",
                                                      {"action": "reject", "enrolment": pending.pk})
    assert response.status_code == 302
    [refused] = _inbox(users["teacher"])
    assert refused.kind == "enrolment.decided" and refused.title == "报名未通过：《杞县小学数学骨干教师研修》"
    assert refused.url == f"/projects/{project.pk}/"
    # The freed seat went to the waiting list, and its teacher hears it (awaiting approval).
    [promoted] = _inbox(second_user)
    assert promoted.kind == "enrolment.promoted" and "待审核" in promoted.title

    enrolment_decide(scope=scope_for_user(users["county_admin"]), enrolment_id=waiting.pk, approve=True,
                     actor=users["county_admin"])
    admitted = _inbox(second_user)[-1]
    assert admitted.title == "报名已录取：《杞县小学数学骨干教师研修》" and "2026-12-10" in admitted.body
    second_user.refresh_from_db()
    assert second_user.unread_notices == 2


def test_a_second_decision_on_a_reused_enrolment_is_told_again(province, users):
    project = _project(province, users, seats=3)
    teacher = province.teacher
    enrolment = enrol(scope=as_teacher(teacher), project_id=project.pk, teacher=teacher)
    enrolment_decide(scope=scope_for_user(users["county_admin"]), enrolment_id=enrolment.pk, approve=True)
    enrolment_withdraw(scope=as_teacher(teacher), enrolment_id=enrolment.pk)
    again = enrol(scope=as_teacher(teacher), project_id=project.pk, teacher=teacher)
    assert again.pk == enrolment.pk  # the same row, decided a second time
    enrolment_decide(scope=scope_for_user(users["county_admin"]), enrolment_id=again.pk, approve=True)
    assert [n.kind for n in _inbox(users["teacher"])] == ["enrolment.decided", "enrolment.decided"]


def test_nominated_teachers_hear_where_they_stand(province, users, make_user):
    project = _project(province, users, seats=1, approval=False)
    other = TeacherFactory(school=province.school, name="孙八")
    other_user = make_user("teacher-sun", Role.TEACHER, teacher=other)
    no_account = TeacherFactory(school=province.school, name="周九")
    results = project_nominate(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"],
                               project=project, teachers=[province.teacher, other, no_account])
    assert [r.outcome for r in results] == ["enrolled", "waiting", "waiting"]
    [mine] = _inbox(users["teacher"])
    assert mine.kind == "enrolment.nominated" and "已录取" in mine.body
    [theirs] = _inbox(other_user)
    assert "候补" in theirs.body
    # Nominating again changes nothing and tells nobody twice.
    project_nominate(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], project=project,
                     teachers=[province.teacher])
    assert len(_inbox(users["teacher"])) == 1
    assert Enrolment.objects.dangerously_unscoped().count() == 3


@pytest.mark.parametrize("approve", [False, True])
def test_a_plan_decision_reaches_the_planning_units_admins_with_the_note(province, users, make_user, approve):
    colleague = make_user("admin-410221-b", Role.COUNTY_ADMIN, division=province.county)
    project_create(institution=accredited_institution(), scope=scope_for_user(users["county_admin"]),
                   actor=users["county_admin"], code="K-1", title="数学骨干教师作业设计能力提升研修", level="county",
                   category="backbone", mode="blended", organiser=province.county, starts_on=dt.date(2027, 4, 10),
                   ends_on=dt.date(2027, 4, 20), seats=50, hours=24, hour_category="centralised",
                   topics=["homework"])
    plan = plan_create(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], year=2027)
    plan_submit(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], plan_id=plan.pk)
    plan_decide(scope=scope_for_user(users["city_admin"]), actor=users["city_admin"], plan_id=plan.pk,
                approve=approve, note="请补充新教师培训")
    for admin in (users["county_admin"], colleague):
        [notice] = _inbox(admin)
        assert notice.kind == "plan.decided" and notice.url == f"/projects/plans/{plan.pk}/"
        assert notice.title == ("2027年度培训计划已批准" if approve else "2027年度培训计划被退回修改")
        assert notice.body == "审核意见：请补充新教师培训"
    # The reviewer, the neighbour county and the school are not told.
    for name in ("city_admin", "sibling_admin", "school_admin", "teacher"):
        assert _inbox(users[name]) == []


def test_an_export_decision_reaches_the_requester(users):
    for approve in (True, False):
        request = export_request_create(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"],
                                        filters=TeacherFilters(), reason="年度统计核对")
        export_request_decide(scope=scope_for_user(users["city_admin"]), actor=users["city_admin"],
                              request_id=request.pk, approve=approve)
    approved, refused = _inbox(users["county_admin"])
    assert approved.title == "导出申请已批准" and "仅可下载一次" in approved.body
    assert refused.title == "导出申请被驳回" and refused.url == "/teachers/roster/export-requests/"
    assert _inbox(users["city_admin"]) == []


def test_every_kind_has_a_chinese_label():
    from notifications.models import Notification as N

    assert N.Kind.CLAIM_DECIDED == "claim.decided" and N.Kind.CLAIM_DECIDED.label == "学时申报已审核"
    from institutions.services import ACCREDITATION_KIND, PROJECTS_HELD_KIND

    assert {ACCREDITATION_KIND, PROJECTS_HELD_KIND} <= set(N.Kind.values)
