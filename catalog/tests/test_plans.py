"""Issue 4 item 2: annual plans — draft → submitted → approved by the level above,
positioning rules on submission, overlaps with other organisers' projects."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from access.errors import Forbidden, NotVisible
from access.scope import scope_for_user
from audit.models import AuditEvent
from catalog.constants import PlanState, ProjectState
from catalog.models import AnnualPlan, PlanConflict, Project
from catalog.plan_selectors import plans_to_review
from catalog.plans import (
    may_review,
    plan_create,
    plan_decide,
    plan_project_remove,
    plan_projects_add,
    plan_submit,
)
from catalog.services import project_create
from catalog.tests.helpers import publish
from institutions.tests.helpers import accredited_institution


def _project(users, who, organiser, *, code, title="数学骨干教师作业设计能力提升研修", category="backbone", level=None,
             starts=dt.date(2027, 4, 10), ends=dt.date(2027, 4, 20), audience=None, outline="", topics=None, **extra):
    level = level or {"province": "province", "city": "city", "county": "county"}[organiser.level]
    return project_create(institution=accredited_institution(), scope=scope_for_user(users[who]), actor=users[who], code=code, title=title, level=level,
                          category=category, mode="blended", organiser=organiser, starts_on=starts, ends_on=ends,
                          seats=extra.pop("seats", 50), hours=24, hour_category="centralised",
                          audience=audience or {}, outline=outline, topics=topics or ["homework"], **extra)


def test_a_county_plan_gathers_its_projects_and_goes_to_the_city(province, users):
    project = _project(users, "county_admin", province.county, code="K-1")
    plan = plan_create(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], year=2027)
    assert (plan.level, plan.division, plan.state) == ("county", province.county, PlanState.DRAFT)
    assert list(plan.projects.all()) == [project]  # the unit's unplanned projects of the year join
    with pytest.raises(ValidationError):
        plan_create(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], year=2027)  # one plan a year

    with pytest.raises(ValidationError, match="尚未批准"):
        publish(project)  # a planned project waits for its plan
    plan_submit(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], plan_id=plan.pk)
    plan.refresh_from_db()
    assert plan.state == PlanState.SUBMITTED and plan.submitted_by == users["county_admin"]
    with pytest.raises(ValidationError):
        plan_project_remove(scope=scope_for_user(users["county_admin"]), plan_id=plan.pk, project_id=project.pk)  # frozen once submitted

    assert list(plans_to_review(scope=scope_for_user(users["city_admin"]))) == [plan]
    assert not plans_to_review(scope=scope_for_user(users["other_city_admin"])).exists()
    for outsider, refusal in (("other_city_admin", NotVisible), ("sibling_admin", NotVisible),
                              ("county_admin", Forbidden), ("province_admin", Forbidden)):
        with pytest.raises(refusal):  # unseen: 404; seen but not theirs to decide: 403
            plan_decide(scope=scope_for_user(users[outsider]), actor=users[outsider], plan_id=plan.pk, approve=True)
    with pytest.raises(ValidationError, match="审核意见"):
        plan_decide(scope=scope_for_user(users["city_admin"]), actor=users["city_admin"], plan_id=plan.pk, approve=False)
    plan_decide(scope=scope_for_user(users["city_admin"]), actor=users["city_admin"], plan_id=plan.pk, approve=True, note="同意")
    plan.refresh_from_db()
    assert (plan.state, plan.decided_by, plan.review_note) == (PlanState.APPROVED, users["city_admin"], "同意")
    assert publish(project).state == ProjectState.OPEN
    assert set(AuditEvent.objects.dangerously_unscoped().filter(object_type="catalog.plan").values_list("action", flat=True)) == {
        "catalog.plan_submit", "catalog.plan_decide"}


def test_a_province_administered_county_reports_to_the_province(province, users):
    _project(users, "direct_admin", province.direct, code="L-1")
    plan = plan_create(scope=scope_for_user(users["direct_admin"]), actor=users["direct_admin"], year=2027)
    plan_submit(scope=scope_for_user(users["direct_admin"]), actor=users["direct_admin"], plan_id=plan.pk)
    assert not may_review(scope_for_user(users["city_admin"]), plan)  # 兰考 sits in 开封 but plans with the province
    assert list(plans_to_review(scope=scope_for_user(users["province_admin"]))) == [plan]
    plan_decide(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"], plan_id=plan.pk, approve=False, note="请补充新教师培训")
    plan.refresh_from_db()
    assert plan.state == PlanState.RETURNED
    plan_project_remove(scope=scope_for_user(users["direct_admin"]), plan_id=plan.pk, project_id=plan.projects.get().pk)  # editable again


def test_the_province_plan_is_approved_by_another_province_administrator(province, users, make_user):
    _project(users, "province_admin", province.province, code="S-1", category="master_teacher")
    plan = plan_create(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"], year=2027)
    plan_submit(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"], plan_id=plan.pk)
    with pytest.raises(PermissionDenied):
        plan_decide(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"], plan_id=plan.pk, approve=True)  # not one's own submission
    colleague = make_user("admin-410000-b", "province_admin", division=province.province)
    plan_decide(scope=scope_for_user(colleague), actor=colleague, plan_id=plan.pk, approve=True)
    assert AnnualPlan.objects.dangerously_unscoped().get().state == PlanState.APPROVED


def test_a_school_plan_is_approved_by_its_county(province, users):
    _project(users, "school_admin", province.county, code="X-1", level="school", category="school_based",
             organiser_school=province.school, title="杞县第一小学校本研修：大单元教学")
    plan = plan_create(scope=scope_for_user(users["school_admin"]), actor=users["school_admin"], year=2027)
    assert (plan.level, plan.school) == ("school", province.school)
    plan_submit(scope=scope_for_user(users["school_admin"]), actor=users["school_admin"], plan_id=plan.pk)
    assert list(plans_to_review(scope=scope_for_user(users["county_admin"]))) == [plan]
    with pytest.raises(NotVisible):
        plan_decide(scope=scope_for_user(users["sibling_admin"]), actor=users["sibling_admin"], plan_id=plan.pk, approve=True)
    plan_decide(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], plan_id=plan.pk, approve=True)


@pytest.mark.parametrize(("who", "organiser", "category", "message"), [
    ("county_admin", "county", "principal", "不属于县级培训定位"),
    ("city_admin", "city", "new_teacher", "不属于市级培训定位"),
    ("province_admin", "province", "all_staff", "不属于省级培训定位"),
])
def test_positioning_rules_block_submission_and_nothing_changes(province, users, who, organiser, category, message):
    _project(users, who, getattr(province, organiser), code="P-1", category=category)
    _project(users, who, getattr(province, organiser), code="P-2", category="ethics")  # cross-cutting: any level
    plan = plan_create(scope=scope_for_user(users[who]), actor=users[who], year=2027)
    with pytest.raises(ValidationError) as error:
        plan_submit(scope=scope_for_user(users[who]), actor=users[who], plan_id=plan.pk)
    assert any(message in problem and "P-1" in problem for problem in error.value.message_dict["positioning"])
    assert not any("P-2" in problem for problem in error.value.message_dict["positioning"])
    plan.refresh_from_db()
    assert plan.state == PlanState.DRAFT and plan.submitted_at is None and not PlanConflict.objects.dangerously_unscoped().exists()


def test_an_empty_plan_cannot_be_submitted_and_only_own_projects_join(province, users):
    plan = plan_create(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], year=2027)
    with pytest.raises(ValidationError, match="还没有项目"):
        plan_submit(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], plan_id=plan.pk)
    theirs = _project(users, "sibling_admin", province.sibling, code="T-1")
    later = _project(users, "county_admin", province.county, code="K-9", starts=dt.date(2028, 3, 1),
                     ends=dt.date(2028, 3, 2))
    with pytest.raises(ValidationError):
        plan_projects_add(scope=scope_for_user(users["county_admin"]), plan_id=plan.pk, project_ids=[theirs.pk])
    with pytest.raises(ValidationError):
        plan_projects_add(scope=scope_for_user(users["county_admin"]), plan_id=plan.pk, project_ids=[later.pk])  # another year
    with pytest.raises(NotVisible):
        plan_projects_add(scope=scope_for_user(users["sibling_admin"]), plan_id=plan.pk, project_ids=[theirs.pk])
    assert not plan.projects.exists()


def _backbone_overlap(province, users):
    """A city project and a county project for the same teachers, same weeks, same content."""
    city = _project(users, "city_admin", province.city, code="C-1", title="开封市初中数学骨干教师作业设计能力提升研修",
                    outline="聚焦初中数学单元作业设计与分层作业", audience={"stages": ["junior"], "subjects": ["数学"]},
                    starts=dt.date(2027, 4, 12), ends=dt.date(2027, 4, 18))
    publish(city)  # published: every planner must see it
    county = _project(users, "county_admin", province.county, code="K-1", title="杞县初中数学骨干教师作业设计能力提升培训",
                      outline="初中数学单元作业设计、分层作业与作业评价", audience={"stages": ["junior", "primary"]})
    return city, county


def test_the_planner_and_the_reviewer_see_the_overlapping_project_with_a_score(province, users):
    city, county = _backbone_overlap(province, users)
    _project(users, "county_admin", province.county, code="K-2", title="杞县新入职教师规范化培训",
             category="new_teacher", outline="师德规范、班级管理与课堂常规", topics=["classroom"])
    plan = plan_create(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], year=2027)
    plan_submit(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], plan_id=plan.pk)
    conflict = PlanConflict.objects.dangerously_unscoped().get(plan=plan)
    assert (conflict.project, conflict.other) == (county, city)
    assert 0.5 <= conflict.score <= 1
    assert any("同为骨干教师培训" in reason for reason in conflict.reasons)
    assert any("日期重叠 7 天" in reason for reason in conflict.reasons)
    assert any("学段：初中" in reason for reason in conflict.reasons)

    with pytest.raises(ValidationError, match="疑似重复"):
        plan_decide(scope=scope_for_user(users["city_admin"]), actor=users["city_admin"], plan_id=plan.pk, approve=True)
    assert AnnualPlan.objects.dangerously_unscoped().get().state == PlanState.SUBMITTED
    plan_decide(scope=scope_for_user(users["city_admin"]), actor=users["city_admin"], plan_id=plan.pk, approve=True, acknowledge_conflicts=True,
                note="已协调：县级项目面向未入选市级项目的教师")
    assert AnnualPlan.objects.dangerously_unscoped().get().state == PlanState.APPROVED


@pytest.mark.parametrize("change", [
    {"audience": {"stages": ["senior"]}},  # audiences apart
    {"starts": dt.date(2027, 6, 1), "ends": dt.date(2027, 6, 5)},  # dates apart
    {"title": "杞县小学英语绘本阅读教学培训", "outline": "绘本阅读与英语课堂活动设计", "category": "all_staff",
     "topics": ["classroom"]},  # content apart
])
def test_no_overlap_when_any_of_audience_dates_or_content_differ(province, users, change):
    city = _project(users, "city_admin", province.city, code="C-1", title="开封市初中数学骨干教师作业设计能力提升研修",
                    outline="聚焦初中数学单元作业设计与分层作业", audience={"stages": ["junior"]},
                    starts=dt.date(2027, 4, 12), ends=dt.date(2027, 4, 18))
    publish(city)
    values = {"title": "杞县初中数学骨干教师作业设计能力提升培训", "outline": "初中数学单元作业设计与分层作业"} | change
    _project(users, "county_admin", province.county, code="K-1", **values)
    plan = plan_create(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], year=2027)
    plan_submit(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], plan_id=plan.pk)
    assert not PlanConflict.objects.dangerously_unscoped().exists()


def test_other_counties_and_unsubmitted_drafts_do_not_count(province, users):
    # The same project in 通许县 reaches other teachers; a city draft is still scratch work.
    twin = _project(users, "sibling_admin", province.sibling, code="T-1", title="通许县初中数学骨干教师作业设计能力提升培训")
    publish(twin)
    _project(users, "city_admin", province.city, code="C-1", title="开封市初中数学骨干教师作业设计能力提升培训")
    _project(users, "county_admin", province.county, code="K-1", title="杞县初中数学骨干教师作业设计能力提升培训")
    plan = plan_create(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], year=2027)
    plan_submit(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], plan_id=plan.pk)
    assert not PlanConflict.objects.dangerously_unscoped().exists()
    city_plan = plan_create(scope=scope_for_user(users["city_admin"]), actor=users["city_admin"], year=2027)
    plan_submit(scope=scope_for_user(users["city_admin"]), actor=users["city_admin"], plan_id=city_plan.pk)  # now the city's project is committed
    # The city's project meets both counties' (its audience is the whole city).
    assert set(PlanConflict.objects.dangerously_unscoped().filter(plan=city_plan).values_list("other__code", flat=True)) == {"K-1", "T-1"}
    assert Project.objects.dangerously_unscoped().filter(plan__isnull=False).count() == 2
