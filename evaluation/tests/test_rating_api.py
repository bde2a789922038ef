"""The ratings API: `POST /api/v1/projects/{id}/ratings` (the trainee's one anonymous rating: 201 and
no id; refusals 4xx JSON with Chinese messages, nothing written) and
`GET /api/v1/projects/{id}/ratings/summary` (per question mean and count, or suppressed with the
reason), the window endpoints; and the results at every level on real rows."""

import datetime as dt

import pytest

from access.scope import scope_for_user
from accounts.models import Role
from catalog.models import Enrolment
from evaluation import rating_results, ratings
from evaluation.models import RatingParticipation, RatingResponse
from evaluation.tasks import rating_windows_close_task
from evaluation.tests import rating_fixtures
from evaluation.tests.rating_fixtures import (
    CLOSES,
    OPENS,
    STARTS,
    answers_of,
    as_trainee,
    at,
    make_project,
    rate,
    trainees,
)

pytestmark = pytest.mark.django_db
rating_world = rating_fixtures.rating_world
AFTER = CLOSES + dt.timedelta(days=1)


def _rate_many(world, count, value=4):
    with at(OPENS):
        for teacher in world.teachers[:count]:
            rate(teacher, world.project, answers_of(value))


def _summary(client_for, user, project):
    with at(AFTER):
        response = client_for(user).get(f"/api/v1/projects/{project.pk}/ratings/summary")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_trainee_rates_through_the_api(rating_world, client_for, make_user):
    w = rating_world
    user = make_user("trainee-api", Role.TEACHER, teacher=w.teachers[0])
    with at(OPENS):
        client = client_for(user)
        made = client.post(f"/api/v1/projects/{w.project.pk}/ratings", {"answers": answers_of(5)},
                           content_type="application/json")
        assert made.status_code == 201 and made.json() == {"rated": True}
        again = client.post(f"/api/v1/projects/{w.project.pk}/ratings", {"answers": answers_of(5)},
                            content_type="application/json")
    assert again.status_code == 422
    assert again.json()["code"] == "invalid"
    assert again.json()["errors"] == {"__all__": ["您已评价过该项目，每人只能评价一次"]}
    assert RatingResponse.objects.dangerously_unscoped().count() == 1


def test_api_refusals_are_structured_and_write_nothing(rating_world, client_for, make_user, users):
    w = rating_world
    user = make_user("trainee-api", Role.TEACHER, teacher=w.teachers[0])
    url = f"/api/v1/projects/{w.project.pk}/ratings"
    with at(OPENS):
        client = client_for(user)
        bad = client.post(url, {"answers": {"1": 9, "2": 4, "3": 4}}, content_type="application/json")
        assert bad.status_code == 422
        assert bad.json()["errors"]["answers"] == ["第1题的答案应为1–5之间的整数", "第4题未作答"]
        assert client.post(url, {}, content_type="application/json").status_code == 422
    with at(AFTER):
        late = client_for(user).post(url, {"answers": answers_of(4)}, content_type="application/json")
    assert late.status_code == 422 and late.json()["errors"] == {"__all__": ["该项目当前不在评价时间内"]}
    with at(OPENS):
        admin = client_for(users["county_admin"]).post(url, {"answers": answers_of(4)},
                                                       content_type="application/json")
        outsider = client_for(users["sibling_teacher_user"]).post(url, {"answers": answers_of(4)},
                                                                  content_type="application/json")
    assert admin.status_code == 403 and outsider.status_code == 403
    assert outsider.json()["detail"] == "只有已录取或已结业的学员可以评价该项目"
    assert RatingParticipation.objects.dangerously_unscoped().count() == 0
    assert RatingResponse.objects.dangerously_unscoped().count() == 0


def test_nine_responses_say_too_few(rating_world, client_for):
    w = rating_world
    _rate_many(w, 9)
    body = _summary(client_for, w.users["county_admin"], w.project)
    assert body["suppressed"] is True and body["reason"] == "样本不足"
    assert body["questions"] == [] and body["responses"] is None


def test_ten_of_twenty_are_shown(rating_world, client_for, province):
    w = rating_world
    Enrolment.objects.dangerously_unscoped().filter(teacher__in=w.teachers[20:]).update(state="withdrawn")
    with at(OPENS):
        for n, teacher in enumerate(w.teachers[:10]):
            rate(teacher, w.project, {"1": 5, "2": 4 if n % 2 else 2, "3": 3, "4": 1})
    before = _summary(client_for, w.users["county_admin"], w.project)
    assert before["suppressed"] is False
    assert (before["responses"], before["eligible"], before["rate"]) == (10, 20, 0.5)
    assert [(q["number"], q["mean"], q["count"]) for q in before["questions"]] == [
        (1, 5.0, 10), (2, 3.0, 10), (3, 3.0, 10), (4, 1.0, 10)]
    # The institution reads its project's results too (never who rated).
    staff = _summary(client_for, w.staff, w.project)
    assert staff["questions"] == before["questions"]


def test_results_wait_for_the_close(rating_world, client_for):
    w = rating_world
    _rate_many(w, 20)
    with at(CLOSES):
        body = client_for(w.users["county_admin"]).get(f"/api/v1/projects/{w.project.pk}/ratings/summary").json()
    assert body["suppressed"] is True and body["reason"] == "评价尚未结束"


def test_a_low_response_rate_is_hidden(rating_world, client_for, province):
    w = rating_world
    trainees(w.project, province.school, 10)  # 40 trainees
    _rate_many(w, 19)
    body = _summary(client_for, w.users["county_admin"], w.project)
    assert body["suppressed"] is True and body["reason"] == "应答率不足50%"


@pytest.mark.parametrize("who", ["sibling_admin", "other_city_admin", "teacher"])
def test_the_summary_is_for_those_who_oversee_the_project(rating_world, client_for, who):
    w = rating_world
    _rate_many(w, 12)
    with at(AFTER):
        response = client_for(w.users[who]).get(f"/api/v1/projects/{w.project.pk}/ratings/summary")
    assert response.status_code == 404


def test_a_published_project_hides_a_small_sibling_from_subtraction(rating_world, province, client_for):
    """Two projects of one institution and level × category: 12 and 9 responses. The 9 are too few;
    the institution's total (21) and the 12 would give them away, so the 12 are hidden too; the
    county's own total is still shown."""
    w = rating_world
    small = make_project("QX-R2", province.county, institution=w.project.institution)
    small_trainees = trainees(small, province.school, 12)
    with at(STARTS):
        county = w.users["county_admin"]
        ratings.window_open(scope=scope_for_user(county), actor=county, project_id=small.pk,
                            instrument_id=w.instrument.pk, opens_on=OPENS, closes_on=CLOSES)
    Enrolment.objects.dangerously_unscoped().filter(project=w.project, teacher__in=w.teachers[20:]).update(
        state="withdrawn")
    _rate_many(w, 12)
    with at(OPENS):
        for teacher in small_trainees[:9]:
            rate(teacher, small, answers_of(2))
    big = _summary(client_for, county, w.project)
    little = _summary(client_for, county, small)
    assert (big["suppressed"], big["reason"]) == (True, "为防推算而隐藏")
    assert (little["suppressed"], little["reason"]) == (True, "样本不足")
    with at(AFTER):
        tree = rating_results.results_for(scope_for_user(county))
    institution = tree.root.children[0].children[0]
    assert institution.suppressed is False and institution.responses == 21


def test_the_windows_api(rating_world, client_for, users):
    w = rating_world
    _rate_many(w, 3)
    with at(OPENS):
        listed = client_for(users["county_admin"]).get(f"/api/v1/projects/{w.project.pk}/rating-windows").json()
    assert listed == [{"id": w.window.pk, "project_id": w.project.pk, "instrument_id": w.instrument.pk,
                       "instrument": "培训满意度问卷（第1版）", "opens_on": "2027-03-08", "closes_on": "2027-03-20",
                       "is_open": True, "rated": 3, "eligible": 30, "rate": 0.1}]
    with at(OPENS):
        staff = client_for(w.staff).get(f"/api/v1/projects/{w.project.pk}/rating-windows").json()
    assert staff[0]["rated"] is None  # who has rated is the organiser's, for reminders
    with at(STARTS):
        made = client_for(users["county_admin"]).post(
            f"/api/v1/projects/{w.project.pk}/rating-windows",
            {"instrument_id": w.instrument.pk, "opens_on": "2027-03-10", "closes_on": "2027-03-30"},
            content_type="application/json")
        refused = client_for(w.staff).post(
            f"/api/v1/projects/{w.project.pk}/rating-windows",
            {"instrument_id": w.instrument.pk, "opens_on": "2027-03-21", "closes_on": "2027-03-30"},
            content_type="application/json")
        changed = client_for(users["county_admin"]).patch(
            f"/api/v1/rating-windows/{w.window.pk}",
            {"instrument_id": w.instrument.pk, "opens_on": "2027-03-08", "closes_on": "2027-03-25"},
            content_type="application/json")
    assert made.status_code == 422 and "时间重叠" in made.json()["errors"]["opens_on"][0]
    assert refused.status_code == 403
    assert changed.status_code == 422 and changed.json()["errors"] == {"__all__": ["已有学员评价的窗口不能修改"]}


def test_my_windows(rating_world, client_for, make_user):
    w = rating_world
    user = make_user("trainee-api", Role.TEACHER, teacher=w.teachers[0])
    with at(OPENS):
        rate(w.teachers[0], w.project, answers_of(3))
        mine = client_for(user).get("/api/v1/me/rating-windows").json()
    assert mine == [{"window_id": w.window.pk, "project_id": w.project.pk, "project": w.project.title,
                     "closes_on": "2027-03-20", "rated": True}]
    assert as_trainee(w.teachers[0]).teacher_id == w.teachers[0].pk


def test_a_shown_window_rates_the_projects_trainers(rating_world, province):
    """At the close, a shown window's 授课质量 mean becomes the rating of the project's bookings."""
    from catalog.models import ProjectSession
    from trainers.models import Trainer, TrainerBooking

    w = rating_world
    trainer = Trainer.objects.create(name="周教研", source="research_staff", division=province.county,
                                     division_path=province.county.path, stages=["primary"], subjects=["chinese"])
    booked = ProjectSession.objects.create(project=w.project, number=1, title="第1天", held_on=dt.date(2027, 3, 5),
                                           check_in_code="135790")
    TrainerBooking.objects.create(trainer=trainer, session=booked, project=w.project, held_on=booked.held_on)
    with at(OPENS):
        for n, teacher in enumerate(w.teachers[:20]):
            rate(teacher, w.project, {"1": 3, "2": 5 if n % 2 else 4, "3": 3, "4": 3})  # item 2: 授课质量
    with at(AFTER):
        rating_windows_close_task()
    booking = TrainerBooking.objects.dangerously_unscoped().get(trainer=trainer)
    assert str(booking.rating) == "4.4"  # mean 4.5 on 1–5 is 87.5 % → 4.4 of 5


def test_the_window_list_is_scoped(rating_world, client_for, make_user, users):
    w = rating_world
    trainee = make_user("trainee-api", Role.TEACHER, teacher=w.teachers[0])
    with at(OPENS):
        outsider = client_for(users["sibling_admin"]).get(f"/api/v1/projects/{w.project.pk}/rating-windows").json()
        mine = client_for(trainee).get(f"/api/v1/projects/{w.project.pk}/rating-windows").json()
    assert outsider == []
    assert [(row["id"], row["rated"], row["eligible"]) for row in mine] == [(w.window.pk, None, None)]
