"""Weights (versioned, summing to exactly 1), the four sources, a year's ranking written with
its elimination cases, and recomputation refused once a case has moved on."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from access.errors import Forbidden
from access.scope import scope_for_user
from audit.models import AuditEvent
from evaluation.constants import CaseState
from evaluation.models import EliminationCase, ProjectScore, ScoreWeights
from evaluation.performance import case_appeal, ranking_compute, weights_set
from evaluation.sources import source_scores
from evaluation.tests import test_performance_support as s

NOW = dt.datetime(2026, 1, 10, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def inst(province):
    return s.institution(province)


def _scope(users, who="province_admin"):
    return scope_for_user(users[who])


def test_weights_not_summing_to_one_are_refused_and_nothing_is_written(users):
    for bad in (("0.4", "0.2", "0.2", "0.1"), ("0.4", "0.3", "0.2", "0.2"), ("0.3333", "0.3333", "0.3334", "0")):
        with pytest.raises(ValidationError) as refused:
            weights_set(scope=_scope(users), actor=users["province_admin"], year=2025, supervision=bad[0],
                        rating=bad[1], outcome=bad[2], stakeholder=bad[3], bottom_share="0.1")
        assert any("之和必须等于1" in m or "三位小数" in m for m in refused.value.messages)
    for field, value, message in (("bottom_share", "0.6", "末位淘汰比例"), ("supervision", "-0.1", "0到1"),
                                  ("rating", "abc", "0到1")):
        args = {"supervision": "0.4", "rating": "0.2", "outcome": "0.2", "stakeholder": "0.2", "bottom_share": "0.1",
                field: value}
        with pytest.raises(ValidationError, match=message):
            weights_set(scope=_scope(users), actor=users["province_admin"], year=2025, **args)
    assert not ScoreWeights.objects.dangerously_unscoped().exists()
    assert not AuditEvent.objects.dangerously_unscoped().filter(action="evaluation.weights").exists()


def test_only_the_province_sets_weights_and_each_change_is_a_new_version(users):
    for who in ("city_admin", "county_admin", "school_admin"):
        with pytest.raises(Forbidden):
            s.weights(users[who])
    first = s.weights(users["province_admin"])
    second = s.weights(users["province_admin"], supervision="0.25", rating="0.25", outcome="0.25",
                       stakeholder="0.25")
    first.refresh_from_db()
    assert (first.version, second.version) == (1, 2)
    assert str(first.supervision) == "0.400"  # the earlier version is untouched


def test_source_scores_are_means_and_ratings_count_only_closed_windows_above_the_minimum(province, users, inst):
    p = s.project(province.sibling, "TX-S1", inst=inst)
    q = s.project(province.sibling, "TX-S2", inst=inst)
    s.scored(province, users["sibling_admin"], p, supervision=[80, 90], outcome=70, stakeholder=[60, 70, 80])
    # Ten responses: item 1 answers 4 → (4−1)/4 = 0.75; item 2 is reverse-keyed, 2 → 5+1−2 = 4 → 0.75.
    s.rated(province, p, [{"1": 4, "2": 2}] * 10, eligible=20)
    s.rated(province, q, [{"1": 5, "2": 1}] * 9)  # nine responses: below the minimum, not counted
    s.rated(province, q, [{"1": 5, "2": 1}] * 10, eligible=40)  # a response rate of 25 %: not counted
    open_window = s.rated(province, q, [{"1": 1, "2": 5}] * 12, closes=dt.date(2026, 2, 1))  # still open
    assert open_window.closes_on > dt.date(2026, 1, 10)
    from catalog.models import Project

    with pytest.raises(Exception):  # noqa: B017 - an unscoped read is refused by the manager
        list(Project.objects.all())
    scores = source_scores(_scope(users), Project.objects.dangerously_unscoped().filter(pk__in=[p.pk, q.pk]),
                           dt.date(2026, 1, 10))
    assert scores[p.pk] == {"supervision": 85.0, "rating": 75.0, "outcome": 70.0, "stakeholder": 70.0}
    assert scores[q.pk] == {"supervision": None, "rating": None, "outcome": None, "stakeholder": None}


@time_machine.travel(NOW, tick=False)
def test_a_year_is_ranked_by_level_and_category_and_the_bottom_share_is_flagged(province, users, inst):
    projects = s.five_projects(province, users, inst)
    s.project(province.sibling, "TX-DRAFT", inst=inst, state="draft")  # never ranked
    s.scored(province, users["sibling_admin"], s.project(province.sibling, "TX-2026", inst=inst,
                                                         ends=dt.date(2026, 1, 5)), supervision=10, outcome=10)
    lonely = s.project(province.sibling, "TX-ONE", inst=inst)
    s.scored(province, users["sibling_admin"], lonely, supervision=10)  # one source: not ranked
    other = s.project(province.county, "QX-1", category="new_teacher")
    s.scored(province, users["county_admin"], other, supervision=10, outcome=10)  # its own group of one
    s.weights(users["province_admin"])
    summary = ranking_compute(scope=_scope(users), actor=users["province_admin"], year=2025)
    assert summary | {"appeal_until": None} == {"year": 2025, "weights_version": 1, "projects": 7, "ranked": 6,
                                                "groups": 2, "flagged": 1, "appeal_until": None}
    rows = {r.project_id: r for r in ProjectScore.objects.dangerously_unscoped().filter(year=2025)}
    assert set(rows) == {p.pk for p in projects} | {other.pk}
    assert [rows[p.pk].rank for p in projects] == [1, 2, 3, 4, 5]
    assert [rows[p.pk].flagged for p in projects] == [False, False, False, False, True]
    assert rows[other.pk].group_size == 1 and not rows[other.pk].flagged  # fewer than min_group (5)
    assert rows[projects[0].pk].institution_id == inst.pk and rows[projects[0].pk].supervision == 90.0
    case = EliminationCase.objects.dangerously_unscoped().get()
    assert case.score.project_id == projects[-1].pk and case.state == CaseState.FLAGGED
    assert AuditEvent.objects.dangerously_unscoped().filter(action="evaluation.rank").count() == 1


@time_machine.travel(NOW, tick=False)
def test_recomputing_is_allowed_until_a_case_moves_on_then_refused_with_nothing_changed(province, users, inst,
                                                                                        make_user):
    s.five_projects(province, users, inst)
    s.weights(users["province_admin"])
    ranking_compute(scope=_scope(users), actor=users["province_admin"], year=2025)
    ranking_compute(scope=_scope(users), actor=users["province_admin"], year=2025)  # again: fine, one case
    case = EliminationCase.objects.dangerously_unscoped().get()
    staff = s.staff(make_user, inst)
    case_appeal(scope=scope_for_user(staff), actor=staff, case_id=case.pk, reason="视导时间与集中培训冲突，评分偏低")
    before = list(ProjectScore.objects.dangerously_unscoped().order_by("pk").values())
    with pytest.raises(ValidationError, match="不能重新计算"):
        ranking_compute(scope=_scope(users), actor=users["province_admin"], year=2025)
    assert list(ProjectScore.objects.dangerously_unscoped().order_by("pk").values()) == before
    assert EliminationCase.objects.dangerously_unscoped().get().state == CaseState.APPEALED


def test_ranking_needs_the_province_and_the_years_weights(province, users):
    with pytest.raises(Forbidden):
        ranking_compute(scope=_scope(users, "city_admin"), actor=users["city_admin"], year=2025)
    with pytest.raises(ValidationError, match="尚未设置"):
        ranking_compute(scope=_scope(users), actor=users["province_admin"], year=2025)
