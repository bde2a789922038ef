"""Publishing credits a course's IRI through the LRS, retiring stops it, merging folds a
duplicate into the course kept; each audited, each refused outside the owner's jurisdiction."""

import pytest
from django.core.exceptions import ValidationError

from access.errors import Forbidden, NotVisible
from access.scope import scope_for_user
from audit.models import AuditEvent
from learning.models import Course
from learning.services import course_merge, course_publish, course_retire
from learning.tests.conftest import row
from lrs.models import CreditedActivity


@pytest.fixture
def county_courses(import_rows):
    import_rows([row("C-1", 学时="3", 学时类别="网络研修"), row("C-2", "课堂提问（重复）", 学时="3")], who="county_admin")
    return {c.code: c for c in Course.objects.dangerously_unscoped().all()}


def _as(users, who):
    return {"scope": scope_for_user(users[who]), "actor": users[who]}


def _credited(course_id):
    course = Course.objects.dangerously_unscoped().select_related("credited_activity").get(pk=course_id)
    return course, course.credited_activity


def test_publish_credits_the_iri_retire_stops_it_and_publishing_again_resumes_it(county_courses, users, province):
    course = course_publish(**_as(users, "county_admin"), course_id=county_courses["C-1"].pk)
    course, credited = _credited(course.pk)
    assert course.state == "published" and course.published_at is not None
    assert (credited.activity_iri, credited.hours, credited.category, credited.division_id, credited.active) == (
        "https://basic.smartedu.example.cn/course/C-1", course.hours, "online", province.county.pk, True)
    course_publish(**_as(users, "county_admin"), course_id=course.pk)  # again: nothing new
    assert CreditedActivity.objects.dangerously_unscoped().count() == 1

    course_retire(**_as(users, "city_admin"), course_id=course.pk)  # the city above curates it too
    course, credited = _credited(course.pk)
    assert course.state == "retired" and not credited.active
    course_publish(**_as(users, "county_admin"), course_id=course.pk)
    course, again = _credited(course.pk)
    assert again.pk == credited.pk and again.active
    actions = list(AuditEvent.objects.dangerously_unscoped().filter(action__startswith="learning.course")
                   .values_list("action", flat=True).order_by("pk"))
    assert actions == ["learning.course_publish", "learning.course_retire", "learning.course_publish"]


def test_publishing_after_the_hours_changed_registers_anew(county_courses, users, import_rows):
    course = course_publish(**_as(users, "county_admin"), course_id=county_courses["C-1"].pk)
    course_retire(**_as(users, "county_admin"), course_id=course.pk)
    assert import_rows([row("C-1", 学时="5")], who="county_admin").applied  # retired: hours may change
    course_publish(**_as(users, "county_admin"), course_id=course.pk)
    rows = list(CreditedActivity.objects.dangerously_unscoped().order_by("pk").values_list("hours", "active"))
    assert [(str(hours), active) for hours, active in rows] == [("3.0", False), ("5.0", True)]


@pytest.mark.parametrize(("who", "refusal"), [("sibling_admin", NotVisible), ("other_city_admin", NotVisible),
                                              ("school_admin", NotVisible), ("teacher", NotVisible)])
def test_outsiders_and_other_levels_may_not_curate_a_countys_course(county_courses, users, who, refusal):
    course = county_courses["C-1"]
    for action in (course_publish, course_retire):
        with pytest.raises(refusal):
            action(**_as(users, who), course_id=course.pk)
    with pytest.raises(refusal):
        course_merge(**_as(users, who), course_id=county_courses["C-2"].pk, into_id=course.pk)
    assert Course.objects.dangerously_unscoped().get(pk=course.pk).state == "draft"
    assert not CreditedActivity.objects.dangerously_unscoped().exists()


def test_a_county_sees_a_published_province_course_but_may_not_retire_it(import_rows, users):
    import_rows([row("P-1")])
    course = Course.objects.dangerously_unscoped().get(code="P-1")
    course_publish(**_as(users, "province_admin"), course_id=course.pk)
    with pytest.raises(Forbidden):
        course_retire(**_as(users, "county_admin"), course_id=course.pk)
    assert _credited(course.pk)[1].active


def test_merging_folds_the_duplicate_into_the_course_kept(county_courses, users):
    kept, duplicate = county_courses["C-1"], county_courses["C-2"]
    Course.objects.dangerously_unscoped().filter(pk=kept.pk).update(completion_count=10, rating_sum=40, rating_count=10)
    Course.objects.dangerously_unscoped().filter(pk=duplicate.pk).update(completion_count=5, rating_sum=15, rating_count=5)
    for course in (kept, duplicate):
        course_publish(**_as(users, "county_admin"), course_id=course.pk)
    course_merge(**_as(users, "county_admin"), course_id=duplicate.pk, into_id=kept.pk)
    kept, kept_credit = _credited(kept.pk)
    duplicate, duplicate_credit = _credited(duplicate.pk)
    assert (kept.completion_count, kept.rating_sum, kept.rating_count, kept.rating) == (15, 55, 15, 3.7)
    assert (duplicate.completion_count, duplicate.rating_count) == (0, 0)
    assert duplicate.state == "retired" and duplicate.merged_into_id == kept.pk
    assert kept_credit.active and not duplicate_credit.active  # the duplicate's IRI earns no more hours
    event = AuditEvent.objects.dangerously_unscoped().get(action="learning.course_merge")
    assert event.detail["into"] == kept.pk and event.detail["completion_count"] == 5

    with pytest.raises(ValidationError, match="已合并过"):
        course_merge(**_as(users, "county_admin"), course_id=duplicate.pk, into_id=kept.pk)
    with pytest.raises(ValidationError, match="不能再发布"):
        course_publish(**_as(users, "county_admin"), course_id=duplicate.pk)
    with pytest.raises(ValidationError, match="已合并到另一门"):
        course_merge(**_as(users, "county_admin"), course_id=kept.pk, into_id=duplicate.pk)
    with pytest.raises(ValidationError, match="合并到它自己"):
        course_merge(**_as(users, "county_admin"), course_id=kept.pk, into_id=kept.pk)


def test_merging_into_a_retired_course_is_refused(county_courses, users):
    course_retire(**_as(users, "county_admin"), course_id=county_courses["C-1"].pk)
    with pytest.raises(ValidationError, match="目标课程已下架"):
        course_merge(**_as(users, "county_admin"), course_id=county_courses["C-2"].pk, into_id=county_courses["C-1"].pk)
    assert Course.objects.dangerously_unscoped().get(pk=county_courses["C-2"].pk).merged_into_id is None
