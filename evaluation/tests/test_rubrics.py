"""Rubrics: division administrators create them (criteria with unique codes and maxima above 0),
edit drafts, publish (frozen), make new versions and retire them; others are refused and nothing
is written."""

import pytest
from django.core.exceptions import ValidationError

from access.errors import Forbidden, NotVisible
from audit.models import AuditEvent
from evaluation import rubrics
from evaluation.models import Rubric
from evaluation.tests import supervision_world

pytestmark = pytest.mark.django_db
_today, sw = supervision_world._today, supervision_world.sw  # the fixtures these tests use

CRITERIA = [{"code": "plan", "label": "方案", "max": 30}, {"code": "run", "label": "实施", "max": 70}]


def _create(sw, who="county_admin", **extra):
    values = {"kind": "visit", "code": "QX-V", "title": "杞县视导量规", "criteria": CRITERIA} | extra
    return rubrics.rubric_create(scope=sw.scope(who), actor=sw.people[who], **values)


def _count():
    return Rubric.objects.dangerously_unscoped().count()


def test_the_life_of_a_rubric(sw):
    county, scope = sw.people["county_admin"], sw.scope("county_admin")
    row = _create(sw)
    assert (row.version, row.state, row.division, row.criteria) == (1, "draft", sw.p.county, CRITERIA)
    rubrics.rubric_update(scope=scope, actor=county, rubric_id=row.pk, title="杞县视导量规（试行）")
    rubrics.rubric_publish(scope=scope, actor=county, rubric_id=row.pk)
    with pytest.raises(ValidationError, match="请新建版本"):
        rubrics.rubric_update(scope=scope, actor=county, rubric_id=row.pk, criteria=CRITERIA[:1])
    second = rubrics.rubric_new_version(scope=scope, actor=county, rubric_id=row.pk)
    assert (second.code, second.version, second.state, second.criteria) == ("QX-V", 2, "draft", CRITERIA)
    with pytest.raises(ValidationError, match="已有待发布的新版本草稿"):
        rubrics.rubric_new_version(scope=scope, actor=county, rubric_id=row.pk)
    rubrics.rubric_retire(scope=scope, actor=county, rubric_id=row.pk)
    row.refresh_from_db()
    assert row.state == "retired" and row.criteria == CRITERIA
    actions = list(AuditEvent.objects.dangerously_unscoped().filter(action__startswith="evaluation.rubric")
                   .order_by("pk").values_list("action", flat=True))
    assert actions == ["evaluation.rubric_create", "evaluation.rubric_update", "evaluation.rubric_publish",
                       "evaluation.rubric_version", "evaluation.rubric_retire"]


@pytest.mark.parametrize(("criteria", "message"), [
    ([], "请至少填写一项评分细则"),
    ([{"code": "a", "label": "甲", "max": 5}, {"code": "a", "label": "乙", "max": 5}], "编号「a」重复"),
    ([{"code": "a", "label": "甲", "max": 0}], "满分应为1–1000的整数"),
    ([{"code": "a", "label": "甲", "max": -3}], "满分应为1–1000的整数"),
    ([{"code": "a", "label": "甲", "max": 2.5}], "满分应为1–1000的整数"),
    ([{"code": "a", "label": "", "max": 5}], "请填写名称"),
    ([{"code": "a b", "label": "甲", "max": 5}], "编号应为1–20位"),
    ("a|甲|5", "请至少填写一项评分细则"),
])
def test_bad_criteria_are_refused_and_nothing_is_written(sw, criteria, message):
    before = _count()
    with pytest.raises(ValidationError) as error:
        _create(sw, criteria=criteria)
    assert message in str(error.value)
    assert _count() == before


def test_codes_are_unique_and_kinds_known(sw):
    _create(sw)
    with pytest.raises(ValidationError, match="已被使用"):
        _create(sw, who="sibling_admin")
    with pytest.raises(ValidationError, match="请选择量规类型"):
        _create(sw, code="QX-X", kind="exam")


@pytest.mark.parametrize("who", ["school_admin", "expert", "staff", "teacher"])
def test_only_division_administrators_create(sw, who):
    before = _count()
    with pytest.raises(Forbidden):
        _create(sw, who=who)
    assert _count() == before


def test_another_county_neither_edits_nor_publishes_and_the_city_above_does(sw):
    row = _create(sw)
    for action in (rubrics.rubric_publish, rubrics.rubric_retire, rubrics.rubric_new_version):
        with pytest.raises(NotVisible):
            action(scope=sw.scope("sibling_admin"), actor=sw.people["sibling_admin"], rubric_id=row.pk)
    with pytest.raises(NotVisible):
        rubrics.rubric_update(scope=sw.scope("sibling_admin"), actor=None, rubric_id=row.pk, title="篡改")
    rubrics.rubric_publish(scope=sw.scope("city_admin"), actor=sw.people["city_admin"], rubric_id=row.pk)
    row.refresh_from_db()
    assert row.state == "published" and row.title == "杞县视导量规"


def test_a_county_sees_the_provinces_published_rubric_but_does_not_change_it(sw):
    province_rubric = sw.rubrics["visit"]
    with pytest.raises(Forbidden):
        rubrics.rubric_retire(scope=sw.scope("county_admin"), actor=None, rubric_id=province_rubric.pk)
    with pytest.raises(NotVisible):  # the province's draft is not the county's to see
        rubrics.rubric_publish(scope=sw.scope("county_admin"), actor=None, rubric_id=sw.rubrics["draft_visit"].pk)


def test_state_steps_in_the_wrong_order_are_refused(sw):
    county, scope = sw.people["county_admin"], sw.scope("county_admin")
    row = _create(sw)
    with pytest.raises(ValidationError, match="只有已发布的量规可以停用"):
        rubrics.rubric_retire(scope=scope, actor=county, rubric_id=row.pk)
    with pytest.raises(ValidationError, match="草稿可直接修改"):
        rubrics.rubric_new_version(scope=scope, actor=county, rubric_id=row.pk)
    rubrics.rubric_publish(scope=scope, actor=county, rubric_id=row.pk)
    with pytest.raises(ValidationError, match="只有草稿可以发布"):
        rubrics.rubric_publish(scope=scope, actor=county, rubric_id=row.pk)


def test_a_city_makes_rubrics_for_its_counties_but_not_for_its_direct_county(sw):
    """A city's 省直管县 reports to the province: the form does not offer it, and naming it is refused."""
    from evaluation.ownership import owning_division_choices

    offered = owning_division_choices(sw.scope("city_admin"))
    assert sw.p.county in offered and sw.p.city in offered and sw.p.direct not in offered
    assert owning_division_choices(sw.scope("school_admin")) == []
    made = _create(sw, who="city_admin", code="KF-V", division_id=sw.p.county.pk)
    assert made.division == sw.p.county
    with pytest.raises(Forbidden):
        _create(sw, who="city_admin", code="ZX-V", division_id=sw.p.direct.pk)
    assert not Rubric.objects.dangerously_unscoped().filter(code="ZX-V").exists()
