"""Stakeholder ratings: one per unit, by a school whose teachers attended or a county or city bureau
whose teachers attended; not the organiser; from the project's first day; on a published rubric."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from access.errors import Forbidden, NotVisible
from audit.models import AuditEvent
from evaluation import supervision
from evaluation.models import StakeholderRating
from evaluation.tests import supervision_world
from evaluation.tests.supervision_world import SCORES, make_project

pytestmark = pytest.mark.django_db
_today, sw = supervision_world._today, supervision_world.sw  # the fixtures these tests use


def _rate(sw, who, project="qx", **extra):
    values = {"rubric_id": sw.rubrics["stakeholder"].pk, "scores": SCORES, "note": "学员反映良好"} | extra
    return supervision.stakeholder_rate(scope=sw.scope(who), actor=sw.people[who], project_id=sw.projects[project].pk,
                                        **values)


def _count():
    return StakeholderRating.objects.dangerously_unscoped().count()


@pytest.mark.parametrize(("who", "project", "kind", "key"), [
    ("school_admin", "qx", "school", "school:{school}"),  # 张三's school, on 杞县's project
    ("school_admin_2", "qx", "school", "school:{school_2}"),  # 钱七 completed it
    ("county_admin", "city", "county", "division:410221"),  # 张三 took the city's project
    ("school_admin", "city", "school", "school:{school}"),
    ("city_admin", "tx", "city", "division:410200"),  # 开封市's teacher 李四 on 通许县's project
])
def test_a_unit_whose_teachers_attended_rates_once(sw, who, project, kind, key):
    from org.models import School

    row = _rate(sw, who, project)
    school_2 = School.objects.dangerously_unscoped().get(code="4102210002")
    assert (row.unit_kind, row.unit_key) == (kind, key.format(school=sw.p.school.pk, school_2=school_2.pk))
    assert row.total == Decimal("76.7") and row.rater == sw.people[who]
    assert AuditEvent.objects.dangerously_unscoped().filter(action="evaluation.stakeholder_rate").count() == 1
    with pytest.raises(ValidationError, match="已评价过该项目"):
        _rate(sw, who, project)
    assert _count() == 1


@pytest.mark.parametrize(("who", "project"), [
    ("county_admin", "qx"),  # the organiser does not rate its own project
    ("sibling_admin", "qx"),  # no 通许县 teacher on 杞县's project
    ("sibling_admin", "city"),  # 李四's enrolment on the city's project is still pending
    ("other_city_admin", "city"),
    ("school_admin", "tx"),
    ("province_admin", "qx"),  # the province is no stakeholder unit
    ("expert", "qx"),
    ("staff", "qx"),
    ("teacher", "qx"),
])
def test_units_without_attending_teachers_and_the_organiser_do_not_rate(sw, who, project):
    with pytest.raises((Forbidden, NotVisible)):
        _rate(sw, who, project)
    assert _count() == 0


def test_not_before_the_first_day(sw):
    with pytest.raises(ValidationError, match="开始后才能评价"):
        _rate(sw, "school_admin", "qx_later")
    assert _count() == 0


def test_scores_without_a_published_stakeholder_rubric_are_refused(sw):
    for rubric_id in (None, sw.rubrics["visit"].pk):
        with pytest.raises(ValidationError, match="没有量规不能评分"):
            _rate(sw, "school_admin", rubric_id=rubric_id)
    with pytest.raises(ValidationError, match="0–20"):
        _rate(sw, "school_admin", scores={"design": 1, "delivery": 21})
    assert _count() == 0


def test_a_school_project_is_rated_by_its_county_not_by_its_own_school(sw):
    project = make_project("QX-S", sw.p.county, school=sw.p.school)
    from catalog.models import Enrolment

    Enrolment.objects.create(project=project, teacher=sw.p.teacher, state="enrolled")
    sw.projects["school"] = project
    with pytest.raises(Forbidden):
        _rate(sw, "school_admin", "school")
    assert _rate(sw, "county_admin", "school").unit_key == "division:410221"


def test_the_rater_alone_edits_within_the_window(sw):
    row = _rate(sw, "school_admin")
    supervision.record_update(scope=sw.scope("school_admin"), actor=sw.people["school_admin"], kind="stakeholder",
                              record_id=row.pk, changes={"scores": {"design": 10, "delivery": 20}})
    row.refresh_from_db()
    assert row.total == Decimal("100.0")
    with pytest.raises(NotVisible):  # another school of the same county does not even see it
        supervision.record_update(scope=sw.scope("school_admin_2"), actor=sw.people["school_admin_2"],
                                  kind="stakeholder", record_id=row.pk, changes={"note": "x"})
    with pytest.raises(Forbidden):  # the county oversees it, it does not change it
        supervision.record_update(scope=sw.scope("county_admin"), actor=sw.people["county_admin"],
                                  kind="stakeholder", record_id=row.pk, changes={"note": "x"})
    assert dt.date(2026, 11, 28) == row.created_at.date()
