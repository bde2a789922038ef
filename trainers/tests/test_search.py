"""The search: every filter, alone and combined, selects exactly the trainers a plain reading of
their records would (Hypothesis over random filter combinations and viewers), in a stable order,
and never a trainer outside the viewer's pools."""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access.policy import visible
from trainers import selectors, services
from trainers.models import Trainer
from trainers.tests.conftest import add, scope_of

pytestmark = pytest.mark.django_db

DAYS = [dt.date(2027, 3, 5), dt.date(2027, 3, 6), dt.date(2027, 3, 12), dt.date(2027, 3, 20)]


@pytest.fixture
def searched(pool, province):
    """More trainers in 杞县 and 开封, one out of the pool, a booking and an unavailable period."""
    u = pool.users
    county, city = u["county_admin"], u["city_admin"]
    add(county, name="王小学", stages=["primary", "junior"], subjects=["english"], topics=["it", "homework"])
    add(county, source="subject_leader", teacher_id=province.teacher.pk, stages=["junior"])  # 张三
    add(city, name="李高中", source="other", stages=["senior"], subjects=["chemistry"], topics=["experiment"],
        grade=2)
    gone = add(city, name="赵出库", stages=["primary"])
    services.trainer_update(scope=scope_of(city), actor=city, trainer_id=gone.pk, changes={"active": False})
    services.booking_create(scope=scope_of(county), actor=county, trainer_id=pool.trainers["qx"].pk,
                            session_id=pool.sessions["qx1"].pk)
    services.unavailability_add(scope=scope_of(city), actor=city, trainer_id=pool.trainers["kf"].pk,
                                starts_on=dt.date(2027, 3, 5), ends_on=dt.date(2027, 3, 6))
    return pool


def _expected(scope, filters: selectors.TrainerFilters) -> list[int]:
    """The same search read off each visible trainer's record in Python."""
    rows = []
    for t in visible(scope, Trainer).select_related("division").prefetch_related("bookings", "unavailable"):
        if not t.active and (not filters.include_inactive or filters.available_on):
            continue
        if filters.level and t.pool_level != filters.level:
            continue
        if filters.division and t.division.code != filters.division:
            continue
        if (filters.stage and filters.stage not in t.stages) or (filters.subject and filters.subject not in t.subjects):
            continue
        if (filters.topic and filters.topic not in t.topics) or (filters.source and t.source != filters.source):
            continue
        if (filters.grade and t.grade != filters.grade) or (filters.q and filters.q not in t.name):
            continue
        day = filters.available_on
        if day and (any(b.held_on == day for b in t.bookings.all())
                    or any(p.starts_on <= day <= p.ends_on for p in t.unavailable.all())):
            continue
        rows.append(t)
    return [t.pk for t in sorted(rows, key=lambda t: (-t.grade, t.pk))]


filter_sets = st.builds(
    selectors.TrainerFilters,
    level=st.sampled_from(["", "province", "city", "county"]),
    division=st.sampled_from(["", "410221", "410200", "410222"]),
    stage=st.sampled_from(["", "primary", "junior", "senior"]),
    subject=st.sampled_from(["", "chinese", "math", "physics", "english"]),
    topic=st.sampled_from(["", "homework", "experiment", "classroom", "it"]),
    source=st.sampled_from(["", "research_staff", "master_teacher", "university", "subject_leader"]),
    grade=st.sampled_from([0, 1, 2, 4]),
    q=st.sampled_from(["", "王", "专家", "孙名"]),
    available_on=st.sampled_from([None, *DAYS]),
    include_inactive=st.booleans(),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filters=filter_sets, who=st.sampled_from(["province_admin", "city_admin", "county_admin", "direct_admin"]))
def test_every_filter_combination_selects_what_the_records_say(searched, filters, who):
    scope = scope_of(searched.users[who])
    assert list(selectors.trainers(scope, filters).values_list("pk", flat=True)) == _expected(scope, filters)


def test_single_filters_and_the_order(searched):
    scope = scope_of(searched.users["city_admin"])

    def names(**filters):
        return [t.name for t in selectors.trainers(scope, selectors.TrainerFilters(**filters))]

    assert names() == ["李高中", "孙名师", "周教研", "吴教研", "郑教研", "冯专家", "王小学", "张三"]
    assert names(level="city") == ["李高中", "冯专家"]
    assert names(division="410221") == ["孙名师", "周教研", "王小学", "张三"]
    assert names(stage="junior") == ["孙名师", "冯专家", "王小学", "张三"]
    assert names(subject="physics") == ["孙名师", "冯专家"]
    assert names(topic="experiment") == ["李高中", "冯专家"]
    assert names(source="university") == ["冯专家"]
    assert names(grade=2) == ["李高中"]
    assert names(q="王") == ["王小学"]
    assert names(include_inactive=True)[-1] == "赵出库"
    # 5 March: 周教研 teaches 杞县's first session, 冯专家 is away
    assert "周教研" not in names(available_on=dt.date(2027, 3, 5)) and "冯专家" not in names(available_on=dt.date(2027, 3, 5))
    assert {"周教研", "冯专家"} <= set(names(available_on=dt.date(2027, 3, 7)))


def test_filters_from_a_query_drop_what_they_do_not_know(searched):
    filters = selectors.TrainerFilters.from_query({"stage": "college", "subject": "math", "grade": "9",
                                                   "available_on": "not-a-date", "q": "  王 ", "division": "41'; --",
                                                   "include_inactive": "1"})
    assert filters == selectors.TrainerFilters(subject="math", q="王", include_inactive=True)
    assert selectors.TrainerFilters.from_query(filters.as_query()) == filters


def test_a_page_of_results_counts_in_one_query_more(searched, django_assert_max_num_queries):
    scope = scope_of(searched.users["province_admin"])
    with django_assert_max_num_queries(3):  # the count, the page, the sessions of the page's trainers
        found = selectors.trainer_page(scope, selectors.TrainerFilters(), page=1, size=5)
        assert [t.division.name for t in found.rows]
    assert found.page.paginator.count == 10 and len(found.rows) == 5
