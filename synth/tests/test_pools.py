"""The demo trainer pools: a pool for the province, the city and each county, honoured teachers
linked (the demo expert first), grades reached by promotion, sessions staffed from their
organiser's pool without a trainer teaching twice a day or on a day away; made once."""

import datetime as dt
from collections import Counter

from accounts.models import Role
from catalog.models import Project, ProjectSession
from people.models import TeacherHonour
from people.tests.factories import TeacherFactory
from synth.pools import trainers_synthesize
from trainers.models import Trainer, TrainerBooking, TrainerLevelChange, TrainerUnavailability

TODAY = dt.date(2027, 3, 1)


def _project(code, organiser, school=None, stages=("primary",)):
    project = Project.objects.create(
        code=code, title=f"项目{code}", level=organiser.level, category="backbone", mode="centralised",
        organiser=organiser, organiser_school=school, division_path=school.division_path if school else organiser.path,
        audience={"stages": list(stages)}, topics=["homework"], seats=20, hours=24, hour_category="centralised",
        starts_on=dt.date(2027, 3, 1), ends_on=dt.date(2027, 6, 30), state="open")
    for n in range(1, 41):
        ProjectSession.objects.create(project=project, number=n, title=f"第{n}场", held_on=dt.date(2027, 3, 1)
                                      + dt.timedelta(days=n % 20), check_in_code="1")
    return project


def test_the_demo_pools(province, make_user):
    p = province
    honoured = []
    for n, (school, title, level) in enumerate([(p.school, "master_teacher", "county")] * 3
                                               + [(p.sibling_school, "subject_leader", "city"),
                                                  (p.school, "master_teacher", "province")]):
        teacher = TeacherFactory(school=school, name=f"名师{n}")
        TeacherHonour.objects.create(teacher=teacher, title=title, level=level, awarded_on=dt.date(2020, 9, 1))
        honoured.append(teacher)
    make_user("expert-1", Role.EXPERT, teacher=honoured[2])
    for code, organiser in (("QX", p.county), ("KF", p.city), ("HN", p.province), ("TX", p.sibling)):
        _project(code, organiser)
    result = trainers_synthesize(seed=3, county_codes=["410221", "410222", "410225"], today=TODAY)
    trainers = list(Trainer.objects.dangerously_unscoped().select_related("division"))
    assert result["trainers"] == len(trainers)
    pools = Counter(t.division.code for t in trainers)
    assert set(pools) == {"410000", "410200", "410221", "410222", "410225"} and pools["410000"] == 20
    linked = {t.teacher_id: t for t in trainers if t.teacher_id}
    assert honoured[2].pk in linked and linked[honoured[2].pk].division.code == "410221"  # the demo expert
    assert linked[honoured[3].pk].division.code == "410200" and linked[honoured[3].pk].source == "subject_leader"
    assert linked[honoured[4].pk].division.code == "410000"
    assert all(t.name == t.teacher.name and t.stages == [t.teacher.stage] for t in linked.values())
    assert all(t.stages and (t.subjects or t.topics) and t.tags.startswith("|") for t in trainers)
    # grades: entered at 初级, each higher grade one promotion
    changes = Counter(TrainerLevelChange.objects.dangerously_unscoped().values_list("trainer_id", flat=True))
    assert all(changes[t.pk] == t.grade for t in trainers)
    bookings = list(TrainerBooking.objects.dangerously_unscoped().select_related("trainer", "project", "session"))
    assert result["bookings"] == len(bookings) > 0
    assert len({(b.trainer_id, b.held_on) for b in bookings}) == len(bookings)
    assert all(b.trainer.division_id == b.project.organiser_id and b.held_on == b.session.held_on for b in bookings)
    for period in TrainerUnavailability.objects.dangerously_unscoped():
        assert not any(b.trainer_id == period.trainer_id and period.starts_on <= b.held_on <= period.ends_on
                       for b in bookings)
    assert trainers_synthesize(seed=3, county_codes=["410221"], today=TODAY) == {"trainers": 0, "bookings": 0}
