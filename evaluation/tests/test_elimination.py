"""Elimination cases: appealed by the implementing institution or the organiser's administrators
within the period, decided by a province administrator who did not appeal (four eyes), confirmed
by the daily task once the period has passed."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command

from access.errors import Forbidden, NotVisible
from access.scope import scope_for_user
from evaluation.constants import CaseState
from evaluation.models import EliminationCase
from evaluation.performance import (
    APPEAL_DAYS,
    case_appeal,
    case_decide,
    cases_confirm_due,
    ranking_compute,
)
from evaluation.tests import test_performance_support as s

RANKED = dt.datetime(2026, 1, 10, 10, 0, tzinfo=dt.UTC)  # 18:00 in Beijing, 10 January
REASON = "视导当天为集中培训间隙，评分未反映实际"


@pytest.fixture
def world(province, users, make_user):
    inst = s.institution(province)
    other = s.institution(province, code="410221-PX", name="杞县教师培训中心", division=province.county)
    s.five_projects(province, users, inst)
    s.weights(users["province_admin"])
    with time_machine.travel(RANKED, tick=False):
        ranking_compute(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"], year=2025)
    case = EliminationCase.objects.dangerously_unscoped().get()
    return {"case": case, "staff": s.staff(make_user, inst), "stranger_staff": s.staff(make_user, other),
            "province_2": make_user("admin-410000-b", "province_admin", division=province.province)}


def _appeal(user, case, reason=REASON, **kw):
    return case_appeal(scope=scope_for_user(user), actor=user, case_id=case.pk, reason=reason, **kw)


def _decide(user, case, decision="confirm", note="经复核维持原排名"):
    return case_decide(scope=scope_for_user(user), actor=user, case_id=case.pk, decision=decision, note=note)


@time_machine.travel(RANKED + dt.timedelta(days=3), tick=False)
@pytest.mark.parametrize(("who", "refusal"), [("county_admin", NotVisible), ("other_city_admin", NotVisible),
                                              ("school_admin", NotVisible), ("teacher", NotVisible),
                                              ("stranger_staff", NotVisible), ("direct_admin", NotVisible)])
def test_an_appeal_by_a_stranger_is_refused_and_changes_nothing(users, world, who, refusal):
    user = world.get(who) or users[who]
    with pytest.raises(refusal):
        _appeal(user, world["case"])
    row = EliminationCase.objects.dangerously_unscoped().get()
    assert (row.state, row.appeal_text, row.appealed_by_id) == (CaseState.FLAGGED, "", None)


@time_machine.travel(RANKED + dt.timedelta(days=3), tick=False)
@pytest.mark.parametrize("who", ["staff", "sibling_admin", "city_admin"])
def test_the_institution_or_the_organisers_administrators_appeal(users, world, who):
    user = world.get(who) or users[who]
    with pytest.raises(ValidationError, match="申诉理由"):
        _appeal(user, world["case"], reason="不服")
    row = _appeal(user, world["case"])
    assert (row.state, row.appeal_text, row.appealed_by) == (CaseState.APPEALED, REASON, user)
    with pytest.raises(ValidationError, match="不能申诉"):
        _appeal(user, world["case"])  # once


def test_an_appeal_after_the_period_is_refused(users, world):
    with time_machine.travel(RANKED + dt.timedelta(days=APPEAL_DAYS + 1), tick=False):
        with pytest.raises(ValidationError, match="申诉期已过"):
            _appeal(world["staff"], world["case"])
    assert EliminationCase.objects.dangerously_unscoped().get().state == CaseState.FLAGGED


@time_machine.travel(RANKED + dt.timedelta(days=3), tick=False)
def test_the_appellant_may_not_decide_and_only_the_province_decides(users, world):
    case = world["case"]
    _appeal(users["province_admin"], case)  # the province may appeal too (it administers the organiser)
    with pytest.raises(Forbidden, match="四眼"):
        _decide(users["province_admin"], case)
    for who in ("sibling_admin", "city_admin"):
        with pytest.raises(Forbidden):
            _decide(users[who], case)
    with pytest.raises(Forbidden):
        _decide(world["staff"], case)
    with pytest.raises(NotVisible):
        _decide(users["county_admin"], case)
    assert EliminationCase.objects.dangerously_unscoped().get().state == CaseState.APPEALED
    with pytest.raises(ValidationError, match="处理意见"):
        _decide(world["province_2"], case, note="")
    row = _decide(world["province_2"], case, decision="overturn", note="申诉成立，视导评分有误")
    assert (row.state, row.decided_by, row.sanction) == (CaseState.OVERTURNED, world["province_2"], "")
    with pytest.raises(ValidationError, match="不能处理"):
        _decide(world["province_2"], case)
    with pytest.raises(ValidationError, match="不能重新计算"):  # a decided year keeps its ranking
        ranking_compute(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"], year=2025)
    assert EliminationCase.objects.dangerously_unscoped().get().state == CaseState.OVERTURNED


@time_machine.travel(RANKED + dt.timedelta(days=3), tick=False)
def test_a_flagged_case_is_not_decided_before_an_appeal(users, world):
    with pytest.raises(ValidationError, match="只有申诉中的案件"):
        _decide(users["province_admin"], world["case"])


def test_confirm_due_confirms_only_cases_past_their_period(users, world):
    with time_machine.travel(RANKED + dt.timedelta(days=APPEAL_DAYS), tick=False):
        assert cases_confirm_due() == 0  # the last day of the period: still open
    with time_machine.travel(RANKED + dt.timedelta(days=APPEAL_DAYS + 1), tick=False):
        call_command("evaluation", "confirm-due")
    row = EliminationCase.objects.dangerously_unscoped().get()
    assert (row.state, row.decided_by, row.sanction) == (CaseState.CONFIRMED, None, "warning")
    assert "未申诉" in row.decision_note


def test_the_command_ranks_a_year(users, world, capsys):
    EliminationCase.objects.dangerously_unscoped().all().delete()
    with time_machine.travel(RANKED, tick=False):
        call_command("evaluation", "rank", "--year", "2025")
    assert '"flagged": 1' in capsys.readouterr().out
