"""A small province with a row of every kind that belongs to a jurisdiction, spread over
杞县 (two schools), 通许县, 兰考县 (省直管县), 开封市, 洛阳市 and the province, and the people
who look at it: every administrator level, teachers, an expert, institution staff.

Built with the services where they exist, so the rows are the rows the product makes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from access.scope import Scope, scope_for_user
from accounts.models import Role
from audit.services import audit_record
from catalog.models import AnnualPlan, Attendance, Enrolment, PlanConflict, Project, ProjectSession
from catalog.plans import review_path_of
from credits.constants import EntryState, SourceType
from credits.models import Cycle, ExternalImport
from credits.services import ledger_entry_record, ledger_entry_school_check
from institutions.tests.helpers import accredit, accredited_institution
from org.models import Institution, ResearchCommunity, School
from people.models import ExportRequest, ImportBatch, ImportRejection, TeacherHonour
from people.tests.factories import TeacherFactory

DAY = dt.date(2026, 3, 10)
DAY_TIME = dt.datetime(2026, 3, 10, 8, tzinfo=dt.UTC)


@dataclass
class World:
    projects: dict[str, Project] = field(default_factory=dict)
    plans: dict[str, AnnualPlan] = field(default_factory=dict)
    institutions: dict[str, Institution] = field(default_factory=dict)
    personas: dict[str, Scope] = field(default_factory=dict)


def _project(code: str, organiser, *, level: str, state: str, school: School | None = None,
             institution: Institution | None = None, audience: dict | None = None) -> Project:
    return Project.objects.create(
        code=code, title=f"项目{code}", level=level, category="backbone" if level != "school" else "school_based",
        mode="online", organiser=organiser, organiser_school=school,
        division_path=school.division_path if school else organiser.path, institution=institution,
        audience=audience or {}, seats=10, seats_taken=0, hours=12, hour_category="online",
        starts_on=dt.date(2026, 12, 1), ends_on=dt.date(2026, 12, 10), state=state)


def build_world(province, users, make_user) -> World:
    p, world = province, World()
    second_school = School.objects.create(code="4102210002", name="杞县第二小学", division=p.county)
    neighbour = TeacherFactory(school=second_school, name="钱七")
    TeacherHonour.objects.create(teacher=p.teacher, title="backbone", level="county", awarded_on=dt.date(2020, 9, 1))
    ResearchCommunity.objects.create(name="城关镇教研共同体", division=p.county)

    centre = Institution.objects.create(code="410221-JSFZ", name="杞县教师发展中心", kind="county_centre",
                                        division=p.county)
    tx_centre = Institution.objects.create(code="410222-JSFZ", name="通许县教师发展中心", kind="county_centre",
                                           division=p.sibling)
    accredit(centre)
    accredit(tx_centre)
    # Implements the other divisions' projects (the 准入 gate wants an accredited implementer).
    implementer = accredited_institution()
    world.institutions = {"centre": centre, "tx_centre": tx_centre}

    school_admin_2 = make_user("school-4102210002", Role.SCHOOL_ADMIN, school=second_school)
    expert = make_user("expert-1", Role.EXPERT, teacher=neighbour)
    staff = make_user("staff-410221", Role.INSTITUTION_STAFF, institution=centre)
    tx_staff = make_user("staff-410222", Role.INSTITUTION_STAFF, institution=tx_centre)
    unbound = make_user("teacher-unbound", Role.TEACHER)
    direct_school_admin = make_user("school-4102250001", Role.SCHOOL_ADMIN, school=p.direct_school)
    people = {**users, "school_admin_2": school_admin_2, "expert": expert, "staff": staff, "tx_staff": tx_staff,
              "unbound": unbound, "direct_school_admin": direct_school_admin}
    world.personas = {name: scope_for_user(user) for name, user in people.items()}
    world.personas["nobody"] = Scope.nothing()

    projects = world.projects
    projects["qx_draft"] = _project("QX-D", p.county, level="county", state="draft", institution=implementer)
    projects["qx_open"] = _project("QX-O", p.county, level="county", state="open", institution=centre)
    projects["qx_school"] = _project("QX-S", p.county, level="school", state="open", school=p.school)
    projects["qx_school_draft"] = _project("QX-SD", p.county, level="school", state="draft", school=p.school)
    projects["qx_school_2"] = _project("QX-S2", p.county, level="school", state="open", school=second_school)
    projects["tx_open"] = _project("TX-O", p.sibling, level="county", state="open", institution=tx_centre)
    projects["tx_draft"] = _project("TX-D", p.sibling, level="county", state="draft", institution=implementer)
    projects["city_open"] = _project("KF-O", p.city, level="city", state="open", institution=implementer,
                                     audience={"divisions": ["410221", "410222"]})
    projects["city_draft"] = _project("KF-D", p.city, level="city", state="draft", institution=centre)
    projects["lankao_open"] = _project("LK-O", p.direct, level="county", state="open", institution=implementer)
    projects["province_open"] = _project("HN-O", p.province, level="province", state="open", institution=implementer)
    projects["luoyang_draft"] = _project("LY-D", p.other_city, level="city", state="draft", institution=implementer)

    enrolled = [("qx_open", p.teacher), ("qx_open", neighbour), ("tx_open", p.sibling_teacher),
                ("city_open", p.teacher), ("city_open", p.sibling_teacher), ("lankao_open", p.direct_teacher),
                ("province_open", p.other_city_teacher), ("province_open", p.teacher), ("qx_school", p.teacher),
                ("qx_school_2", neighbour)]
    enrolments = {}
    for index, (key, teacher) in enumerate(enrolled):
        enrolments[(key, teacher.pk)] = Enrolment.objects.create(
            project=projects[key], teacher=teacher, state=("enrolled", "pending", "completed")[index % 3])
    for key in ("qx_open", "tx_open", "city_open", "qx_school"):
        session = ProjectSession.objects.create(project=projects[key], number=1, title="第1天",
                                                held_on=dt.date(2026, 12, 2), check_in_code="123456")
        for enrolment in Enrolment.objects.dangerously_unscoped().filter(project=projects[key]):
            Attendance.objects.create(session=session, enrolment=enrolment)

    plans = world.plans
    for key, division, school, level, submitter in (
            ("qx", p.county, None, "county", users["county_admin"]),
            ("qx_school", p.county, p.school, "school", users["school_admin"]),
            ("tx", p.sibling, None, "county", users["sibling_admin"]),
            ("lankao", p.direct, None, "county", users["direct_admin"]),
            ("city", p.city, None, "city", users["city_admin"]),
            ("province", p.province, None, "province", users["province_admin"]),
            ("luoyang", p.other_city, None, "city", users["other_city_admin"])):
        plans[key] = AnnualPlan.objects.create(
            division=division, school=school, level=level, year=2026, state="submitted", submitted_by=submitter,
            division_path=school.division_path if school else division.path,
            review_path=review_path_of(division=division, school=school, level=level))
    PlanConflict.objects.create(plan=plans["qx"], project=projects["qx_open"], other=projects["tx_open"], score=0.8,
                                text_similarity=0.7, reasons=["内容相似"])
    PlanConflict.objects.create(plan=plans["tx"], project=projects["tx_open"], other=projects["qx_open"], score=0.8,
                                text_similarity=0.7, reasons=["内容相似"])

    for n, teacher in enumerate((p.teacher, p.sibling_teacher, p.direct_teacher, p.other_city_teacher, neighbour)):
        ledger_entry_record(teacher=teacher, category="online", hours=3, occurred_on=DAY, source_type=SourceType.SYNTH,
                            source_id=f"world-{n}")
        claim, _ = ledger_entry_record(teacher=teacher, category="other", hours=2, occurred_on=DAY + dt.timedelta(days=1),
                                       source_type=SourceType.CLAIM, source_id=f"world-claim-{n}", state=EntryState.PENDING)
        if teacher == p.teacher:  # checked by its school: a decision row
            ledger_entry_school_check(scope=scope_for_user(users["school_admin"]), actor=users["school_admin"],
                                      entry_id=claim.pk)
    from credits.compliance import compliance_refresh

    compliance_refresh(cycle=Cycle.objects.get(code="2026-2030"), today=dt.date(2026, 11, 28))

    for name, path, school in (("county_admin", p.county.path, None), ("school_admin", p.county.path, p.school),
                               ("direct_admin", p.direct.path, None), ("city_admin", p.city.path, None),
                               ("sibling_admin", p.sibling.path, None)):
        ExportRequest.objects.create(requested_by=users[name], scope_path=path, school=school, filters={},
                                     reason="年度核对")
        batch = ImportBatch.objects.create(file_name=f"{name}.csv", file_sha256="0" * 64, actor=users[name],
                                           scope_path=path)
        ImportRejection.objects.create(batch=batch, row_number=2, column="姓名", reason="不能为空", values=[])
        ExternalImport.objects.create(file_name=f"{name}.xlsx", file_sha256="1" * 64, actor=users[name],
                                      scope_path=path)
    from accounts.services import api_token_create

    for name in ("county_admin", "sibling_admin", "teacher"):
        api_token_create(user=users[name], name="world")
    for path in (p.province.path, p.city.path, p.county.path, p.sibling.path, p.direct.path, p.other_city.path):
        audit_record(action="teacher.update", scope_path=path, object_type="probe")
    _learning_records(world, p)
    _course_library(world, p)
    _guidance(p, people, neighbour)
    _accreditations(p, people, centre, tx_centre)
    _trainers(p, people, neighbour, projects)
    _evaluation(p, people, neighbour, projects)
    _quotas(p, people)
    _selection(p, people, neighbour, projects)
    _funding(p, people, second_school, projects)
    return world


def _quotas(p, people) -> None:
    """High-end training: the 2026–2030 baselines frozen by the province, and one allocation each
    by the province (cities and 兰考县), 开封市 (its counties), 杞县 (its two schools) and 兰考县
    (its school), with the province's first allocation superseded by a second."""
    from quotas.targets import allocation_create, baseline_freeze

    province = people["province_admin"]
    baseline_freeze(scope=scope_for_user(province), actor=province, cycle_code="2026-2030", today=DAY)
    for name, total in (("province_admin", 3), ("province_admin", 4), ("city_admin", 2), ("county_admin", 2),
                        ("direct_admin", 1)):
        allocation_create(scope=scope_for_user(people[name]), actor=people[name], division_code="", year=2026,
                          total=total)
    # The progress table: a row for each completion of a task level (通许县's and 兰考县's teachers).
    from catalog.models import Enrolment
    from credits.models import Cycle
    from quotas.progress_models import HighEndCompletion

    cycle = Cycle.objects.get(code="2026-2030")
    for enrolment in (Enrolment.objects.dangerously_unscoped().filter(
            state="completed", project__level__in=["province", "city", "county"]).select_related("teacher", "project")):
        HighEndCompletion.objects.create(
            teacher=enrolment.teacher, level=enrolment.project.level, cycle=cycle,
            division_path=enrolment.teacher.division_path, school=enrolment.teacher.school, enrolment=enrolment,
            project=enrolment.project)


def _funding(p, people, second_school, projects) -> None:
    """Funding figures of 杞县, 通许县, 兰考县 (省直管县), 开封市, 洛阳市 and the province; both 杞县 schools',
    通许县's and 兰考县's school; budgets, spend on 杞县's and 兰考县's projects, an import."""
    from decimal import Decimal

    from funding import models as fm

    for division in (p.county, p.sibling, p.direct, p.city, p.other_city, p.province):
        fm.DivisionFunding.objects.create(division=division, division_path=division.path, year=2026,
                                          payroll=Decimal("100000000"), ratio_percent=Decimal("2.00"))
        fm.TrainingBudget.objects.create(division=division, division_path=division.path, year=2026,
                                         amount=Decimal("1000000"), purpose="培训")
    for school in (p.school, second_school, p.sibling_school, p.direct_school, p.other_city_school):
        fm.SchoolFunding.objects.create(school=school, division_path=school.division_path, year=2026,
                                        public_budget=Decimal("1000000"), training_budget=Decimal("40000"))
    for key in ("qx_open", "lankao_open", "tx_open"):
        project = projects[key]
        fm.ProjectSpend.objects.create(project=project, division_path=project.division_path, amount=Decimal("500"),
                                       spent_on=DAY)
    for name, path in (("county_admin", p.county.path), ("direct_admin", p.direct.path)):
        fm.FundingImport.objects.create(kind="division", file_name="经费.xlsx", file_sha256="2" * 64,
                                        actor=people[name], scope_path=path)
    # withdrawn entries (kept, marked deleted: nobody sees them) and one entered by the city for 杞县
    from django.utils import timezone

    fm.TrainingBudget.objects.create(division=p.county, division_path=p.county.path, year=2026,
                                     amount=Decimal("1"), purpose="已删除", deleted_at=timezone.now(),
                                     delete_reason="重复")
    fm.TrainingBudget.objects.create(division=p.county, division_path=p.county.path, year=2025,
                                     amount=Decimal("2"), purpose="上级代填", entered_above_at=timezone.now(),
                                     entered_above_reason="未报")
    fm.ProjectSpend.objects.create(project=projects["qx_open"], division_path=projects["qx_open"].division_path,
                                   amount=Decimal("7"), spent_on=DAY, deleted_at=timezone.now(), delete_reason="作废")


def _evaluation(p, people, neighbour, projects) -> None:
    """Evaluation rows on 杞县's, 通许县's and 开封市's projects: a county assessment taken before and
    after, the province's rating questionnaire with a window, participation and an anonymous
    response, an expert named to supervise 杞县's project with a visit and an outcome review, a
    school's stakeholder rating, and a year's scores with one elimination case (通许县's)."""
    from decimal import Decimal

    from evaluation import models as ev

    county, province = people["county_admin"], people["province_admin"]
    assessment = ev.Instrument.objects.create(code="QX-T", kind="assessment", title="杞县能力测评", division=p.county,
                                              state="published", created_by=county)
    ev.InstrumentItem.objects.create(instrument=assessment, number=1, text="我能设计分层作业", dimension="homework")
    questionnaire = ev.Instrument.objects.create(code="HN-R", kind="rating", title="省级满意度问卷", division=p.province,
                                                 state="draft", created_by=province)
    ev.InstrumentItem.objects.create(instrument=questionnaire, number=1, text="总体满意度", dimension="overall")
    for key in ("qx_open", "tx_open"):
        project = projects[key]
        for point in ("pre", "post"):
            attachment = ev.ProjectInstrument.objects.create(project=project, instrument=assessment, point=point,
                                                             opens_on=DAY, closes_on=DAY + dt.timedelta(days=5))
            teacher = p.teacher if key == "qx_open" else p.sibling_teacher
            response = ev.AssessmentResponse.objects.create(attachment=attachment, teacher=teacher, answers={"1": 3})
            ev.DimensionScore.objects.create(response=response, project=project, teacher=teacher, point=point,
                                             dimension="homework", score=3.0)
        window = ev.RatingWindow.objects.create(project=project, instrument=questionnaire, opens_on=DAY,
                                                closes_on=DAY + dt.timedelta(days=7))
        ev.RatingParticipation.objects.create(window=window, teacher=p.teacher if key == "qx_open" else p.sibling_teacher)
        ev.RatingResponse.objects.create(window=window, answers={"1": 4})
    for teacher in (p.teacher, p.sibling_teacher, neighbour):
        ev.TeachingOutcome.objects.create(teacher=teacher, measure="observation", year=2025, value=70.0)
    rubrics = {kind: ev.Rubric.objects.create(code=f"HN-{kind}", kind=kind, title=kind, division=p.province,
                                              state="published", criteria=[{"code": "a", "label": "总体", "max": 10}])
               for kind in ("visit", "outcome", "stakeholder")}
    ev.Supervisor.objects.create(project=projects["qx_open"], user=people["expert"], assigned_by=county)
    for key, visitor in (("qx_open", people["expert"]), ("tx_open", people["sibling_admin"])):
        ev.SupervisionVisit.objects.create(project=projects[key], rubric=rubrics["visit"], visitor=visitor,
                                           visited_on=DAY, scores={"a": 8}, total=Decimal("80.0"))
        ev.OutcomeReview.objects.create(project=projects[key], rubric=rubrics["outcome"], title="教学设计",
                                        kind="lesson_plan", reviewer=visitor, scores={"a": 7}, total=Decimal("70.0"))
    ev.StakeholderRating.objects.create(project=projects["qx_open"], rubric=rubrics["stakeholder"],
                                        unit_kind="school", unit_key=f"school:{p.school.pk}", unit_label=p.school.name,
                                        rater=people["school_admin"], scores={"a": 9}, total=Decimal("90.0"))
    weights = ev.ScoreWeights.objects.create(year=2026, supervision=Decimal("0.3"), rating=Decimal("0.3"),
                                             outcome=Decimal("0.2"), stakeholder=Decimal("0.2"),
                                             bottom_share=Decimal("0.1"), created_by=province)
    scores = {}
    for rank, key in enumerate(("qx_open", "city_open", "tx_open"), start=1):
        project = projects[key]
        scores[key] = ev.ProjectScore.objects.create(
            project=project, weights=weights, year=2026, level=project.level, category=project.category,
            division_path=project.division_path, organiser_school=project.organiser_school,
            institution=project.institution, supervision=80.0, composite=90.0 - rank, normalised=1.0 - rank,
            rank=rank, group_size=3, flagged=rank == 3)
    ev.EliminationCase.objects.create(score=scores["tx_open"])


def _trainers(p, people, expert_teacher, projects) -> None:
    """A trainer in each pool (杞县's the expert 钱七, promoted, away for a few days, booked on 杞县's
    session; 通许县's and 开封市's booked on theirs), 兰考县's, 洛阳市's and the province's."""
    from django.utils import timezone

    from trainers import services

    def add(who, **values):
        user = people[who]
        return services.trainer_create(scope=scope_for_user(user), actor=user, **{
            "source": "research_staff", "stages": ["primary"], "subjects": ["chinese"], "topics": ["homework"],
            **values})

    qx = add("county_admin", teacher_id=expert_teacher.pk, source="master_teacher")
    county = people["county_admin"]
    services.trainer_promote(scope=scope_for_user(county), actor=county, trainer_id=qx.pk, grade=2, reason="县级授课优秀")
    away = timezone.localdate() + dt.timedelta(days=40)
    services.unavailability_add(scope=scope_for_user(county), actor=county, trainer_id=qx.pk, starts_on=away,
                                ends_on=away + dt.timedelta(days=2))
    booked = {"county_admin": (qx, "qx_open"), "sibling_admin": (add("sibling_admin", name="通许教研员"), "tx_open"),
              "city_admin": (add("city_admin", name="开封专家", source="university"), "city_open")}
    for who, (trainer, key) in booked.items():
        user = people[who]
        services.booking_create(scope=scope_for_user(user), actor=user, trainer_id=trainer.pk,
                                session_id=projects[key].sessions.get().pk)
    for who, name in (("direct_admin", "兰考教研员"), ("other_city_admin", "洛阳专家"), ("province_admin", "省级首席")):
        add(who, name=name)


def _accreditations(p, people, centre, tx_centre) -> None:
    """杞县教师发展中心's accreditation, applied for by its staff and approved by 杞县 (scores, evidence,
    history); 通许县教师发展中心's draft, applied for by the city acting for it."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from institutions import services

    def pdf():
        return SimpleUploadedFile("资质.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")

    scope = {"levels": ["county"], "categories": ["backbone"], "modes": ["online"]}
    staff = people["staff"]
    row = services.accreditation_apply(scope=scope_for_user(staff), actor=staff, institution_id=centre.pk,
                                       files=[pdf()], **scope)
    services.accreditation_submit(scope=scope_for_user(staff), actor=staff, accreditation_id=row.pk)
    services.accreditation_decide(
        scope=scope_for_user(people["county_admin"]), actor=people["county_admin"], accreditation_id=row.pk,
        decision="approve", scores={"trainers": 25, "sites": 15, "performance": 25, "management": 15},
        valid_from=dt.date(2026, 12, 1), valid_until=dt.date(2029, 11, 30))
    services.accreditation_apply(scope=scope_for_user(people["city_admin"]), actor=people["city_admin"],
                                 institution_id=tx_centre.pk, files=[pdf()], **scope)
    # Training bases: 杞县's own school base, and a city base at 杞县's centre (its staff see it).
    from institutions.models import TrainingBase

    TrainingBase.objects.create(name="杞县第一小学跟岗基地", kind="school", division=p.county, school=p.school,
                                stages=["primary"], seats_per_term=20, designated_on=dt.date(2025, 9, 1))
    TrainingBase.objects.create(name="开封市教师培训基地（杞县）", kind="institution", division=p.city,
                                institution=centre, seats_per_term=40, designated_on=dt.date(2025, 9, 1))


def _guidance(p, people, expert_teacher) -> None:
    """杞县's primary-Chinese team (the expert its lead, paired with 杞县第一小学) and 通许县's; a
    question of 张三 answered and shared, one of 李四 waiting; a common problem of each county;
    in-site messages for the expert and the county."""
    from django.utils import timezone

    from guidance.models import GuidanceTeam, ProblemCluster, Question, TeamSchool
    from notifications.models import NoticeDigest, NoticePreference, Notification

    now = timezone.now()
    teams = {}
    for key, division, school, member in (("qx", p.county, p.school, expert_teacher),
                                          ("tx", p.sibling, p.sibling_school, p.sibling_teacher)):
        team = GuidanceTeam.objects.create(name=f"{division.name}小学语文团队", division=division,
                                           division_path=division.path, stage="primary", subject="chinese")
        team.members.create(teacher=member, role="master_teacher", is_lead=True)
        TeamSchool.objects.create(team=team, school=school, stage="primary", subject="chinese",
                                  division_path=division.path)
        teams[key] = team
    answered = Question.objects.create(
        teacher=p.teacher, division_path=p.teacher.division_path, school=p.school, stage="primary", subject="chinese",
        text="作文教学怎样指导学生写具体？", team=teams["qx"], assignee=teams["qx"].members.get(),
        state="answered", due_at=now, first_answered_at=now)
    answered.messages.create(author=people["expert"], is_answer=True, member=teams["qx"].members.get(), body="先观察")
    answered.messages.create(author=people["teacher"], is_answer=False, body="低年级呢？")
    Question.objects.create(teacher=p.teacher, division_path=p.teacher.division_path, school=p.school, stage="primary",
                            subject="chinese", text="作文写具体的办法？", state="resolved", resolved_at=now,
                            matched=answered)
    Question.objects.create(
        teacher=p.sibling_teacher, division_path=p.sibling_teacher.division_path, school=p.sibling_school,
        stage="primary", subject="chinese", text="识字教学怎样设计游戏？", team=teams["tx"],
        assignee=teams["tx"].members.get(), due_at=now)
    for division in (p.county, p.sibling):
        ProblemCluster.objects.create(division=division, division_path=division.path, stage="primary",
                                      subject="chinese", period_start=now.date(), period_end=now.date(), size=5,
                                      keywords=["作文"], examples=[], question_ids=[])
    for name in ("expert", "county_admin", "teacher"):
        Notification.objects.create(recipient=people[name], kind="question.assigned", title="新的指导问题",
                                    event_key=f"world:{name}")
    for name in ("teacher", "county_admin"):
        NoticePreference.objects.create(user=people[name], digest=name == "teacher")
        NoticeDigest.objects.create(user=people[name], day=now.date(), channel="email", notices=1)


def _course_library(world: World, p) -> None:
    """A provider and courses owned by 杞县 (a draft, a published one), 通许县, 兰考县, 开封市 and
    the province (published), and a retired province course."""
    from learning.models import Course, Provider

    provider = Provider.objects.create(code="smartedu", name="国家智慧教育平台", kind="national", division=p.province,
                                       division_path=p.province.path)
    Provider.objects.create(code="qx-centre", name="杞县教师发展中心课程", kind="institution", division=p.county,
                            division_path=p.county.path)
    for code, division, state in (("QX-DRAFT", p.county, "draft"), ("QX-PUB", p.county, "published"),
                                  ("TX-PUB", p.sibling, "published"), ("LK-PUB", p.direct, "published"),
                                  ("KF-PUB", p.city, "published"), ("HN-PUB", p.province, "published"),
                                  ("HN-OLD", p.province, "retired")):
        Course.objects.create(provider=provider, code=code, title=f"课程{code}", hours=2, level="county",
                              activity_iri=f"https://smartedu.example.org/{code}", state=state, division=division,
                              division_path=division.path)
    # Pushed lists of teachers of 杞县 and 通许县 (the teacher's own, their administrators').
    from django.utils import timezone

    from learning.models import TeacherPush

    for teacher in (p.teacher, p.sibling_teacher):
        TeacherPush.objects.create(teacher=teacher, items=[], basis="x", computed_at=timezone.now())
    _study(p)


def _study(p) -> None:
    """Teachers of 杞县, 通许县 and 兰考县 studying the province's course on the player, one
    session ended by a newer one."""
    from django.utils import timezone

    from learning.models import Course, CourseEnrolment, StudySession

    course = Course.objects.dangerously_unscoped().get(code="HN-PUB")
    now = timezone.now()
    for teacher in (p.teacher, p.sibling_teacher, p.direct_teacher):
        enrolment = CourseEnrolment.objects.create(teacher=teacher, course=course, state="in_progress")
        StudySession.objects.create(enrolment=enrolment, teacher=teacher, session_digest="x", started_at=now,
                                    last_beat_at=now, active=False, ended_reason="superseded")
        StudySession.objects.create(enrolment=enrolment, teacher=teacher, session_digest="y", started_at=now,
                                    last_beat_at=now)


def _learning_records(world: World, p) -> None:
    """Two course providers (杞县's and the province's), their statements and documents."""
    from django.utils import timezone

    from lrs.clients import client_create
    from lrs.crediting import credits_process
    from lrs.keys import value_hash
    from lrs.learners import learner_identity_add
    from lrs.models import (
        CreditedActivity,
        DocumentKind,
        LrsDocument,
        StatementAttachment,
        StatementCredit,
    )
    from lrs.statements import statements_store
    from lrs.traffic import rejection_record

    qx_client, _ = client_create(scope=Scope.division(p.county), actor=None, name="杞县研修网", division=p.county,
                                 activity_prefixes=["https://qx.example.org/"])
    hn_client, _ = client_create(scope=Scope.division(p.province), actor=None, name="省平台", division=p.province,
                                 activity_prefixes=["*"], reads_all=True)
    world.personas["lrs_qx"] = Scope.for_client(qx_client)
    world.personas["lrs_hn"] = Scope.for_client(hn_client)
    # Hours for 杞县's courses (the county's registration) and one province course; 张 (杞县)
    # registered a mailbox, 通许's teacher studies on the province platform under an account.
    CreditedActivity.objects.create(activity_iri="https://qx.example.org/c/", is_prefix=True,
                                    activity_hash=value_hash("https://qx.example.org/c/"), title="杞县课程", hours=2,
                                    division=p.county, division_path=p.county.path)
    CreditedActivity.objects.create(activity_iri="https://hn.example.org/c/9", activity_hash=value_hash(
        "https://hn.example.org/c/9"), title="省课程9", hours=3, division=p.province, division_path=p.province.path)
    for teacher, kind, value in ((p.teacher, "mbox", "zhang@example.org"),
                                 (p.sibling_teacher, "account", "li-tx")):
        learner_identity_add(scope=Scope.division(p.province), actor=None, teacher=teacher, kind=kind, value=value,
                             home_page="https://hn.example.org")
    now = timezone.now()
    hn_statements = [
        {"actor": {"account": {"homePage": "https://hn.example.org", "name": "li-tx"}},
         "verb": {"id": "http://adlnet.gov/expapi/verbs/launched"}, "object": {"id": "https://hn.example.org/c/9"},
         "timestamp": (now - dt.timedelta(hours=3)).isoformat()},
        {"actor": {"account": {"homePage": "https://hn.example.org", "name": "li-tx"}},
         "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"}, "object": {"id": "https://hn.example.org/c/9"},
         "timestamp": (now - dt.timedelta(minutes=1)).isoformat()},
        {"actor": {"mbox": "mailto:nobody@example.org"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
         "object": {"id": "https://hn.example.org/c/9"}},
    ]
    statements_store(scope=Scope.for_client(hn_client), client=hn_client, statements=hn_statements)
    rejection_record(qx_client, method="POST", resource="/xapi/statements", status=400, message="缺少 verb")
    for lrs_client, activity in ((qx_client, "https://qx.example.org/c/1"), (hn_client, "https://hn.example.org/c/9")):
        statements_store(scope=Scope.for_client(lrs_client), client=lrs_client, statements=[{
            "actor": {"mbox": "mailto:zhang@example.org"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": activity}}])
        LrsDocument.objects.create(kind=DocumentKind.STATE, activity_id=activity, agent_key="mbox:mailto:zhang@example.org",
                                   document_id="progress", content=b"{}", content_type="application/json", etag="0",
                                   updated=DAY_TIME, key_hash=f"{activity}-state", scope_hash=activity, client=lrs_client)
    LrsDocument.objects.create(kind=DocumentKind.AGENT_PROFILE, agent_key="mbox:mailto:zhang@example.org",
                               document_id="prefs", content=b"{}", content_type="application/json", etag="0",
                               updated=DAY_TIME, key_hash="agent-prefs", scope_hash="agent", client=hn_client)
    StatementAttachment.objects.create(sha2="0" * 64, content_type="text/plain", content=b"x")
    # Crediting runs after commit in the product; the world is one transaction, so run it here:
    # 张's completions are held (nothing before them), 通许's credited, nobody's unmatched.
    credits_process(list(StatementCredit.objects.dangerously_unscoped().values_list("pk", flat=True)))


def _selection(p, people, neighbour, projects) -> None:
    """Priority rule sets (the province's, 杞县's) and ranked nomination lists on 开封市's project: 杞县's
    (张三 selected, 钱七 dropped with a reason) and 通许县's (李四)."""
    from quotas import selection_models as qs

    province_rules = qs.PriorityRuleSet.objects.create(division=p.province, division_path=p.province.path, version=1)
    qs.PriorityRule.objects.create(rule_set=province_rules, position=1, kind="rural", points=20)
    county_rules = qs.PriorityRuleSet.objects.create(division=p.county, division_path=p.county.path, version=1,
                                                     created_by=people["county_admin"])
    qs.PriorityRule.objects.create(rule_set=county_rules, position=1, kind="years_since", points=2,
                                   params={"cap": 20})
    for division, teachers in ((p.county, [p.teacher, neighbour]), (p.sibling, [p.sibling_teacher])):
        row = qs.NominationList.objects.create(project=projects["city_open"], division=division,
                                               division_path=division.path, rule_set=province_rules, seats=1,
                                               reserve=1, eligible_count=len(teachers), seed=7)
        picks = [qs.NominationPick.objects.create(nomination_list=row, teacher=t, rank=n, points=20,
                                                  explanation="乡村学校 +20；合计20",
                                                  role="selected" if n == 1 else "dropped")
                 for n, t in enumerate(teachers, start=1)]
        if len(picks) > 1:
            qs.NominationOverride.objects.create(nomination_list=row, pick=picks[1], kind="drop", reason="借调",
                                                 actor=people["county_admin"])
