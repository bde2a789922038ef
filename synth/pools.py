"""The demo trainer pools (三级培训专家库): one for the province, for each city with synthesised
counties and for each synthesised county, sized by the teachers below it. A county's pool draws
its county-level 名师, a city's its city-level 名师 and 学科带头人, the province's its province-level
名师 (linked to the registry, with their stage and subjects; the demo experts of the first county
first); the rest are 教研员 of the division's research office, university experts (cities and the
province) and a few others, each with stages, subjects, one or two of the five capabilities and
perhaps a topic, a grade (most 初级; the higher ones promoted from 初级, with a reason), and a few
with a period away in the coming months.

Then the projects' sessions are staffed from their organiser's pool (a school's 校本研修 from its
county's, now and then): most sessions get one trainer, chosen among those who teach the
project's stage and topic where there are any, never on a day the trainer already teaches or is
away. Everything is written in bulk; nothing is rated (there is no evaluation yet)."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from django.db import transaction

from access.policy import Action, visible
from access.scope import Scope
from accounts.models import Role, User
from catalog.constants import Topic
from catalog.models import ProjectSession
from org.models import Division
from people.models import Teacher, TeacherHonour, TeacherSubject
from synth.names import GIVEN_CHARACTERS, SURNAMES
from synth.services import UNIVERSITIES
from synth.training import STAGE_SUBJECTS
from trainers.constants import CAPABILITIES, Grade, Source
from trainers.models import Trainer, TrainerBooking, TrainerLevelChange, TrainerUnavailability

OTHER_TOPICS = [str(t) for t in Topic.values if t not in set(CAPABILITIES)]
STAGES: tuple[tuple[str, int], ...] = (("primary", 40), ("junior", 30), ("senior", 20), ("kindergarten", 10))
GRADES = ((Grade.JUNIOR, 55), (Grade.INTERMEDIATE, 28), (Grade.SENIOR, 13), (Grade.CHIEF, 4))
# The honours a pool draws its linked trainers from, by the pool's level.
HONOURS = {"county": {("master_teacher", "county")},
           "city": {("master_teacher", "city"), ("subject_leader", "city")},
           "province": {("master_teacher", "province"), ("master_teacher", "national")}}
STAFFED_SHARE = 0.6  # of a division's project sessions
SCHOOL_STAFFED_SHARE = 0.3  # of a school's 校本研修 sessions, from the county's pool
AWAY_SHARE = 0.05


def pool_size(level: str, teachers: int) -> int:
    if level == "county":
        return max(4, min(30, teachers // 150))
    if level == "city":
        return max(8, min(60, teachers // 400))
    return max(20, min(300, teachers // 2000))


class PoolGenerator:
    def __init__(self, seed: int, today: dt.date, county_codes: list[str]):
        self.rng = random.Random(f"{seed}:trainers")
        self.today = today
        self.province = Division.objects.get(level="province")
        self.scope = Scope.division(self.province)
        counties = list(Division.objects.filter(code__in=county_codes).order_by("code"))
        cities = Division.objects.filter(pk__in={c.parent_id for c in counties if c.level == "county"}).order_by("code")
        self.divisions: list[Division] = [self.province, *cities, *counties]
        self.first_county = counties[0] if counties else None
        surnames, weights = zip(*SURNAMES, strict=True)
        self.surnames, self.surname_weights = surnames, weights
        self.made: list[Trainer] = []
        self.used_teachers: set[int] = set()

    def _name(self) -> str:
        surname = self.rng.choices(self.surnames, weights=self.surname_weights)[0]
        return surname + "".join(self.rng.choice(GIVEN_CHARACTERS) for _ in range(self.rng.choice((1, 2, 2))))

    def _topics(self) -> list[str]:
        topics = [str(t) for t in self.rng.sample(list(CAPABILITIES), self.rng.choice((1, 1, 2)))]
        if self.rng.random() < 0.3:
            topics.append(self.rng.choice(OTHER_TOPICS))
        return sorted(set(topics))

    def _stages_subjects(self) -> tuple[list[str], list[str]]:
        stage = self.rng.choices([code for code, _ in STAGES], weights=[weight for _, weight in STAGES])[0]
        stages = {stage}
        if stage in ("primary", "junior") and self.rng.random() < 0.3:
            stages.add("junior" if stage == "primary" else "primary")
        subjects = [] if self.rng.random() < 0.15 else [str(self.rng.choice(STAGE_SUBJECTS[stage]))]
        return sorted(stages), subjects

    def linked_candidates(self) -> dict[int, tuple[str, set[tuple[str, str]]]]:
        """Teachers in post holding an honour a pool draws from: id -> (division path, honours)."""
        found: dict[int, tuple[str, set[tuple[str, str]]]] = {}
        titles = {title for wanted in HONOURS.values() for title, _ in wanted}
        rows = (visible(self.scope, TeacherHonour).filter(title__in=titles, teacher__status="active")
                .order_by("teacher_id", "pk").values_list("teacher_id", "teacher__division_path", "title", "level"))
        for teacher_id, path, title, level in rows:
            found.setdefault(teacher_id, (path, set()))[1].add((title, level))
        return found

    def build(self, teacher_counts: dict[str, int]) -> None:
        candidates = self.linked_candidates()
        experts = set(User.objects.filter(role=Role.EXPERT, teacher__isnull=False).values_list("teacher_id", flat=True))
        for division in self.divisions:
            below = sum(n for path, n in teacher_counts.items() if path.startswith(division.path))
            size = pool_size(division.level, below)
            wanted = HONOURS[division.level]
            eligible = sorted((pk for pk, (path, honours) in candidates.items()
                               if pk not in self.used_teachers and path.startswith(division.path) and honours & wanted),
                              key=lambda pk: (pk not in experts, pk))
            # about two in five are teachers, and every demo expert who may join this pool does
            linked = eligible[:max(int(size * 0.4), len(experts & set(eligible)))]
            for teacher_id in linked:
                self.used_teachers.add(teacher_id)
                title = min(title for title, level in candidates[teacher_id][1] & wanted)
                self.made.append(self.trainer(division, teacher_id=teacher_id, source=title))
            for _ in range(size - len(linked)):
                self.made.append(self.trainer(division))

    def trainer(self, division: Division, teacher_id: int | None = None, source: str = "") -> Trainer:
        """One made-up trainer of `division`'s pool (unsaved; a teacher's takes their name later)."""
        roll = self.rng.random()
        if teacher_id is not None:
            organisation = ""
        elif division.level != "county" and roll < 0.25:
            source, organisation = Source.UNIVERSITY, self.rng.choice(UNIVERSITIES)[0]
        elif roll < 0.9:
            source, organisation = Source.RESEARCH_STAFF, f"{division.name}教育局教研室"
        else:
            source, organisation = Source.OTHER, f"{division.name}教师发展中心"
        stages, subjects = self._stages_subjects()
        codes, weights = zip(*GRADES, strict=True)
        trainer = Trainer(division=division, teacher_id=teacher_id, name=self._name(), source=source,
                          organisation=organisation, stages=stages, subjects=subjects, topics=self._topics(),
                          grade=self.rng.choices(codes, weights=weights)[0])
        return trainer


def trainers_synthesize(*, seed: int, county_codes: list[str], today: dt.date) -> dict[str, int]:
    """Idempotent: nothing happens when a pool has trainers already."""
    province = Division.objects.filter(level="province").first()
    if province is None or not county_codes or visible(Scope.division(province), Trainer).exists():
        return {"trainers": 0, "bookings": 0}
    pools = PoolGenerator(seed, today, county_codes)
    scope = pools.scope
    counts: dict[str, int] = defaultdict(int)
    for path in visible(scope, Teacher).filter(status="active").values_list("division_path", flat=True).iterator():
        counts[path] += 1
    pools.build(counts)
    linked = [t.teacher_id for t in pools.made if t.teacher_id]
    teachers = {pk: (name, stage) for pk, name, stage in visible(scope, Teacher).filter(pk__in=linked)
                .values_list("id", "name", "stage")}
    subjects: dict[int, list[str]] = defaultdict(list)
    for teacher_id, subject in visible(scope, TeacherSubject).filter(teacher_id__in=linked).values_list("teacher_id",
                                                                                                        "subject"):
        subjects[teacher_id].append(subject)
    for trainer in pools.made:
        if trainer.teacher_id:
            trainer.name, stage = teachers[trainer.teacher_id]
            trainer.stages, trainer.subjects = [stage], sorted(subjects[trainer.teacher_id])
        trainer.fill_derived()
    with transaction.atomic():
        made = Trainer.objects.bulk_create(pools.made, batch_size=1000)
        TrainerLevelChange.objects.bulk_create(grade_history(made), batch_size=1000)
        away = away_periods(pools.rng, made, today)
        TrainerUnavailability.objects.bulk_create([row for rows in away.values() for row in rows], batch_size=1000)
        bookings = staff_sessions(pools.rng, scope, made, away)
        TrainerBooking.objects.bulk_create(bookings, batch_size=2000)
    return {"trainers": len(made), "bookings": len(bookings)}


def grade_history(made: list[Trainer]) -> list[TrainerLevelChange]:
    """Every trainer entered at 初级; the higher grades were promotions, one step at a time."""
    rows = []
    for trainer in made:
        rows.append(TrainerLevelChange(trainer=trainer, from_grade=0, to_grade=Grade.JUNIOR, reason="入库"))
        for grade in range(Grade.JUNIOR + 1, trainer.grade + 1):
            rows.append(TrainerLevelChange(trainer=trainer, from_grade=grade - 1, to_grade=grade,
                                           reason="承担培训授课，考核评价优秀"))
    return rows


def away_periods(rng: random.Random, made: list[Trainer], today: dt.date) -> dict[int, list[TrainerUnavailability]]:
    away: dict[int, list[TrainerUnavailability]] = {}
    for trainer in made:
        if rng.random() < AWAY_SHARE:
            start = today + dt.timedelta(days=rng.randrange(0, 90))
            away[trainer.pk] = [TrainerUnavailability(trainer=trainer, starts_on=start,
                                                      ends_on=start + dt.timedelta(days=rng.randrange(2, 10)),
                                                      reason=rng.choice(("外出学习", "出差", "承担省级任务")))]
    return away


def staff_sessions(rng: random.Random, scope: Scope, made: list[Trainer],
              away: dict[int, list[TrainerUnavailability]], *, share: float = STAFFED_SHARE,
              school_share: float = SCHOOL_STAFFED_SHARE) -> list[TrainerBooking]:
    """The organisers' sessions staffed from their own pools, one trainer a day (unsaved bookings)."""
    by_pool: dict[int, list[Trainer]] = defaultdict(list)
    for trainer in made:
        by_pool[trainer.division_id].append(trainer)
    taken: set[tuple[int, dt.date]] = set()
    sessions = (visible(scope, ProjectSession, Action.RUN)
                .values_list("pk", "held_on", "project_id", "project__organiser_id", "project__organiser_school_id",
                             "project__audience", "project__topics").order_by("held_on", "pk"))
    bookings = []
    for pk, day, project_id, organiser_id, school_id, audience, topics in sessions.iterator():
        if rng.random() >= (school_share if school_id else share):
            continue
        pool = by_pool.get(organiser_id, [])
        stages, topics = set((audience or {}).get("stages") or ()), set(topics or ())
        fitting = [t for t in pool if (not stages or stages & set(t.stages)) and (not topics or topics & set(t.topics))]
        choices = fitting or pool
        for trainer in rng.sample(choices, min(len(choices), 5)):
            if (trainer.pk, day) in taken or any(p.starts_on <= day <= p.ends_on for p in away.get(trainer.pk, ())):
                continue
            taken.add((trainer.pk, day))
            bookings.append(TrainerBooking(trainer=trainer, session_id=pk, project_id=project_id, held_on=day))
            break
    return bookings
