"""Seats from the allocation down the hierarchy, the search to add a teacher below the reserve,
and the access policy's `select_nominees` rule for who may rank for a project."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from access.policy import Action, can, visible
from access.scope import Scope, scope_for_user
from audit.models import AuditEvent
from catalog.models import Enrolment, Project
from people.tests.factories import TeacherFactory
from quotas import selection
from quotas.selection_models import NominationList, NominationPick
from quotas.targets import allocation_create
from quotas.tests.helpers import TODAY, high_end

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
FULL_ID = re.compile(r"(?<!\d)\d{17}[\dX](?!\d)")


def _scope(users, name):
    return scope_for_user(users[name])


def _allocate(province, users, *, year=2027, total=4, weights=None, level_of="city"):
    """开封市's 市级 seats of `year` (or the province's 省级 seats) split by weights."""
    if level_of == "province":
        return allocation_create(
            scope=Scope.division(province.province),
            actor=users["province_admin"],
            division_code=province.province.code,
            year=year,
            total=total,
            weights=weights or {province.city.code: 1},
        )
    return allocation_create(
        scope=Scope.division(province.city),
        actor=users["city_admin"],
        division_code=province.city.code,
        year=year,
        total=total,
        weights=weights or {province.county.code: 3, province.sibling.code: 1},
    )


def _build(users, project, who="county_admin", **kw):
    return selection.nomination_list_build(
        scope=_scope(users, who), actor=users[who], project_id=project.pk, today=TODAY, **kw
    )


@pytest.fixture
def teachers(province):
    return [TeacherFactory(school=province.school, name=f"候选{n}") for n in range(8)]


# --- seats ---------------------------------------------------------------------------------


def test_the_default_is_the_share_allocated_to_the_county_and_a_larger_number_is_refused(
    province, users, teachers
):
    _allocate(province, users)  # 杞县 3, 通许县 1 of 开封市's 2027 市级 seats
    project = high_end(province.city, seats=10)  # 市级, starts 2027-03-01
    source = selection.seats_for(_scope(users, "county_admin"), project)
    assert (source.allocated, source.used, source.remaining, source.free, source.default) == (
        3,
        0,
        3,
        10,
        3,
    )
    assert source.share_text == "上级分配给本县 2027 年市级名额 3 人"
    assert "开封市第1版分配" in source.text
    audited = AuditEvent.objects.dangerously_unscoped().count()
    with pytest.raises(ValidationError) as error:
        _build(users, project, seats=4)
    assert (
        "入选名额（4 人）超过分配的名额：上级分配给本县 2027 年市级名额 3 人，最多还可推荐 3 人"
        in str(error.value)
    )
    assert not NominationList.objects.dangerously_unscoped().exists()
    assert AuditEvent.objects.dangerously_unscoped().count() == audited
    row = _build(users, project)
    assert row.seats == 3 and row.reserve == 3
    assert (
        NominationPick.objects.dangerously_unscoped()
        .filter(nomination_list=row, role="selected")
        .count()
        == 3
    )
    event = (
        AuditEvent.objects.dangerously_unscoped().filter(action="quotas.selection_list_build").get()
    )
    assert event.detail["allocated"] == 3 and event.detail["allocation"] is not None
    assert _build(users, project, seats=2).seats == 2  # fewer than the share is fine
    # 通许县's share is its own: one seat
    assert selection.seats_for(_scope(users, "sibling_admin"), project).allocated == 1


def test_the_default_is_capped_by_the_free_seats_and_teachers_already_on_the_list_count(
    province, users, teachers
):
    _allocate(province, users)
    project = high_end(province.city, seats=2)
    assert (
        selection.seats_for(_scope(users, "county_admin"), project).default == 2
    )  # share 3, 2 free
    project.seats = 10
    project.save(update_fields=["seats"])
    Enrolment.objects.create(project=project, teacher=teachers[0], state="enrolled")
    Enrolment.objects.create(
        project=project, teacher=province.sibling_teacher, state="enrolled"
    )  # 通许县's
    Enrolment.objects.create(
        project=project, teacher=teachers[1], state="withdrawn"
    )  # not on the list
    project.seats_taken = 2
    project.save(update_fields=["seats_taken"])
    source = selection.seats_for(_scope(users, "county_admin"), project)
    assert (source.allocated, source.used, source.remaining, source.default) == (3, 1, 2, 2)
    assert "本县教师已在项目名单上 1 人，尚余 2 人" in source.text
    with pytest.raises(ValidationError, match="本县教师已在项目名单上 1 人，最多还可推荐 2 人"):
        _build(users, project, seats=3)
    for teacher in teachers[2:4]:
        Enrolment.objects.create(project=project, teacher=teacher, state="pending")
    with pytest.raises(ValidationError, match="名额已用完"):
        _build(users, project)
    assert not NominationList.objects.dangerously_unscoped().exists()


@pytest.mark.parametrize("case", ["another year", "another level", "superseded"])
def test_only_the_current_allocation_of_the_projects_level_and_year_counts(
    province, users, teachers, case
):
    project = high_end(province.city, seats=10)
    if case == "another year":
        _allocate(province, users, year=2026)
        expected = None
    elif case == "another level":
        project = high_end(province.province, code="HE-P", level="province", seats=10)
        _allocate(province, users)  # 开封市's 市级 seats: nothing to do with a 省级 project
        expected = None
    else:
        _allocate(province, users, total=4)  # 杞县 3
        _allocate(province, users, total=8)  # supersedes it: top-up, 杞县 6
        expected = 6
    source = selection.seats_for(_scope(users, "county_admin"), project)
    assert source.allocated == expected
    if expected is None:
        assert source.default == 10
        assert source.text.startswith(
            f"上级未向本县分配 2027 年{'省' if case == 'another level' else '市'}级名额"
        )
        assert (
            _build(users, project, seats=12).seats == 12
        )  # no allocation: the old behaviour, no cap


def test_the_provinces_share_for_a_city_and_the_organiser_has_none(province, users, teachers):
    _allocate(
        province, users, level_of="province", total=5
    )  # the province's 2027 省级 seats: 开封市 5
    project = high_end(province.province, code="HE-P", level="province", seats=20)
    city = selection.seats_for(_scope(users, "city_admin"), project)
    assert (city.allocated, city.default) == (
        5,
        5,
    ) and city.share_text == "上级分配给本市 2027 年省级名额 5 人"
    # A county of the city: the city allocates only its own 市级 seats, so none comes down for a 省级 project.
    assert selection.seats_for(_scope(users, "county_admin"), project).allocated is None
    organiser = selection.seats_for(_scope(users, "province_admin"), project)
    assert organiser.organiser and organiser.allocated is None and organiser.default == 20
    assert (
        organiser.text == "本项目由本省组织，没有上级分配的名额，入选名额默认为项目剩余名额 20 人"
    )


def test_the_build_page_shows_where_the_number_comes_from_and_refuses_in_chinese(
    province, users, teachers, client_for
):
    _allocate(province, users, total=6, weights={province.county.code: 1})  # 杞县 all 6
    project = high_end(province.city, seats=30)
    client = client_for(users["county_admin"])
    with time_machine.travel(NOW, tick=False):
        body = client.get(f"/quotas/selection/projects/{project.pk}/").content.decode()
        assert "上级分配给本县 2027 年市级名额 6 人" in body and 'max="6"' in body
        refused = client.post(f"/quotas/selection/projects/{project.pk}/", {"seats": "7"})
        assert refused.status_code == 422 and "超过分配的名额" in refused.content.decode()
        assert client.post(f"/quotas/selection/projects/{project.pk}/", {}).status_code == 302
    assert NominationList.objects.dangerously_unscoped().get().seats == 6


def test_the_api_answers_the_seats_and_a_structured_error(province, users, teachers, client_for):
    _allocate(province, users)
    project = high_end(province.city, seats=10)
    client = client_for(users["county_admin"])
    with time_machine.travel(NOW, tick=False):
        seats = client.get(f"/api/v1/projects/{project.pk}/nomination-seats").json()
        assert {
            k: seats[k]
            for k in (
                "year",
                "level",
                "allocated",
                "already_on_list",
                "remaining",
                "free",
                "default",
                "allocator",
            )
        } == {
            "year": 2027,
            "level": "city",
            "allocated": 3,
            "already_on_list": 0,
            "remaining": 3,
            "free": 10,
            "default": 3,
            "allocator": "开封市",
        }
        refused = client.post(
            f"/api/v1/projects/{project.pk}/nomination-lists",
            {"seats": 5},
            content_type="application/json",
        )
        assert refused.status_code == 422
        assert "超过分配的名额" in refused.json()["errors"]["seats"][0]
        built = client.post(
            f"/api/v1/projects/{project.pk}/nomination-lists", {}, content_type="application/json"
        )
        assert built.status_code == 201 and built.json()["seats"] == 3
        organiser = (
            client_for(users["city_admin"])
            .get(f"/api/v1/projects/{project.pk}/nomination-seats")
            .json()
        )
        assert organiser["allocated"] is None and organiser["default"] == 10
        assert (
            client_for(users["school_admin"])
            .get(f"/api/v1/projects/{project.pk}/nomination-seats")
            .status_code
            == 403
        )


# --- who may rank for a project: the access policy ------------------------------------------


@pytest.mark.parametrize(
    ("persona", "outcome"),
    [
        ("county_admin", "ok"),
        ("sibling_admin", "ok"),
        ("city_admin", "ok"),  # inside the city's area, the organiser
        ("province_admin", "forbidden"),  # above the organiser
        (
            "other_city_admin",
            "forbidden",
        ),  # another city: sees the open project, may not rank for it
        ("school_admin", "forbidden"),
        ("teacher", "forbidden"),
        ("direct_admin", "forbidden"),  # 兰考县 (省直管县) lies in the city but reports to the province
    ],
)
def test_select_nominees_rule_for_a_citys_project(province, users, persona, outcome):
    project = high_end(province.city)
    scope = _scope(users, persona)
    assert can(scope, Action.SELECT_NOMINEES, project) == (outcome == "ok")
    assert visible(scope, Project, Action.SELECT_NOMINEES).filter(pk=project.pk).exists() == (
        outcome == "ok"
    )
    if outcome == "ok":
        assert selection.project_for_selection(scope, project.pk) == project
    else:
        with pytest.raises(PermissionDenied):
            selection.project_for_selection(scope, project.pk)


def test_select_nominees_refuses_a_draft_unseen_a_school_project_and_one_organised_below(
    province, users
):
    draft = high_end(province.city, code="HE-D", state="draft")
    with pytest.raises(Http404):  # 杞县 does not see the city's draft
        selection.project_for_selection(_scope(users, "county_admin"), draft.pk)
    assert selection.project_for_selection(_scope(users, "city_admin"), draft.pk) == draft
    school_project = high_end(province.county, code="HE-S", level="school")
    Project.objects.dangerously_unscoped().filter(pk=school_project.pk).update(
        organiser_school=province.school
    )
    school_project.refresh_from_db()
    for persona in ("county_admin", "school_admin"):
        assert not can(_scope(users, persona), Action.SELECT_NOMINEES, school_project)
    county_project = high_end(province.county, code="HE-Q", level="county")
    assert can(_scope(users, "county_admin"), Action.SELECT_NOMINEES, county_project)
    for persona in (
        "sibling_admin",
        "city_admin",
        "province_admin",
    ):  # a neighbour; divisions above the organiser
        with pytest.raises(PermissionDenied, match="本项目不面向本辖区"):
            selection.project_for_selection(_scope(users, persona), county_project.pk)


def test_the_home_page_lists_only_projects_the_division_may_rank_for(province, users, client_for):
    city_project = high_end(province.city, code="HE-KF")
    county_project = high_end(province.county, code="HE-QX", level="county")
    with time_machine.travel(NOW, tick=False):
        body = client_for(users["sibling_admin"]).get("/quotas/selection/").content.decode()
        assert city_project.title in body and county_project.title not in body
        body = client_for(users["city_admin"]).get("/quotas/selection/").content.decode()
        assert city_project.title in body and county_project.title not in body


# --- finding a teacher below the reserve ----------------------------------------------------


@pytest.fixture
def small_list(province, users, teachers):
    """杞县's list for the city's project: two selected, one in reserve; the rest below the reserve."""
    project = high_end(province.city, seats=10)
    return _build(users, project, seats=2, reserve=1)


def _search(users, row, q, who="county_admin", scope=None):
    return selection.nomination_candidates(
        scope=scope or _scope(users, who), list_id=row.pk, q=q, today=TODAY
    )


def test_search_finds_eligible_teachers_of_the_division_by_name_or_number(
    province, users, teachers, small_list, django_assert_max_num_queries
):
    scope = _scope(users, "county_admin")
    with django_assert_max_num_queries(
        5
    ):  # the list, its rules, the 省直管县, the ranked rows, their places
        found, more = _search(users, small_list, "候选", scope=scope)
    assert len(found) == 8 and not more
    assert [c.points for c in found] == sorted((c.points for c in found), reverse=True)
    places = {
        p.teacher_id: p.role
        for p in NominationPick.objects.dangerously_unscoped().filter(nomination_list=small_list)
    }
    assert {c.teacher_id: c.role for c in found if c.role} == {
        k: v for k, v in places.items() if k in {t.pk for t in teachers}
    }
    below = [c for c in found if not c.role]
    assert below and all(c.explanation.endswith(f"合计{c.points}") for c in below)
    by_number, _ = _search(users, small_list, str(teachers[5].pk))
    assert [c.name for c in by_number] == ["候选5"]
    assert _search(users, small_list, "") == ([], False)
    # not in 杞县: 通许县's 李四 by name and by number; not eligible: a retired teacher; on the project already
    retired = TeacherFactory(school=province.school, name="候选退休", status="retired")
    Enrolment.objects.create(project=small_list.project, teacher=teachers[7], state="pending")
    assert _search(users, small_list, "李四")[0] == []
    assert _search(users, small_list, str(province.sibling_teacher.pk))[0] == []
    assert _search(users, small_list, str(retired.pk))[0] == []
    assert teachers[7].pk not in {c.teacher_id for c in _search(users, small_list, "候选")[0]}


def test_search_is_bounded_and_its_query_count_does_not_grow(
    province, users, teachers, small_list, django_assert_max_num_queries
):
    for n in range(40):
        TeacherFactory(school=province.school, name=f"候选批{n}")
    scope = _scope(users, "county_admin")
    with django_assert_max_num_queries(
        5
    ):  # the list, its rules, the 省直管县, the ranked rows, their places
        found, more = _search(users, small_list, "候选", scope=scope)
    assert len(found) == selection.SEARCH_LIMIT and more


def test_search_respects_the_audience_rule(province, users, teachers):
    project = high_end(province.city, seats=10, audience={"stages": ["junior"]})
    junior = TeacherFactory(school=province.school, name="候选初中", stage="junior")
    row = _build(users, project, seats=1, reserve=0)
    assert [c.teacher_id for c in _search(users, row, "候选")[0]] == [junior.pk]


def test_search_never_looks_up_or_shows_an_id_number(province, users, teachers, small_list):
    number = teachers[3].id_number
    with pytest.raises(ValidationError, match="不支持按身份证号查找"):
        _search(users, small_list, number)
    with pytest.raises(ValidationError, match="不能超过30个字"):
        _search(users, small_list, "候" * 31)
    assert not AuditEvent.objects.dangerously_unscoped().filter(action="people.id_lookup").exists()


def test_search_is_the_list_owners_and_only_on_a_draft(province, users, teachers, small_list):
    with pytest.raises(PermissionDenied):  # the city reads 杞县's list but may not add to it
        _search(users, small_list, "候选", who="city_admin")
    with pytest.raises(Http404):
        _search(users, small_list, "候选", who="sibling_admin")
    selection.nomination_list_submit(
        scope=_scope(users, "county_admin"), actor=users["county_admin"], list_id=small_list.pk
    )
    with pytest.raises(ValidationError, match="名单已提交推荐"):
        _search(users, small_list, "候选")


def test_the_page_searches_with_htmx_and_adds_the_teacher_found_with_a_reason(
    province, users, teachers, small_list, client_for, django_assert_max_num_queries
):
    client = client_for(users["county_admin"])
    url = f"/quotas/selection/lists/{small_list.pk}/search/"
    with time_machine.travel(NOW, tick=False):
        body = client.get(f"/quotas/selection/lists/{small_list.pk}/").content.decode()
        assert f'hx-get="{url}"' in body
        with django_assert_max_num_queries(12):
            fragment = client.get(url, {"q": "候选"}, HTTP_HX_REQUEST="true")
        text = fragment.content.decode()
        assert fragment.status_code == 200 and "<html" not in text and text.count("增补入选") >= 5
        assert not FULL_ID.search(text)
        refused = client.get(url, {"q": teachers[0].id_number}, HTTP_HX_REQUEST="true")
        assert refused.status_code == 200 and "不支持按身份证号查找" in refused.content.decode()
        assert client.get(url, {"q": teachers[0].id_number}).status_code == 422
        page = client.get(url, {"q": "候选"})
        assert page.status_code == 200 and "<html" in page.content.decode()
        on_list = set(
            NominationPick.objects.dangerously_unscoped()
            .filter(nomination_list=small_list)
            .values_list("teacher_id", flat=True)
        )
        below = next(t for t in teachers if t.pk not in on_list)
        assert below.name in text
        refused_add = client.post(
            f"/quotas/selection/lists/{small_list.pk}/add/",
            {"teacher": below.pk, "reason": ""},
            follow=True,
        )
        assert "请填写调整理由" in refused_add.content.decode()
        client.post(
            f"/quotas/selection/lists/{small_list.pk}/add/",
            {"teacher": below.pk, "reason": "学科带头人推荐"},
        )
    pick = NominationPick.objects.dangerously_unscoped().get(
        nomination_list=small_list, teacher=below
    )
    assert (pick.role, pick.added, pick.rank) == ("selected", True, None)
    assert small_list.overrides.get().reason == "学科带头人推荐"


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("county_admin", 200),
        ("city_admin", 403),
        ("province_admin", 403),
        ("sibling_admin", 404),
        ("other_city_admin", 404),
        ("school_admin", 403),
        ("teacher", 403),
    ],
)
def test_the_search_routes_per_persona(
    province, users, teachers, small_list, client_for, persona, status
):
    client = client_for(users[persona])
    with time_machine.travel(NOW, tick=False):
        api = client.get(f"/api/v1/nomination-lists/{small_list.pk}/candidates", {"q": "候选"})
        page = client.get(f"/quotas/selection/lists/{small_list.pk}/search/", {"q": "候选"})
    assert api.status_code == status and page.status_code == status
    if status == 200:
        data = api.json()
        assert len(data["items"]) == 8 and data["more"] is False
        assert set(data["items"][0]) == {
            "teacher_id",
            "name",
            "school",
            "points",
            "explanation",
            "role",
            "rank",
        }
        assert not FULL_ID.search(api.content.decode())
    else:
        assert "候选" not in api.content.decode() and "候选" not in page.content.decode()


def test_the_api_search_refuses_an_id_number_with_a_structured_error(
    province, users, teachers, small_list, client_for
):
    client = client_for(users["county_admin"])
    with time_machine.travel(NOW, tick=False):
        refused = client.get(
            f"/api/v1/nomination-lists/{small_list.pk}/candidates", {"q": teachers[0].id_number}
        )
    assert refused.status_code == 422 and "不支持按身份证号查找" in refused.json()["errors"]["q"][0]


def test_a_direct_county_ranks_for_the_provinces_projects(province, users):
    scope = _scope(users, "direct_admin")
    assert scope.is_direct_county
    project = high_end(province.province, code="HE-P", level="province")
    assert can(scope, Action.SELECT_NOMINEES, project)
    assert selection.project_for_selection(scope, project.pk) == project
