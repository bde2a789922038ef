"""Synthetic training projects (issue 4 item 7): annual plans and projects at every level
for last year, this year and next, with sessions, enrolments, attendance and, for
finished projects, completions whose hours are in the credit ledger exactly as
`catalog.attendance.project_complete` would have written them.

Positioning follows §二(五): the province runs 名师, 名校长, 骨干 (high-end, with a
university or the 研修院) and 乡村首席教师 training; cities their backbone and master
teachers; counties new teachers, county backbone and the all-staff training; schools
school-based research. How many projects, and their seats, follow the number of teachers
(so a larger scale has more projects, not just fuller ones); every county has its own.

Enrolees are drawn county by county from teachers inside each project's audience as it
stood when the project began (the rule `enrolment_refusals` applies; an honour must have
been held then), so the work streams at any scale. Finished projects: most enrolees attended
about 90 % of the sessions and completed, a few withdrew, were refused or fell short; a
completion is skipped when the teacher's day already holds too many hours, as the real path
would refuse it. Projects open now: enrolment under way (pending, enrolled, a few withdrawn)
and, where demand exceeds the seats, a waiting list. `seats_taken` counts pending, enrolled
and completed enrolments (the real path keeps a completer's seat).

The demo teachers (five active teachers of the first county, those in post before last year
first, as `_demo_accounts` picks them) attend everything they are enrolled in and never
withdraw; they have finished last year's all-staff training (and their school's 校本研修
where it is theirs), and have this year's all-staff training, open now, still to join. Their
county's sessions fall on days they have no other hours, so the day cap never refuses their
completions. The demo school (the first school of each county) runs a 校本研修 every year.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal

from django.db import connection, models
from django.db.models import Case, Count, OuterRef, Q, Subquery, Sum, When
from django.utils import timezone

from catalog.constants import EnrolmentState, Level, PlanState, ProjectCategory, ProjectState, Topic
from catalog.models import AnnualPlan, Project, ProjectSession
from catalog.plans import review_path_of
from catalog.services import (
    TeacherFacts,
    audience_refusals,
    direct_county_paths,
    project_serving_scope,
)
from credits.constants import MAX_HOURS_PER_DAY
from credits.integrity import ledger_checksum, seal_mac
from credits.models import LedgerEntry, LedgerSeal
from org.constants import Stage
from org.models import Division, Institution, School
from people.constants import Subject
from people.models import Teacher, TeacherHonour, TeacherSubject
from quotas.progress import completions_backfill
from synth.generate import largest_remainder
from synth.ledger import LEDGER_COLUMNS, CycleInfo
from synth.writer import insert_rows, next_id, reset_sequence

FOCUS = [("作业设计能力提升", "homework"), ("课堂教学能力提升", "classroom"), ("学科育德能力提升", "moral_in_subject"),
         ("实验教学能力提升", "experiment"), ("信息技术应用能力提升", "it"), ("家庭教育指导能力提升", "family")]
ALL_STAFF_TOPICS = ["mental_health", "rule_of_law", "national_security", "anti_bullying", "ecology", "career"]
# Stages and subjects backbone and master-teacher projects are cut by (the subjects with enough teachers).
STAGE_SUBJECTS: dict[str, list[Subject]] = {
    Stage.KINDERGARTEN: [Subject.PRESCHOOL],
    Stage.PRIMARY: [Subject.CHINESE, Subject.MATH, Subject.ENGLISH, Subject.MORALITY_LAW, Subject.SCIENCE, Subject.PE],
    Stage.JUNIOR: [Subject.CHINESE, Subject.MATH, Subject.ENGLISH, Subject.PHYSICS, Subject.CHEMISTRY, Subject.HISTORY,
                   Subject.MORALITY_LAW],
    Stage.SENIOR: [Subject.CHINESE, Subject.MATH, Subject.ENGLISH, Subject.PHYSICS, Subject.CHEMISTRY, Subject.BIOLOGY,
                   Subject.POLITICS],
}
STAGE_SHORT: dict[str, str] = {Stage.KINDERGARTEN: "幼儿园", Stage.PRIMARY: "小学", Stage.JUNIOR: "初中", Stage.SENIOR: "高中"}
# 片区 of the province's regional backbone projects (city codes).
REGIONS = [("豫东片区", ["410200", "411400", "411600"]), ("豫北片区", ["410500", "410600", "410700", "410800", "410900"]),
           ("豫南片区", ["411300", "411500", "411700"]), ("豫西片区", ["410300", "410400", "411200"])]
# What a session of each kind of project is: the first opens, the last closes, the middle cycles.
MODULES = {
    "centralised": ("开班仪式与专题讲座", ["专题讲座", "课例观摩与研讨", "分组研修与实践", "跟岗实践", "专家工作坊"],
                    "成果展示与结业考核"),
    "online": ("网络研修启动与导学", ["网络课程学习", "主题研讨与作业提交"], "学习总结与在线测评"),
    "school_based": ("研修主题确立与集体备课", ["课堂观察与听评课", "课例研究与反思"], "成果交流与总结"),
}
ENROLMENT_COLUMNS = ["id", "project_id", "teacher_id", "state", "nominated_by_id", "created_at", "decided_at",
                     "waiting_since", "assessment_passed", "completed_at", "ledger_entry_id"]
ATTENDANCE_COLUMNS = ["id", "session_id", "enrolment_id", "recorded_by_id", "recorded_at", "method"]
HELD_SEAT = (EnrolmentState.PENDING, EnrolmentState.ENROLLED, EnrolmentState.COMPLETED)
DEMO_TEACHERS = 5  # as many as synth.services._demo_accounts makes


@dataclass
class TrainingResult:
    plans: int = 0
    projects: int = 0
    sessions: int = 0
    enrolments: int = 0
    waiting: int = 0
    attendance: int = 0
    completions: int = 0
    ledger_entries: int = 0


@dataclass
class _Planned:
    """A project being generated: its sessions, and for province and city projects the
    enrolees wanted in each county they reach (own county projects size their demand from
    the county's teachers)."""

    project: Project
    sessions: list[ProjectSession] = field(default_factory=list)
    quota: dict[str, int] = field(default_factory=dict)  # county path → enrolees wanted there
    held: int = 0  # seats held so far


@dataclass(frozen=True)
class _Teacher:
    id: int
    school_id: int
    stage: str
    main_subject: str | None
    facts: TeacherFacts  # honours: those unexpired today
    honours: tuple[tuple[str, dt.date, dt.date | None], ...]  # (title, awarded, expires)


@dataclass
class _County:
    """One county's teachers, read in three queries, indexed for narrowing candidates."""

    teachers: list[_Teacher]
    by_stage: dict[str, list[_Teacher]]
    by_school: dict[int, list[_Teacher]]
    by_honour: dict[str, list[_Teacher]]


def demo_order(today: dt.date) -> list:
    """How the demo accounts take a county's teachers: those in post before last year first
    (a finished year of training behind them), then by id."""
    return [Case(When(hire_date__lt=dt.date(today.year - 1, 1, 1), then=0), default=1), "id"]


def _session_hours(hours: Decimal, count: int) -> list[Decimal]:
    """As `catalog.attendance._session_hours`: tenths, the last session takes the remainder."""
    share = (hours / count).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    return [share] * (count - 1) + [hours - share * (count - 1)]


def _clamp(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


class TrainingGenerator:
    def __init__(self, *, seed: int, today: dt.date, county_codes: list[str], cycles: list[CycleInfo]):
        self.rng = random.Random(f"{seed}:training")
        self.today, self.cycles = today, cycles
        self.years = [today.year - 1, today.year, today.year + 1]
        self.counties = list(Division.objects.filter(code__in=county_codes).select_related("parent").order_by("code"))
        self.province = Division.objects.get(level="province")
        city_ids = {c.parent_id for c in self.counties if c.level == "county" and c.parent_id is not None}
        self.cities = list(Division.objects.filter(pk__in=city_ids).order_by("code"))
        self.city_paths = dict(Division.objects.filter(level="city").values_list("code", "path"))
        institutions = {i.code: i for i in Institution.objects.dangerously_unscoped().all()}
        self.universities = [i for code, i in sorted(institutions.items()) if i.kind == "university"]
        self.institute = institutions.get("410000-YXY")
        self.centres = {code.split("-")[0]: i for code, i in institutions.items() if code.endswith("-JSFZ")}
        county_paths = [c.path for c in self.counties]
        counts = dict(Teacher.objects.dangerously_unscoped().filter(status="active", division_path__in=county_paths)
                      .values("division_path").annotate(n=Count("id")).values_list("division_path", "n"))
        self.teacher_counts = {path: counts.get(path, 0) for path in county_paths}
        self.schools: dict[int, list[School]] = defaultdict(list)
        for school in (School.objects.dangerously_unscoped().filter(division__in=self.counties).only("id", "code", "name", "division_id",
                                                                                       "division_path").order_by("code")):
            self.schools[school.division_id].append(school)
        self.demo_ids = set(Teacher.objects.dangerously_unscoped().filter(division_path=self.counties[0].path, status="active")
                            .order_by(*demo_order(today)).values_list("id", flat=True)[:DEMO_TEACHERS]) \
            if self.counties else set()
        # Days the demo teachers already have hours on: their county's sessions avoid them (and
        # each other), so the day cap never stands between a demo teacher and a completion.
        self.demo_busy = set(LedgerEntry.objects.dangerously_unscoped().filter(teacher_id__in=self.demo_ids, hours__gt=0)
                             .values_list("occurred_on", flat=True).distinct())
        self.avoid: set[dt.date] | None = None
        self.result = TrainingResult()
        self.plans: dict[tuple, AnnualPlan] = {}
        self.direct_paths = direct_county_paths()
        self.new_plans: list[AnnualPlan] = []
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
            plan = AnnualPlan(division=division, school=school, level=level, year=year, state=state,
                              division_path=school.division_path if school else division.path,
                              review_path=review_path_of(division=division, school=school, level=level),
                              note=f"{year}年度培训计划（模拟数据）", submitted_at=submitted, decided_at=decided)
            self.plans[key] = plan
            self.new_plans.append(plan)
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
                 needs_approval: bool = False, is_high_end: bool = False, institution=None, cost_per_hour: int = 0,
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
            seats=max(1, seats), hours=Decimal(hours), hour_category=hour_category, starts_on=starts, ends_on=ends,
            budget=Decimal(max(1, seats) * hours * cost_per_hour), is_high_end=is_high_end, state=state, plan=plan)
        first, middle, last = MODULES[hour_category]
        offsets = list(range(days))
        if self.avoid is not None:
            free = [o for o in offsets if starts + dt.timedelta(days=o) not in self.avoid]
            offsets = free if len(free) >= sessions else offsets
        days_used = sorted(self.rng.sample(offsets, min(sessions, len(offsets))))
        if self.avoid is not None:
            self.avoid.update(starts + dt.timedelta(days=d) for d in days_used)
        planned = _Planned(project)
        for number, offset in enumerate(days_used, start=1):
            name = first if number == 1 else last if number == len(days_used) else middle[(number - 2) % len(middle)]
            planned.sessions.append(ProjectSession(number=number, title=name,
                                                   held_on=starts + dt.timedelta(days=offset),
                                                   check_in_code=f"{self.rng.randrange(10**6):06d}"))
        return planned

    def _save(self, planned: list[_Planned]) -> None:
        """Plans, projects and sessions through the bulk writer (ids assigned here)."""
        self.result.plans += _write_objects(AnnualPlan, self.new_plans, self.now)
        self.new_plans = []
        for p in planned:
            p.project.plan_id = p.project.plan.pk  # type: ignore[union-attr]  # the plan has its id now
        self.result.projects += _write_objects(Project, [p.project for p in planned], self.now)
        for p in planned:
            for session in p.sessions:
                session.project_id = p.project.pk
        self.result.sessions += _write_objects(ProjectSession, [s for p in planned for s in p.sessions], self.now)

    def _stage_subject(self) -> tuple[str, str]:
        stage = self.rng.choice([Stage.PRIMARY, Stage.PRIMARY, Stage.JUNIOR, Stage.SENIOR, Stage.KINDERGARTEN])
        return str(stage), str(self.rng.choice(STAGE_SUBJECTS[stage]))

    def _quota(self, planned: _Planned, paths: list[str], fill: float) -> None:
        """Spread the enrolees wanted (seats × fill) over the counties by their teachers."""
        wanted = round(planned.project.seats * fill)
        shares = largest_remainder(wanted, [self.teacher_counts.get(path, 0) for path in paths])
        planned.quota = {path: n for path, n in zip(paths, shares, strict=True) if n}

    def _fill(self, project: Project) -> float:
        # Open now: more apply than there are seats (a waiting list); run or running: nearly full.
        return 1.5 if project.state == ProjectState.OPEN else 0.95

    def upper_projects(self) -> list[_Planned]:
        """Province and city projects, with a quota of enrolees in each county they reach."""
        rng, planned = self.rng, []
        county_paths = [c.path for c in self.counties]
        total = sum(self.teacher_counts.values())
        regions = [(name, [code for code in codes if code in self.city_paths]) for name, codes in REGIONS]
        regions = [(name, codes) for name, codes in regions if codes]
        for year in self.years:
            university = self.universities[year % len(self.universities)] if self.universities else None
            focus, topic = rng.choice(FOCUS)
            rows: list[tuple] = [
                # category, title, audience, topics, high end, institution, mode, days, sessions, hours, seats
                (ProjectCategory.MASTER_TEACHER, f"{year}年河南省中原名师{focus}高端研修", {"honours": ["master_teacher"]},
                 [topic], True, self.institute, "shadowing", 20, 15, 120, _clamp(total * 0.0004, 10, 200)),
                (ProjectCategory.PRINCIPAL, f"{year}年河南省中小学名校长领导力提升高端研修",
                 {"titles": ["senior", "full_senior"]}, ["standard_schooling"], True, university, "centralised", 14, 10,
                 80, _clamp(total * 0.0005, 10, 200)),
                (ProjectCategory.RURAL_CHIEF, f"{year}年河南省乡村首席教师能力提升培训", {"honours": ["chief_teacher"]},
                 ["classroom"], False, self.institute, "blended", 7, 5, 40, _clamp(total * 0.0008, 10, 300)),
            ]
            for n in range(_clamp(total / 150_000, 1, 8)):
                stage, subject = self._stage_subject()
                focus, topic = rng.choice(FOCUS)
                audience: dict = {"stages": [stage], "subjects": [subject]}
                where = "河南省"
                if n % 2 and regions:
                    region, codes = regions[(year + n) % len(regions)]
                    audience["divisions"], where = codes, f"河南省{region}"
                label = f"{STAGE_SHORT[stage]}{Subject(subject).label}" if stage != Stage.KINDERGARTEN else "幼儿园"
                rows.append((ProjectCategory.BACKBONE, f"{year}年{where}{label}骨干教师{focus}培训", audience, [topic], True,
                             self.universities[(year + n) % len(self.universities)] if self.universities else None,
                             "blended", 10, 8, 64, _clamp(total * 0.0006, 10, 300)))
            for n, (category, title, audience, topics, high_end, institution, mode, days, sessions, hours,
                    seats) in enumerate(rows, start=1):
                p = self._project(code=f"SJ-{year}-{n:03d}", title=title,
                                  outline=f"面向全省遴选学员，围绕{title[5:]}开展专题讲座、课例研讨与跟岗实践，"
                                          f"由{institution.name if institution else '省研修院'}组织实施。",
                                  level=Level.PROVINCE, category=category, mode=mode, organiser=self.province,
                                  year=year, days=days, sessions=sessions, hours=hours, hour_category="centralised",
                                  seats=seats, audience=audience, topics=topics, is_high_end=high_end,
                                  institution=institution, needs_approval=True, cost_per_hour=40)
                reach = county_paths
                if audience.get("divisions"):
                    prefixes = tuple(self.city_paths[code] for code in audience["divisions"])
                    reach = [path for path in county_paths if path.startswith(prefixes)]
                self._quota(p, reach, self._fill(p.project))
                planned.append(p)
            for city in self.cities:
                paths = [c.path for c in self.counties if c.parent_id == city.pk]
                teachers = sum(self.teacher_counts[path] for path in paths)
                for k in range(_clamp(teachers / 40_000, 1, 4)):
                    stage, subject = self._stage_subject()
                    focus, topic = rng.choice(FOCUS)
                    master = (year + city.pk + k) % 3 == 0
                    audience = {"stages": [stage], "subjects": [subject]}
                    if master:
                        audience = {"stages": [stage], "honours": ["master_teacher", "backbone", "subject_leader"]}
                    label = "名师工作室成员" if master else f"{Subject(subject).label}骨干教师"
                    title = f"{year}年{city.name}{STAGE_SHORT[stage]}{label}{focus}研修"
                    p = self._project(code=f"SJ-{city.code}-{year}-{k + 1:02d}", title=title,
                                      outline=f"{city.name}教师发展中心组织，聚焦{focus}，集中研修与返岗实践相结合。",
                                      level=Level.CITY, category=ProjectCategory.MASTER_TEACHER if master
                                      else ProjectCategory.BACKBONE, mode="blended", organiser=city, year=year, days=8,
                                      sessions=6, hours=48, hour_category="centralised",
                                      seats=_clamp(teachers * 0.01, 5, 150), audience=audience, topics=[topic],
                                      institution=self.centres.get(city.code), is_high_end=master, needs_approval=True,
                                      cost_per_hour=25)
                    self._quota(p, paths, self._fill(p.project))
                    planned.append(p)
        self._save(planned)
        return planned

    def county_projects(self, county: Division, data: _County) -> list[tuple[_Planned, list[_Teacher]]]:
        """The county's and its schools' projects, each with the teachers eligible for it
        (seats are sized from them)."""
        rng, made = self.rng, []
        self.avoid = self.demo_busy if self.demo_ids and county == self.counties[0] else None
        centre = self.centres.get(county.code)
        schools = self.schools.get(county.pk, [])
        teachers = len(data.teachers)
        pairs = Counter((t.stage, t.main_subject) for t in data.teachers
                        if t.stage in STAGE_SUBJECTS and t.main_subject in STAGE_SUBJECTS[t.stage])
        common = sorted(pairs.items(), key=lambda item: (-item[1], item[0]))[:6] or [((Stage.PRIMARY, Subject.CHINESE), 1)]
        for year in self.years:
            topic = ALL_STAFF_TOPICS[(year + county.pk) % len(ALL_STAFF_TOPICS)]
            planned = [
                self._project(code=f"XJ-{county.code}-{year}-01", title=f"{year}年{county.name}新入职教师规范化培训",
                              outline="师德规范、班级管理、课堂常规与教学基本功，集中培训与跟岗实践相结合。",
                              level=Level.COUNTY, category=ProjectCategory.NEW_TEACHER, mode="centralised",
                              organiser=county, year=year, days=10, sessions=6, hours=48, hour_category="centralised",
                              seats=1, audience={"new_teachers": True}, topics=["classroom", "standard_schooling"],
                              self_enrolment=False, institution=centre, cost_per_hour=15),
                self._project(code=f"XJ-{county.code}-{year}-02",
                              title=f"{year}年{county.name}中小学幼儿园教师全员培训：{Topic(topic).label}",
                              outline=f"全县教师网络研修，{Topic(topic).label}专题课程学习、研讨与在线测评。",
                              level=Level.COUNTY, category=ProjectCategory.ALL_STAFF, mode="online", organiser=county,
                              year=year, days=30, sessions=4, hours=24, hour_category="online", seats=1, audience={},
                              topics=[topic], institution=centre, cost_per_hour=2, soon=year == self.today.year),
            ]
            for n in range(_clamp(teachers / 3000, 1, 4)):
                stage, subject = rng.choices([pair for pair, _ in common], weights=[w for _, w in common])[0]
                focus, focus_topic = rng.choice(FOCUS)
                label = f"{STAGE_SHORT[stage]}{Subject(subject).label}" if stage != Stage.KINDERGARTEN else "幼儿园"
                planned.append(self._project(
                    code=f"XJ-{county.code}-{year}-{n + 3:02d}", title=f"{year}年{county.name}{label}骨干教师{focus}研修",
                    outline=f"县级骨干教师常态化培训，聚焦{focus}，专题讲座与课例打磨相结合。", level=Level.COUNTY,
                    category=ProjectCategory.BACKBONE, mode="blended", organiser=county, year=year, days=6, sessions=4,
                    hours=32, hour_category="centralised", seats=1, audience={"stages": [stage], "subjects": [subject]},
                    topics=[focus_topic], needs_approval=True, institution=centre, cost_per_hour=10))
            if schools:
                # The first school (a demo account's) every year, and about one school in six besides.
                others = schools[1:]
                picked = [schools[0], *sorted(rng.sample(others, round(len(others) / 6)), key=lambda s: s.code)]
                for school in picked:
                    focus, focus_topic = rng.choice(FOCUS)
                    planned.append(self._project(
                        code=f"XB-{school.code}-{year}", title=f"{year}年{school.name}校本研修：{focus}",
                        outline="以教研组为单位开展集体备课、听评课与课例研究，学期末交流研修成果。",
                        level=Level.SCHOOL, category=ProjectCategory.SCHOOL_BASED, mode="blended", organiser=county,
                        school=school, year=year, days=90, sessions=4, hours=24, hour_category="school_based", seats=1,
                        audience={}, topics=[focus_topic], self_enrolment=False))
            for p in planned:
                eligible = self.eligible(p, data)
                n = len(eligible)
                # Everyone the rule names has a seat, except the backbone projects' (about two in three).
                p.project.seats = max(1, -(-n * 2 // 3) if p.project.category == ProjectCategory.BACKBONE else n)
                p.project.budget *= p.project.seats  # made for one seat above
                made.append((p, eligible))
        self.avoid = None
        self._save([p for p, _ in made])
        return made

    # --- enrolees -------------------------------------------------------------------------------

    def county_data(self, county: Division) -> _County:
        rows = list(Teacher.objects.dangerously_unscoped().filter(division_path=county.path)
                    .values_list("id", "school_id", "stage", "title", "hire_date", "status").order_by("id"))
        subjects: dict[int, set[str]] = defaultdict(set)
        main: dict[int, str] = {}
        for teacher_id, subject, is_main in TeacherSubject.objects.dangerously_unscoped().filter(teacher__division_path=county.path).values_list(
                "teacher_id", "subject", "is_main"):
            subjects[teacher_id].add(subject)
            if is_main:
                main[teacher_id] = subject
        honours: dict[int, list[tuple[str, dt.date, dt.date | None]]] = defaultdict(list)
        for teacher_id, title, awarded, expires in (TeacherHonour.objects.dangerously_unscoped().filter(teacher__division_path=county.path)
                                                    .order_by("id").values_list("teacher_id", "title", "awarded_on",
                                                                                "expires_on")):
            honours[teacher_id].append((title, awarded, expires))
        data = _County([], defaultdict(list), defaultdict(list), defaultdict(list))
        for tid, school_id, stage, title, hire_date, status in rows:
            held = tuple(honours.get(tid, ()))
            facts = TeacherFacts(stage=stage, subjects=frozenset(subjects[tid]), title=title,
                                 honours=frozenset(h for h, _, expires in held if expires is None or expires >= self.today),
                                 division_path=county.path, hire_date=hire_date, active=status == "active",
                                 school_id=school_id)
            teacher = _Teacher(tid, school_id, stage, main.get(tid), facts, held)
            data.teachers.append(teacher)
            data.by_stage[stage].append(teacher)
            data.by_school[school_id].append(teacher)
            for honour in sorted({h for h, _, _ in held}):
                data.by_honour[honour].append(teacher)
        return data

    def eligible(self, planned: _Planned, data: _County) -> list[_Teacher]:
        """The county's teachers inside the project's audience on the day it began (no one hired
        later, new teachers as they were then, honours held then), in id order."""
        project, rule = planned.project, planned.project.audience
        if project.organiser_school_id is not None:
            pool = data.by_school.get(project.organiser_school_id, [])
        elif rule.get("honours"):
            pool = sorted({t.id: t for h in rule["honours"] for t in data.by_honour.get(h, [])}.values(), key=lambda t: t.id)
        elif rule.get("stages"):
            pool = sorted((t for s in rule["stages"] for t in data.by_stage.get(s, [])), key=lambda t: t.id)
        else:
            pool = data.teachers
        serving, when = project_serving_scope(project, direct_paths=self.direct_paths), min(self.today, project.starts_on)
        out = []
        for teacher in pool:
            if teacher.facts.hire_date > when:
                continue
            facts = teacher.facts
            if rule.get("honours"):
                facts = replace(facts, honours=frozenset(h for h, awarded, expires in teacher.honours
                                                         if awarded <= when and (expires is None or expires >= when)))
            if not audience_refusals(rule, facts, today=when, division_paths=self.city_paths, serving=serving):
                out.append(teacher)
        return out

    def enrol_county(self, county: Division, data: _County, projects: list[tuple[_Planned, list[_Teacher] | None]],
                     writer: _Writer) -> None:
        day_hours = writer.day_hours(county, [p for p, _ in projects])
        for planned, eligible in projects:
            project = planned.project
            if project.state == ProjectState.DRAFT:
                continue
            if eligible is None:  # a province or city project: this county's quota
                wanted = planned.quota.get(county.path, 0)
                if not wanted:
                    continue
                eligible = self.eligible(planned, data)
            else:
                wanted = self._own_demand(project, len(eligible))
            # The demo teachers have finished the all-staff training and their school's research
            # (full attendance) and have this year's all-staff training, open now, still to join.
            forced: list[_Teacher] = []
            if self.demo_ids and project.category in (ProjectCategory.ALL_STAFF, ProjectCategory.SCHOOL_BASED):
                if project.category == ProjectCategory.SCHOOL_BASED or project.state != ProjectState.OPEN:
                    forced = [t for t in eligible if t.id in self.demo_ids]
                eligible = [t for t in eligible if t.id not in self.demo_ids]
            take = max(0, min(wanted, len(forced) + len(eligible)) - len(forced))
            for teacher in forced + self.rng.sample(eligible, take):
                writer.enrolment(planned, teacher.id, day_hours, self.rng, demo=teacher.id in self.demo_ids)

    @staticmethod
    def _own_demand(project: Project, eligible: int) -> int:
        """Enrolees wanted in a county's own project. Open: the all-staff training part-way
        through enrolment; backbone projects with more applicants than seats (a waiting list);
        the nominated ones everyone their rule names. Run: nearly everyone, or the seats."""
        if project.category == ProjectCategory.ALL_STAFF:
            return round(eligible * (0.45 if project.state == ProjectState.OPEN else 0.95))
        return eligible if project.state == ProjectState.OPEN else min(eligible, project.seats)


class _Writer:
    """Rows for enrolments, attendance and the ledger, with ids assigned here and written
    in bulk county by county; cycle totals gathered to be added at the end."""

    def __init__(self, cycles: list[CycleInfo], today: dt.date, with_completions: bool):
        self.cycles, self.today, self.with_completions = cycles, today, with_completions
        self.enrolment_id, self.attendance_id = next_id("catalog_enrolment"), next_id("catalog_attendance")
        self.ledger_id = next_id("credits_ledgerentry")
        self.enrolments: list[tuple] = []
        self.attendance: list[tuple] = []
        self.ledger: list[tuple] = []
        self.totals: dict[tuple[int, int, str], Decimal] = defaultdict(Decimal)
        self.written: Counter[int] = Counter()  # ledger entries per teacher, for their seals
        self.now = timezone.now()
        self.zone = timezone.get_current_timezone()
        self.moments: dict[tuple[dt.date, int], dt.datetime] = {}

    def day_hours(self, county: Division, projects: list[_Planned]) -> dict[tuple[int, dt.date], Decimal]:
        """Hours already in the ledger per teacher and day, for the days completions would use."""
        days = {s.held_on for p in projects if p.project.state == ProjectState.FINISHED for s in p.sessions}
        if not days or not self.with_completions:
            return defaultdict(Decimal)
        rows = (LedgerEntry.objects.dangerously_unscoped().filter(teacher__division_path=county.path, occurred_on__in=days, hours__gt=0)
                .exclude(state__in=["rejected", "revoked"]).values_list("teacher_id", "occurred_on")
                .annotate(total=Sum("hours")))
        return defaultdict(Decimal, {(tid, day): total for tid, day, total in rows})

    def _cycle(self, day: dt.date) -> CycleInfo | None:
        return next((c for c in self.cycles if c.starts_on <= day <= c.ends_on), None)

    def _at(self, day: dt.date, hour: int) -> dt.datetime:
        """A moment of that local day, in UTC, never after now."""
        moment = self.moments.get((day, hour))
        if moment is None:
            moment = min(dt.datetime.combine(day, dt.time(hour), tzinfo=self.zone).astimezone(dt.UTC), self.now)
            self.moments[(day, hour)] = moment
        return moment

    def enrolment(self, planned: _Planned, teacher_id: int, day_hours, rng: random.Random, *, demo: bool = False) -> None:
        project = planned.project
        enrolment_id = self.enrolment_id
        if project.state == ProjectState.OPEN:
            # Those holding seats applied 3–20 days ago; once full, the waiting list in the last days.
            back = rng.randrange(3) if planned.held >= project.seats else 3 + rng.randrange(18)
            created = self._at(self.today - dt.timedelta(days=back), 8 + rng.randrange(12))
        else:
            created = self._at(project.starts_on - dt.timedelta(days=7 + rng.randrange(30)), 8 + rng.randrange(12))
        decided = self._at(created.date() + dt.timedelta(days=1 + rng.randrange(3)), 10) if project.needs_approval else None
        roll = 1.0 if demo else rng.random()
        if project.state == ProjectState.OPEN:
            state, decided_at, waiting_since = EnrolmentState.ENROLLED, decided, None
            if roll < 0.04:
                state, decided_at = EnrolmentState.WITHDRAWN, self._at(created.date() + dt.timedelta(days=2), 15)
            elif planned.held < project.seats:
                planned.held += 1
                if project.needs_approval and rng.random() < 0.5:
                    state, decided_at = EnrolmentState.PENDING, None
            else:  # full: the waiting list, in order of application
                state, decided_at, waiting_since = EnrolmentState.WAITING, None, created
            self.enrolments.append((enrolment_id, project.pk, teacher_id, state, None, created, decided_at,
                                    waiting_since, None, None, None))
            self.enrolment_id += 1
            return
        if planned.held >= project.seats:
            return  # no seat left for another enrolee: not enrolled at all
        self.enrolment_id += 1
        if project.needs_approval and roll < 0.03:
            self.enrolments.append((enrolment_id, project.pk, teacher_id, EnrolmentState.REJECTED, None, created, decided,
                                    None, None, None, None))
            return
        if roll < 0.07:
            withdrawn = self._at(project.starts_on - dt.timedelta(days=1 + rng.randrange(5)), 16)
            self.enrolments.append((enrolment_id, project.pk, teacher_id, EnrolmentState.WITHDRAWN, None, created,
                                    withdrawn, None, None, None, None))
            return
        planned.held += 1
        # Most attend nearly every session; about one in ten misses many.
        rate = 1.0 if demo else rng.uniform(0.3, 0.8) if rng.random() < 0.1 else rng.uniform(0.88, 1.0)
        held = [s for s in planned.sessions if s.held_on <= self.today]
        present = [s for s in held if demo or rng.random() < rate]
        for session in present:
            method = "code" if rng.random() < 0.4 else "upload" if rng.random() < 0.2 else "page"
            self.attendance.append((self.attendance_id, session.pk, enrolment_id, None,
                                    self._at(session.held_on, 9 + rng.randrange(3)), method))
            self.attendance_id += 1
        state, first_entry, completed = EnrolmentState.ENROLLED, None, None
        if project.state == ProjectState.FINISHED and self.with_completions and planned.sessions \
                and len(present) * 100 // len(planned.sessions) >= project.min_attendance_percent:
            hours = _session_hours(project.hours, len(planned.sessions))
            cycles = [self._cycle(s.held_on) for s in planned.sessions]
            fits = all(day_hours[(teacher_id, s.held_on)] + share <= MAX_HOURS_PER_DAY
                       for s, share in zip(planned.sessions, hours, strict=True))
            if fits and all(cycles):
                state, first_entry = EnrolmentState.COMPLETED, self.ledger_id
                completed = self._at(project.ends_on + dt.timedelta(days=1 + rng.randrange(7)), 16)
                for session, share, cycle in zip(planned.sessions, hours, cycles, strict=True):
                    assert cycle is not None
                    self._entry(project, teacher_id, session, share, cycle, completed)
                    day_hours[(teacher_id, session.held_on)] += share
        self.enrolments.append((enrolment_id, project.pk, teacher_id, state, None, created, decided, None, None,
                                completed, first_entry))

    def _entry(self, project: Project, teacher_id: int, session: ProjectSession, share: Decimal, cycle: CycleInfo,
               created: dt.datetime) -> None:
        """One session's hours, as `project_complete` records them through `ledger_entry_record`."""
        source_id = f"{project.pk}:{teacher_id}:{session.number}"
        source_key = f"project:{source_id}"
        self.ledger.append((self.ledger_id, teacher_id, cycle.id, project.hour_category, share, session.held_on, "project",
                            source_id, source_key, f"{project.title}（第{session.number}场）"[:500], "", "approved",
                            "approved", created,
                            ledger_checksum(teacher_id=teacher_id, cycle_id=cycle.id, category=project.hour_category,
                                            hours=share, occurred_on=session.held_on, source_type="project",
                                            source_id=source_id, source_key=source_key, reverses_id=None,
                                            recorded_state="approved", created_by_id=None)))
        self.ledger_id += 1
        self.written[teacher_id] += 1
        self.totals[(teacher_id, cycle.id, project.hour_category)] += share

    def flush(self, result: TrainingResult) -> None:
        # The ledger first: enrolments point at their first entry.
        result.ledger_entries += insert_rows("credits_ledgerentry", LEDGER_COLUMNS, self.ledger)
        result.enrolments += insert_rows("catalog_enrolment", ENROLMENT_COLUMNS, self.enrolments)
        result.attendance += insert_rows("catalog_attendance", ATTENDANCE_COLUMNS, self.attendance)
        result.completions += sum(1 for row in self.enrolments if row[3] == EnrolmentState.COMPLETED)
        result.waiting += sum(1 for row in self.enrolments if row[3] == EnrolmentState.WAITING)
        self.enrolments, self.attendance, self.ledger = [], [], []

    def add_totals(self) -> None:
        """Add the completions' hours to the teachers' cycle totals in one statement (the
        ledger and the totals agree, as `yanxiu credits reconcile` checks)."""
        rows = [(teacher, cycle, category, hours, 0) for (teacher, cycle, category), hours in sorted(self.totals.items())]
        _upsert("credits_cycletotal", {"teacher_id": "bigint", "cycle_id": "bigint", "category": "varchar(20)",
                                       "approved_hours": "numeric(8, 1)", "pending_hours": "numeric(8, 1)"}, rows,
                conflict="teacher_id, cycle_id, category",
                update="approved_hours = credits_cycletotal.approved_hours + excluded.approved_hours")


    def add_seals(self) -> None:
        """Count the completions' entries into the teachers' seals (one upsert), computed here
        from what was written: the seal's MAC is keyed, so SQL cannot compute it. A seal that
        does not check out is not re-sealed over (the loader stops instead)."""
        if not self.written:
            return
        found: dict[int, tuple[int, int, str]] = {}
        teacher_ids = sorted(self.written)
        for start in range(0, len(teacher_ids), 5000):
            # The loader's own rows: every teacher it wrote for, whatever the jurisdiction.
            for teacher_id, entries, decisions, mac in (LedgerSeal.objects.dangerously_unscoped()
                                                        .filter(teacher_id__in=teacher_ids[start:start + 5000])
                                                        .values_list("teacher_id", "entries", "decisions", "mac")):
                if mac != seal_mac(teacher_id=teacher_id, entries=entries, decisions=decisions):
                    raise RuntimeError(f"teacher {teacher_id}: ledger seal does not check out")
                found[teacher_id] = (entries, decisions, mac)
        rows = []
        for teacher_id in teacher_ids:
            entries, decisions, _ = found.get(teacher_id, (0, 0, ""))
            entries += self.written[teacher_id]
            rows.append((teacher_id, entries, decisions, seal_mac(teacher_id=teacher_id, entries=entries, decisions=decisions)))
        _upsert("credits_ledgerseal", {"teacher_id": "bigint", "entries": "integer", "decisions": "integer",
                                       "mac": "varchar(64)"}, rows,
                conflict="teacher_id", update="entries = excluded.entries, decisions = excluded.decisions, mac = excluded.mac")


def _upsert(table: str, columns: dict[str, str], rows: list[tuple], *, conflict: str, update: str) -> None:
    """Insert rows, updating on conflict: on PostgreSQL through a temporary table filled by
    COPY (one statement for the upsert), elsewhere with executemany. `columns` maps each
    column to its type (for the temporary table); names and types are fixed text here."""
    if not rows:
        return
    names = ", ".join(columns)
    statement = f"INSERT INTO {table} ({names}) {{}} ON CONFLICT ({conflict}) DO UPDATE SET {update}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            temporary = f"synth_upsert_{table}"
            cursor.execute(f"CREATE TEMPORARY TABLE {temporary} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
            insert_rows(temporary, list(columns), rows)
            cursor.execute(statement.format(f"SELECT {names} FROM {temporary}"))  # noqa: S608 - fixed names
            cursor.execute(f"DROP TABLE {temporary}")
        else:
            cursor.executemany(statement.format(f"VALUES ({', '.join(['%s'] * len(columns))})"), rows)


def _write_objects(model: type[models.Model], objs: list, now: dt.datetime) -> int:
    """Insert unsaved model instances with every concrete field as the instance holds it (the
    model's defaults included), ids assigned here; far cheaper than `bulk_create` per county."""
    if not objs:
        return 0
    fields = model._meta.concrete_fields
    first = next_id(model._meta.db_table)
    rows = []
    for offset, obj in enumerate(objs):
        obj.pk = first + offset
        row = []
        for f in fields:
            value = getattr(obj, f.attname)
            if isinstance(f, models.JSONField):
                value = json.dumps(value, ensure_ascii=False)
            elif value is None and getattr(f, "auto_now_add", False):
                value = now
                setattr(obj, f.attname, now)
            row.append(value)
        rows.append(tuple(row))
    return insert_rows(model._meta.db_table, [str(f.column) for f in fields], rows)


def training_synthesize(*, seed: int, today: dt.date, county_codes: list[str], cycles: list[CycleInfo]) -> TrainingResult:
    generator = TrainingGenerator(seed=seed, today=today, county_codes=county_codes, cycles=cycles)
    writer = _Writer(cycles, today, with_completions=bool(cycles))
    upper = generator.upper_projects()
    for county in generator.counties:
        data = generator.county_data(county)
        # 济源 is a city acting as a county: its teachers join provincial projects only.
        own: list[tuple[_Planned, list[_Teacher] | None]] = (
            list(generator.county_projects(county, data)) if county.level == "county" else [])
        reaching: list[tuple[_Planned, list[_Teacher] | None]] = [(p, None) for p in upper if county.path in p.quota]
        generator.enrol_county(county, data, own + reaching, writer)
        writer.flush(generator.result)
    _seats_taken()
    writer.add_totals()
    writer.add_seals()
    completions_backfill()  # the high-end task's progress table, from the completions just written
    for table in ("catalog_enrolment", "catalog_attendance", "credits_ledgerentry", "credits_cycletotal",
                  "catalog_project", "catalog_projectsession", "catalog_annualplan"):
        reset_sequence(table)
    return generator.result


def _seats_taken() -> None:
    """Set each project's seat counter from its enrolments, counting those who hold or held a
    seat (pending, enrolled, completed) as the real path does (one UPDATE)."""
    held = (Project.objects.dangerously_unscoped().filter(pk=OuterRef("pk"))
            .annotate(n=Count("enrolments", filter=Q(enrolments__state__in=HELD_SEAT)))
            .values("n"))
    Project.objects.dangerously_unscoped().update(seats_taken=Subquery(held))
