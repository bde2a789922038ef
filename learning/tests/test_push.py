"""The personalised push: lists built from real completions (through the LRS), the policy's needs
as reasons, never a completed, retired or closed course, stale lists recomputed, and the API and
home page in scope."""

import datetime as dt

import pytest
from django.utils import timezone

from access.scope import Scope, scope_for_user
from learning.models import Course, TeacherPush
from learning.push.selectors import push_for
from learning.push.services import push_refresh_all
from learning.services import course_publish, course_retire
from learning.tests.conftest import row
from lrs.learners import learner_identity_add
from lrs.tests.conftest import make_xapi, statement, xapi  # noqa: F401 - fixtures
from people.tests.factories import TeacherFactory

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
LAUNCHED = "http://adlnet.gov/expapi/verbs/launched"


@pytest.fixture
def library(import_rows, users):
    """Province courses for primary maths and Chinese, one on ethics (required content), and a
    course of the sibling county (open only there)."""
    import_rows([
        row("M-1", "小学数学大单元教学设计", 学段="小学", 学科="数学", **{"专题/能力": "课堂教学"}),
        row("M-2", "小学数学作业设计与评价", 学段="小学", 学科="数学", **{"专题/能力": "作业设计"}),
        row("M-3", "小学数学实验与操作", 学段="小学", 学科="数学", **{"专题/能力": "实验操作"}),
        row("M-4", "数学课堂中的学科育德", 学段="小学", 学科="数学", **{"专题/能力": "学科育德"}),
        row("C-1", "小学语文整本书阅读", 学段="小学", 学科="语文", **{"专题/能力": "课堂教学"}),
        row("E-1", "新时代师德师风建设", 学段="", 学科="", 必修内容="师德师风", **{"专题/能力": ""}),
        row("S-1", "高中物理实验教学", 学段="普通高中", 学科="物理", **{"专题/能力": "实验操作"}),
    ])
    import_rows([row("X-1", "通许县小学数学教研专题", 学段="小学", 学科="数学")], who="sibling_admin")
    courses = {c.code: c for c in Course.objects.dangerously_unscoped().all()}
    for code, course in courses.items():
        who = "sibling_admin" if code == "X-1" else "province_admin"
        course_publish(scope=scope_for_user(users[who]), actor=users[who], course_id=course.pk)
    return {c.code: c for c in Course.objects.dangerously_unscoped().all()}


@pytest.fixture
def learner(province, xapi, django_capture_on_commit_callbacks):  # noqa: F811
    """Make a primary maths teacher of the county who completed the given courses (through /xapi/)."""
    counter = iter(range(1, 1000))

    def make(*courses, teacher=None, subject="math"):
        n = next(counter)
        teacher = teacher or TeacherFactory(school=province.school, subjects=[subject])
        mbox = f"mailto:learner{n}-{teacher.pk}@example.org"
        learner_identity_add(scope=Scope.division(province.province), actor=None, teacher=teacher, kind="mbox", value=mbox)
        sent = []
        for course in courses:
            begun = (timezone.now() - dt.timedelta(hours=8)).isoformat()
            done = (timezone.now() - dt.timedelta(minutes=5)).isoformat()
            sent += [statement(actor={"mbox": mbox}, verb={"id": LAUNCHED}, object={"id": course.activity_iri},
                               timestamp=begun),
                     statement(actor={"mbox": mbox}, verb={"id": COMPLETED}, object={"id": course.activity_iri},
                               timestamp=done)]
        if sent:
            with django_capture_on_commit_callbacks(execute=True):
                response = xapi.post("statements", sent)
            assert response.status_code == 200, response.content
        return teacher

    return make


def _codes(found):
    return [item.course.code for item in found.items]


def test_a_teachers_list_never_holds_a_completed_retired_or_closed_course(library, learner, users):
    teacher = learner(library["M-1"])
    course_retire(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"],
                  course_id=library["M-3"].pk)
    found = push_for(Scope.for_teacher(teacher), teacher)
    codes = _codes(found)
    assert codes and found.recomputed
    assert "M-1" not in codes  # completed
    assert "M-3" not in codes  # retired
    assert "X-1" not in codes  # the sibling county's course is not open to this county
    assert len(codes) == len(set(codes))


def test_teachers_whose_homes_open_the_same_courses_share_one_read(library, import_rows, users, province,
                                                                   django_assert_num_queries):
    """The library reads the open courses once per set of course-owning divisions above a home:
    each home still gets exactly what the course rule opens to it."""
    from learning.push.inputs import open_course_ids
    from learning.push.services import library_build

    import_rows([row("K-1", "开封市小学数学教研", 学段="小学", 学科="数学")], who="city_admin")
    city_course = Course.objects.dangerously_unscoped().get(code="K-1")
    course_publish(scope=scope_for_user(users["city_admin"]), actor=users["city_admin"], course_id=city_course.pk)
    built = library_build(now=timezone.now(), model=None)
    homes = {who: getattr(province, who).division_path
             for who in ("teacher", "sibling_teacher", "direct_teacher", "other_city_teacher")}
    opened = {who: built.open_ids(home) for who, home in homes.items()}
    for who, home in homes.items():
        assert opened[who] == open_course_ids(home), who
    sibling_course = library["X-1"].pk
    assert city_course.pk in opened["teacher"] and sibling_course not in opened["teacher"]
    assert {city_course.pk, sibling_course} <= opened["sibling_teacher"]
    assert not {city_course.pk, sibling_course} & opened["other_city_teacher"]
    # Another county of 洛阳市 opens what the first one does: no new read.
    elsewhere = homes["other_city_teacher"].rsplit(".", 2)[0] + ".410399."
    with django_assert_num_queries(0):
        assert built.open_ids(elsewhere) == opened["other_city_teacher"]
    assert built.open_key(elsewhere) == built.open_key(homes["other_city_teacher"]) != built.open_key(homes["teacher"])


def test_required_content_not_taken_this_cycle_comes_first_with_its_reason(library, learner):
    teacher = learner(library["M-1"])
    found = push_for(Scope.for_teacher(teacher), teacher)
    assert found.items[0].course.code == "E-1"
    assert found.items[0].signal == "required"
    assert found.items[0].reason.startswith("你本周期尚未完成必修的师德师风内容")
    # Once taken, it is no longer pushed (and no longer a need).
    learner(library["E-1"], teacher=teacher)
    again = push_for(Scope.for_teacher(teacher), teacher)
    assert again.recomputed and "E-1" not in _codes(again)
    assert all(item.signal != "required" for item in again.items)


def test_the_hours_still_owed_are_said_in_the_reason(library, learner):
    teacher = learner()
    found = push_for(Scope.for_teacher(teacher), teacher)
    owed = [item for item in found.items if item.signal == "owed"]
    assert owed and all(item.reason == "本周期还差 360 学时，可计入网络研修" for item in owed)
    # Said once where it explains the course, not repeated after every other reason.
    assert all("本周期还差" not in item.reason for item in found.items if item.signal != "owed")


def test_what_peers_of_the_same_stage_and_subject_study_is_pushed_with_that_reason(library, learner):
    for _ in range(3):
        learner(library["M-2"])
    learner(library["C-1"], subject="chinese")
    newcomer = learner()
    push_refresh_all()
    found = push_for(Scope.for_teacher(newcomer), newcomer)
    assert not found.recomputed  # the nightly list is fresh
    top = [item for item in found.items if item.signal != "required"][0]
    assert top.course.code == "M-2"
    assert top.reason.startswith("与你同学段同学科的老师常学（小学数学）")


def test_a_teacher_counts_once_among_peers_for_a_course_credited_module_by_module(library, learner, users, province):
    from types import SimpleNamespace

    from learning.models import PeerPopularity
    from lrs.credited import credited_activity_create
    from lrs.models import CreditState, StatementCredit

    admin = users["province_admin"]
    prefix = "https://courses.example.org/m-3/modules/"
    credited = credited_activity_create(scope=scope_for_user(admin), actor=admin, division=province.province,
                                        activity_iri=prefix, title="小学数学实验与操作（分模块）", hours=2, is_prefix=True)
    Course.objects.dangerously_unscoped().filter(pk=library["M-3"].pk).update(credited_activity=credited)
    modules = [SimpleNamespace(activity_iri=f"{prefix}{n}") for n in (1, 2)]
    learner(*modules)  # two modules: two credited rows, one learner
    learner(modules[0])
    assert StatementCredit.objects.dangerously_unscoped().filter(credited_activity=credited, state=CreditState.CREDITED).count() == 3
    push_refresh_all()
    assert PeerPopularity.objects.get(stage="primary", subject="math", course=library["M-3"]).learners == 2


def test_courses_studied_together_are_pushed_as_related(library, learner):
    for _ in range(3):
        learner(library["M-1"], library["M-4"])
    follower = learner(library["M-1"])
    push_refresh_all()
    found = push_for(Scope.for_teacher(follower), follower)
    related = [item for item in found.items if item.course.code == "M-4"]
    assert related and related[0].signal == "similar"
    assert related[0].reason.startswith("与你学过的《小学数学大单元教学设计》相关")
    assert _codes(found).index("M-4") < _codes(found).index("M-3")  # above a course nobody paired with M-1


def test_a_course_taken_up_on_the_player_is_no_longer_pushed(library, learner):
    from learning.study import course_enrol

    teacher = learner(library["M-1"])
    Course.objects.dangerously_unscoped().filter(pk=library["M-2"].pk).update(
        format="reading", duration_seconds=600, content="大单元教学的阅读材料。")
    push_refresh_all()
    assert "M-2" in _codes(push_for(Scope.for_teacher(teacher), teacher))
    course_enrol(scope=Scope.for_teacher(teacher), course_id=library["M-2"].pk)
    again = push_for(Scope.for_teacher(teacher), teacher)
    assert again.recomputed and "M-2" not in _codes(again)
    push_refresh_all()  # the batch reads enrolments too
    assert "M-2" not in _codes(push_for(Scope.for_teacher(teacher), teacher))


def test_the_nightly_batch_writes_every_active_teachers_list(library, learner, province):
    learner(library["M-1"])
    TeacherFactory(school=province.school, status="left")
    result = push_refresh_all()
    active = [t for t in (province.teacher, province.sibling_teacher, province.direct_teacher,
                          province.other_city_teacher)]
    stored = set(TeacherPush.objects.dangerously_unscoped().values_list("teacher_id", flat=True))
    assert {t.pk for t in active} <= stored
    assert result["teachers"] == len(stored)


def test_a_chunk_copied_in_bulk_stores_what_the_single_upsert_stores(library, learner, province, monkeypatch):
    """A handful of lists are upserted by the ORM, a batch's chunk through COPY (on PostgreSQL):
    both must store the same lists and fingerprints."""
    from learning.push import services

    learner(library["M-1"])
    push_refresh_all()
    one_by_one = {r.teacher_id: (r.items, r.basis) for r in TeacherPush.objects.dangerously_unscoped()}
    TeacherPush.objects.dangerously_unscoped().all().delete()
    monkeypatch.setattr(services, "ORM_STORE_BELOW", 1)
    push_refresh_all()
    in_bulk = {r.teacher_id: (r.items, r.basis) for r in TeacherPush.objects.dangerously_unscoped()}
    assert one_by_one and in_bulk == one_by_one
    assert any(items for items, _ in in_bulk.values())


def test_a_list_goes_stale_when_the_teacher_completes_a_course(library, learner):
    teacher = learner(library["M-1"])
    push_refresh_all()
    first = push_for(Scope.for_teacher(teacher), teacher)
    assert not first.recomputed and "M-2" in _codes(first)
    learner(library["M-2"], teacher=teacher)
    second = push_for(Scope.for_teacher(teacher), teacher)
    assert second.recomputed and "M-2" not in _codes(second)


def test_the_api_serves_a_teacher_their_own_list_and_admins_in_scope(library, learner, users, client_for, province):
    learner(library["M-1"], teacher=province.teacher)
    mine = client_for(users["teacher"]).get("/api/v1/me/recommendations")
    assert mine.status_code == 200
    body = mine.json()
    assert body["teacher_id"] == province.teacher.pk and body["items"]
    assert {"course_id", "title", "reason", "signal", "hours"} <= set(body["items"][0])
    assert "M-1" not in [i["title"] for i in body["items"]]
    path = f"/api/v1/teachers/{province.teacher.pk}/recommendations"
    for who, status in (("county_admin", 200), ("school_admin", 200), ("city_admin", 200), ("province_admin", 200),
                        ("sibling_admin", 404), ("direct_admin", 404), ("other_city_admin", 404),
                        ("sibling_teacher_user", 404)):
        assert client_for(users[who]).get(path).status_code == status, who
    assert client_for(users["county_admin"]).get("/api/v1/me/recommendations").status_code == 403


def test_an_admins_view_is_the_teachers_own_list(library, learner, users, client_for, province):
    learner(library["M-1"], teacher=province.teacher)
    as_admin = client_for(users["school_admin"]).get(f"/api/v1/teachers/{province.teacher.pk}/recommendations").json()
    as_teacher = client_for(users["teacher"]).get("/api/v1/me/recommendations").json()
    assert [i["course_id"] for i in as_admin["items"]] == [i["course_id"] for i in as_teacher["items"]]


def test_the_teachers_home_page_shows_the_list_in_a_fixed_number_of_queries(library, learner, users, client_for,
                                                                             province, django_assert_max_num_queries):
    learner(library["M-1"], teacher=province.teacher)
    client = client_for(users["teacher"])
    client.get("/home/")  # computes and stores the list
    with django_assert_max_num_queries(25):
        page = client.get("/home/")
    text = page.content.decode()
    assert "为你推荐的课程" in text and "新时代师德师风建设" in text and "你本周期尚未完成必修的师德师风内容" in text


@pytest.mark.pg_only
def test_the_binary_copy_reads_the_same_history_as_the_rows(library, learner, province, monkeypatch):
    import numpy as np

    from learning.push import interactions

    for _ in range(3):
        learner(library["M-1"], library["M-2"])
        TeacherFactory(school=province.school)  # a teacher with no history between them: an empty range
    monkeypatch.setattr(interactions, "_BUCKET", 1)
    rows = interactions._completions(Scope.division(Course.objects.dangerously_unscoped().first().division))
    copied = interactions._copy(rows)
    expected = sorted((t, a, int(at.timestamp())) for t, a, at in rows)
    assert len(expected) == 6
    assert sorted(zip(*(part.tolist() for part in copied), strict=True)) == expected
    assert all(part.dtype in (np.int64, np.float64) for part in copied)


def test_the_refit_reads_only_the_history_of_its_sample(library, learner, province, monkeypatch):
    import numpy as np

    from learning.push import collaborative, interactions
    from learning.push.inputs import course_of_activity

    learners = [learner(library["M-1"], library["M-2"]) for _ in range(4)]
    monkeypatch.setattr(interactions, "_BUCKET", 2)  # several ranges on PostgreSQL, some without a wanted id
    scope = Scope.division(Course.objects.dangerously_unscoped().first().division)
    every = np.asarray(sorted(t.pk for t in learners), dtype=np.int64)
    sample = collaborative.fit_sample(every, 2)
    assert len(sample) == 2 and set(sample.tolist()) < set(every.tolist())
    assert collaborative.fit_sample(every[::-1].copy(), 2).tolist() == sample.tolist()  # the same, night after night
    courses = course_of_activity(scope)
    read = interactions.load(scope, courses, teachers_among=sample)
    assert set(read.teachers.tolist()) == set(sample.tolist())
    whole = interactions.load(scope, courses)
    assert len(read.teachers) == int(np.isin(whole.teachers, sample).sum()) > 0


def test_the_nightly_batch_refits_the_model_only_when_it_is_old(library, learner, settings):
    import os

    from learning.push import collaborative

    for _ in range(2):
        learner(library["M-1"], library["M-4"])
    push_refresh_all()
    first = collaborative.stamp()
    assert first is not None
    push_refresh_all()
    assert collaborative.stamp() == first  # a day-old model is used as it is
    path = collaborative.model_path()
    os.utime(path, (first - 8 * 86400, first - 8 * 86400))
    push_refresh_all()
    assert collaborative.stamp() > first - 8 * 86400  # older than LEARNING_PUSH_REFIT_DAYS: refitted


def test_an_administrator_sees_the_teachers_list_on_the_teachers_page(library, learner, users, client_for, province):
    learner(library["M-1"], teacher=province.teacher)
    page = client_for(users["school_admin"]).get(f"/teachers/{province.teacher.pk}/").content.decode()
    assert "课程推送" in page and "新时代师德师风建设" in page and "你本周期尚未完成必修的师德师风内容" in page
    own = client_for(users["teacher"]).get(f"/teachers/{province.teacher.pk}/").content.decode()
    assert "课程推送" not in own  # the teacher has it on the home page
    assert client_for(users["sibling_admin"]).get(f"/teachers/{province.teacher.pk}/").status_code == 404


def test_the_weakest_capability_of_the_latest_post_training_assessment_is_pushed(library, learner, users, province):
    """A teacher whose 训后 assessment puts 作业设计 below the scale's midpoint gets the homework course,
    saying why; the stored list goes stale when that assessment arrives."""
    from evaluation.tests.helpers_instruments import attach, instrument, project, scored

    teacher = learner(library["E-1"])
    before = push_for(Scope.for_teacher(teacher), teacher)
    assert all(item.signal != "weak" for item in before.items)
    admin = users["county_admin"]
    trained = project("QX-W", province.county)
    post = attach(admin, trained, instrument(admin), "post", trained.ends_on, trained.ends_on + dt.timedelta(days=10))
    scored(post, teacher, {"homework": 2.0, "classroom": 4.5})
    after = push_for(Scope.for_teacher(teacher), teacher)
    assert after.recomputed
    weak = [item for item in after.items if item.signal == "weak"]
    assert [item.course.code for item in weak] == ["M-2"]
    assert weak[0].reason == "训后测评显示你的作业设计能力有待提升"
