"""The rating pages: the trainee's form (reached from 我的培训), the organiser's window page with
the response rate, and the results drill-down with its chart; who may open which."""

import datetime as dt

import pytest

from accounts.models import Role
from evaluation.models import RatingParticipation, RatingResponse
from evaluation.tests import rating_fixtures
from evaluation.tests.rating_fixtures import CLOSES, OPENS, STARTS, answers_of, at, rate

pytestmark = pytest.mark.django_db
rating_world = rating_fixtures.rating_world
AFTER = CLOSES + dt.timedelta(days=1)


@pytest.fixture
def trainee(rating_world, make_user):
    return make_user("trainee-page", Role.TEACHER, teacher=rating_world.teachers[0])


def test_the_trainee_finds_the_form_from_my_enrolments_and_rates(rating_world, trainee, client_for):
    w = rating_world
    with at(OPENS):
        client = client_for(trainee)
        mine = client.get("/projects/mine/").content.decode()
        assert f"/evaluation/ratings/projects/{w.project.pk}/" in mine
        listed = client.get("/evaluation/ratings/mine/").content.decode()
        assert w.project.title in listed and "去评价" in listed
        form = client.get(f"/evaluation/ratings/projects/{w.project.pk}/").content.decode()
        assert 'name="q-1"' in form and 'name="q-4"' in form and 'value="5"' in form
        refused = client.post(f"/evaluation/ratings/projects/{w.project.pk}/", {"q-1": "4", "q-2": "4"}, follow=True)
        assert "第3题未作答" in refused.content.decode()
        assert RatingResponse.objects.dangerously_unscoped().count() == 0
        done = client.post(f"/evaluation/ratings/projects/{w.project.pk}/",
                           {f"q-{n}": "4" for n in range(1, 5)}, follow=True)
        assert "已匿名提交评价" in done.content.decode()
        again = client.get(f"/evaluation/ratings/projects/{w.project.pk}/").content.decode()
        assert "您已评价过该项目" in again and 'name="q-1"' not in again
    assert RatingParticipation.objects.dangerously_unscoped().count() == 1


def test_the_form_outside_the_window(rating_world, trainee, client_for):
    w = rating_world
    with at(AFTER):
        page = client_for(trainee).get(f"/evaluation/ratings/projects/{w.project.pk}/").content.decode()
    assert "该项目当前不在评价时间内" in page


def test_an_administrator_has_no_rating_form(rating_world, client_for):
    w = rating_world
    with at(OPENS):
        assert client_for(w.users["county_admin"]).get(
            f"/evaluation/ratings/projects/{w.project.pk}/").status_code == 403


def test_the_window_page_shows_the_response_rate_to_the_organiser(rating_world, client_for):
    w = rating_world
    with at(OPENS):
        for teacher in w.teachers[:6]:
            rate(teacher, w.project, answers_of(4))
        page = client_for(w.users["county_admin"]).get(
            f"/evaluation/ratings/projects/{w.project.pk}/windows/").content.decode()
        assert "6 / 30" in page and "20%" in page and "开设评价窗口" in page
        staff = client_for(w.staff).get(f"/evaluation/ratings/projects/{w.project.pk}/windows/").content.decode()
        assert "6 / 30" not in staff and "开设评价窗口" not in staff  # the rated institution: dates only
        assert "2027-03-08 至 2027-03-20" in staff
        assert client_for(w.users["sibling_admin"]).get(
            f"/evaluation/ratings/projects/{w.project.pk}/windows/").status_code == 404


def test_the_organiser_opens_a_window_on_the_page(rating_world, client_for):
    w = rating_world
    with at(STARTS):
        client = client_for(w.users["county_admin"])
        bad = client.post(f"/evaluation/ratings/projects/{w.project.pk}/windows/",
                          {"instrument": w.instrument.pk, "opens_on": "2027-03-15", "closes_on": "2027-03-25"},
                          follow=True)
        assert "时间重叠" in bad.content.decode()
        good = client.post(f"/evaluation/ratings/projects/{w.project.pk}/windows/",
                           {"instrument": w.instrument.pk, "opens_on": "2027-03-21", "closes_on": "2027-03-25"},
                           follow=True)
        assert "已开设匿名评价窗口" in good.content.decode()
    assert w.project.rating_windows.count() == 2


def test_a_malformed_date_is_named_as_such_and_opens_nothing(rating_world, client_for):
    w = rating_world
    with at(STARTS):
        response = client_for(w.users["county_admin"]).post(
            f"/evaluation/ratings/projects/{w.project.pk}/windows/",
            {"instrument": w.instrument.pk, "opens_on": "2027-13-40", "closes_on": "2027-03-25"}, follow=True)
    assert "日期格式有误" in response.content.decode()
    assert w.project.rating_windows.count() == 1


def test_the_results_page_drills_down(rating_world, client_for, django_assert_max_num_queries):
    w = rating_world
    with at(OPENS):
        for teacher in w.teachers[:20]:
            rate(teacher, w.project, answers_of(4))
    with at(AFTER):
        client = client_for(w.users["county_admin"])
        client.get("/evaluation/ratings/results/")  # the first read fixes the eligible count
        with django_assert_max_num_queries(20):
            top = client.get("/evaluation/ratings/results/").content.decode()
        assert "县级 · " in top and "data-rating-chart" in top and "rating_results.js" in top
        assert "<script>" not in top.replace('<script id="rating-chart" type="application/json">', "")
        page = client.get(f"/evaluation/ratings/results/?at=project:{w.project.pk}").content.decode()
        assert "20 / 30" in page and "67%" in page and "1. 题目1" in page and "4.0" in page
        staff = client_for(w.staff).get(f"/evaluation/ratings/results/?at=project:{w.project.pk}").content.decode()
        assert "20 / 30" in staff
        outsider = client_for(w.users["sibling_admin"]).get(
            f"/evaluation/ratings/results/?at=project:{w.project.pk}").content.decode()
        assert w.project.title not in outsider
        assert client_for(w.users["teacher"]).get("/evaluation/ratings/results/").status_code == 403


def test_results_page_says_why_a_cell_is_hidden(rating_world, client_for):
    w = rating_world
    with at(OPENS):
        for teacher in w.teachers[:9]:
            rate(teacher, w.project, answers_of(4))
    with at(AFTER):
        page = client_for(w.users["county_admin"]).get(
            f"/evaluation/ratings/results/?at=project:{w.project.pk}").content.decode()
    assert "样本不足" in page and "1. 题目1" not in page


def _export_cells(client) -> list[list]:
    from io import BytesIO

    from openpyxl import load_workbook

    response = client.get("/evaluation/ratings/results/?format=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(b"".join(response.streaming_content))).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_the_results_export_holds_the_tree_with_the_same_suppression(rating_world, client_for):
    from audit.models import AuditEvent

    w = rating_world
    with at(OPENS):
        for teacher in w.teachers[:20]:
            rate(teacher, w.project, answers_of(4))
    with at(AFTER):
        rows = _export_cells(client_for(w.users["county_admin"]))
        outsider = _export_cells(client_for(w.users["sibling_admin"]))
    project_rows = [r for r in rows if r[0] == "项目"]
    assert len(project_rows) == 1 and project_rows[0][1].endswith(w.project.title)
    assert project_rows[0][2:4] == [20, 30] and project_rows[0][-1] is None
    assert not any(w.project.title in str(cell) for row in outsider for cell in row)
    assert AuditEvent.objects.dangerously_unscoped().filter(action="evaluation.rating_results_export").count() == 2


def test_a_hidden_cell_is_exported_with_its_reason_and_no_numbers(rating_world, client_for):
    w = rating_world
    with at(OPENS):
        for teacher in w.teachers[:9]:
            rate(teacher, w.project, answers_of(4))
    with at(AFTER):
        rows = _export_cells(client_for(w.users["county_admin"]))
    project_rows = [r for r in rows if r[0] == "项目"]
    assert len(project_rows) == 1
    assert project_rows[0][2:-1] == [None] * (len(project_rows[0]) - 3) and "样本不足" in project_rows[0][-1]


def test_the_form_is_only_for_the_projects_trainees(rating_world, client_for, users):
    w = rating_world
    with at(OPENS):
        response = client_for(users["sibling_teacher_user"]).get(f"/evaluation/ratings/projects/{w.project.pk}/")
    assert response.status_code == 403


def test_a_window_nobody_rated_in_is_deleted_and_one_with_ratings_is_kept(rating_world, client_for):
    from evaluation.models import RatingWindow

    w = rating_world
    with at(OPENS):
        client = client_for(w.users["county_admin"])  # signed in on the day (a session does not last months)
        page = client.get(f"/evaluation/ratings/projects/{w.project.pk}/windows/").content.decode()
        assert f"/evaluation/ratings/windows/{w.window.pk}/delete/" in page
        rate(w.teachers[0], w.project, answers_of(4))
        page = client.get(f"/evaluation/ratings/projects/{w.project.pk}/windows/").content.decode()
        assert f"/evaluation/ratings/windows/{w.window.pk}/delete/" not in page  # no button once rated
        refused = client.post(f"/evaluation/ratings/windows/{w.window.pk}/delete/", follow=True)
        assert "已有学员评价的窗口不能删除" in refused.content.decode()
        api = client.delete(f"/api/v1/rating-windows/{w.window.pk}")
        assert api.status_code == 422 and "不能删除" in str(api.json())
    assert RatingWindow.objects.dangerously_unscoped().filter(pk=w.window.pk).exists()
    RatingParticipation.objects.dangerously_unscoped().all().delete()
    RatingResponse.objects.dangerously_unscoped().all().delete()
    with at(OPENS):
        assert client.delete(f"/api/v1/rating-windows/{w.window.pk}").status_code == 204
    assert not RatingWindow.objects.dangerously_unscoped().filter(pk=w.window.pk).exists()
