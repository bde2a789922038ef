"""The demo study histories: the county's teachers took up courses of the demo library, and every
teacher has a pushed list with reasons right after `synth`; made once."""

import pytest

from access.scope import Scope
from learning.models import CourseEnrolment, TeacherPush
from learning.push.selectors import push_for
from people.tests.factories import TeacherFactory
from synth.courses import courses_synthesize
from synth.push import push_synthesize


@pytest.fixture(autouse=True)
def push_model_file(settings, tmp_path):
    from learning.push.services import library_forget

    settings.LEARNING_PUSH_MODEL = tmp_path / "push-model.npz"
    library_forget()


def test_the_demo_histories_give_every_teacher_a_list_with_reasons(province):
    for n in range(30):
        TeacherFactory(school=province.school, subjects=["math" if n % 2 else "chinese"])
    courses_synthesize(seed=3, county_code=province.county.code)
    result = push_synthesize(seed=3, county_code=province.county.code)
    enrolments = list(CourseEnrolment.objects.dangerously_unscoped().all())
    assert result["enrolments"] == len(enrolments) > 30
    assert len({e.enrolled_at.date() for e in enrolments}) > 10  # spread over the year, not all today
    assert TeacherPush.objects.dangerously_unscoped().count() == result["teachers"] >= 31
    found = push_for(Scope.for_teacher(province.teacher), province.teacher)
    assert not found.recomputed and len(found.items) == 10
    assert all(item.reason for item in found.items)
    assert {item.signal for item in found.items} & {"similar", "peers"}  # the histories carry a signal
    taken = {e.course_id for e in enrolments if e.teacher_id == province.teacher.pk}
    assert not taken & {item.course.pk for item in found.items}
    assert push_synthesize(seed=3, county_code=province.county.code)["enrolments"] == 0
