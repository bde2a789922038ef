"""What the rating tests share: a published rating questionnaire, 杞县's project run by an
institution, its trainees (enrolled), a window, and helpers to rate and to travel in time.
Imported by the test_rating* / test_suppression* / test_unlinkable* files."""

import datetime as dt
from dataclasses import dataclass, field

import pytest
import time_machine

from access.scope import Scope, scope_for_user
from accounts.models import Role
from catalog.models import Enrolment, Project
from evaluation import ratings
from evaluation.models import Instrument, InstrumentItem, RatingWindow
from org.models import Institution
from people.tests.factories import TeacherFactory

STARTS = dt.date(2027, 3, 1)
ENDS = dt.date(2027, 3, 10)
OPENS = dt.date(2027, 3, 8)
CLOSES = dt.date(2027, 3, 20)
DIMENSIONS = ("content", "delivery", "organisation", "overall")


def at(day: dt.date):
    """Travel to 10:00 Beijing time on `day`."""
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 2, 0, tzinfo=dt.UTC), tick=False)


def questionnaire(division, code="HN-RATE", scale_max=5, items=4) -> Instrument:
    instrument = Instrument.objects.create(code=code, kind="rating", title="培训满意度问卷", division=division,
                                           state="published", scale_min=1, scale_max=scale_max)
    for number in range(1, items + 1):
        InstrumentItem.objects.create(instrument=instrument, number=number, text=f"题目{number}",
                                      dimension=DIMENSIONS[(number - 1) % len(DIMENSIONS)])
    return instrument


def make_project(code, organiser, *, institution=None, level=None, category="backbone", school=None) -> Project:
    return Project.objects.create(
        code=code, title=f"项目{code}", level=level or organiser.level, category=category, mode="centralised",
        organiser=organiser, organiser_school=school, division_path=school.division_path if school else organiser.path,
        seats=200, hours=12, hour_category="centralised", starts_on=STARTS, ends_on=ENDS, state="closed",
        institution=institution)


def trainees(project, school, count, state="enrolled") -> list:
    made = []
    for _ in range(count):
        teacher = TeacherFactory(school=school)
        Enrolment.objects.create(project=project, teacher=teacher, state=state)
        made.append(teacher)
    return made


def as_trainee(teacher) -> Scope:
    return Scope.for_teacher(teacher)


def rate(teacher, project, answers) -> None:
    ratings.rating_submit(scope=as_trainee(teacher), actor=None, project_id=project.pk, answers=answers)


def answers_of(value, items=4) -> dict:
    return {str(number): value for number in range(1, items + 1)}


@dataclass
class RatingWorld:
    project: Project
    instrument: Instrument
    window: RatingWindow
    teachers: list
    users: dict
    staff: object
    extra: dict = field(default_factory=dict)


@pytest.fixture
def rating_world(province, users, make_user) -> RatingWorld:
    """杞县's project (implemented by 杞县's centre), 30 enrolled trainees of 杞县第一小学, the province's
    questionnaire and a window 3-08 … 3-20 opened by the county."""
    p = province
    institution = Institution.objects.create(code="410221-JSFZ", name="杞县教师发展中心", kind="county_centre",
                                             division=p.county)
    staff = make_user("staff-qx", Role.INSTITUTION_STAFF, institution=institution)
    project = make_project("QX-R1", p.county, institution=institution)
    instrument = questionnaire(p.province)
    teachers = trainees(project, p.school, 30)
    with at(STARTS):
        county = users["county_admin"]
        window = ratings.window_open(scope=scope_for_user(county), actor=county, project_id=project.pk,
                                     instrument_id=instrument.pk, opens_on=OPENS, closes_on=CLOSES)
    return RatingWorld(project=project, instrument=instrument, window=window, teachers=teachers, users=users,
                       staff=staff)
