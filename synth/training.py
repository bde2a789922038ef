"""Synthetic training projects (issue 4 item 7): annual plans and projects at every level
for last year, this year and next, with sessions, enrolments, attendance and, for
finished projects, completions whose hours are in the credit ledger exactly as
`catalog.attendance.project_complete` would have written them.

Positioning follows §二(五): the province runs 名师, 名校长, 骨干 (high-end, with a
university) and 乡村首席教师 training; cities their backbone and master teachers; counties
new teachers, county backbone and the all-staff training; schools school-based research.
Enrolees are drawn county by county from teachers inside each project's audience
(the same rule `enrolment_refusals` applies), so the work streams at any scale. A
completion is skipped when the teacher's day already holds too many hours, as the real
path would refuse it.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from django.db.models import Sum
from django.utils import timezone

from catalog.constants import EnrolmentState, Level, PlanState, ProjectCategory, ProjectState, Topic
from catalog.models import AnnualPlan, Project, ProjectSession
from catalog.services import TeacherFacts, audience_refusals, project_home
from credits.constants import MAX_HOURS_PER_DAY
from credits.models import CycleTotal, LedgerEntry
from credits.services import ledger_checksum
from org.constants import Stage
from org.models import Division, Institution, School
from people.constants import Subject
from people.models import Teacher, TeacherHonour, TeacherSubject
from synth.ledger import LEDGER_COLUMNS, CycleInfo
from synth.writer import insert_rows, next_id, reset_sequence

STAGES = [Stage.PRIMARY, Stage.JUNIOR, Stage.SENIOR]
SUBJECTS = [Subject.CHINESE, Subject.MATH, Subject.ENGLISH, Subject.PHYSICS, Subject.HISTORY, Subject.SCIENCE]
FOCUS = [("作业设计能力提升", "homework"), ("课堂教学能力提升", "classroom"), ("学科育德能力", "moral_in_subject"),
         ("实验操作能力", "experiment"), ("信息技术应用能力提升", "it"), ("家庭教育指导能力", "family")]
ALL_STAFF_TOPICS = ["mental_health", "rule_of_law", "national_security", "anti_bullying", "ecology", "career"]
ENROLMENT_COLUMNS = ["id", "project_id", "teacher_id", "state", "nominated_by_id", "created_at", "decided_at",
                     "waiting_since", "assessment_passed", "completed_at", "ledger_entry_id"]
ATTENDANCE_COLUMNS = ["id", "session_id", "enrolment_id", "recorded_by_id", "recorded_at", "method"]


@dataclass
class TrainingResult:
    plans: int = 0
    projects: int = 0
    sessions: int = 0
    enrolments: int = 0
    attendance: int = 0
    completions: int = 0
    ledger_entries: int = 0


@dataclass
class _Planned:
    """A project being generated, with the counties it draws enrolees from and its quota in each."""

    project: Project
    sessions: list[ProjectSession] = field(default_factory=list)
    quota: dict[str, int] = field(default_factory=dict)  # county path → enrolees wanted there
    taken: int = 0


def _session_hours(hours: Decimal, count: int) -> list[Decimal]:
    share = (hours / count).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    return [share] * (count - 1) + [hours - share * (count - 1)]


class TrainingGenerator:
    def __init__(self, *, seed: int, today: dt.date, county_codes: list[str], cycles: list[CycleInfo]):
        self.rng = random.Random(f"{seed}:training")
        self.today, self.cycles = today, cycles
        self.years = [today.year - 1, today.year, today.year + 1]
        self.counties = list(Division.objects.filter(code__in=county_codes).select_related("parent").order_by("code"))
        self.province = Division.objects.get(level="province")
        city_ids = {c.parent_id for c in self.counties if c.level == "county" and c.parent_id is not None}
        self.cities = list(Division.objects.filter(pk__in=city_ids).order_by("code"))
        institutions = {i.code: i for i in Institution.objects.all()}
        self.universities = [i for code, i in sorted(institutions.items()) if i.kind == "university"]
        self.institute = institutions.get("410000-YXY")
        self.centres = {code.split("-")[0]: i for code, i in institutions.items() if code.endswith("-JSFZ")}
        self.result = TrainingResult()
        self.plans: dict[tuple, AnnualPlan] = {}
        self.now = timezone.now()

    # --- plans and projects -------------------------------------------------------------------

    def _plan(self, division: Division, year: int, level: str, school: School | None = None) -> AnnualPlan:
        key = (division.pk, school.pk if school else None, year)
        if key not in self.plans:
            if year <= self.today.year or level in (Level.PROVINCE, Level.CITY) or division.pk % 3 == 0:
                state = PlanState.APPROVED
            else:  # some of next year's county and school plans are still on their way up
                state = PlanState.SUBMITTED if division.pk % 3 == 1 else PlanState.DRAFT
            decided = self.now if state == PlanState.APPROVED else None
            submitted = self.now if state != PlanState.DRAFT else None
            self.plans[key] = AnnualPlan.objects.create(
                division=division, school=school, level=level, year=year, state=state,
                division_path=school.division_path if school else division.path,
                note=f"{year}年度培训计划（模拟数据）", submitted_at=submitted, decided_at=decided)
            self.result.plans += 1
        return self.plans[key]

    def _dates(self, year: int, days: int, *, soon: bool = False) -> tuple[dt.date, dt.date]:
        if soon:  # starting in the coming weeks: open for enrolment now
            start = self.today + dt.timedelta(days=7 + self.rng.randrange(21))
        elif year > self.today.year:  # next year's projects are planned for its first months
            start = dt.date(year, 2, 20) + dt.timedelta(days=self.rng.randrange(100))
        else:
            start = dt.date(year, 3, 1) + dt.timedelta(days=self.rng.randrange(250))
        return start, start + dt.timedelta(days=days - 1)

    def _project(self, *, code: str, title: str, outline: str, level: str, category: str, mode: str,
                 organiser: Division, year: int, days: int, sessions: int, hours: int, hour_category: str, seats: int,
                 audience: dict, topics: list[str], school: School | None = None, self_enrolment: bool = True,
                 needs_approval: bool = False, is_high_end: bool = False, institution=None, budget: int = 0,
                 soon: bool = False) -> _Planned:
        starts, ends = self._dates(year, days, soon=soon)
        plan = self._plan(organiser, year, level, school)
        if plan.state != PlanState.APPROVED:
            state = ProjectState.DRAFT
        elif ends < self.today:
            state = ProjectState.FINISHED
        elif starts <= self.today:
            state = ProjectState.CLOSED
        else:
            state = ProjectState.OPEN
        project = Project(
            code=code, title=title, outline=outline, level=level, category=category, topics=sorted(set(topics)), mode=mode,
            organiser=organiser, organiser_school=school, division_path=school.division_path if school else organiser.path,
            institution=institution, audience=audience, self_enrolment=self_enrolment, needs_approval=needs_approval,
            seats=seats, hours=Decimal(hours), hour_category=hour_category, starts_on=starts, ends_on=ends,
            budget=Decimal(budget), is_high_end=is_high_end, state=state, plan=plan)
        days_used = sorted(self.rng.sample(range(days), min(sessions, days)))
        planned = _Planned(project)
        planned.sessions = [ProjectSession(number=n, title=f"第{n}场：{title[-12:]}", held_on=starts + dt.timedelta(days=d),
                                           check_in_code=f"{self.rng.randrange(10**6):06d}")
                            for n, d in enumerate(days_used, start=1)]
        return planned

    def _save(self, planned: list[_Planned]) -> None:
        Project.objects.bulk_create([p.project for p in planned], batch_size=500)
        for p in planned:
            for session in p.sessions:
                session.project = p.project
        ProjectSession.objects.bulk_create([s for p in planned for s in p.sessions], batch_size=1000)
        self.result.projects += len(planned)
        self.result.sessions += sum(len(p.sessions) for p in planned)

    def upper_projects(self) -> list[_Planned]:
        """Province and city projects, with a quota of enrolees in each county they reach."""
        rng, planned = self.rng, []
        county_paths = [c.path for c in self.counties]
        for year in self.years:
            university = self.universities[year % len(self.universities)] if self.universities else None
            stage, subject = rng.choice(STAGES), rng.choice(SUBJECTS)
            focus, topic = rng.choice(FOCUS)
            rows: list[tuple[str, str, dict, list[str], bool, Institution | None]] = [
                (ProjectCategory.MASTER_TEACHER, f"{year}年河南省中原名师{focus}高端研修", {"honours": ["master_teacher"]},
                 [topic], True, self.institute),
                (ProjectCategory.PRINCIPAL, f"{year}年河南省中小学名校长领导力提升高端研修",
                 {"titles": ["senior", "full_senior"]}, [], True, university),
                (ProjectCategory.BACKBONE, f"{year}年河南省{Stage(stage).label}{Subject(subject).label}骨干教师{focus}培训",
                 {"stages": [stage], "subjects": [subject]}, [topic], True, university),
                (ProjectCategory.RURAL_CHIEF, f"{year}年河南省乡村首席教师能力提升培训", {"honours": ["chief_teacher"]},
                 ["classroom"], False, self.institute),
            ]
            for n, (category, title, audience, topics, high_end, institution) in enumerate(rows, start=1):
                p = self._project(code=f"SJ-{year}-{n:03d}", title=title, outline=f"面向全省，围绕{title[5:]}开展专题讲座、课例研讨与跟岗实践。",
                                  level=Level.PROVINCE, category=category, mode="blended", organiser=self.province,
                                  year=year, days=10, sessions=5, hours=60, hour_category="centralised", seats=300,
                                  audience=audience, topics=topics, is_high_end=high_end, institution=institution,
                                  needs_approval=True, budget=600_000)
                p.quota = {path: 1 + (n + year + i) % 3 for i, path in enumerate(county_paths)}
                planned.append(p)
            for city in self.cities:
                stage, subject = rng.choice(STAGES), rng.choice(SUBJECTS)
                focus, topic = rng.choice(FOCUS)
                category = ProjectCategory.BACKBONE if (year + city.pk) % 3 else ProjectCategory.MASTER_TEACHER
                label = "骨干教师" if category == ProjectCategory.BACKBONE else "名师工作室成员"
                title = f"{year}年{city.name}{Stage(stage).label}{Subject(subject).label}{label}{focus}研修"
                p = self._project(code=f"SJ-{city.code}-{year}", title=title, outline=f"{city.name}教师发展中心组织，聚焦{focus}。",
                                  level=Level.CITY, category=category, mode="blended", organiser=city, year=year, days=5,
                                  sessions=5, hours=40, hour_category="centralised", seats=120,
                                  audience={"stages": [stage], "subjects": [subject]}, topics=[topic],
                                  institution=self.centres.get(city.code), is_high_end=category == ProjectCategory.MASTER_TEACHER,
                                  budget=150_000)
                p.quota = {c.path: 4 for c in self.counties if c.parent_id == city.pk}
                planned.append(p)
        self._save(planned)
        return planned

    def county_projects(self, county: Division, schools: list[School]) -> list[_Planned]:
        rng, planned = self.rng, []
        centre = self.centres.get(county.code)
        for year in self.years:
            topic = ALL_STAFF_TOPICS[(year + county.pk) % len(ALL_STAFF_TOPICS)]
            stage, subject = rng.choice(STAGES), rng.choice(SUBJECTS)
            focus, focus_topic = rng.choice(FOCUS)
            planned += [
                self._project(code=f"XJ-{county.code}-{year}-01", title=f"{year}年{county.name}新入职教师规范化培训",
                              outline="师德规范、班级管理、课堂常规与教学基本功，跟岗实践。", level=Level.COUNTY,
                              category=ProjectCategory.NEW_TEACHER, mode="centralised", organiser=county, year=year, days=6,
                              sessions=4, hours=48, hour_category="centralised", seats=200, audience={"new_teachers": True},
                              topics=["classroom"], self_enrolment=False, institution=centre, budget=80_000),
                self._project(code=f"XJ-{county.code}-{year}-02",
                              title=f"{year}年{county.name}中小学教师全员培训：{Topic(topic).label}",
                              outline=f"全县教师网络研修，{Topic(topic).label}专题。", level=Level.COUNTY,
                              category=ProjectCategory.ALL_STAFF, mode="online", organiser=county, year=year, days=20,
                              sessions=2, hours=12, hour_category="online", seats=5000, audience={}, topics=[topic],
                              institution=centre, budget=20_000, soon=year == self.today.year),
                self._project(code=f"XJ-{county.code}-{year}-03",
                              title=f"{year}年{county.name}{Stage(stage).label}{Subject(subject).label}骨干教师{focus}研修",
                              outline=f"县级骨干教师常态化培训，聚焦{focus}。", level=Level.COUNTY,
                              category=ProjectCategory.BACKBONE, mode="blended", organiser=county, year=year, days=4,
                              sessions=3, hours=24, hour_category="centralised", seats=30,
                              audience={"stages": [stage], "subjects": [subject]}, topics=[focus_topic],
                              needs_approval=True, institution=centre, budget=30_000),
            ]
            if schools:
                school = schools[(year + county.pk) % len(schools)]
                planned.append(self._project(
                    code=f"XB-{school.code}-{year}", title=f"{year}年{school.name}校本研修：{focus}",
                    outline="教研组集体备课、听评课与课例研究。", level=Level.SCHOOL, category=ProjectCategory.SCHOOL_BASED,
                    mode="blended", organiser=county, school=school, year=year, days=60, sessions=3, hours=12,
                    hour_category="school_based", seats=100, audience={}, topics=[focus_topic], self_enrolment=False))
        for p in planned:
            p.quota = {county.path: p.project.seats}
        self._save(planned)
        return planned

    # --- enrolees -------------------------------------------------------------------------------

    def county_teachers(self, county: Division) -> list[tuple[int, int, TeacherFacts]]:
        """(teacher id, school id, facts) of the county's teachers, in three queries."""
        rows = list(Teacher.unscoped_objects.filter(division_path=county.path)
                    .values_list("id", "school_id", "stage", "title", "hire_date", "status").order_by("id"))
        subjects: dict[int, set[str]] = defaultdict(set)
        for teacher_id, subject in TeacherSubject.objects.filter(teacher__division_path=county.path).values_list(
                "teacher_id", "subject"):
            subjects[teacher_id].add(subject)
        honours: dict[int, set[str]] = defaultdict(set)
        for teacher_id, title in (TeacherHonour.objects.filter(teacher__division_path=county.path)
                                  .exclude(expires_on__lt=self.today).values_list("teacher_id", "title")):
            honours[teacher_id].add(title)
        return [(tid, school_id, TeacherFacts(stage=stage, subjects=frozenset(subjects[tid]), title=title,
                                              honours=frozenset(honours[tid]), division_path=county.path,
                                              hire_date=hire_date, active=status == "active", school_id=school_id))
                for tid, school_id, stage, title, hire_date, status in rows]

    def enrol_county(self, county: Division, projects: list[_Planned], writer: _Writer) -> None:
        teachers = self.county_teachers(county)
        day_hours = writer.day_hours(county, projects)
        for planned in projects:
            project = planned.project
            wanted = min(planned.quota.get(county.path, 0), project.seats - planned.taken)
            if project.state == ProjectState.DRAFT or wanted <= 0:
                continue
            # Judged as on the day the project started: no one hired later, new teachers as they were then.
            home, when = project_home(project), min(self.today, project.starts_on)
            eligible = [(tid, facts) for tid, _, facts in teachers if facts.hire_date <= when
                        and not audience_refusals(project.audience, facts, today=when, division_paths={}, home=home)]
            if project.category == ProjectCategory.ALL_STAFF:
                wanted = min(wanted, round(len(eligible) * 0.6) or len(eligible))
            picked = self.rng.sample(eligible, min(wanted, len(eligible)))
            if project.category == ProjectCategory.ALL_STAFF and eligible:
                # The county's first teacher (a demo account) has finished the all-staff training
                # of past years and has this year's, open now, still to join.
                first = eligible[0]
                picked = [t for t in picked if t != first]
                if project.state == ProjectState.FINISHED:
                    picked = [first, *picked][:max(wanted, 1)]
            planned.taken += len(picked)
            for tid, _ in picked:
                writer.enrolment(planned, tid, day_hours, self)


class _Writer:
    """Rows for enrolments, attendance and the ledger, with ids assigned here and written
    in bulk; cycle totals gathered to be added at the end."""

    def __init__(self, cycles: list[CycleInfo], today: dt.date, with_completions: bool):
        self.cycles, self.today, self.with_completions = cycles, today, with_completions
        self.enrolment_id, self.attendance_id = next_id("catalog_enrolment"), next_id("catalog_attendance")
        self.ledger_id = next_id("credits_ledgerentry")
        self.enrolments: list[tuple] = []
        self.attendance: list[tuple] = []
        self.ledger: list[tuple] = []
        self.totals: dict[tuple[int, int, str], Decimal] = defaultdict(Decimal)
        self.now = timezone.now()

    def day_hours(self, county: Division, projects: list[_Planned]) -> dict[tuple[int, dt.date], Decimal]:
        """Hours already in the ledger per teacher and day, for the days completions would use."""
        days = {s.held_on for p in projects if p.project.state == ProjectState.FINISHED for s in p.sessions}
        if not days or not self.with_completions:
            return defaultdict(Decimal)
        rows = (LedgerEntry.objects.filter(teacher__division_path=county.path, occurred_on__in=days, hours__gt=0)
                .exclude(state__in=["rejected", "revoked"]).values_list("teacher_id", "occurred_on")
                .annotate(total=Sum("hours")))
        return defaultdict(Decimal, {(tid, day): total for tid, day, total in rows})

    def _cycle(self, day: dt.date) -> CycleInfo | None:
        return next((c for c in self.cycles if c.starts_on <= day <= c.ends_on), None)

    def enrolment(self, planned: _Planned, teacher_id: int, day_hours, generator: TrainingGenerator) -> None:
        rng, project = generator.rng, planned.project
        enrolment_id, self.enrolment_id = self.enrolment_id, self.enrolment_id + 1
        held = [s for s in planned.sessions if s.held_on <= self.today]
        if project.state == ProjectState.OPEN:
            state = EnrolmentState.PENDING if project.needs_approval and rng.random() < 0.6 else EnrolmentState.ENROLLED
            self.enrolments.append((enrolment_id, project.pk, teacher_id, state, None, self.now, None, None, None, None,
                                    None))
            return
        rate = rng.uniform(0.7, 1.0)
        present = [s for s in held if rng.random() < rate]
        for session in present:
            self.attendance.append((self.attendance_id, session.pk, enrolment_id, None, self.now, "page"))
            self.attendance_id += 1
        state, first_entry, completed_at = EnrolmentState.ENROLLED, None, None
        hours = _session_hours(project.hours, len(planned.sessions))
        fits = all(day_hours[(teacher_id, s.held_on)] + share <= MAX_HOURS_PER_DAY
                   for s, share in zip(planned.sessions, hours, strict=True))
        cycles = [self._cycle(s.held_on) for s in planned.sessions]
        if (project.state == ProjectState.FINISHED and self.with_completions and fits and all(cycles)
                and len(present) * 100 // len(planned.sessions) >= project.min_attendance_percent):
            state, completed_at, first_entry = EnrolmentState.COMPLETED, self.now, self.ledger_id
            for session, share, cycle in zip(planned.sessions, hours, cycles, strict=True):
                assert cycle is not None
                source_id = f"{project.pk}:{teacher_id}:{session.number}"
                source_key = f"project:{source_id}"
                self.ledger.append((self.ledger_id, teacher_id, cycle.id, project.hour_category, share, session.held_on,
                                    "project", source_id, source_key, f"{project.title}（第{session.number}场）"[:500], "",
                                    "approved", self.now,
                                    ledger_checksum(teacher_id=teacher_id, cycle_id=cycle.id, category=project.hour_category,
                                                    hours=share, occurred_on=session.held_on, source_type="project",
                                                    source_id=source_id, source_key=source_key, reverses_id=None)))
                self.ledger_id += 1
                day_hours[(teacher_id, session.held_on)] += share
                self.totals[(teacher_id, cycle.id, project.hour_category)] += share
        elif project.state == ProjectState.FINISHED and rng.random() < 0.05:
            state = EnrolmentState.WITHDRAWN
        self.enrolments.append((enrolment_id, project.pk, teacher_id, state, None, self.now, self.now, None, None,
                                completed_at, first_entry))

    def flush(self, result: TrainingResult) -> None:
        # The ledger first: enrolments point at their first entry.
        result.ledger_entries += insert_rows("credits_ledgerentry", LEDGER_COLUMNS, self.ledger)
        result.enrolments += insert_rows("catalog_enrolment", ENROLMENT_COLUMNS, self.enrolments)
        result.attendance += insert_rows("catalog_attendance", ATTENDANCE_COLUMNS, self.attendance)
        result.completions += sum(1 for row in self.enrolments if row[3] == EnrolmentState.COMPLETED)
        self.enrolments, self.attendance, self.ledger = [], [], []

    def add_totals(self) -> None:
        """Add the completions' hours to the teachers' cycle totals (the ledger and the totals
        agree, as `yanxiu credits reconcile` checks)."""
        keys = self.totals
        teachers = {teacher for teacher, _, _ in keys}
        existing = {(t.teacher_id, t.cycle_id, t.category): t for t in CycleTotal.objects.filter(teacher_id__in=teachers)} \
            if len(teachers) < 50_000 else {}
        if len(teachers) >= 50_000:
            for chunk_start in range(0, len(teachers), 20_000):
                chunk = sorted(teachers)[chunk_start:chunk_start + 20_000]
                existing.update({(t.teacher_id, t.cycle_id, t.category): t
                                 for t in CycleTotal.objects.filter(teacher_id__in=chunk)})
        changed, created = [], []
        for key, hours in keys.items():
            if key in existing:
                existing[key].approved_hours += hours
                changed.append(existing[key])
            else:
                created.append(CycleTotal(teacher_id=key[0], cycle_id=key[1], category=key[2], approved_hours=hours,
                                          pending_hours=Decimal(0)))
        CycleTotal.objects.bulk_update(changed, ["approved_hours"], batch_size=1000)
        CycleTotal.objects.bulk_create(created, batch_size=1000)


def training_synthesize(*, seed: int, today: dt.date, county_codes: list[str], cycles: list[CycleInfo]) -> TrainingResult:
    generator = TrainingGenerator(seed=seed, today=today, county_codes=county_codes, cycles=cycles)
    writer = _Writer(cycles, today, with_completions=bool(cycles))
    upper = generator.upper_projects()
    for county in generator.counties:
        # 济源 is a city acting as a county: its teachers join provincial projects only.
        own = generator.county_projects(county, list(School.unscoped_objects.filter(division=county).order_by("code"))) \
            if county.level == "county" else []
        reaching = [p for p in upper if county.path in p.quota]
        generator.enrol_county(county, own + reaching, writer)
        writer.flush(generator.result)
    _seats_taken()
    writer.add_totals()
    for table in ("catalog_enrolment", "catalog_attendance", "credits_ledgerentry", "catalog_project",
                  "catalog_projectsession", "catalog_annualplan"):
        reset_sequence(table)
    return generator.result


def _seats_taken() -> None:
    """Set each project's seat counter from its enrolments, counting those who hold or held a
    seat (pending, enrolled, completed) as the real path does (one UPDATE)."""
    from django.db.models import Count, OuterRef, Q, Subquery

    held = (Project.objects.filter(pk=OuterRef("pk"))
            .annotate(n=Count("enrolments", filter=Q(enrolments__state__in=["pending", "enrolled", "completed"])))
            .values("n"))
    Project.objects.update(seats_taken=Subquery(held))
