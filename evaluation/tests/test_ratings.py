"""Rating windows and the one anonymous rating: who may open a window and when, who may rate and
when, and that every refusal is a Chinese message that writes nothing."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from access.scope import scope_for_user
from audit.models import AuditEvent
from catalog.models import Enrolment
from evaluation import ratings
from evaluation.models import RatingParticipation, RatingResponse, RatingWindow
from evaluation.tests import rating_fixtures
from evaluation.tests.rating_fixtures import (
    CLOSES,
    OPENS,
    STARTS,
    answers_of,
    as_trainee,
    at,
    make_project,
    questionnaire,
    rate,
    trainees,
)

pytestmark = pytest.mark.django_db
rating_world = rating_fixtures.rating_world


def _counts(window):
    return (RatingParticipation.objects.dangerously_unscoped().filter(window=window).count(),
            RatingResponse.objects.dangerously_unscoped().filter(window=window).count())


def _open(user, project, instrument, opens_on=OPENS, closes_on=CLOSES):
    return ratings.window_open(scope=scope_for_user(user), actor=user, project_id=project.pk,
                               instrument_id=instrument.pk, opens_on=opens_on, closes_on=closes_on)


# --- windows --------------------------------------------------------------------------------


def test_the_organiser_opens_a_window_and_it_is_audited(rating_world):
    w = rating_world
    assert (w.window.project_id, w.window.instrument_id, w.window.opens_on, w.window.closes_on) == (
        w.project.pk, w.instrument.pk, OPENS, CLOSES)
    assert AuditEvent.objects.dangerously_unscoped().filter(action="evaluation.rating_window_open",
                                                           object_id=str(w.window.pk)).exists()


def test_windows_of_one_project_may_not_overlap(rating_world):
    w = rating_world
    with at(STARTS), pytest.raises(ValidationError) as refusal:
        _open(w.users["county_admin"], w.project, w.instrument, dt.date(2027, 3, 15), dt.date(2027, 3, 25))
    assert "时间重叠" in str(refusal.value)
    with at(STARTS):
        later = _open(w.users["county_admin"], w.project, w.instrument, dt.date(2027, 3, 21), dt.date(2027, 3, 25))
    assert later.pk != w.window.pk


@pytest.mark.parametrize(("opens_on", "closes_on", "message"), [
    (dt.date(2027, 2, 27), dt.date(2027, 3, 20), "评价不能早于项目开始"),
    (dt.date(2027, 3, 12), dt.date(2027, 3, 11), "截止日期不能早于开始日期"),
    (dt.date(2027, 3, 12), dt.date(2027, 6, 1), "项目结束后60天内截止"),
])
def test_window_dates_must_make_sense_for_the_project(rating_world, opens_on, closes_on, message):
    w = rating_world
    before = RatingWindow.objects.dangerously_unscoped().count()
    with at(STARTS), pytest.raises(ValidationError) as refusal:
        _open(w.users["county_admin"], w.project, w.instrument, opens_on, closes_on)
    assert message in str(refusal.value)
    assert RatingWindow.objects.dangerously_unscoped().count() == before


def test_only_a_published_rating_questionnaire_serves(rating_world, province):
    w = rating_world
    draft = questionnaire(province.province, code="HN-DRAFT")
    draft.state = "draft"
    draft.save()
    assessment = questionnaire(province.province, code="HN-ASSESS")
    assessment.kind = "assessment"
    assessment.save()
    with at(STARTS):
        # The county does not see the province's draft at all; the province sees it, unpublished.
        for who, instrument, message in (("county_admin", draft, "请选择一份匿名评价问卷"),
                                         ("province_admin", draft, "只能使用已发布的评价问卷"),
                                         ("county_admin", assessment, "请选择一份匿名评价问卷")):
            with pytest.raises(ValidationError) as refusal:
                _open(w.users[who], w.project, instrument, dt.date(2027, 3, 21), dt.date(2027, 3, 25))
            assert message in str(refusal.value)


@pytest.mark.parametrize("who", ["sibling_admin", "school_admin", "teacher", "staff"])
def test_others_cannot_open_a_window(rating_world, who):
    """The implementing institution is rated, so it never opens the window; neither does the next
    county, nor a school or a teacher of the county."""
    w = rating_world
    user = w.staff if who == "staff" else w.users[who]
    with at(STARTS), pytest.raises(PermissionDenied):
        _open(user, w.project, w.instrument, dt.date(2027, 3, 21), dt.date(2027, 3, 25))


def test_the_city_above_may_open_one(rating_world):
    w = rating_world
    with at(STARTS):
        window = _open(w.users["city_admin"], w.project, w.instrument, dt.date(2027, 3, 21), dt.date(2027, 3, 25))
    assert window.pk


def test_a_window_with_ratings_cannot_be_changed(rating_world):
    w = rating_world
    county = w.users["county_admin"]
    with at(STARTS):
        changed = ratings.window_change(scope=scope_for_user(county), actor=county, window_id=w.window.pk,
                                        instrument_id=w.instrument.pk, opens_on=OPENS, closes_on=dt.date(2027, 3, 22))
    assert changed.closes_on == dt.date(2027, 3, 22)
    with at(OPENS):
        rate(w.teachers[0], w.project, answers_of(4))
        with pytest.raises(ValidationError) as refusal:
            ratings.window_change(scope=scope_for_user(county), actor=county, window_id=w.window.pk,
                                  instrument_id=w.instrument.pk, opens_on=OPENS, closes_on=dt.date(2027, 3, 25))
    assert "已有学员评价的窗口不能修改" in str(refusal.value)
    w.window.refresh_from_db()
    assert w.window.closes_on == dt.date(2027, 3, 22)


# --- rating ---------------------------------------------------------------------------------


def test_a_trainee_rates_once(rating_world):
    w = rating_world
    with at(OPENS):
        rate(w.teachers[0], w.project, answers_of(4))
        assert _counts(w.window) == (1, 1)
        with pytest.raises(ValidationError) as refusal:
            rate(w.teachers[0], w.project, answers_of(2))
    assert "您已评价过该项目，每人只能评价一次" in str(refusal.value)
    assert _counts(w.window) == (1, 1)
    stored = RatingResponse.objects.dangerously_unscoped().get(window=w.window)
    assert stored.answers == answers_of(4)


@pytest.mark.parametrize("day", [dt.date(2027, 3, 7), dt.date(2027, 3, 21)])
def test_no_rating_outside_the_window(rating_world, day):
    w = rating_world
    with at(day), pytest.raises(ValidationError) as refusal:
        rate(w.teachers[0], w.project, answers_of(4))
    assert "该项目当前不在评价时间内" in str(refusal.value)
    assert _counts(w.window) == (0, 0)


def test_the_window_follows_the_beijing_date(rating_world):
    """23:30 UTC on 3-07 is 07:30 on 3-08 in Beijing: the window is open."""
    import time_machine

    w = rating_world
    with time_machine.travel(dt.datetime(2027, 3, 7, 23, 30, tzinfo=dt.UTC), tick=False):
        rate(w.teachers[0], w.project, answers_of(4))
    assert _counts(w.window) == (1, 1)


@pytest.mark.parametrize(("answers", "message"), [
    ({"1": 4, "2": 4, "3": 4}, "第4题未作答"),
    ({"1": 4, "2": 6, "3": 4, "4": 4}, "第2题的答案应为1–5之间的整数"),
    ({"1": 0, "2": 4, "3": 4, "4": 4}, "第1题的答案应为1–5之间的整数"),
    ({"1": 4.5, "2": 4, "3": 4, "4": 4}, "第1题的答案应为1–5之间的整数"),
    ({"1": "很好", "2": 4, "3": 4, "4": 4}, "第1题的答案应为1–5之间的整数"),
    ({"1": True, "2": 4, "3": 4, "4": 4}, "第1题的答案应为1–5之间的整数"),
    ({"1": 4, "2": 4, "3": 4, "4": 4, "9": 4}, "答案中有问卷没有的题目"),
    (["4", "4"], "答案格式有误"),
])
def test_answers_must_be_on_the_scale(rating_world, answers, message):
    w = rating_world
    with at(OPENS), pytest.raises(ValidationError) as refusal:
        rate(w.teachers[0], w.project, answers)
    assert message in str(refusal.value)
    assert _counts(w.window) == (0, 0)
    assert not AuditEvent.objects.dangerously_unscoped().filter(action="evaluation.rating_submit").exists()


@pytest.mark.parametrize("state", ["pending", "waiting", "withdrawn", "rejected"])
def test_only_enrolled_or_completed_trainees_rate(rating_world, province, state):
    w = rating_world
    (outsider,) = trainees(w.project, province.school, 1, state=state)
    with at(OPENS), pytest.raises(PermissionDenied) as refusal:
        rate(outsider, w.project, answers_of(4))
    assert "只有已录取或已结业的学员可以评价该项目" in str(refusal.value)
    assert _counts(w.window) == (0, 0)


def test_a_completed_trainee_rates(rating_world, province):
    w = rating_world
    (done,) = trainees(w.project, province.school, 1, state="completed")
    with at(OPENS):
        rate(done, w.project, answers_of(5))
    assert _counts(w.window) == (1, 1)


def test_an_administrator_cannot_rate(rating_world):
    w = rating_world
    county = w.users["county_admin"]
    with at(OPENS), pytest.raises(PermissionDenied):
        ratings.rating_submit(scope=scope_for_user(county), actor=county, project_id=w.project.pk,
                              answers=answers_of(4))


def test_the_audit_says_only_that_someone_rated(rating_world):
    w = rating_world
    user = w.users["teacher"]  # 张三's account
    Enrolment.objects.create(project=w.project, teacher=user.teacher, state="enrolled")
    with at(OPENS):
        ratings.rating_submit(scope=scope_for_user(user), actor=user, project_id=w.project.pk,
                              answers={"1": 5, "2": 3, "3": 2, "4": 1})
    event = AuditEvent.objects.dangerously_unscoped().get(action="evaluation.rating_submit")
    response = RatingResponse.objects.dangerously_unscoped().get(window=w.window)
    assert event.actor_id == user.pk and event.object_id == str(w.window.pk)
    assert not event.detail
    text = repr(event.__dict__)
    assert str(response.pk) not in text and "answers" not in text


def test_the_close_fixes_the_eligible_trainees(rating_world, province):
    from evaluation.tasks import rating_windows_close_task

    w = rating_world
    trainees(w.project, province.school, 3, state="withdrawn")
    with at(CLOSES):
        assert rating_windows_close_task() == 0  # still open on its last day
    with at(CLOSES + dt.timedelta(days=1)):
        assert rating_windows_close_task() == 1
        trainees(w.project, province.school, 2)  # joined after the close: not in the base
        assert rating_windows_close_task() == 0
    w.window.refresh_from_db()
    assert w.window.eligible == 30


def test_windows_of_one_project_are_listed_for_the_trainee(rating_world, province):
    w = rating_world
    other = make_project("QX-R2", province.county)
    trainees(other, province.school, 1)
    scope = as_trainee(w.teachers[0])
    with at(OPENS):
        assert ratings.rating_windows_for_teacher(scope) == [(w.window, False)]
        rate(w.teachers[0], w.project, answers_of(3))
        assert ratings.rating_windows_for_teacher(scope) == [(w.window, True)]
    with at(CLOSES + dt.timedelta(days=1)):
        assert ratings.rating_windows_for_teacher(scope) == []
