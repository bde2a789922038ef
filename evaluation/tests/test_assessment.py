"""Assessments attached to a project at 训前 / 训中 / 训后 and taken by its trainees: date guards,
who may attach, no change once answered; every item, within the scale, in the window, once, and
the dimension means (reverse items turned) in the same transaction."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from access.errors import Forbidden, NotVisible
from access.scope import scope_for_user
from evaluation import instruments as services
from evaluation.models import AssessmentResponse, DimensionScore, ProjectInstrument
from evaluation.tests.helpers_instruments import (
    ENDS,
    STARTS,
    attach,
    enrol,
    instrument,
    project,
    teacher_scope,
)

pytestmark = pytest.mark.django_db
D = dt.timedelta


@pytest.fixture
def setup(province, users):
    p = project("QX-A", province.county)
    tool = instrument(users["county_admin"])
    enrol(p, province.teacher)
    return p, tool


@pytest.mark.parametrize(("point", "opens", "closes", "message"), [
    ("pre", STARTS - D(5), STARTS + D(1), "训前测评应在项目开始"),
    ("pre", STARTS - D(200), STARTS, "训前测评最早在项目开始前90天开放"),
    ("mid", STARTS - D(1), STARTS + D(2), "训中测评应在项目期间"),
    ("mid", STARTS + D(1), ENDS + D(1), "训中测评应在项目期间"),
    ("post", ENDS - D(1), ENDS + D(5), "训后测评最早在项目最后一天"),
    ("post", ENDS, ENDS + D(120), "训后测评应在项目结束后90天内截止"),
    ("post", ENDS + D(5), ENDS, "截止日期不能早于开放日期"),
    ("later", ENDS, ENDS + D(5), "请选择测评时点"),
])
def test_date_guards(setup, users, point, opens, closes, message):
    p, tool = setup
    with pytest.raises(ValidationError) as error:
        attach(users["county_admin"], p, tool, point, opens, closes)
    assert message in " ".join(m for ms in error.value.message_dict.values() for m in ms)
    assert ProjectInstrument.objects.dangerously_unscoped().count() == 0


def test_attach_each_point_once_with_a_published_assessment(setup, users, province):
    p, tool = setup
    admin = users["county_admin"]
    row = attach(admin, p, tool, "pre", STARTS - D(7), STARTS)
    assert row.point == "pre"
    attach(admin, p, tool, "mid", STARTS, ENDS)
    attach(admin, p, tool, "post", ENDS, ENDS + D(14))
    with pytest.raises(ValidationError, match="该项目已安排训前测评"):
        attach(admin, p, tool, "pre", STARTS - D(3), STARTS)
    draft = instrument(admin, code="DRAFT", publish=False)
    rating = instrument(admin, code="RATE", kind="rating", items=[{"text": "满意", "dimension": "overall"}])
    other = project("QX-B", province.county)
    with pytest.raises(ValidationError, match="只能安排已发布的测评工具"):
        attach(admin, other, draft, "pre", STARTS - D(3), STARTS)
    with pytest.raises(ValidationError, match="只能安排能力测评"):
        attach(admin, other, rating, "pre", STARTS - D(3), STARTS)
    assert ProjectInstrument.objects.dangerously_unscoped().count() == 3


def test_who_runs_the_project_attaches(setup, users, province):
    p, tool = setup
    with pytest.raises(Forbidden):  # 通许县 sees 杞县's open project but does not run it
        attach(users["sibling_admin"], p, tool, "pre", STARTS - D(3), STARTS)
    with pytest.raises(Forbidden):
        attach(users["teacher"], p, tool, "pre", STARTS - D(3), STARTS)
    # The city above runs it too, and the province's published assessment may be used.
    province_tool = instrument(users["province_admin"], code="HN-ABL")
    assert attach(users["city_admin"], p, province_tool, "pre", STARTS - D(3), STARTS).instrument == province_tool
    assert ProjectInstrument.objects.dangerously_unscoped().count() == 1


def test_no_change_once_answered(setup, users, province):
    p, tool = setup
    admin = users["county_admin"]
    row = attach(admin, p, tool, "pre", STARTS - D(7), STARTS)
    scope = scope_for_user(admin)
    moved = services.attachment_update(scope=scope, actor=admin, attachment_id=row.pk, opens_on=STARTS - D(5),
                                       closes_on=STARTS)
    assert moved.opens_on == STARTS - D(5)
    with time_machine.travel(dt.datetime(2027, 3, 6, 10, tzinfo=dt.UTC), tick=False):
        services.response_submit(scope=teacher_scope(province.teacher), actor=None, attachment_id=row.pk,
                                 answers={"1": 4, "2": 5, "3": 2, "4": 3})
    with pytest.raises(ValidationError, match="已有学员作答"):
        services.attachment_update(scope=scope, actor=admin, attachment_id=row.pk, opens_on=STARTS - D(3),
                                   closes_on=STARTS)
    with pytest.raises(ValidationError, match="已有学员作答"):
        services.attachment_delete(scope=scope, actor=admin, attachment_id=row.pk)
    row.refresh_from_db()
    assert row.opens_on == STARTS - D(5)


# --- answering ---------------------------------------------------------------------------------

@pytest.fixture
def open_pre(setup, users):
    p, tool = setup
    row = attach(users["county_admin"], p, tool, "pre", STARTS - D(7), STARTS)
    with time_machine.travel(dt.datetime(2027, 3, 6, 10, tzinfo=dt.UTC), tick=False):
        yield row


def test_answers_make_dimension_means_with_reverse_items_turned(open_pre, province):
    response = services.response_submit(scope=teacher_scope(province.teacher), actor=None, attachment_id=open_pre.pk,
                                        answers={"1": 4, "2": 5, "3": 2, "4": 3})
    scores = dict(response.scores.values_list("dimension", "score"))
    # homework (4 + 5) / 2; classroom: item 3 reversed 1 + 5 − 2 = 4, with 3 → 3.5
    assert scores == {"homework": 4.5, "classroom": 3.5}
    assert set(response.scores.values_list("point", "project_id", "teacher_id")) == {
        ("pre", open_pre.project_id, province.teacher.pk)}


@pytest.mark.parametrize(("answers", "message"), [
    ({"1": 4, "2": 5, "3": 2}, "还有 1 道题未作答：第4题"),
    ({"1": 4, "2": 6, "3": 2, "4": 3}, "第2题的答案应在 1–5 之间"),
    ({"1": 0, "2": 5, "3": 2, "4": 3}, "第1题的答案应在 1–5 之间"),
    ({"1": "很好", "2": 5, "3": 2, "4": 3}, "第1题的答案应为 1–5 的整数"),
    ({"1": 4, "2": 5, "3": 2, "4": 3, "9": 1}, "没有题号为 9 的题目"),
    ("4,5,2,3", "作答格式有误"),
])
def test_bad_answers_write_nothing(open_pre, province, answers, message):
    with pytest.raises(ValidationError) as error:
        services.response_submit(scope=teacher_scope(province.teacher), actor=None, attachment_id=open_pre.pk,
                                 answers=answers)
    assert message in error.value.messages[0]
    assert AssessmentResponse.objects.dangerously_unscoped().count() == 0
    assert DimensionScore.objects.dangerously_unscoped().count() == 0


def test_once_only(open_pre, province):
    scope = teacher_scope(province.teacher)
    answers = {"1": 4, "2": 5, "3": 2, "4": 3}
    services.response_submit(scope=scope, actor=None, attachment_id=open_pre.pk, answers=answers)
    with pytest.raises(ValidationError, match="您已提交过该测评"):
        services.response_submit(scope=scope, actor=None, attachment_id=open_pre.pk, answers=answers)
    assert AssessmentResponse.objects.dangerously_unscoped().count() == 1
    assert DimensionScore.objects.dangerously_unscoped().count() == 2


@pytest.mark.parametrize(("day", "message"), [((2027, 3, 2), "尚未开始"), ((2027, 3, 11), "已于 2027-03-10 截止")])
def test_only_while_open_by_beijing_date(setup, users, province, day, message):
    p, tool = setup
    row = attach(users["county_admin"], p, tool, "pre", STARTS - D(7), STARTS)
    with time_machine.travel(dt.datetime(*day, 10, tzinfo=dt.UTC), tick=False), \
            pytest.raises(ValidationError, match=message):
        services.response_submit(scope=teacher_scope(province.teacher), actor=None, attachment_id=row.pk,
                                 answers={"1": 4, "2": 5, "3": 2, "4": 3})
    # 2027-03-10 16:30 UTC is already 03-11 in Beijing: closed.
    with time_machine.travel(dt.datetime(2027, 3, 10, 16, 30, tzinfo=dt.UTC), tick=False), \
            pytest.raises(ValidationError, match="已于 2027-03-10 截止"):
        services.response_submit(scope=teacher_scope(province.teacher), actor=None, attachment_id=row.pk,
                                 answers={"1": 4, "2": 5, "3": 2, "4": 3})
    assert AssessmentResponse.objects.dangerously_unscoped().count() == 0


def test_only_admitted_trainees(open_pre, province):
    pending = province.sibling_teacher
    enrol(open_pre.project, pending, state="pending")
    with pytest.raises(Forbidden, match="已录取或已结业"):
        services.response_submit(scope=teacher_scope(pending), actor=None, attachment_id=open_pre.pk,
                                 answers={"1": 4, "2": 5, "3": 2, "4": 3})
    with pytest.raises(NotVisible):  # not enrolled at all: the attachment is not theirs to see
        services.response_submit(scope=teacher_scope(province.direct_teacher), actor=None, attachment_id=open_pre.pk,
                                 answers={"1": 4, "2": 5, "3": 2, "4": 3})
    assert AssessmentResponse.objects.dangerously_unscoped().count() == 0


# --- pages and API -------------------------------------------------------------------------------

def test_teacher_lists_and_takes_on_the_page(open_pre, users, client_for, django_assert_max_num_queries):
    client = client_for(users["teacher"])
    with django_assert_max_num_queries(10):
        page = client.get("/evaluation/me/assessments/")
    assert "开始作答" in page.content.decode() and "能力自评" in page.content.decode()
    take = client.get(f"/evaluation/assessments/{open_pre.pk}/").content.decode()
    assert 'name="q3"' in take and "我组织课堂时常常顾此失彼" in take
    bad = client.post(f"/evaluation/assessments/{open_pre.pk}/", {"q1": "4", "q2": "5", "q3": "2"})
    assert bad.status_code == 400 and "未作答" in bad.content.decode()
    done = client.post(f"/evaluation/assessments/{open_pre.pk}/", {"q1": "4", "q2": "5", "q3": "2", "q4": "3"})
    assert done.status_code == 302
    assert "已提交" in client.get("/evaluation/me/assessments/").content.decode()


def test_api_me_and_responses(open_pre, users, client_for):
    client = client_for(users["teacher"])
    mine = client.get("/api/v1/me/assessments").json()
    assert [(row["id"], row["point"], row["open"], row["answered"]) for row in mine] == [
        (open_pre.pk, "pre", True, False)]
    bad = client.post(f"/api/v1/assessments/{open_pre.pk}/responses", {"answers": {"1": 9}},
                      content_type="application/json")
    assert bad.status_code == 422 and "1–5" in str(bad.json()["errors"])
    ok = client.post(f"/api/v1/assessments/{open_pre.pk}/responses", {"answers": {"1": 4, "2": 5, "3": 2, "4": 3}},
                     content_type="application/json")
    assert ok.status_code == 201 and ok.json()["scores"] == {"classroom": 3.5, "homework": 4.5}
    again = client.post(f"/api/v1/assessments/{open_pre.pk}/responses", {"answers": {"1": 4, "2": 5, "3": 2, "4": 3}},
                        content_type="application/json")
    assert again.status_code == 422 and "已提交过" in str(again.json()["errors"])
    assert client.get("/api/v1/me/assessments").json()[0]["answered"] is True


def test_project_assessment_page_and_api(setup, users, client_for):
    p, tool = setup
    client = client_for(users["county_admin"])
    page = client.post(f"/evaluation/projects/{p.pk}/assessments/", {
        "instrument": tool.pk, "point": "pre", "opens_on": "2027-03-01", "closes_on": "2027-03-10"})
    assert page.status_code == 302
    listed = client.get(f"/api/v1/projects/{p.pk}/assessments").json()
    assert [(row["point"], row["responses"]) for row in listed] == [("pre", 0)]
    created = client.post(f"/api/v1/projects/{p.pk}/assessments", {
        "instrument_id": tool.pk, "point": "post", "opens_on": "2027-03-20", "closes_on": "2027-03-30"},
        content_type="application/json")
    assert created.status_code == 201
    assert client.delete(f"/api/v1/assessments/{created.json()['id']}").status_code == 204
    refused = client_for(users["sibling_admin"]).post(f"/api/v1/projects/{p.pk}/assessments", {
        "instrument_id": tool.pk, "point": "post", "opens_on": "2027-03-20", "closes_on": "2027-03-30"},
        content_type="application/json")
    assert refused.status_code == 403
    assert ProjectInstrument.objects.dangerously_unscoped().count() == 1


def test_weak_topics_take_the_lowest_dimension_below_the_midpoint(open_pre, users, province):
    from evaluation.instrument_selectors import weak_topics
    from evaluation.tests.helpers_instruments import scored

    post = attach(users["county_admin"], open_pre.project, open_pre.instrument, "post", ENDS, ENDS + D(10))
    other = province.sibling_teacher
    scored(post, province.teacher, {"homework": 2.5, "classroom": 2.0, "ethics": 1.0})  # ethics: not a topic
    scored(post, other, {"homework": 4.0, "classroom": 3.5})  # nothing below 3
    found = weak_topics(scope_for_user(users["province_admin"]), [province.teacher.pk, other.pk])
    assert found == {province.teacher.pk: "classroom"}
    # The teacher's own scope reads their own; another county reads nothing.
    assert weak_topics(teacher_scope(province.teacher), [province.teacher.pk]) == {province.teacher.pk: "classroom"}
    assert weak_topics(scope_for_user(users["sibling_admin"]), [province.teacher.pk]) == {}
