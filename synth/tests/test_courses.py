"""The demo course library: providers of every kind, a catalogue over stages, subjects, topics,
capabilities and required content, mostly published (credited), a county's own courses, a
merged duplicate; made once."""

from access.scope import Scope
from learning import selectors
from learning.constants import CAPABILITIES, ProviderKind, RequiredContent
from learning.models import Course, Provider
from synth.courses import courses_synthesize


def test_the_demo_library_is_varied_curated_and_made_once(province):
    result = courses_synthesize(seed=7, county_code=province.county.code)
    courses = list(Course.objects.dangerously_unscoped().select_related("credited_activity", "provider"))
    assert 60 <= result.courses == len(courses) <= 120
    assert {p.kind for p in Provider.objects.dangerously_unscoped().all()} == set(ProviderKind.values)
    assert {c for course in courses for c in course.required_content} == set(RequiredContent.values)
    assert {t for course in courses for t in course.topics} >= set(CAPABILITIES)
    assert len({s for course in courses for s in course.stages}) >= 4 and any(c.is_featured for c in courses)
    published = [c for c in courses if c.state == "published"]
    assert len(published) == result.published > len(courses) // 2
    assert all(c.credited_activity is not None and c.credited_activity.active for c in published)
    assert all(c.credited_activity.hours == c.hours for c in published)
    assert any(c.rating_count and c.completion_count for c in courses)
    county = [c for c in courses if c.division_id == province.county.pk]
    assert sorted(c.state for c in county) == ["draft", "published", "retired"]
    assert next(c for c in county if c.state == "retired").merged_into is not None
    # the platform's player has something to play: a real clip or a text for every video and reading course
    from learning.study import playable

    on_player = [c for c in published if c.format in ("video", "reading")]
    assert on_player and all(playable(c) == "" for c in on_player)
    demo = next(c for c in courses if c.code == "DEMO-PLAYER")
    assert demo.state == "published" and demo.duration_seconds == 96 and demo.media_url.endswith(".webm")
    assert courses_synthesize(seed=7, county_code=province.county.code).courses == 0
    assert Course.objects.dangerously_unscoped().count() == len(courses)
    # the demo library is searchable as imported (its index written by the import)
    teacher_view = Scope(teacher_id=province.teacher.pk, role="teacher", home_path=province.county.path)
    ethics = selectors.course_page(teacher_view, selectors.CourseFilters(q="师德", state="published"))
    assert ethics.ranked and ethics.courses and all(c.state == "published" for c in ethics.courses)
    assert all("ethics" in c.required_content or "师德" in c.title for c in ethics.courses)
