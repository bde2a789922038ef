"""The ranked nomination list: rules as data, set-based ranking, overrides, submission, scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from access.scope import scope_for_user
from audit.models import AuditEvent
from catalog.models import Enrolment
from catalog.services import enrolment_refusals
from org.models import School
from people.models import Teacher, TeacherHonour, TeacherSubject
from people.tests.factories import TeacherFactory
from quotas import selection
from quotas.selection_models import (
    NominationList,
    NominationOverride,
    NominationPick,
    PriorityRuleSet,
)
from quotas.tests.helpers import TODAY, completed, high_end

pytestmark = pytest.mark.django_db


def _scope(users, name):
    return scope_for_user(users[name])


@pytest.fixture
def county(province, users):
    """杞县: a rural and an urban school; teachers with different histories."""
    p = province
    town = School.objects.create(code="4102210005", name="杞县城关中学", division=p.county, stages=["junior"],
                                 is_rural=False)
    made = {
        "never_rural": TeacherFactory(school=p.school, name="甲", hire_date=dt.date(2010, 9, 1)),
        "never_town": TeacherFactory(school=town, name="乙", hire_date=dt.date(2010, 9, 1)),
        "trained_city": TeacherFactory(school=p.school, name="丙", hire_date=dt.date(2005, 9, 1)),
        "backbone": TeacherFactory(school=town, name="丁", hire_date=dt.date(2010, 9, 1)),
        "retired": TeacherFactory(school=p.school, name="戊", status="retired"),
    }
    completed(made["trained_city"], p.city, level="city", ends_on=dt.date(2020, 6, 30), code="OLD-C")
    TeacherHonour.objects.create(teacher=made["backbone"], title="backbone", level="county",
                                 awarded_on=dt.date(2021, 9, 1))
    return made


def _build(users, project, who="county_admin", **kw):
    return selection.nomination_list_build(scope=_scope(users, who), actor=users[who], project_id=project.pk,
                                           today=TODAY, **kw)


def test_the_default_rules_rank_and_explain(province, users, county):
    project = high_end(province.city, seats=3)
    row = _build(users, project, seats=2, reserve=3)
    picks = {p.teacher.name: p for p in NominationPick.objects.dangerously_unscoped().filter(nomination_list=row)
             .select_related("teacher")}
    assert row.rule_set.division_path == province.province.path and row.rule_set.version == 1  # the default
    # 张三 (the fixture's teacher) and the four above; 戊 is retired: not eligible.
    assert row.eligible_count == 5 and "戊" not in picks
    assert picks["甲"].explanation == "从未参加市级高端培训 +40；乡村学校 +20；入职16年未参加高端培训 +20；合计80"
    assert picks["丁"].explanation == "从未参加市级高端培训 +40；县级骨干教师 +15；入职16年未参加高端培训 +20；合计75"
    assert picks["丙"].explanation == "乡村学校 +20；距上次高端培训6年 +12；合计32"
    assert picks["乙"].points == 60
    ordered = sorted(picks.values(), key=lambda p: p.rank)
    assert [p.rank for p in ordered] == [1, 2, 3, 4, 5]
    assert [p.role for p in ordered] == ["selected", "selected", "reserve", "reserve", "reserve"]
    assert [p.points for p in ordered] == sorted((p.points for p in ordered), reverse=True)
    assert AuditEvent.objects.dangerously_unscoped().filter(action="quotas.selection_list_build").count() == 1


def test_ties_are_broken_by_time_since_training_then_a_seeded_hash_not_the_pk(province, users):
    school = province.school
    same = [TeacherFactory(school=school, name=f"同分{n}", hire_date=dt.date(2010, 9, 1)) for n in range(30)]
    older = TeacherFactory(school=school, name="更久", hire_date=dt.date(2009, 9, 1))
    project = high_end(province.city)
    row = _build(users, project, seats=40, reserve=0)
    ranked = list(NominationPick.objects.dangerously_unscoped().filter(nomination_list=row).order_by("rank")
                  .values_list("teacher_id", flat=True))
    # Same points (the cap), but hired a year earlier: longer since training, first among equals.
    assert ranked.index(older.pk) < min(ranked.index(t.pk) for t in same)
    tied = [pk for pk in ranked if pk in {t.pk for t in same}]
    assert tied != sorted(tied)  # not the pk order
    again = _build(users, project, seats=40, reserve=0)
    assert list(NominationPick.objects.dangerously_unscoped().filter(nomination_list=again).order_by("rank")
                .values_list("teacher_id", flat=True)) == ranked  # deterministic


def test_eligibility_in_sql_agrees_with_the_audience_rule(province, users):
    """Every key of Project.audience, judged set-based, admits exactly whom enrolment admits."""
    p = province
    rows = []
    for n, (stage, title, subject, hire, honour) in enumerate([
            ("primary", "first", "math", dt.date(2010, 9, 1), None),
            ("junior", "senior", "chinese", dt.date(2025, 9, 1), ("master_teacher", "city")),
            ("primary", "senior", "chinese", dt.date(2024, 9, 1), ("backbone", "county")),
            ("primary", "second", "english", dt.date(2015, 9, 1), None)]):
        t = TeacherFactory(school=p.school, name=f"对象{n}", stage=stage, title=title, hire_date=hire)
        TeacherSubject.objects.dangerously_unscoped().filter(teacher=t).delete()
        TeacherSubject.objects.create(teacher=t, subject=subject)
        if honour:
            TeacherHonour.objects.create(teacher=t, title=honour[0], level=honour[1], awarded_on=dt.date(2020, 1, 1))
        rows.append(t)
    audiences = [{}, {"stages": ["primary"]}, {"titles": ["senior"]}, {"subjects": ["chinese"]},
                 {"honours": ["backbone"]}, {"new_teachers": True}, {"divisions": ["410221"]}, {"divisions": ["410222"]},
                 {"stages": ["primary"], "subjects": ["chinese", "math"], "titles": ["senior", "first"]}]
    scope = _scope(users, "county_admin")
    for n, audience in enumerate(audiences):
        project = high_end(p.city, code=f"AUD-{n}", audience=audience)
        sql = set(selection.eligible_teachers(scope, project, today=TODAY).values_list("pk", flat=True))
        python = {t.pk for t in Teacher.objects.visible_to(scope, "nominate")
                  if not enrolment_refusals(project=project, teacher=t, today=TODAY)}
        assert sql == python, audience


def test_a_teacher_already_on_the_project_is_not_ranked(province, users, county):
    project = high_end(province.city)
    Enrolment.objects.create(project=project, teacher=county["never_rural"], state="pending")
    row = _build(users, project)
    assert not NominationPick.objects.dangerously_unscoped().filter(nomination_list=row,
                                                                   teacher=county["never_rural"]).exists()


def test_a_county_rule_set_applies_to_its_projects_and_old_lists_keep_their_version(province, users, county):
    scope, actor = _scope(users, "county_admin"), users["county_admin"]
    v1 = selection.rule_set_publish(scope=scope, actor=actor, rules=[{"kind": "rural", "points": 50}])
    county_project = high_end(province.county, code="QX-HE", level="county")
    city_project = high_end(province.city, code="KF-HE")
    first = _build(users, county_project)
    assert first.rule_set == v1
    assert _build(users, city_project).rule_set.division_path == province.province.path  # the city has none
    v2 = selection.rule_set_publish(scope=scope, actor=actor, rules=[{"kind": "rural", "points": 10},
                                                                     {"kind": "years_since", "points": 1,
                                                                      "params": {"cap": 5}}])
    assert v2.version == 2 and list(v1.rules.values_list("points", flat=True)) == [50]
    assert _build(users, county_project).rule_set == v2
    first.refresh_from_db()
    assert first.rule_set == v1
    top = NominationPick.objects.dangerously_unscoped().filter(nomination_list=first, rank=1).get()
    assert top.explanation == "乡村学校 +50；合计50"


@pytest.mark.parametrize(("rules", "message"), [
    ([{"kind": "rural", "points": -5}], "分值不能为负数"),
    ([{"kind": "lottery", "points": 5}], "未知的规则类型"),
    ([{"kind": "rural", "points": 5000}], "分值不能超过1000"),
    ([{"kind": "years_since", "points": 500, "params": {"cap": 10}}], "分值不能超过100"),
    ([{"kind": "years_since", "points": 2, "params": {"cap": 0}}], "封顶分值应为1"),
    ([{"kind": "never_trained", "points": 2, "params": {"within_years": 900}}], "年限应为1–50年"),
    ([{"kind": "rural", "points": 2, "params": {"radius": 3}}], "不适用于该规则"),
    ([{"kind": "rural", "points": 2}, {"kind": "rural", "points": 3}], "只能出现一次"),
    ([{"kind": "rural", "points": "abc"}], "分值应为整数"),
    ([{"kind": "rural", "points": float("inf")}], "分值应为整数"),
    ([{"kind": "rural", "points": 2.5}], "分值应为整数"),
    ([], "至少需要一条规则"),
])
def test_bad_rules_are_refused_in_chinese_and_nothing_is_written(province, users, rules, message):
    with pytest.raises(ValidationError) as error:
        selection.rule_set_publish(scope=_scope(users, "county_admin"), actor=users["county_admin"], rules=rules)
    assert message in str(error.value.messages)
    assert not PriorityRuleSet.objects.dangerously_unscoped().exists()


@pytest.mark.parametrize("persona", ["school_admin", "teacher"])
def test_only_division_administrators_publish_rules_or_build(province, users, persona):
    project = high_end(province.city)
    with pytest.raises(PermissionDenied):
        selection.rule_set_publish(scope=_scope(users, persona), actor=users[persona],
                                   rules=[{"kind": "rural", "points": 1}])
    with pytest.raises(PermissionDenied):
        _build(users, project, who=persona)
    assert not NominationList.objects.dangerously_unscoped().exists()


def test_scope_a_county_ranks_its_own_the_city_its_city_and_never_another_countys_project(province, users, county):
    city_project = high_end(province.city)
    own = _build(users, city_project, seats=10, reserve=0)
    teachers = set(NominationPick.objects.dangerously_unscoped().filter(nomination_list=own)
                   .values_list("teacher__division_path", flat=True))
    assert teachers == {province.county.path}
    by_city = _build(users, city_project, who="city_admin", seats=10, reserve=0)
    paths = set(NominationPick.objects.dangerously_unscoped().filter(nomination_list=by_city)
                .values_list("teacher__division_path", flat=True))
    assert paths == {province.county.path, province.sibling.path}  # not 兰考 (省直管县)
    qx_project = high_end(province.county, code="QX-2", level="county")
    with pytest.raises(PermissionDenied):  # 通许县 sees 杞县's project but may not rank for it
        _build(users, qx_project, who="sibling_admin")
    with pytest.raises(PermissionDenied):  # the city does not rank for a county's own project
        _build(users, qx_project, who="city_admin")
    # lists: the neighbour sees nothing, the city reads, only the owner changes
    assert not NominationList.objects.visible_to(_scope(users, "sibling_admin")).filter(pk=own.pk).exists()
    assert NominationList.objects.visible_to(_scope(users, "city_admin")).filter(pk=own.pk).exists()
    with pytest.raises(PermissionDenied):
        selection.nomination_list_submit(scope=_scope(users, "city_admin"), actor=users["city_admin"],
                                         list_id=own.pk)
    with pytest.raises(Http404):
        selection.nomination_list_submit(scope=_scope(users, "sibling_admin"), actor=users["sibling_admin"],
                                         list_id=own.pk)


def test_not_high_end_is_refused(province, users):
    project = high_end(province.city, is_high_end=False)
    with pytest.raises(ValidationError, match="不是高端培训项目"):
        _build(users, project)


def test_drop_moves_the_best_reserve_up_and_needs_a_reason(province, users, county):
    project = high_end(province.city)
    row = _build(users, project, seats=2, reserve=2)
    scope, actor = _scope(users, "county_admin"), users["county_admin"]
    first = NominationPick.objects.dangerously_unscoped().get(nomination_list=row, rank=1)
    third = NominationPick.objects.dangerously_unscoped().get(nomination_list=row, rank=3)
    audited = AuditEvent.objects.dangerously_unscoped().count()
    with pytest.raises(ValidationError, match="请填写调整理由"):
        selection.nomination_pick_drop(scope=scope, actor=actor, list_id=row.pk, pick_id=first.pk, reason="  ")
    first.refresh_from_db()
    assert first.role == "selected" and AuditEvent.objects.dangerously_unscoped().count() == audited
    override = selection.nomination_pick_drop(scope=scope, actor=actor, list_id=row.pk, pick_id=first.pk,
                                              reason="本人因病无法参训")
    first.refresh_from_db()
    third.refresh_from_db()
    assert (first.role, third.role, override.moved_id) == ("dropped", "selected", third.pk)
    assert AuditEvent.objects.dangerously_unscoped().filter(action="quotas.selection_override").count() == 1


def test_add_moves_the_lowest_selected_back_to_the_reserve(province, users, county):
    project = high_end(province.city)
    row = _build(users, project, seats=2, reserve=0)
    scope, actor = _scope(users, "county_admin"), users["county_admin"]
    last = NominationPick.objects.dangerously_unscoped().get(nomination_list=row, rank=2)
    outsider = [t for t in county.values() if t.status == "active"
                and not NominationPick.objects.dangerously_unscoped().filter(nomination_list=row, teacher=t).exists()][0]
    with pytest.raises(ValidationError, match="请填写调整理由"):
        selection.nomination_pick_add(scope=scope, actor=actor, list_id=row.pk, teacher_id=outsider.pk, reason="",
                                      today=TODAY)
    selection.nomination_pick_add(scope=scope, actor=actor, list_id=row.pk, teacher_id=outsider.pk,
                                  reason="学科急需", today=TODAY)
    last.refresh_from_db()
    added = NominationPick.objects.dangerously_unscoped().get(nomination_list=row, teacher=outsider)
    assert (added.role, added.added, added.rank, last.role) == ("selected", True, None, "reserve")
    assert added.explanation.endswith(f"合计{added.points}")
    with pytest.raises(Http404):  # 通许县's teacher is not 杞县's to add
        selection.nomination_pick_add(scope=scope, actor=actor, list_id=row.pk,
                                      teacher_id=province.sibling_teacher.pk, reason="x", today=TODAY)
    retired = county["retired"]
    with pytest.raises(ValidationError, match="不符合本项目培训对象条件"):
        selection.nomination_pick_add(scope=scope, actor=actor, list_id=row.pk, teacher_id=retired.pk, reason="x",
                                      today=TODAY)
    assert NominationOverride.objects.dangerously_unscoped().count() == 1


def test_submit_nominates_the_selected_and_stores_each_outcome(province, users, county):
    project = high_end(province.city, seats=2, audience={"stages": ["primary"]})
    row = _build(users, project, seats=3, reserve=0)
    scope, actor = _scope(users, "county_admin"), users["county_admin"]
    selection.nomination_list_submit(scope=scope, actor=actor, list_id=row.pk)
    outcomes = list(NominationPick.objects.dangerously_unscoped().filter(nomination_list=row, role="selected")
                    .order_by("rank").values_list("outcome", "outcome_reasons"))
    assert [o for o, _ in outcomes] == ["enrolled", "enrolled", "waiting"]
    assert Enrolment.objects.dangerously_unscoped().filter(project=project, nominated_by=actor).count() == 3
    row.refresh_from_db()
    assert row.state == "submitted" and row.submitted_by == actor
    with pytest.raises(ValidationError, match="已提交推荐"):
        selection.nomination_list_submit(scope=scope, actor=actor, list_id=row.pk)


def test_a_refused_nomination_keeps_its_reasons(province, users, county):
    project = high_end(province.city)
    row = _build(users, project, seats=1, reserve=0)
    type(project).objects.dangerously_unscoped().filter(pk=project.pk).update(audience={"stages": ["senior"]})
    selection.nomination_list_submit(scope=_scope(users, "county_admin"), actor=users["county_admin"],
                                     list_id=row.pk)
    pick = NominationPick.objects.dangerously_unscoped().get(nomination_list=row, role="selected")
    assert pick.outcome == "refused" and pick.outcome_reasons == ["学段不符（本项目面向：普通高中）"]


def test_within_years_counts_only_recent_training(province, users, county):
    scope, actor = _scope(users, "city_admin"), users["city_admin"]
    selection.rule_set_publish(scope=scope, actor=actor, rules=[
        {"kind": "never_trained", "points": 30, "params": {"within_years": 5}}])
    project = high_end(province.city)
    row = _build(users, project, seats=10, reserve=0)
    pick = NominationPick.objects.dangerously_unscoped().get(nomination_list=row, teacher=county["trained_city"])
    assert pick.explanation == "近5年未参加市级高端培训 +30；合计30"  # trained in 2020: more than 5 years ago


def test_rule_input_is_either_clean_or_refused_in_chinese():
    """Whatever arrives (API JSON), the cleaner answers a clean rule list within the limits or a
    ValidationError — never another exception, never an out-of-range value."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    value = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                      st.text(max_size=5))
    rule = st.fixed_dictionaries({"kind": st.sampled_from(["never_trained", "rural", "honour_pipeline",
                                                           "years_since", "bogus"]), "points": value},
                                 optional={"params": st.dictionaries(st.sampled_from(["within_years", "cap", "x"]),
                                                                     value, max_size=2)})

    @settings(max_examples=300, deadline=None)
    @given(st.lists(rule, max_size=5))
    def check(rules):
        try:
            clean = selection.rules_clean(rules)
        except ValidationError as error:
            assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m) for m in error.messages)
            return
        for item in clean:
            assert 0 <= item["points"] <= (100 if item["kind"] == "years_since" else 1000)
            if item["kind"] == "years_since":
                assert 1 <= item["params"]["cap"] <= 1000
            if item["kind"] == "never_trained" and item["params"]["within_years"] is not None:
                assert 1 <= item["params"]["within_years"] <= 50

    check()
