"""The synthetic province's evaluation (§二(五)): the province's published capability assessment,
rating questionnaire and rubrics; and for every finished project with completed trainees, the
assessment taken before and after, the trainees' anonymous ratings in a closed window, experts
named to supervise it with their visits and outcome reviews, and the ratings of the schools and
bureaus whose teachers attended; teaching outcomes of trained teachers and of untrained peers in
the same counties, stages and subjects; and the year's score weights.

Each project has a latent quality q in [0, 1], drawn from the seed and the project's code alone.
It is the true effect size (in standard deviations of the paired change) of the pre/post
comparison, so some projects have next to none and the best about one; it moves the trainees'
ratings, the experts' rubric scores, the stakeholders' and the outcome gain of its trainees over
untrained peers. Noise per teacher and per answer keeps every source imperfect.

Answers are whole points on the instrument's scale; a reverse-keyed item stores the answer as
given, and the dimension's score is the mean of its items with those turned, as
`DimensionScore` says. Anonymous responses get random ids and are written in one shuffled
batch, never in the order of the participation rows. Bulk rows go through `synth.writer`
(COPY on PostgreSQL); the small reference rows through `bulk_create`. Idempotent: nothing
happens when the province's assessment exists. Ranking is not computed here."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from catalog.constants import EnrolmentState, ProjectCategory, ProjectState
from catalog.models import Enrolment, Project
from evaluation.constants import (
    InstrumentKind,
    InstrumentState,
    OutcomeKind,
    Point,
    RubricKind,
    StakeholderUnit,
)
from evaluation.models import (
    Instrument,
    InstrumentItem,
    OutcomeReview,
    ProjectInstrument,
    RatingWindow,
    Rubric,
    ScoreWeights,
    StakeholderRating,
    SupervisionVisit,
    Supervisor,
)
from org.models import Division, School
from people.models import Teacher, TeacherHonour, TeacherSubject
from synth.writer import insert_rows, next_id, reset_sequence

ASSESSMENT_CODE = "HN-NL"
RATING_CODE = "HN-PJ"
# (number, text, dimension, reverse-keyed)
ASSESSMENT_ITEMS = (
    (1, "我能在学科教学中自然融入育人目标", "moral_in_subject", False),
    (2, "我很难在课堂中找到学科育人的切入点", "moral_in_subject", True),
    (3, "我能根据学情设计并及时调整课堂教学环节", "classroom", False),
    (4, "我能有效组织学生开展合作与探究学习", "classroom", False),
    (5, "我能设计分层、弹性和个性化的作业", "homework", False),
    (6, "我布置的作业大多是机械重复的练习", "homework", True),
    (7, "我能规范、安全地组织学生实验或实践操作", "experiment", False),
    (8, "我能指导学生设计简单的探究实验", "experiment", False),
    (9, "我能为家长提供有针对性的家庭教育建议", "family", False),
    (10, "与家长沟通时我常常不知从何说起", "family", True),
)
RATING_ITEMS = (
    (1, "培训内容切合我的教学实际", "content"),
    (2, "培训内容有新意、有深度", "content"),
    (3, "授课专家讲解清楚、示范到位", "delivery"),
    (4, "授课互动充分，能解答我的疑问", "delivery"),
    (5, "培训组织有序，时间安排合理", "organisation"),
    (6, "总体而言，我对本次培训满意", "overall"),
)
RUBRICS = (
    ("HN-SD", RubricKind.VISIT, "河南省教师培训项目过程视导评分量规", (
        ("plan", "方案落实", 20), ("organisation", "组织管理", 20), ("teaching", "授课质量", 30),
        ("engagement", "学员参与", 15), ("support", "服务保障", 15))),
    ("HN-CG", RubricKind.OUTCOME, "河南省教师培训成果质量评分量规", (
        ("relevance", "主题契合", 25), ("quality", "内容质量", 35), ("innovation", "创新性", 20),
        ("use", "推广应用价值", 20))),
    ("HN-XG", RubricKind.STAKEHOLDER, "河南省教师培训相关利益群体评价量规", (
        ("fit", "培训与需求契合", 40), ("change", "参训教师变化", 40), ("service", "组织与服务", 20))),
)
WEIGHTS: dict[str, Decimal] = {"supervision": Decimal("0.3"), "rating": Decimal("0.3"), "outcome": Decimal("0.2"),
                               "stakeholder": Decimal("0.2")}
BOTTOM_SHARE, MIN_GROUP = Decimal("0.1"), 5
OUTCOME_MEASURE = "observation"  # 课堂观察评分, 0–100
OUTCOME_COUNTY_SHARE = 0.5  # counties that hold outcome data (the first county always does)
PEERS_PER_TRAINED = 3
# Projects the whole county or school takes: they carry no outcome gain (there would be no peers).
UNTARGETED = (ProjectCategory.ALL_STAFF, ProjectCategory.SCHOOL_BASED)  # untrained peers kept per trained teacher of a county × stage × subject cell
MISSED_POST = 0.05  # trainees who never took the post assessment
VISIT_NOTES = (
    (85, "方案落实到位，课堂组织紧凑，学员参与度高，建议总结经验推广。"),
    (70, "总体按方案实施，部分专题与学员实际结合不够，建议增加研讨与实践环节。"),
    (0, "实施与方案有出入，课堂以讲授为主，学员参与不足，需限期整改。"),
)


@dataclass
class _Project:
    pk: int
    code: str
    title: str
    level: str
    category: str
    topics: list[str]
    organiser_id: int
    organiser_code: str  # seeds use the code: a division's pk differs between databases
    organiser_school_id: int | None
    division_path: str
    starts_on: dt.date
    ends_on: dt.date
    quality: float
    trainees: list[tuple[int, int, str]] = field(default_factory=list)  # (teacher, school, division path)


@dataclass
class EvaluationResult:
    projects: int = 0
    responses: int = 0
    dimension_scores: int = 0
    outcomes: int = 0
    windows: int = 0
    participations: int = 0
    rating_responses: int = 0
    supervisors: int = 0
    visits: int = 0
    outcome_reviews: int = 0
    stakeholder_ratings: int = 0
    experts: int = 0


def project_quality(seed: int, code: str, organiser_id: int) -> float:
    """The latent quality (and true effect size) of a project: uniform on [0, 1]."""
    return random.Random(f"{seed}:quality:{organiser_id}:{code}").random()


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _answer(rng: random.Random, latent: float, low: int = 1, high: int = 5) -> int:
    return int(_clamp(round(latent + rng.gauss(0, 0.45)), low, high))


def evaluation_synthesize(*, seed: int, today: dt.date, county_codes: list[str]) -> EvaluationResult:
    result = EvaluationResult()
    if Instrument.objects.dangerously_unscoped().filter(code=ASSESSMENT_CODE).exists():
        return result
    province = Division.objects.filter(level="province").first()
    if province is None:
        return result
    with transaction.atomic():
        maker = _Maker(seed=seed, today=today, province=province, county_codes=county_codes, result=result)
        maker.reference()
        maker.weights()
        projects = maker.finished_projects()
        result.projects = len(projects)
        if projects:
            maker.assessments(projects)
            maker.outcomes(projects)
            maker.ratings(projects)
            maker.supervision(projects)
    return result


class _Maker:
    def __init__(self, *, seed: int, today: dt.date, province: Division, county_codes: list[str],
                 result: EvaluationResult):
        self.seed, self.today, self.province, self.result = seed, today, province, result
        self.county_codes = sorted(county_codes)
        self.now = timezone.now()
        self.zone = timezone.get_current_timezone()
        self.province_admin = User.objects.filter(username=f"admin-{province.code}").first()
        self.assessment: Instrument | None = None
        self.questionnaire: Instrument | None = None
        self.rubrics: dict[str, Rubric] = {}

    def _at(self, day: dt.date, hour: int) -> dt.datetime:
        return min(dt.datetime.combine(day, dt.time(hour), tzinfo=self.zone).astimezone(dt.UTC), self.now)

    # --- reference data ---------------------------------------------------------------------

    def reference(self) -> None:
        published = self.now
        common = {"division": self.province, "division_path": self.province.path, "state": InstrumentState.PUBLISHED,
                  "created_by": self.province_admin, "published_at": published}
        self.assessment, self.questionnaire = Instrument.objects.bulk_create([
            Instrument(code=ASSESSMENT_CODE, kind=InstrumentKind.ASSESSMENT, title="河南省中小学教师五项能力自评量表",
                       description="训前、训后各作答一次，按学科育德、课堂教学、作业设计、实验操作、家庭教育指导五个维度计分；"
                                   "第2、6、10题为反向计分题。", **common),
            Instrument(code=RATING_CODE, kind=InstrumentKind.RATING, title="河南省教师培训项目学员匿名评价问卷",
                       description="项目结束后匿名作答，结果仅在评价截止后、达到最低人数和参与率时显示。", **common),
        ])
        InstrumentItem.objects.bulk_create(
            [InstrumentItem(instrument=self.assessment, number=n, text=text, dimension=dim, reverse=reverse)
             for n, text, dim, reverse in ASSESSMENT_ITEMS]
            + [InstrumentItem(instrument=self.questionnaire, number=n, text=text, dimension=dim)
               for n, text, dim in RATING_ITEMS])
        rubrics = Rubric.objects.bulk_create([
            Rubric(code=code, kind=kind, title=title, criteria=[{"code": c, "label": label, "max": m} for c, label, m in criteria],
                   division=self.province, division_path=self.province.path, state=InstrumentState.PUBLISHED,
                   created_by=self.province_admin)
            for code, kind, title, criteria in RUBRICS])
        self.rubrics = {str(r.kind): r for r in rubrics}

    def weights(self) -> None:
        """The province's weights for last year (the complete ranking) and this year."""
        ScoreWeights.objects.bulk_create([
            ScoreWeights(year=year, **WEIGHTS, bottom_share=BOTTOM_SHARE, min_group=MIN_GROUP,
                         note="专家视导30%、学员匿名评价30%、成果质量20%、利益群体评价20%；末位10%。",
                         created_by=self.province_admin)
            for year in (self.today.year - 1, self.today.year)])

    def finished_projects(self) -> list[_Project]:
        """Finished projects with completed trainees, in a stable order, with their trainees."""
        rows = (Project.objects.dangerously_unscoped().filter(state=ProjectState.FINISHED, ends_on__lt=self.today)
                .values_list("pk", "code", "title", "level", "category", "topics", "organiser_id", "organiser_school_id",
                             "division_path", "starts_on", "ends_on", "organiser__code").order_by("pk"))
        projects = {pk: _Project(pk, code, title, level, category, list(topics or []), organiser_id, organiser_code,
                                 school_id, path, starts, ends, project_quality(self.seed, code, int(organiser_code)))
                    for pk, code, title, level, category, topics, organiser_id, school_id, path, starts, ends, organiser_code
                    in rows}
        trainees = (Enrolment.objects.dangerously_unscoped()
                    .filter(project_id__in=list(projects), state=EnrolmentState.COMPLETED)
                    .values_list("project_id", "teacher_id", "teacher__school_id", "teacher__division_path")
                    .order_by("project_id", "teacher_id"))
        for project_id, teacher_id, school_id, path in trainees.iterator(chunk_size=5000):
            projects[project_id].trainees.append((teacher_id, school_id, path))
        return [p for p in projects.values() if p.trainees]

    # --- assessments before and after -----------------------------------------------------------

    def assessments(self, projects: list[_Project]) -> None:
        assert self.assessment is not None
        attachments = []
        for p in projects:
            attachments.append(ProjectInstrument(project_id=p.pk, instrument=self.assessment, point=Point.PRE,
                                                 opens_on=p.starts_on - dt.timedelta(days=7), closes_on=p.starts_on))
            attachments.append(ProjectInstrument(project_id=p.pk, instrument=self.assessment, point=Point.POST,
                                                 opens_on=p.ends_on, closes_on=p.ends_on + dt.timedelta(days=14)))
        ProjectInstrument.objects.bulk_create(attachments, batch_size=2000)
        by_project = {(a.project_id, a.point): a for a in attachments}
        dimensions = sorted({dim for _, _, dim, _ in ASSESSMENT_ITEMS})
        items = {dim: [(n, reverse) for n, _, d, reverse in ASSESSMENT_ITEMS if d == dim] for dim in dimensions}
        response_id, score_id = next_id("evaluation_assessmentresponse"), next_id("evaluation_dimensionscore")
        responses: list[tuple] = []
        scores: list[tuple] = []
        for p in projects:
            rng = random.Random(f"{self.seed}:assessment:{p.organiser_code}:{p.code}")
            # Averaged over the dimensions the change has about 0.25 points of noise, so d_z runs near 3q.
            for teacher_id, _, _ in p.trainees:
                general = rng.gauss(0, 0.45)
                for point in (Point.PRE, Point.POST):
                    if point == Point.POST and rng.random() < MISSED_POST:
                        continue
                    attachment = by_project[(p.pk, point)]
                    answers: dict[str, int] = {}
                    for dim in dimensions:
                        latent = 2.9 + general
                        if point == Point.POST:
                            boost = 1.2 if dim in p.topics else 0.9
                            latent += p.quality * 0.7 * boost + rng.gauss(0, 0.45)
                        turned = []
                        for number, reverse in items[dim]:
                            value = _answer(rng, latent)
                            answers[str(number)] = 6 - value if reverse else value
                            turned.append(value)
                        scores.append((score_id, response_id, p.pk, teacher_id, point, dim, sum(turned) / len(turned)))
                        score_id += 1
                    last = min(attachment.closes_on, self.today - dt.timedelta(days=1))
                    day = attachment.opens_on + dt.timedelta(days=rng.randrange(max(0, (last - attachment.opens_on).days) + 1))
                    responses.append((response_id, attachment.pk, teacher_id, json.dumps(answers),
                                      self._at(day, 8 + rng.randrange(14))))
                    response_id += 1
        self.result.responses = insert_rows("evaluation_assessmentresponse",
                                            ["id", "attachment_id", "teacher_id", "answers", "submitted_at"], responses)
        self.result.dimension_scores = insert_rows(
            "evaluation_dimensionscore", ["id", "response_id", "project_id", "teacher_id", "point", "dimension", "score"],
            scores)
        reset_sequence("evaluation_assessmentresponse")
        reset_sequence("evaluation_dimensionscore")

    # --- teaching outcomes (difference in differences) ----------------------------------------

    def outcomes(self, projects: list[_Project]) -> None:
        """Classroom-observation scores for three school years in the counties holding outcome
        data: trained teachers gain after each targeted project (not the all-staff or school-based ones), by its quality; untrained
        peers of the same county, stage and main subject follow the same trend without it."""
        rng = random.Random(f"{self.seed}:outcomes")
        paths = dict(Division.objects.filter(code__in=self.county_codes).values_list("code", "path"))
        codes = [c for c in self.county_codes if c in paths]
        kept = {paths[c] for n, c in enumerate(codes) if n == 0 or rng.random() < OUTCOME_COUNTY_SHARE}
        gains: dict[int, list[tuple[int, float]]] = defaultdict(list)  # teacher → (from year, gain)
        for p in projects:
            if p.category in UNTARGETED:  # everyone (in the county, the school) takes it: no untrained peers
                continue
            for teacher_id, _, path in p.trainees:
                if path in kept:
                    gains[teacher_id].append((p.ends_on.year, 6.0 * p.quality))
        teachers = list(Teacher.objects.dangerously_unscoped().filter(division_path__in=kept, status="active")
                        .values_list("id", "division_path", "stage", "title").order_by("id"))
        main = dict(TeacherSubject.objects.dangerously_unscoped()
                    .filter(teacher__division_path__in=kept, teacher__status="active", is_main=True)
                    .values_list("teacher_id", "subject"))
        # Untrained peers: of the same county, stage and main subject; where those run short, of the
        # same county and stage (small counties at small scales).
        cells: dict[tuple, list[int]] = defaultdict(list)
        trained_in: Counter[tuple] = Counter()
        for teacher_id, path, stage, _ in teachers:
            cell = (path, stage, main.get(teacher_id) or "")
            if teacher_id in gains:
                trained_in[cell] += 1
            else:
                cells[cell].append(teacher_id)
                cells[(path, stage)].append(teacher_id)
        chosen = set(gains)
        for cell, trained in sorted(trained_in.items()):
            wanted = trained * PEERS_PER_TRAINED
            for pool in (cells.get(cell, []), cells.get(cell[:2], [])):
                free = [t for t in pool if t not in chosen]
                picked = rng.sample(free, min(len(free), wanted))
                chosen.update(picked)
                wanted -= len(picked)
        names = dict(Division.objects.filter(path__in=kept).values_list("path", "name"))
        years = [self.today.year - 2, self.today.year - 1, self.today.year]
        first_id = next_id("evaluation_teachingoutcome")
        rows: list[tuple] = []
        for teacher_id, path, _, title in teachers:
            if teacher_id not in chosen:
                continue
            base = 72 + rng.gauss(0, 6) + {"senior": 3, "full_senior": 5, "first": 1.5}.get(title, 0)
            for year in years:
                value = base + 0.8 * (year - years[0]) + rng.gauss(0, 2.5)
                value += sum(gain for since, gain in gains.get(teacher_id, ()) if year >= since)
                rows.append((first_id + len(rows), teacher_id, OUTCOME_MEASURE, year, round(_clamp(value, 0, 100), 1),
                             f"{names.get(path, '')}教育局课堂观察（模拟数据）", path))
        self.result.outcomes = insert_rows(
            "evaluation_teachingoutcome", ["id", "teacher_id", "measure", "year", "value", "source", "division_path"], rows)
        reset_sequence("evaluation_teachingoutcome")

    # --- anonymous ratings --------------------------------------------------------------------

    def ratings(self, projects: list[_Project]) -> None:
        """A closed window per project; a varying share of its trainees rated (some projects
        below half, small ones below ten); the responses under random ids, in one shuffled batch."""
        assert self.questionnaire is not None
        windows = []
        for p in projects:
            closes = min(p.ends_on + dt.timedelta(days=14), self.today - dt.timedelta(days=1))
            windows.append(RatingWindow(project_id=p.pk, instrument=self.questionnaire, opens_on=p.ends_on,
                                        closes_on=max(closes, p.ends_on), eligible=len(p.trainees),
                                        created_by=None))
        RatingWindow.objects.bulk_create(windows, batch_size=2000)
        self.result.windows = len(windows)
        shuffle = random.Random(f"{self.seed}:rating-order")
        first_id = next_id("evaluation_ratingparticipation")
        participations: list[tuple] = []
        responses: list[tuple] = []
        for p, window in zip(projects, windows, strict=True):
            rng = random.Random(f"{self.seed}:rating:{p.organiser_code}:{p.code}")
            share = rng.uniform(0.2, 0.45) if rng.random() < 0.15 else rng.uniform(0.55, 0.95)
            raters = [t for t, _, _ in p.trainees if rng.random() < share]
            for teacher_id in raters:
                participations.append((first_id + len(participations), window.pk, teacher_id))
                satisfaction = 2.8 + 1.9 * p.quality + rng.gauss(0, 0.55)
                answers = {str(n): _answer(rng, satisfaction) for n, _, _ in RATING_ITEMS}
                responses.append((uuid.UUID(int=shuffle.getrandbits(128), version=4).hex, window.pk, json.dumps(answers)))
        shuffle.shuffle(responses)
        self.result.participations = insert_rows("evaluation_ratingparticipation", ["id", "window_id", "teacher_id"],
                                                 participations)
        self.result.rating_responses = insert_rows("evaluation_ratingresponse", ["id", "window_id", "answers"], responses)
        reset_sequence("evaluation_ratingparticipation")

    # --- supervision, outcome reviews, stakeholders -------------------------------------------

    def _scores(self, rng: random.Random, rubric: Rubric, quality: float) -> tuple[dict[str, int], Decimal]:
        level = 0.5 + 0.42 * quality + rng.gauss(0, 0.05)
        scores = {c["code"]: int(round(c["max"] * _clamp(level + rng.gauss(0, 0.06), 0.2, 1.0))) for c in rubric.criteria}
        top = sum(c["max"] for c in rubric.criteria)
        return scores, (Decimal(sum(scores.values()) * 100) / Decimal(top)).quantize(Decimal("0.1"))

    def supervision(self, projects: list[_Project]) -> None:
        accounts = _Accounts()
        experts = self._experts(accounts, projects)
        self.result.experts = len(experts)
        schools = {s.pk: s for s in School.objects.dangerously_unscoped().filter(
            pk__in={school for p in projects for _, school, _ in p.trainees}).only("id", "code", "name")}
        counties = {d.path: d for d in Division.objects.filter(path__in={path for p in projects for _, _, path in p.trainees})}
        organisers = {d.pk: d for d in Division.objects.filter(pk__in={p.organiser_id for p in projects})}
        supervisors, visits, reviews, stakeholders = [], [], [], []
        kinds = [str(k) for k in OutcomeKind.values if k != OutcomeKind.OTHER]
        for p in projects:
            rng = random.Random(f"{self.seed}:supervision:{p.organiser_code}:{p.code}")
            near = [e for e, path in experts if path.startswith(p.division_path)] or [e for e, _ in experts]
            named = sorted(rng.sample(near, min(len(near), rng.choice((1, 1, 2)))), key=lambda u: u.pk) if near else []
            assigner = accounts.admin(organisers[p.organiser_id])
            for user in named:
                supervisors.append(Supervisor(project_id=p.pk, user=user, assigned_by=assigner))
            span = max(0, (p.ends_on - p.starts_on).days)
            for _ in range(rng.randint(1, 3) if named else 0):
                scores, total = self._scores(rng, self.rubrics[RubricKind.VISIT], p.quality)
                note = next(text for floor, text in VISIT_NOTES if total >= floor)
                visits.append(SupervisionVisit(project_id=p.pk, rubric=self.rubrics[RubricKind.VISIT], scores=scores,
                                               total=total, note=note, visitor=rng.choice(named),
                                               visited_on=p.starts_on + dt.timedelta(days=rng.randint(0, span))))
            for n in range(1, (rng.randint(1, 4) if named else 0) + 1):
                kind = rng.choice(kinds)
                scores, total = self._scores(rng, self.rubrics[RubricKind.OUTCOME], p.quality)
                reviews.append(OutcomeReview(project_id=p.pk, rubric=self.rubrics[RubricKind.OUTCOME], scores=scores,
                                             total=total, title=f"{p.title[:150]}·{OutcomeKind(kind).label}{n}",
                                             kind=kind, reviewer=rng.choice(named)))
            stakeholders += self._stakeholders(rng, p, accounts, schools, counties)
        accounts.save()  # bulk_create takes the new accounts' ids from the related objects
        Supervisor.objects.bulk_create(supervisors, batch_size=2000)
        SupervisionVisit.objects.bulk_create(visits, batch_size=2000)
        OutcomeReview.objects.bulk_create(reviews, batch_size=2000)
        StakeholderRating.objects.bulk_create(stakeholders, batch_size=2000)
        self.result.supervisors, self.result.visits = len(supervisors), len(visits)
        self.result.outcome_reviews, self.result.stakeholder_ratings = len(reviews), len(stakeholders)

    def _stakeholders(self, rng: random.Random, p: _Project, accounts: _Accounts, schools: dict[int, School],
                      counties: dict[str, Division]) -> list[StakeholderRating]:
        """The two schools sending the most trainees (not the organising school), and for
        school, city and province projects the bureaus of the two counties sending the most."""
        rubric = self.rubrics[RubricKind.STAKEHOLDER]
        units: list[tuple[str, str, str, User]] = []
        by_school = Counter(school for _, school, _ in p.trainees if school != p.organiser_school_id)
        for school_id, _ in sorted(by_school.items(), key=lambda item: (-item[1], item[0]))[:2]:
            school = schools[school_id]
            units.append((StakeholderUnit.SCHOOL, f"school:{school.pk}", school.name, accounts.school_admin(school)))
        if p.level != "county":
            by_county = Counter(path for _, _, path in p.trainees)
            for path, _ in sorted(by_county.items(), key=lambda item: (-item[1], item[0]))[:2]:
                county = counties[path]
                units.append((StakeholderUnit.COUNTY, f"division:{county.code}", f"{county.name}教育局",
                              accounts.admin(county)))
        rows = []
        for kind, key, label, rater in units:
            scores, total = self._scores(rng, rubric, p.quality)
            rows.append(StakeholderRating(project_id=p.pk, rubric=rubric, scores=scores, total=total, unit_kind=kind,
                                          unit_key=key, unit_label=label[:100], rater=rater))
        return rows

    def _experts(self, accounts: _Accounts, projects: list[_Project]) -> list[tuple[User, str]]:
        """The province's experts (with their division path): the demo experts, and as many
        more named from 名师 and 学科带头人 not yet holding an account as the projects need."""
        existing = list(User.objects.filter(role=Role.EXPERT, teacher__isnull=False)
                        .values_list("pk", "teacher__division_path").order_by("pk"))
        users = dict(User.objects.in_bulk([pk for pk, _ in existing]))
        found = [(users[pk], path) for pk, path in existing]
        wanted = max(3, min(60, -(-len(projects) // 8)))
        if len(found) < wanted:
            linked = set(User.objects.filter(teacher__isnull=False).values_list("teacher_id", flat=True))
            paths = list(Division.objects.filter(code__in=self.county_codes).values_list("path", flat=True))
            candidates = (TeacherHonour.objects.dangerously_unscoped()
                          .filter(title__in=("master_teacher", "subject_leader"), teacher__status="active",
                                  teacher__division_path__in=paths)
                          .values_list("teacher_id", "teacher__name", "teacher__division_path").order_by("teacher_id"))
            taken = {u.username for u, _ in found}
            number = 1
            for teacher_id, name, path in candidates:
                if len(found) >= wanted:
                    break
                if teacher_id in linked:
                    continue
                linked.add(teacher_id)
                while f"expert-{number}" in taken or accounts.exists(f"expert-{number}"):
                    number += 1
                user = accounts.make(f"expert-{number}", Role.EXPERT, teacher_id=teacher_id, first_name=name)
                taken.add(user.username)
                found.append((user, path))
            accounts.save()  # ids now: projects' experts are sorted by them
        return found


class _Accounts:
    """Accounts the synthetic records name (school and division administrators, experts): the
    existing ones, or new ones with the demo password (unusable when there is none), saved once."""

    def __init__(self):
        self.users = {u.username: u for u in User.objects.filter(username__regex=r"^(admin|school|expert)-")}
        demo = next((u.password for u in self.users.values() if u.has_usable_password()), None)
        if demo is None:
            demo = make_password(settings.DEMO_PASSWORD) if settings.DEMO_PASSWORD else make_password(None)
        self.password = demo
        self.new: list[User] = []

    def exists(self, username: str) -> bool:
        return username in self.users

    def make(self, username: str, role: str, **bindings) -> User:
        if username not in self.users:
            user = User(username=username, role=role, password=self.password, **bindings)
            self.users[username] = user
            self.new.append(user)
        return self.users[username]

    def admin(self, division: Division) -> User:
        role = {"province": Role.PROVINCE_ADMIN, "city": Role.CITY_ADMIN}.get(division.level, Role.COUNTY_ADMIN)
        return self.make(f"admin-{division.code}", role, division=division, first_name=f"{division.name}管理员")

    def school_admin(self, school: School) -> User:
        return self.make(f"school-{school.code}", Role.SCHOOL_ADMIN, school=school, first_name=f"{school.name}管理员")

    def save(self) -> None:
        User.objects.bulk_create(self.new, batch_size=1000)
        self.new = []
