"""Who hears what from evaluation: the expert named to supervise, those who answer for a flagged
project (its institution's staff, the organiser's administrators) with the appeal deadline, the
province on an appeal, the same people and the appellant on the decision; and the daily reminder
to trainees who have not rated a window closing soon (once each, never to those who have)."""

import datetime as dt

import pytest
import time_machine

from access.scope import scope_for_user
from evaluation import supervision
from evaluation.models import EliminationCase
from evaluation.performance import case_appeal, case_decide, cases_confirm_due, ranking_compute
from evaluation.tests import rating_fixtures, supervision_world
from evaluation.tests import test_performance_support as s
from evaluation.tests.rating_fixtures import CLOSES, OPENS, answers_of, at, rate
from notifications.evaluation_events import rating_reminders
from notifications.models import Notification

pytestmark = pytest.mark.django_db
rating_world = rating_fixtures.rating_world
_today, sw = supervision_world._today, supervision_world.sw
RANKED = dt.datetime(2026, 1, 10, 10, 0, tzinfo=dt.UTC)


def _heard(kind: str) -> dict[int, list[Notification]]:
    found: dict[int, list[Notification]] = {}
    for row in Notification.objects.dangerously_unscoped().filter(kind=kind).order_by("pk"):
        found.setdefault(row.recipient_id, []).append(row)
    return found


def test_the_named_expert_hears_of_the_task(sw):
    county = sw.people["county_admin"]
    row = supervision.supervisor_add(scope=sw.scope("county_admin"), actor=county, project_id=sw.projects["qx"].pk,
                                     username="expert-1")
    heard = _heard("evaluation.supervisor_named")
    assert set(heard) == {row.user_id}
    notice = heard[row.user_id][0]
    assert sw.projects["qx"].title in notice.title and notice.url == f"/evaluation/supervision/projects/{row.project_id}/"


@pytest.fixture
def flagged(province, users, make_user):
    inst = s.institution(province)
    staff = s.staff(make_user, inst)
    s.five_projects(province, users, inst)
    s.weights(users["province_admin"])
    with time_machine.travel(RANKED, tick=False):
        ranking_compute(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"], year=2025)
    return {"case": EliminationCase.objects.dangerously_unscoped().select_related("score__project").get(),
            "staff": staff, "province_2": make_user("admin-410000-b", "province_admin", division=province.province)}


def _answerable(flagged, users) -> set[int]:
    from accounts.models import User

    staff = set(User.objects.filter(institution_id=flagged["staff"].institution_id).values_list("pk", flat=True))
    return staff | {users["sibling_admin"].pk}


def test_a_flagged_project_is_told_to_who_answers_for_it_then_the_appeal_and_the_decision(flagged, users):
    case, staff, province_2 = flagged["case"], flagged["staff"], flagged["province_2"]
    heard = _heard("evaluation.case_flagged")
    # 通许县 organises the five projects; its centre implements them (every staff account of it, the
    # one that applied for its accreditation too). Nobody else hears of it.
    answerable = _answerable(flagged, users)
    assert set(heard) == answerable and len(answerable) == 3
    assert case.score.project.title in heard[staff.pk][0].title and "2026-01-" in heard[staff.pk][0].body
    with time_machine.travel(RANKED + dt.timedelta(days=2), tick=False):
        case_appeal(scope=scope_for_user(staff), actor=staff, case_id=case.pk, reason="视导当天为集中培训间隙")
    from accounts.models import User

    province_admins = set(User.objects.filter(role="province_admin").values_list("pk", flat=True))
    assert set(_heard("evaluation.case_appealed")) == province_admins and province_2.pk in province_admins
    with time_machine.travel(RANKED + dt.timedelta(days=4), tick=False):
        case_decide(scope=scope_for_user(province_2), actor=province_2, case_id=case.pk, decision="overturn",
                    note="申诉成立，视导评分有误")
    decided = _heard("evaluation.case_decided")
    assert set(decided) == answerable  # the decider does not hear their own decision
    assert "撤销" in decided[staff.pk][0].title and "视导评分有误" in decided[staff.pk][0].body


def test_a_case_confirmed_by_the_system_is_told_with_its_sanction(flagged, users):
    with time_machine.travel(RANKED + dt.timedelta(days=40), tick=False):
        assert cases_confirm_due() == 1
    decided = _heard("evaluation.case_decided")
    assert set(decided) == _answerable(flagged, users)
    assert "资质处理" in decided[flagged["staff"].pk][0].body


def test_trainees_who_have_not_rated_are_reminded_once_before_the_window_closes(rating_world, make_user):
    w = rating_world
    accounts = {t.pk: make_user(f"trainee-{n}", "teacher", teacher=t) for n, t in enumerate(w.teachers[:3])}
    with at(OPENS):
        rate(w.teachers[0], w.project, answers_of(4))
        assert rating_reminders(today=OPENS) == 0  # twelve days before the close: not yet
    day = CLOSES - dt.timedelta(days=1)
    with at(day):
        assert rating_reminders(today=day) == 2
        assert rating_reminders(today=day) == 0  # once per window and trainee
    heard = _heard("evaluation.rating_reminder")
    assert set(heard) == {accounts[w.teachers[1].pk].pk, accounts[w.teachers[2].pk].pk}
    assert heard[accounts[w.teachers[1].pk].pk][0].url == f"/evaluation/ratings/projects/{w.project.pk}/"
    after = CLOSES + dt.timedelta(days=1)
    with at(after):
        assert rating_reminders(today=after) == 0  # closed
