"""What a confirmed elimination does: to the implementing institution's accreditation (a warning
the first year, suspension the second in a row, revocation the third, as system moves of the
state machine) and to the project library (its continuation may not be in the next year's plan)."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from access.scope import scope_for_user
from catalog.models import AnnualPlan, Project
from catalog.plans import elimination_problems, plan_decide, plan_submit
from evaluation.constants import CaseState
from evaluation.models import EliminationCase
from evaluation.performance import case_appeal, case_decide, cases_confirm_due, ranking_compute
from evaluation.sanctions import streak_of
from evaluation.tests import test_performance_support as s
from institutions import machine
from institutions.models import Accreditation, AccreditationEvent
from notifications.models import Notification


def _rank_and_confirm(province, users, inst, year: int, *, tag: str) -> EliminationCase:
    """A year's ranking of five 通许县 projects implemented by `inst`, its flagged case confirmed
    by the daily task after the appeal period."""
    for n, (sup, out) in enumerate(((90, 85), (80, 80), (75, 70), (70, 75), (50, 40)), start=1):
        row = s.project(province.sibling, f"{tag}-{n}", inst=inst, ends=dt.date(year, 6, 30))
        s.scored(province, users["sibling_admin"], row, supervision=sup, outcome=out)
    s.weights(users["province_admin"], year=year)
    with time_machine.travel(dt.datetime(year + 1, 1, 10, 2, tzinfo=dt.UTC), tick=False):
        ranking_compute(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"], year=year)
    with time_machine.travel(dt.datetime(year + 1, 2, 10, 2, tzinfo=dt.UTC), tick=False):
        assert cases_confirm_due() == 1
    return EliminationCase.objects.dangerously_unscoped().get(score__year=year)


def test_warning_then_suspension_then_revocation(province, users, make_user):
    inst = s.institution(province)
    staff = s.staff(make_user, inst)
    accreditation = Accreditation.objects.dangerously_unscoped().get(institution=inst)

    first = _rank_and_confirm(province, users, inst, 2023, tag="A")
    accreditation.refresh_from_db()
    assert first.sanction == "warning" and accreditation.state == "approved"
    warn = AccreditationEvent.objects.dangerously_unscoped().get(accreditation=accreditation, action="warn")
    assert (warn.from_state, warn.to_state, warn.actor_id) == ("approved", "approved", None)
    assert "2023年度" in warn.reason
    assert Notification.objects.dangerously_unscoped().filter(recipient=staff, title__contains="警告").exists()

    second = _rank_and_confirm(province, users, inst, 2024, tag="B")
    accreditation.refresh_from_db()
    assert second.sanction == "suspension" and accreditation.state == "suspended"
    assert AccreditationEvent.objects.dangerously_unscoped().filter(accreditation=accreditation,
                                                                    action="sanction_suspend").exists()
    assert "连续2年" in accreditation.reason

    third = _rank_and_confirm(province, users, inst, 2025, tag="C")
    accreditation.refresh_from_db()
    assert third.sanction == "revocation" and accreditation.state == "revoked"
    assert Notification.objects.dangerously_unscoped().filter(recipient=staff, title__contains="撤销").exists()


def test_a_gap_starts_the_count_again(province, users):
    inst = s.institution(province)
    _rank_and_confirm(province, users, inst, 2022, tag="A")
    assert streak_of(inst.pk, 2024) == 1 and streak_of(inst.pk, 2023) == 2
    case = _rank_and_confirm(province, users, inst, 2024, tag="B")
    assert case.sanction == "warning"
    assert Accreditation.objects.dangerously_unscoped().get(institution=inst).state == "approved"


def test_an_overturned_case_sanctions_nobody(province, users, make_user):
    inst = s.institution(province)
    for n, (sup, out) in enumerate(((90, 85), (80, 80), (75, 70), (70, 75), (50, 40)), start=1):
        s.scored(province, users["sibling_admin"], s.project(province.sibling, f"O-{n}", inst=inst), supervision=sup,
                 outcome=out)
    s.weights(users["province_admin"])
    with time_machine.travel(dt.datetime(2026, 1, 10, 2, tzinfo=dt.UTC), tick=False):
        ranking_compute(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"], year=2025)
        case = EliminationCase.objects.dangerously_unscoped().get()
        staff = s.staff(make_user, inst)
        case_appeal(scope=scope_for_user(staff), actor=staff, case_id=case.pk, reason="评分依据不完整，请复核")
        case_decide(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"], case_id=case.pk,
                    decision="overturn", note="复核后撤销")
    assert not AccreditationEvent.objects.dangerously_unscoped().filter(action__in=["warn", "sanction_suspend"]).exists()
    assert EliminationCase.objects.dangerously_unscoped().get().state == CaseState.OVERTURNED


def test_the_sanction_moves_are_the_systems_only():
    snapshot = machine.Snapshot(state="approved", has_scope=True, has_evidence=True, applied_by=1, submitted_by=1,
                                decided_by=2, valid_from=dt.date(2024, 1, 1), valid_until=dt.date(2028, 1, 1))
    move = machine.Move(actor=2, today=dt.date(2026, 1, 1), reason="年度绩效评价末位淘汰")
    for name in ("sanction_suspend", "sanction_revoke"):
        with pytest.raises(machine.Refused, match="系统"):
            machine.step(snapshot, name, move)
    after = machine.step(snapshot, "sanction_suspend", machine.Move(actor=None, today=dt.date(2026, 1, 1),
                                                                   reason="年度绩效评价末位淘汰"))
    assert after.state == "suspended" and not machine.problems(after)


# --- the project library ------------------------------------------------------------------------

def _plan_with(province, project) -> AnnualPlan:
    from catalog.plans import review_path_of

    plan = AnnualPlan.objects.create(division=province.sibling, level="county", year=2026,
                                     division_path=province.sibling.path,
                                     review_path=review_path_of(division=province.sibling, school=None, level="county"))
    Project.objects.dangerously_unscoped().filter(pk=project.pk).update(plan=plan)
    return plan


@pytest.mark.parametrize("continued", ["same_organiser_and_code", "same_institution_level_category_title"])
def test_an_eliminated_project_is_not_in_the_next_years_plan(province, users, continued):
    inst = s.institution(province)
    case = _rank_and_confirm(province, users, inst, 2025, tag="T")
    eliminated = case.score.project
    if continued == "same_organiser_and_code":
        again = eliminated  # the same row carried into the next year's plan (codes are unique per organiser)
    else:
        again = s.project(province.sibling, "T-NEXT", title=eliminated.title, inst=inst, ends=dt.date(2026, 7, 1),
                          state="draft")
    plan = _plan_with(province, again)
    problems = elimination_problems(plan, [again])
    assert len(problems) == 1 and "末位淘汰项目不得列入下年度计划" in problems[0]
    with pytest.raises(ValidationError, match="末位淘汰项目不得列入下年度计划"):
        plan_submit(scope=scope_for_user(users["sibling_admin"]), actor=users["sibling_admin"], plan_id=plan.pk)
    assert AnnualPlan.objects.dangerously_unscoped().get(pk=plan.pk).state == "draft"


def test_other_titles_institutions_and_years_are_not_continuations(province, users):
    inst = s.institution(province)
    other = s.institution(province, code="410221-PX", name="杞县教师培训中心", division=province.county)
    case = _rank_and_confirm(province, users, inst, 2025, tag="T")
    title = case.score.project.title
    candidates = [s.project(province.sibling, "N-1", title="另一个研修", inst=inst, ends=dt.date(2026, 7, 1)),
                  s.project(province.sibling, "N-2", title=title, inst=other, ends=dt.date(2026, 7, 1)),
                  s.project(province.sibling, "N-3", title=title, inst=inst, category="new_teacher",
                            ends=dt.date(2026, 7, 1))]
    assert elimination_problems(_plan_with(province, candidates[0]), candidates) == []
    later = AnnualPlan(division=province.sibling, level="county", year=2027, division_path=province.sibling.path)
    assert elimination_problems(later, [case.score.project]) == []  # the year after next: not this rule


def test_a_confirmation_after_submission_blocks_approval(province, users):
    inst = s.institution(province)
    for n, (sup, out) in enumerate(((90, 85), (80, 80), (75, 70), (70, 75), (50, 40)), start=1):
        s.scored(province, users["sibling_admin"], s.project(province.sibling, f"T-{n}", inst=inst), supervision=sup,
                 outcome=out)
    s.weights(users["province_admin"])
    with time_machine.travel(dt.datetime(2026, 1, 10, 2, tzinfo=dt.UTC), tick=False):
        ranking_compute(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"], year=2025)
    worst = EliminationCase.objects.dangerously_unscoped().get().score.project
    again = s.project(province.sibling, "T-NEXT", title=worst.title, inst=inst, ends=dt.date(2026, 7, 1), state="draft")
    plan = _plan_with(province, again)
    plan_submit(scope=scope_for_user(users["sibling_admin"]), actor=users["sibling_admin"], plan_id=plan.pk)
    with time_machine.travel(dt.datetime(2026, 2, 10, 2, tzinfo=dt.UTC), tick=False):
        assert cases_confirm_due() == 1
    with pytest.raises(ValidationError, match="末位淘汰项目不得列入下年度计划"):
        plan_decide(scope=scope_for_user(users["city_admin"]), actor=users["city_admin"], plan_id=plan.pk,
                    approve=True, note="同意")
    assert AnnualPlan.objects.dangerously_unscoped().get(pk=plan.pk).state == "submitted"
