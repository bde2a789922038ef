"""Every write, as everyone: route × persona for each POST, PATCH and DELETE of the pages and
the API.

Each case names its target (mostly 通许县's rows; 杞县's where a school administrator of the
same county is the one to refuse; 兰考县's where the city only reads), who may do it
(positive controls: the write happens) and who may not, with the status they get — 404
when the row is not theirs to see, 403 when they see it but may not do this (or their role
may not use the page at all). A refused write changes nothing: the case's probe reads the
state before and after. The personas include the same jurisdiction at another level (a
school administrator against its county's rows, a city against its 省直管县), not only
outsiders. A last test walks every route and fails if a write route has no case here.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from accounts.models import ApiToken, Role
from accounts.services import api_token_create
from catalog.models import AnnualPlan, Attendance, Enrolment, Project, ProjectSession
from catalog.plans import review_path_of
from credits.constants import EntryState, SourceType
from credits.models import LedgerEntry, OrganiserAlias
from credits.services import ledger_entry_record
from institutions.tests.helpers import accredit, accredited_institution
from org.models import Institution, School
from people.models import ExportRequest, Teacher
from people.tests.factories import TeacherFactory

TODAY = dt.date(2026, 11, 28)


@dataclass
class Targets:
    ids: dict[str, Any] = field(default_factory=dict)
    objects: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name):
        return self.objects[name]


def _project(code, organiser, *, state, institution=None, school=None, needs_approval=True, level="county"):
    if institution is None and school is None:
        institution = accredited_institution()  # the 准入 gate wants an accredited implementer
    return Project.objects.create(
        code=code, title=f"项目{code}", level=level, category="backbone" if not school else "school_based",
        mode="centralised", organiser=organiser, organiser_school=school,
        division_path=school.division_path if school else organiser.path, institution=institution,
        self_enrolment=True, needs_approval=needs_approval, seats=5, hours=12, hour_category="centralised",
        starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2026, 12, 20), state=state)


def _plan(division, year, *, state, submitted_by=None):
    return AnnualPlan.objects.create(division=division, level="county", year=year, state=state,
                                     division_path=division.path, submitted_by=submitted_by,
                                     review_path=review_path_of(division=division, school=None, level="county"))


@pytest.fixture
def people(users, province, make_user):
    centre = Institution.objects.create(code="410221-JSFZ", name="杞县教师发展中心", kind="county_centre",
                                        division=province.county)
    tx_centre = Institution.objects.create(code="410222-JSFZ", name="通许县教师发展中心", kind="county_centre",
                                           division=province.sibling)
    accredit(centre)
    accredit(tx_centre)
    tx_expert = TeacherFactory(school=province.sibling_school, name="吴专家")
    qx_second_school = School.objects.create(code="4102210009", name="杞县第九小学", division=province.county)
    return {**users, "staff": make_user("staff-410221", Role.INSTITUTION_STAFF, institution=centre),
            "qx_school_admin_2": make_user("school-4102210009", Role.SCHOOL_ADMIN, school=qx_second_school),
            "tx_staff": make_user("staff-410222", Role.INSTITUTION_STAFF, institution=tx_centre),
            "tx_expert": make_user("expert-410222", Role.EXPERT, teacher=tx_expert),
            "_centre": centre, "_tx_centre": tx_centre}


@pytest.fixture
def targets(province, people) -> Targets:
    p, t = province, Targets()
    tx_colleague = TeacherFactory(school=p.sibling_school, name="周八")
    tx_free_teacher = TeacherFactory(school=p.sibling_school, name="吴九")  # on no project yet
    qx_free_teacher = TeacherFactory(school=p.school, name="郑十")
    tx_open = _project("TX-O", p.sibling, state="open", institution=people["_tx_centre"])
    tx_draft = _project("TX-D", p.sibling, state="draft")
    tx_free = _project("TX-F", p.sibling, state="draft")  # outside any plan: publishable at once
    tx_free_api = _project("TX-F2", p.sibling, state="draft")
    # The 准入 gate: an implementer without accreditation, and one whose accreditation is suspended.
    unaccredited = Institution.objects.create(code="410222-PX1", name="通许县明德教师培训学校",
                                              kind="training_institution", division=p.sibling)
    tx_unaccredited = _project("TX-U", p.sibling, state="draft", institution=unaccredited)
    suspended = Institution.objects.create(code="410222-PX2", name="通许县启航培训中心", kind="training_institution",
                                           division=p.sibling)
    accredit(suspended, state="suspended")
    tx_held = _project("TX-H", p.sibling, state="open", institution=suspended, needs_approval=False)
    qx_open = _project("QX-O", p.county, state="open")
    qx_other = _project("QX-O2", p.county, state="open")
    pending = Enrolment.objects.create(project=tx_open, teacher=p.sibling_teacher, state="pending")
    admitted = Enrolment.objects.create(project=tx_open, teacher=tx_colleague, state="enrolled")
    tx_open.seats_taken = 2
    tx_open.save(update_fields=["seats_taken"])
    qx_pending = Enrolment.objects.create(project=qx_open, teacher=p.teacher, state="pending")
    qx_open.seats_taken = 1
    qx_open.save(update_fields=["seats_taken"])
    session = ProjectSession.objects.create(project=tx_open, number=1, title="第1天", held_on=TODAY,
                                            check_in_code="246810")
    tx_plan = _plan(p.sibling, 2026, state="draft")
    tx_draft.plan = tx_plan
    tx_draft.save(update_fields=["plan"])
    tx_plan_2027 = _plan(p.sibling, 2027, state="submitted", submitted_by=people["sibling_admin"])
    _project("TX-27", p.sibling, state="draft").__class__.objects.dangerously_unscoped().filter(code="TX-27").update(
        plan=tx_plan_2027, starts_on=dt.date(2027, 3, 1), ends_on=dt.date(2027, 3, 2))
    lankao_plan = _plan(p.direct, 2027, state="submitted", submitted_by=people["direct_admin"])
    qx_claim, _ = ledger_entry_record(teacher=p.teacher, category="other", hours=2, occurred_on=dt.date(2026, 3, 2),
                                      source_type=SourceType.CLAIM, source_id="m-qx", state=EntryState.PENDING)
    tx_claim, _ = ledger_entry_record(teacher=p.sibling_teacher, category="other", hours=2,
                                      occurred_on=dt.date(2026, 3, 2), source_type=SourceType.CLAIM,
                                      source_id="m-tx", state=EntryState.PENDING)
    LedgerEntry.objects.dangerously_unscoped().filter(pk=tx_claim.pk).update(
        school_checked_at=dt.datetime(2026, 3, 3, tzinfo=dt.UTC))
    tx_approved_claim, _ = ledger_entry_record(teacher=p.sibling_teacher, category="other", hours=1,
                                               occurred_on=dt.date(2026, 3, 4), source_type=SourceType.CLAIM,
                                               source_id="m-tx-approved", state=EntryState.APPROVED)
    tx_refused_claim, _ = ledger_entry_record(
        teacher=p.sibling_teacher, category="other", hours=3, occurred_on=dt.date(2026, 3, 5),
        source_type=SourceType.CLAIM, source_id="m-tx-refused", state=EntryState.PENDING,
        evidence=SimpleUploadedFile("e.pdf", b"%PDF-1.4 evidence", content_type="application/pdf"))
    from access.scope import Scope
    from credits.services import ledger_entry_decide

    ledger_entry_decide(scope=Scope.division(p.sibling), actor=None, entry_id=tx_refused_claim.pk, approve=False,
                        note="材料不清晰", today=TODAY)
    lankao_request = ExportRequest.objects.create(requested_by=people["direct_admin"], scope_path=p.direct.path,
                                                  filters={}, reason="职称评审名单")
    tx_request = ExportRequest.objects.create(requested_by=people["sibling_admin"], scope_path=p.sibling.path,
                                              filters={}, reason="职称评审名单")
    token, _ = api_token_create(user=people["sibling_admin"], name="对接")
    OrganiserAlias.objects.create(name="通许县教师进修学校", institution=people["_tx_centre"])
    t.objects.update(_learning_records(p))
    t.objects.update(_course_library(p))
    t.objects.update(_guidance(p, people))
    t.objects.update(_accreditations(p, people))
    t.objects.update(_trainers(p, people, tx_open, qx_open))
    t.objects.update(_ratings(p, tx_open))
    t.objects.update(_performance(p, people, tx_open, tx_held))
    t.objects.update(_supervision(p, people, tx_open, qx_other))
    t.objects.update(_evaluation_instruments(p, people))
    t.objects.update(_selection(p, people, tx_free_teacher))
    t.objects.update(_selection_city(p, people))
    t.objects.update(_funding_entries(p, people, tx_open))
    t.objects |= {"tx_open": tx_open, "tx_draft": tx_draft, "qx_open": qx_open, "qx_other": qx_other,
                 "pending": pending, "admitted": admitted, "qx_pending": qx_pending, "session": session,
                 "tx_plan": tx_plan, "tx_plan_2027": tx_plan_2027, "lankao_plan": lankao_plan, "qx_claim": qx_claim,
                 "tx_claim": tx_claim, "tx_approved_claim": tx_approved_claim,
                 "tx_refused_claim": tx_refused_claim, "lankao_request": lankao_request, "tx_request": tx_request, "token": token,
                 "tx_colleague": tx_colleague, "tx_free_teacher": tx_free_teacher, "qx_free_teacher": qx_free_teacher,
                 "tx_free": tx_free, "tx_free_api": tx_free_api, "tx_unaccredited": tx_unaccredited,
                 "tx_held": tx_held, "province": p, "people": people}
    return t


def _learning_records(p) -> dict[str, Any]:
    """通许县's course provider, its credited course, a completion of 李四's held for a decision,
    and 李四's registered account on it."""
    from access.scope import Scope
    from lrs.clients import client_create
    from lrs.crediting import credits_process
    from lrs.keys import value_hash
    from lrs.learners import learner_identity_add
    from lrs.models import CreditedActivity, StatementCredit
    from lrs.statements import statements_store

    client, _ = client_create(scope=Scope.division(p.sibling), actor=None, name="通许研修网", division=p.sibling,
                              activity_prefixes=["https://tx.example.org/"])
    course = "https://tx.example.org/c/1"
    credited = CreditedActivity.objects.create(activity_iri=course, activity_hash=value_hash(course), title="通许课程",
                                               hours=2, division=p.sibling, division_path=p.sibling.path)
    [identity, *_] = learner_identity_add(scope=Scope.division(p.sibling), actor=None, teacher=p.sibling_teacher,
                                          kind="account", value="li-si", home_page="https://tx.example.org")
    statements_store(scope=Scope.for_client(client), client=client, statements=[{
        "actor": {"account": {"homePage": "https://tx.example.org", "name": "li-si"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"}, "object": {"id": course}}])
    credit = StatementCredit.objects.dangerously_unscoped().get()
    credits_process([credit.pk])  # held: nothing before the completion
    return {"tx_lrs_client": client, "tx_credited": credited, "tx_credit": credit, "tx_identity": identity}


def _course_library(p) -> dict[str, Any]:
    """A province-registered provider, and 通许县's courses: a draft, a published one, a duplicate."""
    from access.scope import Scope
    from learning.models import Course, Provider

    provider = Provider.objects.create(code="smartedu", name="国家智慧教育平台", kind="national", division=p.province,
                                       division_path=p.province.path, iri_base="https://smartedu.example.org/c/")
    made = {}
    for key, code, state in (("tx_course", "TX-1", "draft"), ("tx_published", "TX-2", "draft"),
                             ("tx_duplicate", "TX-3", "draft")):
        made[key] = Course.objects.create(provider=provider, code=code, title=f"通许课程{code}", hours=2, level="county",
                                          activity_iri=f"https://smartedu.example.org/c/{code}", state=state,
                                          division=p.sibling, division_path=p.sibling.path)
    from learning.services import course_publish

    course_publish(scope=Scope.division(p.sibling), actor=None, course_id=made["tx_published"].pk)
    # a course 通许县's teachers study on the player, and one 李四 has finished (to rate)
    made["tx_video"] = Course.objects.create(
        provider=provider, code="TX-V", title="通许视频课", hours=1, level="county", format="video",
        media_url="/static/learning/short-clip.webm", duration_seconds=600,
        activity_iri="https://smartedu.example.org/c/TX-V", state="draft", division=p.sibling,
        division_path=p.sibling.path)
    course_publish(scope=Scope.division(p.sibling), actor=None, course_id=made["tx_video"].pk)
    from learning.models import CourseEnrolment

    CourseEnrolment.objects.create(teacher=p.sibling_teacher, course=made["tx_published"], state="completed",
                                   completed_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    return made


def _accreditations(p, people) -> dict[str, Any]:
    """通许县教师发展中心's accreditations, applied for by its staff and decided by 通许县: a draft with
    evidence, one submitted, one approved, one suspended."""
    from access.scope import scope_for_user
    from institutions import services

    staff, county = people["tx_staff"], people["sibling_admin"]
    made = {}
    for key in ("tx_accr_draft", "tx_accr_submitted", "tx_accr_approved", "tx_accr_suspended"):
        row = services.accreditation_apply(scope=scope_for_user(staff), actor=staff,
                                           institution_id=people["_tx_centre"].pk, levels=["county"],
                                           categories=["backbone"], modes=["online"], files=[accr_pdf()])
        if key != "tx_accr_draft":
            services.accreditation_submit(scope=scope_for_user(staff), actor=staff, accreditation_id=row.pk)
        if key in ("tx_accr_approved", "tx_accr_suspended"):
            services.accreditation_decide(scope=scope_for_user(county), actor=county, accreditation_id=row.pk,
                                          decision="approve", scores=ACCR_SCORES, valid_from=dt.date(2026, 12, 1),
                                          valid_until=dt.date(2029, 11, 30))
        if key == "tx_accr_suspended":
            services.accreditation_suspend(scope=scope_for_user(county), actor=county, accreditation_id=row.pk,
                                           reason="学员投诉核查中")
        made[key] = row
    from institutions.models import TrainingBase

    made["tx_base"] = TrainingBase.objects.create(
        name="通许县第一小学跟岗基地", kind="school", division=p.sibling, school=p.sibling_school, stages=["primary"],
        seats_per_term=30, designated_on=dt.date(2026, 9, 1))
    return made


def _performance(p, people, tx_open, tx_held) -> dict[str, Any]:
    """The 2026 weights and ranking: 通许县's open project flagged (a case to appeal), its held one
    flagged and appealed by 通许县 (a case for the province to decide); 2025 weights to rank."""
    from decimal import Decimal

    from evaluation.models import EliminationCase, ProjectScore, ScoreWeights

    weights = {"supervision": Decimal("0.4"), "rating": Decimal("0.2"), "outcome": Decimal("0.2"),
               "stakeholder": Decimal("0.2"), "bottom_share": Decimal("0.1")}
    ScoreWeights.objects.create(year=2025, **weights)
    w2026 = ScoreWeights.objects.create(year=2026, **weights)
    made = {}
    for key, project, rank in (("tx_case", tx_open, 5), ("tx_case_appealed", tx_held, 4)):
        score = ProjectScore.objects.create(project=project, weights=w2026, year=2026, level="county",
                                            category="backbone", division_path=project.division_path,
                                            institution=project.institution, supervision=50.0, outcome=40.0,
                                            composite=-1.0, normalised=-1.0, rank=rank, group_size=5, flagged=True)
        made[key] = EliminationCase.objects.create(score=score)
    EliminationCase.objects.dangerously_unscoped().filter(pk=made["tx_case_appealed"].pk).update(
        state="appealed", appeal_text="视导评分有误，请复核", appealed_by=people["sibling_admin"],
        appealed_at=dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    return made


def weights_state(t):
    from evaluation.models import ScoreWeights

    return tuple(ScoreWeights.objects.dangerously_unscoped().order_by("pk").values_list("year", "version"))


def ranking_state(t):
    from audit.models import AuditEvent
    from evaluation.models import ProjectScore

    return (AuditEvent.objects.dangerously_unscoped().filter(action="evaluation.rank").count(),
            tuple(ProjectScore.objects.dangerously_unscoped().order_by("pk").values_list("pk", "year", "rank")))


def case_state(key):
    def probe(t):
        from evaluation.models import EliminationCase

        return tuple(EliminationCase.objects.dangerously_unscoped().filter(pk=t.objects[key].pk).values_list(
            "state", "appeal_text", "appealed_by_id", "decided_by_id", "sanction"))

    return probe


WEIGHTS_FORM = {"year": 2027, "supervision": "0.4", "rating": "0.2", "outcome": "0.2", "stakeholder": "0.2",
                "bottom_share": "0.1", "min_group": 5}


def bases_state(t):
    from institutions.models import TrainingBase
    return tuple(TrainingBase.objects.dangerously_unscoped().order_by("pk").values_list("pk", "name", "seats_per_term"))


def _base_form(t):
    return {"name": "通许县实验幼儿园", "kind": "kindergarten", "school_code": t.province.sibling_school.code,
            "stages": ["kindergarten"], "seats_per_term": "8", "designated_on": "2026-09-01", "active": "on"}


ACCR_SCORES = {"trainers": 25, "sites": 15, "performance": 25, "management": 15}


def accr_pdf():
    return SimpleUploadedFile("资质证明.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")


def accreditations_state(t):
    from institutions.models import Accreditation, AccreditationEvidence
    return (tuple(Accreditation.objects.dangerously_unscoped().order_by("pk").values_list(
                "pk", "state", "valid_until", "decided_by_id")),
            AccreditationEvidence.objects.dangerously_unscoped().count())


def _trainers(p, people, tx_open, qx_open) -> dict[str, Any]:
    """通许县's pool: a trainer with an unavailable period, and one booked on a second session of
    通许县's project; 杞县's pool: 张三 (the `teacher` persona) as a trainer, and a 杞县 session; 兰考县's
    pool (the city only reads it)."""
    from access.scope import scope_for_user
    from trainers import services

    def add(who, **values):
        user = people[who]
        return services.trainer_create(scope=scope_for_user(user), actor=user, **{
            "source": "research_staff", "stages": ["primary"], "subjects": ["chinese"], "topics": ["homework"],
            **values})

    tx_trainer, tx_booked = add("sibling_admin", name="通许培训师"), add("sibling_admin", name="通许授课者")
    qx_trainer = add("county_admin", teacher_id=p.teacher.pk, source="master_teacher")
    lk_trainer = add("direct_admin", name="兰考培训师")
    admin = people["sibling_admin"]
    period = services.unavailability_add(scope=scope_for_user(admin), actor=admin, trainer_id=tx_trainer.pk,
                                         starts_on=dt.date(2026, 12, 10), ends_on=dt.date(2026, 12, 12))
    tx_session_2 = ProjectSession.objects.create(project=tx_open, number=2, title="第2天", held_on=dt.date(2026, 12, 1),
                                                 check_in_code="135791")
    services.booking_create(scope=scope_for_user(admin), actor=admin, trainer_id=tx_booked.pk,
                            session_id=tx_session_2.pk)
    qx_session = ProjectSession.objects.create(project=qx_open, number=1, title="第1天", held_on=dt.date(2026, 12, 3),
                                               check_in_code="135792")
    return {"tx_trainer": tx_trainer, "tx_booked": tx_booked, "qx_trainer": qx_trainer, "lk_trainer": lk_trainer,
            "tx_period": period, "tx_session_2": tx_session_2, "qx_session": qx_session}


def _ratings(p, tx_open) -> dict[str, Any]:
    """A published rating questionnaire; a window on 通许县's project (nobody has rated); a 杞县 project
    with 张三 (the `teacher` persona) enrolled and its window open today."""
    from evaluation.models import Instrument, InstrumentItem, RatingWindow

    questionnaire = Instrument.objects.create(code="WM-R", kind="rating", title="满意度", division=p.province,
                                              state="published")
    InstrumentItem.objects.create(instrument=questionnaire, number=1, text="总体满意度", dimension="overall")
    tx_window = RatingWindow.objects.create(project=tx_open, instrument=questionnaire, opens_on=dt.date(2026, 11, 20),
                                            closes_on=dt.date(2026, 11, 30))
    qx_rated = _project("QX-R", p.county, state="closed")
    Enrolment.objects.create(project=qx_rated, teacher=p.teacher, state="enrolled")
    RatingWindow.objects.create(project=qx_rated, instrument=questionnaire, opens_on=dt.date(2026, 11, 20),
                                closes_on=dt.date(2026, 11, 30))
    return {"questionnaire": questionnaire, "tx_window": tx_window, "qx_rated": qx_rated}


def ratings_state(t):
    from evaluation.models import RatingParticipation, RatingResponse, RatingWindow

    return (RatingParticipation.objects.dangerously_unscoped().count(), RatingResponse.objects.dangerously_unscoped().count(),
            sorted(RatingWindow.objects.dangerously_unscoped().values_list("project_id", "opens_on", "closes_on")))


def trainers_state(t):
    from trainers.models import Trainer, TrainerBooking, TrainerLevelChange, TrainerUnavailability
    return (tuple(Trainer.objects.dangerously_unscoped().order_by("pk").values_list(
                "pk", "name", "grade", "active", "organisation", "topics")),
            tuple(TrainerUnavailability.objects.dangerously_unscoped().order_by("pk").values_list(
                "trainer_id", "starts_on", "ends_on")),
            tuple(TrainerBooking.objects.dangerously_unscoped().order_by("pk").values_list(
                "trainer_id", "session_id", "held_on")),
            TrainerLevelChange.objects.dangerously_unscoped().count())


def _trainer_form(**extra):
    return lambda t: {"source": "research_staff", "name": "改名", "stages": "primary", "topics": "homework",
                      "organisation": "教研室", "active": "1", **extra}


def _supervision(p, people, tx_open, qx_other) -> dict[str, Any]:
    """Evaluation (supervision): the province's published rubrics; 通许县's rubrics (a draft, a published
    one); 吴专家 named to supervise 通许县's project with a visit of his, the province's administrator
    named with nothing recorded; a 杞县第一小学 teacher enrolled on 杞县's second project."""
    from evaluation.models import OutcomeReview, Rubric, SupervisionVisit, Supervisor

    criteria = [{"code": "a", "label": "组织", "max": 10}, {"code": "b", "label": "成效", "max": 20}]
    made = {f"hn_{kind}": Rubric.objects.create(code=f"HN-{kind}", kind=kind, title=f"省{kind}量规", division=p.province,
                                                state="published", criteria=criteria)
            for kind in ("visit", "outcome", "stakeholder")}
    made["tx_rubric_draft"] = Rubric.objects.create(code="TX-R1", kind="visit", title="通许县视导量规", division=p.sibling,
                                                    criteria=criteria)
    made["tx_rubric"] = Rubric.objects.create(code="TX-R2", kind="outcome", title="通许县成果量规", division=p.sibling,
                                              state="published", criteria=criteria)
    Supervisor.objects.create(project=tx_open, user=people["tx_expert"], assigned_by=people["sibling_admin"])
    made["tx_idle_supervisor"] = Supervisor.objects.create(project=tx_open, user=people["province_admin"])
    made["tx_review"] = OutcomeReview.objects.create(
        project=tx_open, rubric=made["tx_rubric"], reviewer=people["tx_expert"], title="通许县成果", kind="report",
        scores={"a": 8, "b": 15}, total="76.7")
    made["tx_visit"] = SupervisionVisit.objects.create(
        project=tx_open, rubric=made["hn_visit"], visitor=people["tx_expert"], visited_on=dt.date(2026, 11, 20),
        scores={"a": 8, "b": 15}, total="76.7", note="通许县视导意见")
    Enrolment.objects.create(project=qx_other, teacher=TeacherFactory(school=p.school, name="孙十一"), state="enrolled")
    return made


def supervision_state(t):
    from evaluation.models import OutcomeReview, StakeholderRating, SupervisionVisit, Supervisor
    return (tuple(SupervisionVisit.objects.dangerously_unscoped().order_by("pk").values_list(
                "project_id", "visitor_id", "total", "note", "visited_on")),
            tuple(OutcomeReview.objects.dangerously_unscoped().order_by("pk").values_list("project_id", "total", "title",
                                                                                          "file_name")),
            tuple(StakeholderRating.objects.dangerously_unscoped().order_by("pk").values_list("project_id", "unit_key")),
            tuple(Supervisor.objects.dangerously_unscoped().order_by("pk").values_list("project_id", "user_id")))


def rubrics_state(t):
    from evaluation.models import Rubric
    return tuple(Rubric.objects.dangerously_unscoped().order_by("pk").values_list(
        "pk", "code", "version", "state", "title", "criteria"))


def _scored(rubric, **extra):
    return lambda t: {"rubric": t.objects[rubric].pk, "score_a": "8", "score_b": "15", "note": "意见", **extra}


def _scored_json(rubric, **extra):
    return lambda t: {"rubric_id": t.objects[rubric].pk, "scores": {"a": 8, "b": 15}, "note": "意见", **extra}


# --- probes: the state a case may change ---------------------------------------------------

def _guidance(p, people) -> dict[str, Any]:
    """通许县's primary-Chinese team (吴专家 its lead, a second member), paired with its first school;
    李四's questions: one waiting, one answered, one resolved; a common problem; a message to 李四."""
    from django.utils import timezone

    from guidance.models import GuidanceTeam, ProblemCluster, Question, TeamSchool
    from notifications.models import Notification
    from org.models import School

    now = timezone.now()
    team = GuidanceTeam.objects.create(name="通许县小学语文团队", division=p.sibling, division_path=p.sibling.path,
                                       stage="primary", subject="chinese")
    lead = team.members.create(teacher=people["tx_expert"].teacher, role="research_staff", is_lead=True)
    second = team.members.create(teacher=TeacherFactory(school=p.sibling_school, name="冯专家"), role="master_teacher")
    TeamSchool.objects.create(team=team, school=p.sibling_school, stage="primary", subject="chinese",
                              division_path=p.sibling.path)
    other_school = School.objects.create(code="4102220002", name="通许县第二小学", division=p.sibling)

    def question(text, **extra):
        return Question.objects.create(teacher=p.sibling_teacher, division_path=p.sibling.path,
                                       school=p.sibling_school, stage="primary", subject="chinese", text=text,
                                       team=team, assignee=lead, due_at=now, **extra)

    waiting = question("识字教学怎样设计游戏？")
    answered = question("作文怎样写具体？", state="answered", first_answered_at=now)
    answered.messages.create(author=people["tx_expert"], is_answer=True, member=lead, body="先观察")
    resolved = question("古诗怎样教？", state="resolved", first_answered_at=now, resolved_at=now)
    cluster = ProblemCluster.objects.create(division=p.sibling, division_path=p.sibling.path, stage="primary",
                                            subject="chinese", period_start=now.date(), period_end=now.date(), size=6,
                                            keywords=["识字", "游戏"], examples=[], question_ids=[])
    notice = Notification.objects.create(recipient=people["sibling_teacher_user"], kind="question.answered",
                                         title="您的问题有了解答", event_key="m:1")
    from accounts.models import User

    User.objects.filter(pk=people["sibling_teacher_user"].pk).update(unread_notices=1)
    return {"tx_team": team, "tx_lead": lead, "tx_second": second, "tx_other_school": other_school,
            "tx_waiting": waiting, "tx_answered": answered, "tx_resolved": resolved, "tx_cluster": cluster,
            "tx_notice": notice}


def _row(model, pk, *fields):
    return tuple(model.objects.dangerously_unscoped().filter(pk=pk).values_list(*fields).first() or ())


def teacher_state(t):
    return _row(Teacher, t.province.sibling_teacher.pk, "name", "title", "school_id")


def direct_teacher_state(t):
    return _row(Teacher, t.province.direct_teacher.pk, "name", "title", "school_id")


def project_state(key):
    return lambda t: _row(Project, t.objects[key].pk, "title", "state", "seats", "plan_id")


def enrolment_state(key):
    return lambda t: _row(Enrolment, t.objects[key].pk, "state", "assessment_passed")


def enrolments_of(key):
    return lambda t: tuple(sorted(Enrolment.objects.dangerously_unscoped().filter(project=t.objects[key])
                                  .values_list("teacher_id", "state")))


def sessions_of(t):
    return ProjectSession.objects.dangerously_unscoped().filter(project=t.tx_open).count()


def attendance_of(t):
    return Attendance.objects.dangerously_unscoped().filter(session__project=t.tx_open).count()


def ledger_of(t):
    return tuple(sorted((row[0], row[1], row[2], str(row[3])) for row in LedgerEntry.objects.dangerously_unscoped()
                        .values_list("teacher_id", "source_type", "state", "school_checked_at")))


def completion_of(t):
    return ledger_of(t), _row(Project, t.tx_open.pk, "completion_judged_at")


def _completion_digest(t):
    from access.scope import Scope
    from catalog.attendance import completion_preview

    project = Project.objects.dangerously_unscoped().get(pk=t.tx_open.pk)
    return completion_preview(scope=Scope.division(t.province.sibling), project=project).digest


def plan_state(key):
    return lambda t: (_row(AnnualPlan, t.objects[key].pk, "state", "checked_at", "decided_by_id"),
                      tuple(sorted(t.objects[key].projects.values_list("pk", flat=True))))


def plans_of(t):
    return AnnualPlan.objects.dangerously_unscoped().count()


def request_state(key):
    return lambda t: _row(ExportRequest, t.objects[key].pk, "state", "decided_by_id")


def requests_of(t):
    return ExportRequest.objects.dangerously_unscoped().count()


def token_state(t):
    return _row(ApiToken, t.token.pk, "revoked_at")


def tokens_of(t):
    return ApiToken.objects.dangerously_unscoped().count()


def account_state(persona):
    """An account's password hash, forced-change flag and mobile index (accounts are reached
    through their binding, so User has Django's own manager)."""
    def probe(t):
        from accounts.models import User

        return tuple(User.objects.filter(pk=t.people[persona].pk)
                     .values_list("password", "must_change_password", "mobile_index").first())
    return probe


NEW_PASSWORD = {"current_password": "Lz7-quiet-harbour-48", "new_password": "Ruby-orchard-walk-61",
                "new_password_again": "Ruby-orchard-walk-61"}


def projects_of(t):
    return tuple(sorted(Project.objects.dangerously_unscoped().values_list("code", "title", "state")))


def teachers_in_tongxu(t):
    return tuple(sorted(Teacher.objects.dangerously_unscoped().filter(division_path=t.province.sibling.path)
                        .values_list("name", flat=True)))


def aliases(t):
    return tuple(sorted(OrganiserAlias.objects.values_list("name", "institution_id")))


def rules_state(t):
    from credits.models import RuleSet
    return RuleSet.objects.count()


def compliance_state(t):
    from credits.models import ComplianceRefresh
    return tuple(ComplianceRefresh.objects.values_list("computed_at", flat=True))


def lrs_clients(t):
    from lrs.models import LrsClient
    return tuple(LrsClient.objects.dangerously_unscoped().values_list("name", "revoked_at").order_by("pk"))


def credited_activities(t):
    from lrs.models import CreditedActivity
    return tuple(CreditedActivity.objects.dangerously_unscoped().values_list("activity_iri", "active").order_by("pk"))


def credit_state(t):
    from lrs.models import StatementCredit
    return _row(StatementCredit, t.tx_credit.pk, "state", "decided_by_id")


def identities(t):
    from lrs.models import LearnerIdentity
    return tuple(LearnerIdentity.objects.dangerously_unscoped().values_list("teacher_id", "agent_key").order_by("pk"))


def questions_state(t):
    from guidance.models import Question, QuestionMessage
    return (tuple(Question.objects.dangerously_unscoped().order_by("pk").values_list(
                "pk", "state", "assignee_id", "rating", "matched_id")),
            QuestionMessage.objects.dangerously_unscoped().count())


def teams_state(t):
    from guidance.models import GuidanceTeam, TeamMember, TeamSchool
    return (tuple(GuidanceTeam.objects.dangerously_unscoped().order_by("pk").values_list("name", "is_active")),
            tuple(TeamMember.objects.dangerously_unscoped().order_by("pk").values_list(
                "teacher_id", "role", "is_lead", "is_available")),
            tuple(TeamSchool.objects.dangerously_unscoped().order_by("pk").values_list("team_id", "school_id")))


def clusters_state(t):
    from guidance.models import ProblemCluster
    return (tuple(ProblemCluster.objects.dangerously_unscoped().order_by("pk").values_list("pk", "project_id")),
            Project.objects.dangerously_unscoped().count())


def hours_rules(t):
    from guidance.models import HoursRule
    return tuple(HoursRule.objects.order_by("pk").values_list("effective_from", "expert_hours"))


def notices_state(t):
    from notifications.models import Notification
    return tuple(Notification.objects.dangerously_unscoped().order_by("pk").values_list("pk", "read_at"))


def notice_settings(t):
    """李四's own digest setting: others saving theirs must not touch it."""
    from notifications.models import NoticePreference
    return tuple(NoticePreference.objects.dangerously_unscoped().filter(user__username="teacher-2")
                 .values_list("digest", flat=True))


def courses_state(t):
    from learning.models import Course
    return tuple(Course.objects.dangerously_unscoped().order_by("pk").values_list("code", "state", "merged_into_id"))


def studies(t):
    from learning.models import CourseEnrolment, StudySession
    return (tuple(CourseEnrolment.objects.dangerously_unscoped().order_by("pk").values_list("teacher_id", "course_id",
                                                                                           "state", "rating")),
            tuple(StudySession.objects.dangerously_unscoped().order_by("pk").values_list("pk", "active", "last_seq")))


def providers_of(t):
    from learning.models import Provider
    return tuple(Provider.objects.dangerously_unscoped().order_by("pk").values_list("code", flat=True))


def catalogue_file(t):
    body = "提供方,课程编号,课程名称,学时\nsmartedu,QX-1,杞县课程,2\n"
    return {"file": SimpleUploadedFile("catalogue.csv", body.encode("utf-8"))}


# --- uploads -------------------------------------------------------------------------------

def roster_file(t):
    from people.roster.columns import COLUMNS
    from people.tests.factories import make_id_number

    line = ["", "新来的", make_id_number(401, area="410222"), t.province.sibling_school.code, "小学", "语文",
            "一级教师", "2015-09-01", "在岗", ""]
    body = ",".join(COLUMNS) + "\n" + ",".join(line) + "\n"
    return {"file": SimpleUploadedFile("roster.csv", body.encode("utf-8"))}


def external_file(t):
    from credits.external_import import COLUMNS

    teacher = t.province.sibling_teacher
    row = [teacher.id_number, teacher.name, "国家平台专题学习", "通许县教师进修学校", "6", "网络研修", "2026-03-05", "CERT-M-1"]
    return {"file": SimpleUploadedFile("hours.csv", (",".join(COLUMNS) + "\n" + ",".join(row) + "\n").encode("utf-8"))}


def attendance_file(t):
    body = f"报名编号,姓名,场次序号\n{t.admitted.pk},{t.tx_colleague.name},1\n"
    return {"file": SimpleUploadedFile("attendance.csv", body.encode("utf-8"))}


def external_entries(t):
    return LedgerEntry.objects.dangerously_unscoped().filter(source_type=SourceType.EXTERNAL).count()


# --- the cases -----------------------------------------------------------------------------

@dataclass
class Case:
    name: str
    method: str  # "post" (form), "json" (POST JSON), "patch", "delete", "upload" (multipart POST)
    url: Callable[[Targets], str]
    data: Callable[[Targets], dict]
    probe: Callable[[Targets], Any]
    ok: dict[str, int]  # persona -> status; the write happens
    no: dict[str, int]  # persona -> status; nothing changes


# 通许县's rows seen from elsewhere: another county of the city, another city, a school of
# 杞县, a teacher, an institution that does not run the project.
TX_OUT = {"county_admin": 404, "other_city_admin": 404, "school_admin": 404}
TX_IN_PAGE = {"sibling_admin": 302, "city_admin": 302, "province_admin": 302}


# --- evaluation: instruments and assessments -------------------------------------------------

def _evaluation_instruments(p, people) -> dict[str, Any]:
    """通许县's draft and published assessment; its project TX-EV (run by 通许县's centre) with 李四
    admitted and a 训中 assessment open on the matrix's day."""
    from access.scope import scope_for_user
    from evaluation import instruments as ev
    from evaluation.models import ProjectInstrument

    admin = people["sibling_admin"]
    scope = scope_for_user(admin)
    items = [{"text": "我能设计分层作业", "dimension": "homework"}]
    draft = ev.instrument_create(scope=scope, actor=admin, kind="assessment", code="TX-DRAFT", title="通许县测评草稿",
                                 items=items)
    published = ev.instrument_create(scope=scope, actor=admin, kind="assessment", code="TX-PUB", title="通许县测评",
                                     items=items)
    ev.instrument_publish(scope=scope, actor=admin, instrument_id=published.pk)
    ev_project = _project("TX-EV", p.sibling, state="open", institution=people["_tx_centre"])
    Enrolment.objects.create(project=ev_project, teacher=p.sibling_teacher, state="enrolled")
    mid = ProjectInstrument.objects.create(project=ev_project, instrument=published, point="mid",
                                           opens_on=dt.date(2026, 11, 20), closes_on=dt.date(2026, 12, 10))
    return {"tx_instrument_draft": draft, "tx_instrument": published, "tx_ev_project": ev_project, "tx_mid": mid}


def evaluation_instruments_state(t):
    from evaluation.models import (
        AssessmentResponse,
        DimensionScore,
        Instrument,
        InstrumentItem,
        ProjectInstrument,
        TeachingOutcome,
    )

    return (tuple(Instrument.objects.dangerously_unscoped().order_by("pk").values_list("pk", "state", "title", "version")),
            InstrumentItem.objects.dangerously_unscoped().count(),
            tuple(ProjectInstrument.objects.dangerously_unscoped().order_by("pk").values_list(
                "pk", "point", "opens_on", "closes_on")),
            AssessmentResponse.objects.dangerously_unscoped().count(), DimensionScore.objects.dangerously_unscoped().count(),
            tuple(TeachingOutcome.objects.dangerously_unscoped().order_by("pk").values_list("teacher_id", "year", "value")))


def _outcome_file(t):
    teacher = t.province.sibling_teacher
    text = f"身份证号,姓名,指标,学年,数值\n{teacher.id_number},{teacher.name},课堂观察,2025,80\n"
    return {"file": SimpleUploadedFile("成效.csv", text.encode(), content_type="text/csv")}


EV_FORM = {"title": "通许县测评（改）", "scale_min": "1", "scale_max": "5", "text_1": "我能设计分层作业",
           "dimension_1": "homework"}


RATE_FORM = {"level": "county", "percent": "22", "effective_from": "2031-01-01", "note": "提高县级比例"}
ALLOCATION_FORM = {"division": "410222", "year": "2026", "total": "1", "basis": "teachers"}


def quota_rates_state(t):
    from quotas.target_models import TargetRate

    return tuple(TargetRate.objects.dangerously_unscoped().order_by("pk").values_list("level", "version", "percent"))


def quota_baselines_state(t):
    from quotas.target_models import TargetBaseline

    return TargetBaseline.objects.dangerously_unscoped().count()


def quota_allocations_state(t):
    from quotas.target_models import Allocation, AllocationShare

    return (tuple(Allocation.objects.dangerously_unscoped().order_by("pk").values_list("division__code", "version",
                                                                                       "is_current")),
            AllocationShare.objects.dangerously_unscoped().count())
# --- funding ---------------------------------------------------------------------------------

def funding_state(t):
    from funding.models import (
        DivisionFunding,
        FundingImport,
        ProjectSpend,
        SchoolFunding,
        TrainingBudget,
    )

    return (tuple(DivisionFunding.objects.dangerously_unscoped().order_by("pk")
                  .values_list("division_id", "year", "payroll", "ratio_percent")),
            tuple(SchoolFunding.objects.dangerously_unscoped().order_by("pk")
                  .values_list("school_id", "year", "public_budget", "training_budget")),
            TrainingBudget.objects.dangerously_unscoped().count(), ProjectSpend.objects.dangerously_unscoped().count(),
            FundingImport.objects.dangerously_unscoped().count())


def _funding_pdf():
    return SimpleUploadedFile("凭证.pdf", b"%PDF-1.4\n%funding\n", content_type="application/pdf")


def _funding_file(t):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["区划代码", "年度", "教师工资总额（元）", "培训经费比例（%）", "更正原因"])
    book.active.append([t.province.sibling.code, 2027, 50000000, 2, ""])
    handle = io.BytesIO()
    book.save(handle)
    return {"kind": "division", "file": SimpleUploadedFile("经费.xlsx", handle.getvalue())}


def _f(**data):
    return lambda t: data


def _funding_entries(p, people, tx_open) -> dict[str, Any]:
    """通许县's direct budget entry, and spend on its open project as an import writes it (no evidence)."""
    from decimal import Decimal

    from funding.models import ProjectSpend, TrainingBudget

    budget = TrainingBudget.objects.create(division=p.sibling, division_path=p.sibling.path, year=2026,
                                           amount=Decimal("300000"), purpose="通许县骨干培训",
                                           created_by=people["sibling_admin"])
    spend = ProjectSpend.objects.create(project=tx_open, division_path=tx_open.division_path, amount=Decimal("1200"),
                                        spent_on=dt.date(2026, 11, 1), note="讲课费", created_by=people["sibling_admin"])
    return {"tx_budget": budget, "tx_spend": spend}


def funding_entries_state(t):
    """Budget and spend entries as they stand (a correction, a deletion mark, evidence, a mark of the
    level above), and the divisions' figures with theirs."""
    from funding.models import DivisionFunding, ProjectSpend, TrainingBudget

    return (tuple(TrainingBudget.objects.dangerously_unscoped().order_by("pk")
                  .values_list("pk", "year", "amount", "purpose", "deleted_at", "entered_above_at")),
            tuple(ProjectSpend.objects.dangerously_unscoped().order_by("pk")
                  .values_list("pk", "amount", "spent_on", "note", "evidence", "deleted_at")),
            tuple(DivisionFunding.objects.dangerously_unscoped().order_by("pk")
                  .values_list("division_id", "year", "payroll", "ratio_percent", "entered_above_at")))


# --- quotas: selection of nominees for high-end projects --------------------------------------

def _selection(p, people, tx_free_teacher) -> dict[str, Any]:
    """通许县's high-end project, and 通许县's ranked list for it (built by its administrator): 李四 and
    周八 ranked, one selected and one in reserve; 吴九 added to the roster after the list was built."""
    from access.scope import scope_for_user
    from quotas import selection
    from quotas.tests.helpers import high_end

    tx_high_end = high_end(p.sibling, code="TX-HE", level="county", seats=4)
    admin = people["sibling_admin"]
    tx_free_teacher.status = "leave"
    tx_free_teacher.save(update_fields=["status"])
    nlist = selection.nomination_list_build(scope=scope_for_user(admin), actor=admin, project_id=tx_high_end.pk,
                                            seats=1, reserve=5, today=TODAY)
    tx_free_teacher.status = "active"
    tx_free_teacher.save(update_fields=["status"])
    selected = nlist.picks.get(role="selected")
    return {"tx_high_end": tx_high_end, "tx_nlist": nlist, "tx_selected": selected}


def _selection_city(p, people) -> dict[str, Any]:
    """开封市's high-end project (市级, 2027) and its 2027 市级 seats allocated to its counties: 杞县
    and 通许县 one each. A county inside the city's area ranks its teachers for it within its share;
    the city (the organiser) is not capped by a share."""
    from access.scope import Scope
    from quotas.targets import allocation_create
    from quotas.tests.helpers import high_end

    city_high_end = high_end(p.city, code="KF-HE", level="city", seats=6)
    allocation_create(scope=Scope.division(p.city), actor=people["city_admin"], division_code=p.city.code, year=2027,
                      total=2, weights={p.county.code: 1, p.sibling.code: 1})
    return {"city_high_end": city_high_end}


def selection_state(t):
    from catalog.models import Enrolment
    from quotas.selection_models import (
        NominationList,
        NominationOverride,
        NominationPick,
        PriorityRuleSet,
    )

    return (tuple(PriorityRuleSet.objects.dangerously_unscoped().order_by("pk").values_list("division_path", "version")),
            tuple(NominationList.objects.dangerously_unscoped().order_by("pk").values_list("pk", "state")),
            tuple(NominationPick.objects.dangerously_unscoped().order_by("pk").values_list("teacher_id", "role",
                                                                                          "outcome")),
            NominationOverride.objects.dangerously_unscoped().count(),
            Enrolment.objects.dangerously_unscoped().filter(project=t.tx_high_end).count())


SELECTION_NO_PAGE = {"county_admin": 404, "other_city_admin": 404, "city_admin": 403, "school_admin": 403,
                     "teacher": 403, "tx_staff": 403, "tx_expert": 403}
SELECTION_NO_API = {"county_admin": 404, "other_city_admin": 404, "city_admin": 403, "school_admin": 403,
                    "teacher": 403}


CASES = [
    # --- people ---------------------------------------------------------------------------
    Case("teacher edit", "post", lambda t: f"/teachers/{t.province.sibling_teacher.pk}/edit/",
         lambda t: {"name": "改名", "school_code": t.province.sibling_school.code, "stage": "primary",
                    "main_subject": "math", "title": "senior", "hire_date": "2011-09-01", "status": "active",
                    "honours": ""},
         teacher_state, ok=TX_IN_PAGE, no={**TX_OUT, "teacher": 403, "staff": 403}),
    Case("teacher edit, 省直管县", "post", lambda t: f"/teachers/{t.province.direct_teacher.pk}/edit/",
         lambda t: {"name": "改名", "school_code": t.province.direct_school.code, "stage": "primary",
                    "main_subject": "math", "title": "senior", "hire_date": "2011-09-01", "status": "active",
                    "honours": ""},
         direct_teacher_state, ok={"direct_admin": 302, "province_admin": 302},
         no={"city_admin": 403, "county_admin": 404, "school_admin": 404}),
    Case("reveal a full ID number", "post", lambda t: f"/teachers/{t.province.sibling_teacher.pk}/reveal-id/", _f(),
         lambda t: __import__("audit.models").models.AuditEvent.objects.dangerously_unscoped()
         .filter(action="teacher.id_reveal").count(),
         ok={"sibling_admin": 200, "city_admin": 200, "sibling_teacher_user": 200},
         no={**TX_OUT, "teacher": 404, "staff": 404}),
    Case("roster import into 通许县", "upload", lambda t: "/teachers/roster/import/", roster_file, teachers_in_tongxu,
         ok={"sibling_admin": 302, "province_admin": 302},
         no={"county_admin": 302, "other_city_admin": 302, "school_admin": 302, "teacher": 403, "staff": 403}),
    Case("ask for a full-ID export", "post", lambda t: "/teachers/roster/export-requests/",
         _f(reason="职称评审名单报送", full_ids="1"), requests_of,
         ok={"county_admin": 302, "school_admin": 302, "province_admin": 302},
         no={"teacher": 403, "staff": 403}),
    Case("approve a 省直管县's export", "post", lambda t: "/teachers/roster/export-requests/",
         lambda t: {"decide": t.lankao_request.pk, "approve": "1"}, request_state("lankao_request"),
         # the requester sees its own request (403), a city only reads its 省直管县 (404: not its to decide)
         ok={"province_admin": 302}, no={"city_admin": 404, "sibling_admin": 404, "county_admin": 404,
                                         "school_admin": 404, "direct_admin": 403, "teacher": 403}),
    Case("approve 通许县's export", "post", lambda t: "/teachers/roster/export-requests/",
         lambda t: {"decide": t.tx_request.pk, "approve": "1"}, request_state("tx_request"),
         ok={"city_admin": 302, "province_admin": 302},
         no={"sibling_admin": 403, **TX_OUT, "teacher": 403}),
    # --- accounts -------------------------------------------------------------------------
    Case("create an API token", "post", lambda t: "/accounts/tokens/", _f(name="对接"), tokens_of,
         ok={"county_admin": 200, "school_admin": 200}, no={"teacher": 403, "staff": 403}),
    Case("revoke someone's API token", "post", lambda t: "/accounts/tokens/", lambda t: {"revoke": t.token.pk},
         token_state, ok={"sibling_admin": 302},
         no={"county_admin": 404, "city_admin": 404, "province_admin": 404, "teacher": 403}),
    # Self-service: each account changes only its own password and mobile number.
    Case("change one's own password", "post", lambda t: "/accounts/password/", _f(**NEW_PASSWORD),
         account_state("sibling_teacher_user"), ok={"sibling_teacher_user": 302},
         no={"teacher": 302, "sibling_admin": 302, "tx_expert": 302}),
    Case("change one's own password through the API", "json", lambda t: "/api/v1/me/password",
         _f(**NEW_PASSWORD), account_state("sibling_teacher_user"), ok={"sibling_teacher_user": 200},
         no={"teacher": 200, "sibling_admin": 200, "tx_staff": 200}),
    Case("set one's own mobile number", "post", lambda t: "/accounts/me/", _f(mobile="13812341234"),
         account_state("sibling_teacher_user"), ok={"sibling_teacher_user": 302},
         no={"teacher": 302, "sibling_admin": 302, "tx_staff": 302}),
    Case("set one's own mobile number through the API", "patch", lambda t: "/api/v1/me", _f(mobile="13812341234"),
         account_state("sibling_teacher_user"), ok={"sibling_teacher_user": 200},
         no={"teacher": 200, "sibling_admin": 200, "city_admin": 200}),
    # An administrator's reset: accounts of a lower level in their writable jurisdiction.
    Case("reset a 通许县 teacher's password", "post",
         lambda t: f"/accounts/users/{t.people['sibling_teacher_user'].pk}/reset-password/", _f(password=""),
         account_state("sibling_teacher_user"), ok={"sibling_admin": 200, "city_admin": 200, "province_admin": 200},
         no={**TX_OUT, "direct_admin": 404, "teacher": 403, "tx_expert": 403, "staff": 403, "tx_staff": 403}),
    Case("reset a 杞县 teacher's password", "post",
         lambda t: f"/accounts/users/{t.people['teacher'].pk}/reset-password/", _f(password=""),
         account_state("teacher"), ok={"school_admin": 200, "county_admin": 200, "city_admin": 200},
         # another school of the same county, the neighbouring county, the teacher, an expert, the county's centre
         no={"qx_school_admin_2": 404, "sibling_admin": 404, "other_city_admin": 404, "teacher": 403,
             "tx_expert": 403, "staff": 403}),
    Case("reset a county administrator's password", "post",
         lambda t: f"/accounts/users/{t.people['sibling_admin'].pk}/reset-password/", _f(password=""),
         account_state("sibling_admin"), ok={"city_admin": 200, "province_admin": 200},
         no={"sibling_admin": 404, "county_admin": 404, "other_city_admin": 404, "school_admin": 404}),
    Case("reset a 省直管县 administrator's password", "post",
         lambda t: f"/accounts/users/{t.people['direct_admin'].pk}/reset-password/", _f(password=""),
         account_state("direct_admin"), ok={"province_admin": 200},
         no={"city_admin": 403, "direct_admin": 404, "county_admin": 404}),
    Case("reset a 通许县 teacher's password through the API", "json",
         lambda t: f"/api/v1/accounts/{t.people['sibling_teacher_user'].pk}/password-reset", _f(),
         account_state("sibling_teacher_user"), ok={"sibling_admin": 200, "city_admin": 200},
         no={**TX_OUT, "teacher": 403, "tx_expert": 403, "staff": 403, "qx_school_admin_2": 404}),
    # --- credits --------------------------------------------------------------------------
    Case("claim hours", "upload", lambda t: "/credits/claims/new/",
         lambda t: {"category": "other", "hours": "2", "occurred_on": "2026-03-09", "note": "校级公开课听评课",
                    "idempotency_key": "k1",
                    "evidence": SimpleUploadedFile("e.pdf", b"%PDF-1.4 evidence", content_type="application/pdf")},
         ledger_of, ok={"teacher": 302, "sibling_teacher_user": 302},
         no={"county_admin": 403, "school_admin": 403, "staff": 403}),
    Case("school check of a 杞县 claim", "post", lambda t: "/credits/claims/",
         lambda t: {"entry": t.qx_claim.pk, "approve": "1"}, ledger_of,
         ok={"school_admin": 302},
         no={"county_admin": 403, "sibling_admin": 404, "other_city_admin": 404, "teacher": 403}),
    Case("county decision on a 通许县 claim", "post", lambda t: "/credits/claims/",
         lambda t: {"entry": t.tx_claim.pk, "approve": "1"}, ledger_of,
         ok={"sibling_admin": 302, "city_admin": 302, "province_admin": 302},
         no={**TX_OUT, "teacher": 403}),
    Case("refuse a 通许县 claim through the API, with its reason", "json",
         lambda t: f"/api/v1/credits/claims/{t.tx_claim.pk}/decision", _f(approve=False, reason="材料不全"), ledger_of,
         ok={"sibling_admin": 200, "city_admin": 200, "province_admin": 200},
         no={**TX_OUT, "teacher": 404, "sibling_teacher_user": 403}),
    Case("reverse the approval of a 通许县 claim", "post", lambda t: f"/credits/claims/{t.tx_approved_claim.pk}/",
         _f(reason="与集中培训重复计入"), ledger_of, ok=TX_IN_PAGE,
         no={**TX_OUT, "teacher": 404, "sibling_teacher_user": 403}),
    Case("reverse an approval through the API", "json",
         lambda t: f"/api/v1/credits/claims/{t.tx_approved_claim.pk}/reversal", _f(reason="与集中培训重复计入"),
         ledger_of, ok={"sibling_admin": 200, "province_admin": 200},
         no={**TX_OUT, "teacher": 404, "sibling_teacher_user": 403}),
    Case("resubmit a refused claim", "post", lambda t: f"/credits/claims/{t.tx_refused_claim.pk}/resubmit/",
         _f(category="other", hours="2", occurred_on="2026-03-05", note="修改后的活动说明"), ledger_of,
         ok={"sibling_teacher_user": 302},
         no={"teacher": 404, "sibling_admin": 403, "county_admin": 403, "school_admin": 403, "staff": 403}),
    Case("resubmit a refused claim through the API", "json",
         lambda t: f"/api/v1/credits/claims/{t.tx_refused_claim.pk}/resubmission",
         _f(category="other", hours="2", occurred_on="2026-03-05", note="修改后的活动说明"), ledger_of,
         ok={"sibling_teacher_user": 201}, no={"teacher": 404, "sibling_admin": 403, "city_admin": 403}),
    Case("revise the hours rules", "post", lambda t: "/credits/rules/",
         _f(required_hours="360", hours_per_credit="1", note="按新文件修订"), rules_state,
         ok={"province_admin": 302}, no={"city_admin": 403, "county_admin": 403, "school_admin": 403, "teacher": 403}),
    Case("rebuild 通许县's compliance figures", "post", lambda t: "/credits/compliance/d/410222/", _f(),
         compliance_state, ok={"sibling_admin": 302, "province_admin": 302},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 404, "teacher": 403}),
    Case("import external hours of a 通许县 teacher", "upload", lambda t: "/credits/external/", external_file,
         external_entries, ok={"sibling_admin": 302, "province_admin": 302},
         no={"county_admin": 302, "other_city_admin": 302, "school_admin": 403, "teacher": 403}),
    Case("remap an organiser", "post", lambda t: "/credits/organisers/",
         lambda t: {"name": "通许县教师进修学校", "institution": t.objects["province"].teacher.school_id and
                    Institution.objects.dangerously_unscoped().get(code="410221-JSFZ").pk},
         aliases, ok={"province_admin": 302}, no={"sibling_admin": 302, "county_admin": 302, "school_admin": 403}),
    Case("record hours through the API", "json", lambda t: "/api/v1/credits/entries",
         lambda t: {"teacher_id": t.province.sibling_teacher.pk, "category": "online", "hours": "2",
                    "occurred_on": "2026-03-04", "source_id": "sys-1"},
         ledger_of, ok={"sibling_admin": 201, "city_admin": 201},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 404, "teacher": 404}),
    Case("a school writes approved hours", "json", lambda t: "/api/v1/credits/entries",
         lambda t: {"teacher_id": t.province.teacher.pk, "category": "online", "hours": "2",
                    "occurred_on": "2026-03-04", "source_id": "sys-2", "state": "approved"},
         ledger_of, ok={"county_admin": 201}, no={"school_admin": 403, "sibling_admin": 404}),
    Case("external hours through the API", "upload", lambda t: "/api/v1/credits/external-imports", external_file,
         external_entries, ok={"sibling_admin": 201, "province_admin": 201},
         no={"county_admin": 201, "other_city_admin": 201, "school_admin": 403, "teacher": 403}),
    # --- projects -------------------------------------------------------------------------
    Case("create a project for another county's teachers", "post", lambda t: "/projects/new/",
         _f(code="NEW-1", title="面向邻县的项目", level="county", category="backbone", mode="online",
            starts_on="2027-12-01", ends_on="2027-12-02", seats="5", hours="8", hour_category="online", budget="0"),
         projects_of, ok={"county_admin": 302, "sibling_admin": 302},
         no={"school_admin": 403, "teacher": 403, "staff": 403}),
    Case("create a project through the API", "json", lambda t: "/api/v1/projects",
         _f(code="NEW-2", title="县级专题", level="county", category="topic", mode="online", starts_on="2027-12-01",
            ends_on="2027-12-02", seats=5, hours=8, hour_category="online"),
         projects_of, ok={"county_admin": 201}, no={"school_admin": 403, "teacher": 403}),
    Case("an audience outside the jurisdiction is refused", "json", lambda t: "/api/v1/projects",
         _f(code="NEW-3", title="县级专题", level="county", category="topic", mode="online", starts_on="2027-12-01",
            ends_on="2027-12-02", seats=5, hours=8, hour_category="online", audience={"divisions": ["410222"]}),
         projects_of, ok={}, no={"county_admin": 422}),
    Case("edit a published 通许县 project (API)", "patch", lambda t: f"/api/v1/projects/{t.tx_open.pk}",
         _f(title="改名"), project_state("tx_open"), ok={"sibling_admin": 200, "city_admin": 200},
         no={"county_admin": 403, "other_city_admin": 403, "school_admin": 403, "teacher": 403, "tx_staff": 403}),
    Case("edit a 通许县 draft (API)", "patch", lambda t: f"/api/v1/projects/{t.tx_draft.pk}",
         _f(title="改名"), project_state("tx_draft"), ok={"sibling_admin": 200},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 404, "teacher": 404}),
    Case("edit a 通许县 project (page)", "post", lambda t: f"/projects/{t.tx_open.pk}/edit/",
         lambda t: {"title": "改名", "category": "backbone", "mode": "centralised", "starts_on": "2026-11-01",
                    "ends_on": "2026-12-20", "hours": "12", "hour_category": "centralised", "budget": "0",
                    "min_attendance_percent": "80", "institution": t.tx_open.institution_id},
         project_state("tx_open"), ok={"sibling_admin": 302},
         no={"county_admin": 403, "other_city_admin": 403, "school_admin": 403, "teacher": 403}),
    Case("publish a 通许县 draft", "post", lambda t: f"/projects/{t.tx_free.pk}/manage/", _f(action="open"),
         project_state("tx_free"), ok={"sibling_admin": 302, "city_admin": 302, "province_admin": 302},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 404, "teacher": 404, "tx_staff": 404}),
    Case("publish a 通许县 draft through the API", "json", lambda t: f"/api/v1/projects/{t.tx_free_api.pk}/publish",
         _f(), project_state("tx_free_api"), ok={"sibling_admin": 200, "city_admin": 200, "province_admin": 200},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 404, "teacher": 404, "tx_staff": 404}),
    Case("publish a draft whose implementer holds no accreditation", "post",
         lambda t: f"/projects/{t.tx_unaccredited.pk}/manage/", _f(action="open"), project_state("tx_unaccredited"),
         ok={}, no={"sibling_admin": 302, "province_admin": 302, "county_admin": 404}),  # refused with a message
    Case("publish it through the API", "json", lambda t: f"/api/v1/projects/{t.tx_unaccredited.pk}/publish", _f(),
         project_state("tx_unaccredited"), ok={}, no={"sibling_admin": 422, "city_admin": 422, "county_admin": 404}),
    Case("enrol in a project whose implementer is suspended", "json",
         lambda t: f"/api/v1/projects/{t.tx_held.pk}/enrolments", lambda t: {"teacher_id": t.tx_free_teacher.pk},
         enrolments_of("tx_held"), ok={},
         no={"sibling_admin": 422, "city_admin": 422, "province_admin": 422, "county_admin": 404, "teacher": 403}),
    Case("publish a draft whose plan is not approved", "post", lambda t: f"/projects/{t.tx_draft.pk}/manage/",
         _f(action="open"), project_state("tx_draft"), ok={},  # refused with a message, for everyone
         no={"sibling_admin": 302, "province_admin": 302, "county_admin": 404}),
    Case("admit an enrolee of 通许县's project", "post", lambda t: f"/projects/{t.tx_open.pk}/manage/",
         lambda t: {"action": "approve", "enrolment": t.pending.pk}, enrolment_state("pending"),
         ok={"sibling_admin": 302, "city_admin": 302, "province_admin": 302},
         # the implementing institution runs sessions; admission is the organiser's
         no={"tx_staff": 302, "county_admin": 403, "school_admin": 403, "teacher": 403}),
    Case("a school admits into its county's project", "post", lambda t: f"/projects/{t.qx_open.pk}/manage/",
         lambda t: {"action": "approve", "enrolment": t.qx_pending.pk}, enrolment_state("qx_pending"),
         ok={"county_admin": 302}, no={"school_admin": 403, "sibling_admin": 403}),
    Case("admit an enrolee of another project from this one's page", "post",
         lambda t: f"/projects/{t.qx_other.pk}/manage/",
         lambda t: {"action": "approve", "enrolment": t.qx_pending.pk}, enrolment_state("qx_pending"),
         ok={}, no={"county_admin": 404, "province_admin": 404}),
    Case("add a session", "post", lambda t: f"/projects/{t.tx_open.pk}/manage/",
         _f(action="session", title="第2天", held_on="2026-12-01"), sessions_of,
         ok={"sibling_admin": 302, "tx_staff": 302}, no={"county_admin": 403, "school_admin": 403, "staff": 403}),
    Case("record attendance", "post", lambda t: f"/projects/{t.tx_open.pk}/manage/",
         lambda t: {"action": "attendance", "session": t.session.pk, "present": [t.admitted.pk]}, attendance_of,
         ok={"sibling_admin": 302, "tx_staff": 302}, no={"county_admin": 403, "other_city_admin": 403, "staff": 403}),
    Case("upload attendance", "upload", lambda t: f"/projects/{t.tx_open.pk}/manage/",
         lambda t: {"action": "upload", **attendance_file(t)}, attendance_of,
         ok={"sibling_admin": 302, "tx_staff": 302}, no={"county_admin": 403, "school_admin": 403}),
    Case("record an assessment", "post", lambda t: f"/projects/{t.tx_open.pk}/manage/",
         lambda t: {"action": "assessment", "enrolment": t.admitted.pk, "passed": "1"}, enrolment_state("admitted"),
         ok={"sibling_admin": 302, "tx_staff": 302}, no={"county_admin": 403, "staff": 403, "teacher": 403}),
    Case("complete 通许县's project", "post", lambda t: f"/projects/{t.tx_open.pk}/manage/", _f(action="complete"),
         ledger_of, ok={}, no={"county_admin": 403, "other_city_admin": 403, "school_admin": 403, "staff": 403}),
    Case("confirm the judged completion of 通许县's project", "post", lambda t: f"/projects/{t.tx_open.pk}/completion/",
         lambda t: {"digest": _completion_digest(t)}, completion_of,
         ok={"sibling_admin": 302, "city_admin": 302, "tx_staff": 302},
         no={"county_admin": 403, "other_city_admin": 403, "school_admin": 403, "staff": 403, "teacher": 403,
             "sibling_teacher_user": 403}),
    Case("enrol oneself in another county's project", "post", lambda t: f"/projects/{t.tx_open.pk}/",
         _f(), enrolments_of("tx_open"), ok={}, no={"teacher": 302}),
    Case("withdraw someone's enrolment", "post", lambda t: "/projects/mine/withdraw/",
         lambda t: {"enrolment": t.pending.pk}, enrolment_state("pending"),
         ok={"sibling_teacher_user": 302}, no={"teacher": 404, "county_admin": 403, "sibling_admin": 403}),
    Case("check in with a code", "post", lambda t: "/projects/mine/check-in/", _f(code="246810"), attendance_of,
         ok={}, no={"teacher": 302, "county_admin": 403}),  # not enrolled (李四 is pending)
    Case("nominate a 通许县 teacher (page)", "post", lambda t: f"/projects/{t.tx_open.pk}/nominate/",
         lambda t: {"teacher": [t.tx_free_teacher.pk]}, enrolments_of("tx_open"),
         ok={"sibling_admin": 200, "city_admin": 200, "province_admin": 200},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 404, "teacher": 403}),
    Case("nominate a 杞县 teacher through the API", "json", lambda t: f"/api/v1/projects/{t.qx_open.pk}/nominations",
         lambda t: {"teacher_ids": [t.qx_free_teacher.pk]}, enrolments_of("qx_open"),
         ok={"county_admin": 200, "school_admin": 200, "city_admin": 200},
         no={"sibling_admin": 404, "other_city_admin": 404, "teacher": 403}),
    Case("nominate into a project that does not serve the teacher", "json",
         lambda t: f"/api/v1/projects/{t.qx_open.pk}/nominations",
         lambda t: {"teacher_ids": [t.tx_free_teacher.pk]}, enrolments_of("qx_open"),
         # 通许县 sees 杞县's published project, but it serves 杞县's teachers only: refused, with the reason
         ok={}, no={"sibling_admin": 200, "county_admin": 404}),
    Case("enrol or nominate through the API", "json", lambda t: f"/api/v1/projects/{t.tx_open.pk}/enrolments",
         lambda t: {"teacher_id": t.tx_free_teacher.pk}, enrolments_of("tx_open"),
         ok={"sibling_admin": 201, "city_admin": 201},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 404, "teacher": 403}),
    Case("withdraw through the API", "json", lambda t: f"/api/v1/enrolments/{t.pending.pk}/withdraw", _f(),
         enrolment_state("pending"), ok={"sibling_teacher_user": 200, "sibling_admin": 200},
         no={"teacher": 404, "county_admin": 404, "school_admin": 404}),
    Case("add a session through the API", "json", lambda t: f"/api/v1/projects/{t.tx_open.pk}/sessions",
         _f(title="第2天", held_on="2026-12-01"), sessions_of, ok={"sibling_admin": 201, "tx_staff": 201},
         no={"county_admin": 403, "other_city_admin": 403, "school_admin": 403, "staff": 403, "teacher": 403}),
    Case("attendance through the API", "json", lambda t: f"/api/v1/sessions/{t.session.pk}/attendance",
         lambda t: {"enrolment_ids": [t.admitted.pk]}, attendance_of, ok={"sibling_admin": 200, "tx_staff": 200},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 404, "staff": 404, "teacher": 404}),
    Case("attendance upload through the API", "upload", lambda t: f"/api/v1/projects/{t.tx_open.pk}/attendance-upload",
         attendance_file, attendance_of, ok={"sibling_admin": 200, "tx_staff": 200},
         no={"county_admin": 403, "school_admin": 403, "staff": 403}),
    Case("completion through the API", "json", lambda t: f"/api/v1/projects/{t.tx_open.pk}/completion", _f(),
         ledger_of, ok={}, no={"county_admin": 403, "other_city_admin": 403, "school_admin": 403, "teacher": 403}),
    # --- learning records ----------------------------------------------------------------
    Case("create a learning-record client", "post", lambda t: "/learning/clients/",
         _f(name="杞县研修网", prefixes="https://qx.example.org/"), lrs_clients,
         ok={"county_admin": 201, "province_admin": 201}, no={"school_admin": 403, "teacher": 403, "staff": 403}),
    Case("revoke 通许县's client", "post", lambda t: f"/learning/clients/{t.tx_lrs_client.pk}/revoke/", _f(),
         lrs_clients, ok=TX_IN_PAGE, no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403,
                                        "teacher": 403}),
    Case("register a credited activity", "post", lambda t: "/learning/credited/",
         _f(title="杞县课程", activity_iri="https://qx.example.org/c/", hours="2", category="online", is_prefix="1"),
         credited_activities, ok={"county_admin": 302, "sibling_admin": 302},
         no={"school_admin": 403, "teacher": 403, "staff": 403}),
    Case("stop crediting 通许县's course", "post", lambda t: f"/learning/credited/{t.tx_credited.pk}/active/",
         _f(active="0"), credited_activities, ok=TX_IN_PAGE,
         # every division administrator sees the list (their teachers earn by it); only the owner's line changes it
         no={"county_admin": 403, "other_city_admin": 403, "school_admin": 403, "teacher": 403}),
    Case("decide 李四's held completion", "post", lambda t: "/learning/credits/",
         lambda t: {"credit": t.tx_credit.pk, "approve": "1"}, credit_state, ok=TX_IN_PAGE,
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "teacher": 403}),
    Case("register my learner identity", "post", lambda t: "/learning/me/", _f(kind="mbox", value="zhang@example.org"),
         identities, ok={"teacher": 302, "sibling_teacher_user": 302},
         no={"county_admin": 404, "school_admin": 404, "staff": 404}),
    Case("remove 李四's identity", "post", lambda t: "/learning/me/", lambda t: {"remove": t.tx_identity.pk},
         identities, ok={"sibling_teacher_user": 302}, no={"teacher": 404, "county_admin": 404}),
    Case("create a client through the API", "json", lambda t: "/api/v1/lrs/clients",
         _f(name="杞县研修网", activity_prefixes=["https://qx.example.org/"]), lrs_clients,
         ok={"county_admin": 201}, no={"school_admin": 403, "teacher": 403}),
    Case("revoke 通许县's client through the API", "json", lambda t: f"/api/v1/lrs/clients/{t.tx_lrs_client.pk}/revoke",
         _f(), lrs_clients, ok={"sibling_admin": 200, "city_admin": 200},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "teacher": 403}),
    Case("register a credited activity through the API", "json", lambda t: "/api/v1/lrs/credited-activities",
         _f(title="杞县课程", activity_iri="https://qx.example.org/c/9", hours=2), credited_activities,
         ok={"county_admin": 201}, no={"school_admin": 403, "teacher": 403}),
    Case("stop crediting through the API", "patch", lambda t: f"/api/v1/lrs/credited-activities/{t.tx_credited.pk}",
         _f(active=False), credited_activities, ok={"sibling_admin": 200, "province_admin": 200},
         no={"county_admin": 403, "school_admin": 403, "teacher": 403}),
    Case("decide a held completion through the API", "json",
         lambda t: f"/api/v1/lrs/credits/{t.tx_credit.pk}/decision", _f(approve=True), credit_state,
         ok={"sibling_admin": 200, "city_admin": 200},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "teacher": 403}),
    Case("register an identity through the API", "json", lambda t: "/api/v1/lrs/me/identities",
         _f(kind="mbox", value="zhang@example.org"), identities, ok={"teacher": 201},
         no={"county_admin": 404, "staff": 404}),
    Case("remove 李四's identity through the API", "delete",
         lambda t: f"/api/v1/lrs/me/identities/{t.tx_identity.pk}", _f(), identities,
         ok={"sibling_teacher_user": 204}, no={"teacher": 404, "sibling_admin": 404}),
    # --- course library ---------------------------------------------------------------------
    Case("publish 通许县's course", "post", lambda t: f"/learning/courses/{t.tx_course.pk}/publish/", _f(),
         courses_state, ok=TX_IN_PAGE,
         no={"county_admin": 404, "other_city_admin": 404, "direct_admin": 404, "school_admin": 403, "teacher": 403,
             "sibling_teacher_user": 403, "staff": 403}),
    Case("retire 通许县's course", "post", lambda t: f"/learning/courses/{t.tx_published.pk}/retire/", _f(),
         courses_state, ok=TX_IN_PAGE,
         # the published course is open to 通许县's people and below, curated only by its owner's line
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "sibling_teacher_user": 403}),
    Case("merge 通许县's duplicate", "post", lambda t: f"/learning/courses/{t.tx_duplicate.pk}/merge/",
         lambda t: {"into_id": t.tx_course.pk}, courses_state, ok=TX_IN_PAGE,
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "teacher": 403}),
    Case("import a course catalogue", "upload", lambda t: "/learning/courses/import/", catalogue_file, courses_state,
         ok={"county_admin": 200, "province_admin": 200}, no={"school_admin": 403, "teacher": 403, "staff": 403}),
    Case("register a course provider", "post", lambda t: "/learning/courses/providers/",
         _f(code="qx-centre", name="杞县教师发展中心课程", kind="institution"), providers_of,
         ok={"county_admin": 302, "province_admin": 302}, no={"school_admin": 403, "teacher": 403, "staff": 403}),
    Case("import a catalogue through the API", "json", lambda t: "/api/v1/learning/courses/import",
         _f(rows=[{"provider": "smartedu", "code": "QX-1", "title": "杞县课程", "hours": 2}]), courses_state,
         ok={"county_admin": 200}, no={"school_admin": 403, "teacher": 403, "staff": 403}),
    Case("publish through the API", "json", lambda t: f"/api/v1/learning/courses/{t.tx_course.pk}/publish", _f(),
         courses_state, ok={"sibling_admin": 200, "city_admin": 200},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "teacher": 403}),
    Case("retire through the API", "json", lambda t: f"/api/v1/learning/courses/{t.tx_published.pk}/retire", _f(),
         courses_state, ok={"sibling_admin": 200, "province_admin": 200},
         no={"county_admin": 404, "direct_admin": 404, "school_admin": 403, "sibling_teacher_user": 403}),
    Case("merge through the API", "json", lambda t: f"/api/v1/learning/courses/{t.tx_duplicate.pk}/merge",
         lambda t: {"into_id": t.tx_course.pk}, courses_state, ok={"sibling_admin": 200},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "teacher": 403}),
    Case("register a provider through the API", "json", lambda t: "/api/v1/learning/providers",
         _f(code="qx-centre", name="杞县教师发展中心课程", kind="institution"), providers_of,
         ok={"county_admin": 201}, no={"school_admin": 403, "teacher": 403}),
    # --- study on the platform's player (teachers only; the course must be open to them) ----
    Case("choose 通许县's video course", "post", lambda t: f"/learning/courses/{t.tx_video.pk}/enrol/", _f(), studies,
         ok={"sibling_teacher_user": 302},
         no={"teacher": 404, "sibling_admin": 403, "province_admin": 403, "school_admin": 403, "staff": 403}),
    Case("choose it through the API", "json", lambda t: f"/api/v1/learning/courses/{t.tx_video.pk}/enrol", _f(),
         studies, ok={"sibling_teacher_user": 201}, no={"teacher": 404, "sibling_admin": 403, "staff": 403}),
    Case("open the player", "json", lambda t: f"/learning/courses/{t.tx_video.pk}/study/start/", _f(), studies,
         ok={"sibling_teacher_user": 200}, no={"teacher": 404, "sibling_admin": 403, "city_admin": 403}),
    # a beat without the token its page was given: refused whoever sends it (learning/tests/test_study.py
    # covers beats with tokens of other users, sessions and courses)
    Case("send a beat without a token", "json", lambda t: f"/learning/courses/{t.tx_video.pk}/study/beat/",
         _f(seq=1, position=0, ranges=[]), studies, ok={},
         no={"sibling_teacher_user": 409, "teacher": 409, "sibling_admin": 403, "staff": 403}),
    Case("rate a finished course", "post", lambda t: f"/learning/courses/{t.tx_published.pk}/rate/", _f(rating="4"),
         studies, ok={"sibling_teacher_user": 302}, no={"teacher": 302, "sibling_admin": 403, "staff": 403}),
    # --- expert guidance ------------------------------------------------------------------
    Case("ask 通许县's team", "post", lambda t: "/guidance/ask/",
         _f(subject="chinese", text="怎样让低年级学生爱上阅读？请专家指点一下方法", confirm="1"), questions_state,
         ok={"sibling_teacher_user": 302},
         # 张三's school has no team here: refused with the reason; administrators do not ask
         no={"teacher": 400, "county_admin": 403, "sibling_admin": 403, "staff": 403}),
    Case("answer 李四's question", "post", lambda t: f"/guidance/questions/{t.tx_waiting.pk}/answer/",
         _f(body="可以这样做"), questions_state, ok={"tx_expert": 302},
         no={"teacher": 404, "county_admin": 404, "school_admin": 404, "sibling_admin": 403,
             "sibling_teacher_user": 403, "city_admin": 403}),
    Case("follow up 李四's question", "post", lambda t: f"/guidance/questions/{t.tx_answered.pk}/follow-up/",
         _f(body="还有一个问题"), questions_state, ok={"sibling_teacher_user": 302},
         no={"tx_expert": 403, "sibling_admin": 403, "teacher": 404, "county_admin": 404}),
    Case("resolve 李四's question", "post", lambda t: f"/guidance/questions/{t.tx_answered.pk}/resolve/",
         _f(rating="5"), questions_state, ok={"sibling_teacher_user": 302},
         no={"tx_expert": 403, "sibling_admin": 403, "city_admin": 403, "teacher": 404, "county_admin": 404}),
    Case("rate 李四's resolved question", "post", lambda t: f"/guidance/questions/{t.tx_resolved.pk}/rate/",
         _f(rating="4"), questions_state, ok={"sibling_teacher_user": 302},
         no={"tx_expert": 403, "sibling_admin": 403, "teacher": 404}),
    Case("reassign 李四's question", "post", lambda t: f"/guidance/questions/{t.tx_waiting.pk}/reassign/",
         lambda t: {"member": t.tx_second.pk}, questions_state,
         ok={"tx_expert": 302, "sibling_admin": 302, "city_admin": 302},
         no={"county_admin": 404, "school_admin": 404, "other_city_admin": 404, "sibling_teacher_user": 403}),
    Case("build a team for 通许县", "post", lambda t: "/guidance/teams/",
         lambda t: {"division": t.province.sibling.pk, "name": "通许县初中数学团队", "stage": "junior",
                    "subject": "math"}, teams_state, ok={"sibling_admin": 302, "city_admin": 302},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "teacher": 403, "tx_expert": 403}),
    Case("rename 通许县's team", "post", lambda t: f"/guidance/teams/{t.tx_team.pk}/update/",
         _f(name="改名团队", is_active="1"), teams_state, ok={"sibling_admin": 302, "city_admin": 302},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "tx_expert": 403}),
    Case("add a member to 通许县's team", "post", lambda t: f"/guidance/teams/{t.tx_team.pk}/members/",
         lambda t: {"teacher": t.province.sibling_teacher.pk, "role": "master_teacher"}, teams_state,
         ok={"sibling_admin": 302, "province_admin": 302},
         no={"county_admin": 404, "school_admin": 403, "tx_expert": 403, "teacher": 403}),
    Case("remove a member of 通许县's team", "post",
         lambda t: f"/guidance/teams/{t.tx_team.pk}/members/{t.tx_second.pk}/remove/", _f(), teams_state,
         ok={"sibling_admin": 302}, no={"county_admin": 404, "school_admin": 403, "tx_expert": 403}),
    Case("pair 通许县's team with a school", "post", lambda t: f"/guidance/teams/{t.tx_team.pk}/schools/",
         lambda t: {"school": t.tx_other_school.pk}, teams_state, ok={"sibling_admin": 302, "city_admin": 302},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403}),
    Case("unpair 通许县's school", "post",
         lambda t: f"/guidance/teams/{t.tx_team.pk}/schools/{t.province.sibling_school.pk}/remove/", _f(),
         teams_state, ok={"sibling_admin": 302}, no={"county_admin": 404, "school_admin": 403}),
    Case("find 通许县's common problems", "post", lambda t: "/guidance/problems/",
         lambda t: {"division": t.province.sibling.pk, "stage": "primary", "subject": "chinese"}, clusters_state,
         ok={"sibling_admin": 302}, no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403}),
    Case("turn 通许县's common problem into a project", "post",
         lambda t: f"/guidance/problems/{t.tx_cluster.pk}/project/", _f(), clusters_state,
         ok={"sibling_admin": 302, "city_admin": 302}, no={"county_admin": 404, "school_admin": 403, "teacher": 403}),
    Case("revise the guidance hours rule", "post", lambda t: "/guidance/hours-rule/",
         _f(effective_from="2026-12-01", expert_hours="1", expert_cap="30", asker_hours="0.5", asker_cap="10"),
         hours_rules, ok={"province_admin": 302}, no={"city_admin": 403, "sibling_admin": 403, "teacher": 403}),
    Case("open 李四's in-site message", "post", lambda t: f"/notifications/{t.tx_notice.pk}/open/", _f(),
         notices_state, ok={"sibling_teacher_user": 302}, no={"teacher": 404, "sibling_admin": 404}),
    Case("mark all messages read", "post", lambda t: "/notifications/read-all/", _f(), notices_state,
         ok={"sibling_teacher_user": 302}, no={"teacher": 302, "sibling_admin": 302}),
    Case("mark 李四's message read, staying in the inbox", "post", lambda t: f"/notifications/{t.tx_notice.pk}/read/",
         _f(), notices_state, ok={"sibling_teacher_user": 302},
         no={"teacher": 404, "sibling_admin": 404, "school_admin": 404}),
    Case("turn one's digest off (page)", "post", lambda t: "/notifications/settings/", _f(), notice_settings,
         ok={"sibling_teacher_user": 302}, no={"teacher": 302, "sibling_admin": 302, "tx_expert": 302}),
    Case("turn one's digest off through the API", "json", lambda t: "/api/v1/me/notifications/settings",
         _f(digest=False), notice_settings, ok={"sibling_teacher_user": 200},
         no={"teacher": 200, "sibling_admin": 200, "tx_expert": 200}),
    Case("build a team through the API", "json", lambda t: "/api/v1/guidance/teams",
         _f(division="410222", name="通许县初中数学团队", stage="junior", subject="math"), teams_state,
         ok={"sibling_admin": 201}, no={"county_admin": 403, "school_admin": 403, "teacher": 403}),
    Case("add a member through the API", "json", lambda t: f"/api/v1/guidance/teams/{t.tx_team.pk}/members",
         lambda t: {"teacher_id": t.province.sibling_teacher.pk, "role": "master_teacher"}, teams_state,
         ok={"sibling_admin": 200}, no={"county_admin": 404, "school_admin": 403, "tx_expert": 403}),
    Case("pair a school through the API", "json", lambda t: f"/api/v1/guidance/teams/{t.tx_team.pk}/schools",
         lambda t: {"school_ids": [t.tx_other_school.pk]}, teams_state, ok={"sibling_admin": 200},
         no={"county_admin": 404, "school_admin": 403}),
    Case("ask through the API", "json", lambda t: "/api/v1/guidance/questions",
         _f(subject="chinese", text="怎样让低年级学生爱上阅读？请专家指点一下方法"), questions_state,
         ok={"sibling_teacher_user": 201}, no={"county_admin": 403, "staff": 403, "teacher": 422}),
    Case("answer through the API", "json", lambda t: f"/api/v1/guidance/questions/{t.tx_waiting.pk}/answer",
         _f(body="可以这样做"), questions_state, ok={"tx_expert": 201},
         no={"teacher": 404, "sibling_admin": 403, "sibling_teacher_user": 403}),
    Case("follow up through the API", "json", lambda t: f"/api/v1/guidance/questions/{t.tx_answered.pk}/follow-up",
         _f(body="还有一个问题"), questions_state, ok={"sibling_teacher_user": 201},
         no={"tx_expert": 403, "county_admin": 404}),
    Case("resolve through the API", "json", lambda t: f"/api/v1/guidance/questions/{t.tx_answered.pk}/resolve",
         _f(rating=5), questions_state, ok={"sibling_teacher_user": 200}, no={"sibling_admin": 403, "teacher": 404}),
    Case("reassign through the API", "json", lambda t: f"/api/v1/guidance/questions/{t.tx_waiting.pk}/reassign",
         lambda t: {"member_id": t.tx_second.pk}, questions_state, ok={"sibling_admin": 200},
         no={"county_admin": 404, "sibling_teacher_user": 403}),
    Case("find common problems through the API", "json", lambda t: "/api/v1/guidance/problems/refresh",
         _f(division="410222", stage="primary", subject="chinese", start="2026-10-01", end="2026-11-28"),
         clusters_state, ok={"sibling_admin": 200}, no={"county_admin": 403, "school_admin": 403}),
    Case("a common problem into a project through the API", "json",
         lambda t: f"/api/v1/guidance/problems/{t.tx_cluster.pk}/project", _f(), clusters_state,
         ok={"sibling_admin": 201}, no={"county_admin": 404, "school_admin": 403}),
    Case("read a message through the API", "json", lambda t: f"/api/v1/me/notifications/{t.tx_notice.pk}/read",
         _f(), notices_state, ok={"sibling_teacher_user": 200}, no={"teacher": 404, "sibling_admin": 404}),
    Case("read all through the API", "json", lambda t: "/api/v1/me/notifications/read-all", _f(), notices_state,
         ok={"sibling_teacher_user": 200}, no={"teacher": 200}),
    # --- training bases (培训基地) -----------------------------------------------------------------
    Case("designate a 通许县 base (page)", "post", lambda t: "/institutions/bases/new/", _base_form, bases_state,
         ok={"sibling_admin": 302, "city_admin": 302, "province_admin": 302},  # the school must be theirs
         no={"county_admin": 400, "other_city_admin": 400, "school_admin": 403, "teacher": 403, "tx_staff": 403}),
    Case("edit a 通许县 base (page)", "post", lambda t: f"/institutions/bases/{t.tx_base.pk}/edit/",
         lambda t: {**_base_form(t), "kind": "school", "name": "改名"}, bases_state,
         ok={"sibling_admin": 302, "city_admin": 302, "province_admin": 302},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "teacher": 403, "tx_staff": 403}),
    Case("designate a base through the API", "json", lambda t: "/api/v1/training-bases",
         lambda t: {"name": "通许县实验幼儿园", "kind": "kindergarten", "school_code": t.province.sibling_school.code,
                    "seats_per_term": 8, "designated_on": "2026-09-01"}, bases_state,
         ok={"sibling_admin": 201, "city_admin": 201, "province_admin": 201},
         no={"county_admin": 422, "school_admin": 403, "teacher": 403, "tx_staff": 403}),
    Case("edit a base through the API", "patch", lambda t: f"/api/v1/training-bases/{t.tx_base.pk}",
         _f(seats_per_term=12), bases_state, ok={"sibling_admin": 200, "city_admin": 200, "province_admin": 200},
         no={"county_admin": 403, "other_city_admin": 403, "school_admin": 403, "teacher": 403, "tx_staff": 404}),
    Case("book another county's base for a 跟岗 project (API)", "json", lambda t: "/api/v1/projects",
         lambda t: {"code": "GG-1", "title": "跟岗研修", "level": "county", "category": "backbone", "mode": "shadowing",
                    "starts_on": "2027-03-01", "ends_on": "2027-03-05", "seats": 10, "hours": 30,
                    "hour_category": "centralised", "base_id": t.tx_base.pk}, projects_of,
         ok={"county_admin": 201, "sibling_admin": 201}, no={"school_admin": 403, "teacher": 403}),
    # --- training-institution accreditation (准入) ---------------------------------------------
    Case("apply for 通许县's centre", "upload", lambda t: "/institutions/accreditations/apply/",
         lambda t: {"institution": t.province.sibling.institutions.get(code="410222-JSFZ").pk, "levels": "county",
                    "categories": "backbone", "modes": "online", "evidence": accr_pdf()}, accreditations_state,
         # the city acts for a county's institution; 通许县 decides it, so may not apply for it (four eyes)
         ok={"tx_staff": 302, "city_admin": 302},
         no={"staff": 404, "county_admin": 404, "sibling_admin": 400, "teacher": 403, "school_admin": 403}),
    Case("add evidence to 通许县's draft", "upload",
         lambda t: f"/institutions/accreditations/{t.tx_accr_draft.pk}/evidence/", lambda t: {"evidence": accr_pdf()},
         accreditations_state, ok={"tx_staff": 302, "city_admin": 302},
         no={"sibling_admin": 403, "staff": 404, "county_admin": 404, "teacher": 403, "school_admin": 403}),
    Case("submit 通许县's draft", "post", lambda t: f"/institutions/accreditations/{t.tx_accr_draft.pk}/submit/", _f(),
         accreditations_state, ok={"tx_staff": 302},
         no={"sibling_admin": 403, "staff": 404, "county_admin": 404, "teacher": 403, "school_admin": 403}),
    Case("approve 通许县's centre", "post", lambda t: f"/institutions/accreditations/{t.tx_accr_submitted.pk}/decide/",
         _f(decision="approve", valid_from="2026-12-01", valid_until="2028-11-30",
            **{f"score_{code}": str(value) for code, value in ACCR_SCORES.items()}), accreditations_state,
         ok={"sibling_admin": 302},
         no={"city_admin": 403, "province_admin": 403, "tx_staff": 403, "county_admin": 404, "staff": 404,
             "teacher": 403}),
    Case("renew 通许县's accreditation", "upload",
         lambda t: f"/institutions/accreditations/{t.tx_accr_approved.pk}/renew/",
         lambda t: {"note": "续期", "evidence": accr_pdf()}, accreditations_state, ok={"tx_staff": 302},
         no={"staff": 404, "county_admin": 404, "teacher": 403}),
    Case("suspend 通许县's accreditation", "post",
         lambda t: f"/institutions/accreditations/{t.tx_accr_approved.pk}/suspend/", _f(reason="学员投诉核查中"),
         accreditations_state, ok={"sibling_admin": 302},
         no={"city_admin": 403, "tx_staff": 403, "county_admin": 404, "teacher": 403}),
    Case("reinstate 通许县's accreditation", "post",
         lambda t: f"/institutions/accreditations/{t.tx_accr_suspended.pk}/reinstate/", _f(reason="核查无问题"),
         accreditations_state, ok={"sibling_admin": 302},
         no={"city_admin": 403, "tx_staff": 403, "county_admin": 404, "teacher": 403}),
    Case("revoke 通许县's accreditation", "post",
         lambda t: f"/institutions/accreditations/{t.tx_accr_approved.pk}/revoke/", _f(reason="弄虚作假"),
         accreditations_state, ok={"sibling_admin": 302},
         no={"city_admin": 403, "province_admin": 403, "tx_staff": 403, "county_admin": 404}),
    Case("apply through the API", "json", lambda t: "/api/v1/accreditations",
         lambda t: {"institution_id": t.province.sibling.institutions.get(code="410222-JSFZ").pk, "levels": ["county"],
                    "categories": ["backbone"], "modes": ["online"]}, accreditations_state,
         ok={"tx_staff": 201}, no={"staff": 404, "county_admin": 404, "sibling_admin": 422, "teacher": 403}),
    Case("add evidence through the API", "upload",
         lambda t: f"/api/v1/accreditations/{t.tx_accr_draft.pk}/evidence", lambda t: {"file": accr_pdf()},
         accreditations_state, ok={"tx_staff": 200}, no={"staff": 404, "county_admin": 404, "teacher": 403}),
    Case("submit through the API", "json", lambda t: f"/api/v1/accreditations/{t.tx_accr_draft.pk}/submit", _f(),
         accreditations_state, ok={"tx_staff": 200}, no={"staff": 404, "county_admin": 404, "teacher": 403}),
    Case("decide an accreditation through the API", "json",
         lambda t: f"/api/v1/accreditations/{t.tx_accr_submitted.pk}/decision",
         _f(decision="approve", scores=ACCR_SCORES, valid_from="2026-12-01", valid_until="2028-11-30"),
         accreditations_state, ok={"sibling_admin": 200},
         no={"city_admin": 403, "tx_staff": 403, "county_admin": 404, "teacher": 403}),
    Case("renew through the API", "upload", lambda t: f"/api/v1/accreditations/{t.tx_accr_approved.pk}/renew",
         lambda t: {"note": "续期", "file": accr_pdf()}, accreditations_state, ok={"tx_staff": 200},
         no={"staff": 404, "county_admin": 404, "sibling_admin": 403}),
    Case("suspend through the API", "json", lambda t: f"/api/v1/accreditations/{t.tx_accr_approved.pk}/suspend",
         _f(reason="学员投诉核查中"), accreditations_state, ok={"sibling_admin": 200},
         no={"city_admin": 403, "tx_staff": 403, "county_admin": 404}),
    Case("reinstate through the API", "json",
         lambda t: f"/api/v1/accreditations/{t.tx_accr_suspended.pk}/reinstate", _f(reason="核查无问题"),
         accreditations_state, ok={"sibling_admin": 200}, no={"city_admin": 403, "tx_staff": 403, "county_admin": 404}),
    Case("revoke through the API", "json", lambda t: f"/api/v1/accreditations/{t.tx_accr_approved.pk}/revoke",
         _f(reason="弄虚作假"), accreditations_state, ok={"sibling_admin": 200},
         no={"city_admin": 403, "tx_staff": 403, "county_admin": 404}),
    # --- annual plans ---------------------------------------------------------------------
    Case("open a plan", "post", lambda t: "/projects/plans/", _f(year="2028"), plans_of,
         ok={"county_admin": 302, "school_admin": 302}, no={"teacher": 403, "staff": 403}),
    Case("open a plan through the API", "json", lambda t: "/api/v1/plans", _f(year=2028), plans_of,
         ok={"county_admin": 201}, no={"teacher": 403, "staff": 403}),
    Case("take a project out of 通许县's plan", "post", lambda t: f"/projects/plans/{t.tx_plan.pk}/",
         lambda t: {"action": "remove", "project": t.tx_draft.pk}, plan_state("tx_plan"), ok={"sibling_admin": 302},
         # the city reviews 通许县's plan but does not draft it
         no={"city_admin": 302, "county_admin": 404, "school_admin": 404, "teacher": 403}),
    Case("check 通许县's plan for overlaps", "post", lambda t: f"/projects/plans/{t.tx_plan.pk}/",
         _f(action="check"), plan_state("tx_plan"), ok={"sibling_admin": 302},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 404}),
    Case("submit 通许县's plan", "post", lambda t: f"/projects/plans/{t.tx_plan.pk}/", _f(action="submit"),
         plan_state("tx_plan"), ok={"sibling_admin": 302},
         no={"city_admin": 302, "province_admin": 302, "county_admin": 404, "school_admin": 404}),
    Case("approve 通许县's plan", "post", lambda t: f"/projects/plans/{t.tx_plan_2027.pk}/",
         _f(action="approve", acknowledge="1"), plan_state("tx_plan_2027"), ok={"city_admin": 302},
         no={"sibling_admin": 302, "province_admin": 302, "county_admin": 404, "other_city_admin": 404}),
    Case("approve a 省直管县's plan", "post", lambda t: f"/projects/plans/{t.lankao_plan.pk}/",
         _f(action="approve", acknowledge="1"), plan_state("lankao_plan"), ok={"province_admin": 302},
         no={"city_admin": 302, "direct_admin": 302, "county_admin": 404}),
    Case("add projects through the API", "json", lambda t: f"/api/v1/plans/{t.tx_plan.pk}/projects",
         lambda t: {"project_ids": [t.tx_open.pk]}, plan_state("tx_plan"), ok={"sibling_admin": 200},
         no={"city_admin": 403, "county_admin": 404, "school_admin": 404, "teacher": 404}),
    Case("remove a project through the API", "delete",
         lambda t: f"/api/v1/plans/{t.tx_plan.pk}/projects/{t.tx_draft.pk}", _f(), plan_state("tx_plan"),
         ok={"sibling_admin": 200}, no={"city_admin": 403, "county_admin": 404, "teacher": 404}),
    Case("check through the API", "json", lambda t: f"/api/v1/plans/{t.tx_plan.pk}/check", _f(),
         plan_state("tx_plan"), ok={"sibling_admin": 200}, no={"county_admin": 404, "school_admin": 404}),
    Case("submit through the API", "json", lambda t: f"/api/v1/plans/{t.tx_plan.pk}/submit", _f(),
         plan_state("tx_plan"), ok={"sibling_admin": 200}, no={"city_admin": 403, "county_admin": 404}),
    Case("decide through the API", "json", lambda t: f"/api/v1/plans/{t.tx_plan_2027.pk}/decision",
         _f(approve=True, acknowledge_conflicts=True), plan_state("tx_plan_2027"), ok={"city_admin": 200},
         no={"sibling_admin": 403, "province_admin": 403, "county_admin": 404, "teacher": 404}),
    # --- the trainer pool (培训专家库) ----------------------------------------------------------
    Case("add a trainer to 通许县's pool", "post", lambda t: "/trainers/new/",
         lambda t: {"division": t.province.sibling.pk, "name": "新培训师", "source": "research_staff",
                    "stages": "primary", "topics": "homework"}, trainers_state,
         ok={"sibling_admin": 302, "city_admin": 302, "province_admin": 302},
         no={"county_admin": 404, "other_city_admin": 404, "direct_admin": 404, "school_admin": 403, "teacher": 403,
             "tx_staff": 403, "tx_expert": 403}),
    Case("add a trainer to 兰考县's pool", "post", lambda t: "/trainers/new/",
         lambda t: {"division": t.province.direct.pk, "name": "新培训师", "source": "research_staff",
                    "stages": "primary", "topics": "homework"}, trainers_state,
         ok={"direct_admin": 302, "province_admin": 302}, no={"city_admin": 403, "county_admin": 404}),
    Case("edit 通许县's trainer", "post", lambda t: f"/trainers/{t.tx_trainer.pk}/edit/", _trainer_form(),
         trainers_state, ok={"sibling_admin": 302, "city_admin": 302, "province_admin": 302},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "teacher": 403, "tx_staff": 403}),
    Case("edit 兰考县's trainer", "post", lambda t: f"/trainers/{t.lk_trainer.pk}/edit/", _trainer_form(),
         trainers_state, ok={"direct_admin": 302, "province_admin": 302},
         no={"city_admin": 403, "county_admin": 404, "sibling_admin": 404, "school_admin": 403}),
    Case("edit 杞县's trainer (张三)", "post", lambda t: f"/trainers/{t.qx_trainer.pk}/edit/",
         _trainer_form(source="master_teacher"), trainers_state, ok={"county_admin": 302},
         no={"school_admin": 403, "teacher": 403, "sibling_admin": 404}),
    Case("promote 通许县's trainer", "post", lambda t: f"/trainers/{t.tx_trainer.pk}/promote/",
         _f(grade="2", reason="县级授课评价优秀"), trainers_state, ok={"sibling_admin": 302},
         # the pool's owner alone: the city and the province above it see the trainer but do not grade
         no={"city_admin": 403, "province_admin": 403, "county_admin": 404, "other_city_admin": 404,
             "school_admin": 403, "sibling_teacher_user": 403}),
    Case("promote 杞县's trainer (张三)", "post", lambda t: f"/trainers/{t.qx_trainer.pk}/promote/",
         _f(grade="3", reason="县级授课评价优秀"), trainers_state, ok={"county_admin": 302},
         no={"school_admin": 403, "teacher": 403, "city_admin": 403, "sibling_admin": 404}),
    Case("record 通许县's trainer unavailable", "post", lambda t: f"/trainers/{t.tx_trainer.pk}/unavailable/",
         _f(action="add", starts_on="2026-12-20", ends_on="2026-12-22", reason="外出学习"), trainers_state,
         ok={"sibling_admin": 302, "city_admin": 302, "province_admin": 302},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "sibling_teacher_user": 403}),
    Case("withdraw 通许县's unavailable period", "post", lambda t: f"/trainers/{t.tx_trainer.pk}/unavailable/",
         lambda t: {"action": "remove", "period": t.tx_period.pk}, trainers_state, ok={"sibling_admin": 302},
         no={"county_admin": 404, "direct_admin": 404, "school_admin": 403}),
    Case("book a trainer on 通许县's session", "post", lambda t: f"/trainers/sessions/{t.session.pk}/",
         lambda t: {"action": "book", "trainer": t.tx_trainer.pk}, trainers_state,
         ok={"sibling_admin": 302, "city_admin": 302, "province_admin": 302},
         # 通许县's implementing institution runs the session but has no pool
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "teacher": 403, "tx_staff": 403}),
    Case("cancel a booking on 通许县's session", "post", lambda t: f"/trainers/sessions/{t.tx_session_2.pk}/",
         lambda t: {"action": "unbook", "trainer": t.tx_booked.pk}, trainers_state,
         ok={"sibling_admin": 302, "city_admin": 302}, no={"county_admin": 404, "school_admin": 403, "tx_staff": 403}),
    Case("book 杞县's trainer (张三) on 杞县's session", "post", lambda t: f"/trainers/sessions/{t.qx_session.pk}/",
         lambda t: {"action": "book", "trainer": t.qx_trainer.pk}, trainers_state, ok={"county_admin": 302},
         no={"school_admin": 403, "teacher": 403, "sibling_admin": 404}),
    Case("add a trainer through the API", "json", lambda t: "/api/v1/trainers",
         lambda t: {"division_id": t.province.sibling.pk, "name": "新培训师", "source": "research_staff",
                    "stages": ["primary"], "topics": ["homework"]}, trainers_state,
         ok={"sibling_admin": 201, "city_admin": 201},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "teacher": 403, "tx_staff": 403}),
    Case("edit a trainer through the API", "patch", lambda t: f"/api/v1/trainers/{t.tx_trainer.pk}",
         _f(organisation="通许县教研室"), trainers_state, ok={"sibling_admin": 200, "city_admin": 200},
         no={"county_admin": 404, "other_city_admin": 404, "sibling_teacher_user": 404, "school_admin": 403}),
    Case("edit 兰考县's trainer through the API", "patch", lambda t: f"/api/v1/trainers/{t.lk_trainer.pk}",
         _f(organisation="兰考县教研室"), trainers_state, ok={"direct_admin": 200}, no={"city_admin": 403}),
    Case("promote through the API", "json", lambda t: f"/api/v1/trainers/{t.tx_trainer.pk}/promote",
         _f(grade=2, reason="县级授课评价优秀"), trainers_state, ok={"sibling_admin": 200},
         no={"city_admin": 403, "province_admin": 403, "county_admin": 404, "school_admin": 403}),
    Case("promote oneself through the API", "json", lambda t: f"/api/v1/trainers/{t.qx_trainer.pk}/promote",
         _f(grade=4, reason="自己给自己晋升"), trainers_state, ok={"county_admin": 200},
         no={"teacher": 403, "school_admin": 403, "city_admin": 403}),
    Case("record unavailable through the API", "json", lambda t: f"/api/v1/trainers/{t.tx_trainer.pk}/unavailable",
         _f(starts_on="2026-12-20", ends_on="2026-12-22"), trainers_state, ok={"sibling_admin": 201},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403}),
    Case("withdraw unavailable through the API", "delete",
         lambda t: f"/api/v1/trainers/{t.tx_trainer.pk}/unavailable/{t.tx_period.pk}", _f(), trainers_state,
         ok={"sibling_admin": 204}, no={"county_admin": 404, "direct_admin": 404, "sibling_teacher_user": 404}),
    Case("book through the API", "json", lambda t: f"/api/v1/trainers/{t.tx_trainer.pk}/bookings",
         lambda t: {"session_id": t.session.pk}, trainers_state, ok={"sibling_admin": 201, "city_admin": 201},
         no={"county_admin": 404, "school_admin": 403, "tx_staff": 403, "teacher": 404}),
    # --- anonymous ratings (匿名评价) -------------------------------------------------------------
    Case("rate 杞县's project (张三 enrolled)", "json", lambda t: f"/api/v1/projects/{t.qx_rated.pk}/ratings",
         _f(answers={"1": 4}), ratings_state, ok={"teacher": 201},
         no={"sibling_teacher_user": 403, "county_admin": 403, "school_admin": 403, "staff": 403}),
    Case("rate 杞县's project on the page", "post", lambda t: f"/evaluation/ratings/projects/{t.qx_rated.pk}/",
         _f(**{"q-1": "5"}), ratings_state, ok={"teacher": 302},
         no={"sibling_teacher_user": 403, "county_admin": 403, "school_admin": 403}),
    Case("open a rating window on 通许县's project", "post",
         lambda t: f"/evaluation/ratings/projects/{t.tx_open.pk}/windows/",
         lambda t: {"instrument": t.questionnaire.pk, "opens_on": "2026-12-01", "closes_on": "2026-12-25"},
         ratings_state, ok=TX_IN_PAGE,
         # the rated institution never opens its own rating; the school of the next county sees nothing
         no={**TX_OUT, "tx_staff": 403, "sibling_teacher_user": 403}),
    Case("open a rating window through the API", "json", lambda t: f"/api/v1/projects/{t.tx_open.pk}/rating-windows",
         lambda t: {"instrument_id": t.questionnaire.pk, "opens_on": "2026-12-01", "closes_on": "2026-12-25"},
         ratings_state, ok={"sibling_admin": 201, "city_admin": 201},
         no={"county_admin": 403, "tx_staff": 403, "school_admin": 403, "sibling_teacher_user": 403}),
    Case("change 通许县's rating window through the API", "patch", lambda t: f"/api/v1/rating-windows/{t.tx_window.pk}",
         lambda t: {"instrument_id": t.questionnaire.pk, "opens_on": "2026-11-20", "closes_on": "2026-12-05"},
         ratings_state, ok={"sibling_admin": 200},
         no={"county_admin": 404, "other_city_admin": 404, "tx_staff": 403, "sibling_teacher_user": 403}),
    Case("delete 通许县's unrated rating window", "post",
         lambda t: f"/evaluation/ratings/windows/{t.tx_window.pk}/delete/", _f(), ratings_state, ok=TX_IN_PAGE,
         no={**TX_OUT, "tx_staff": 403, "sibling_teacher_user": 403}),
    Case("delete 通许县's unrated rating window through the API", "delete",
         lambda t: f"/api/v1/rating-windows/{t.tx_window.pk}", _f(), ratings_state,
         ok={"sibling_admin": 204, "city_admin": 204},
         no={"county_admin": 404, "other_city_admin": 404, "tx_staff": 403, "sibling_teacher_user": 403}),
    Case("cancel a booking through the API", "delete",
         lambda t: f"/api/v1/trainers/{t.tx_booked.pk}/bookings/{t.tx_session_2.pk}", _f(), trainers_state,
         ok={"sibling_admin": 204}, no={"county_admin": 404, "other_city_admin": 404, "teacher": 404}),
    # --- high-end training targets and allocations (quotas) --------------------------------------
    Case("add a rate version", "post", lambda t: "/quotas/targets/rates/", _f(**RATE_FORM), quota_rates_state,
         ok={"province_admin": 302},
         no={"city_admin": 403, "sibling_admin": 403, "school_admin": 403, "tx_staff": 403, "teacher": 403}),
    Case("add a rate version through the API", "json", lambda t: "/api/v1/quotas/rates", _f(**RATE_FORM),
         quota_rates_state, ok={"province_admin": 201},
         no={"city_admin": 403, "direct_admin": 403, "tx_staff": 403, "teacher": 403}),
    Case("freeze the cycle's baseline", "post", lambda t: "/quotas/targets/baseline/", _f(cycle="2026-2030"),
         quota_baselines_state, ok={"province_admin": 302},
         no={"city_admin": 403, "sibling_admin": 403, "school_admin": 403, "teacher": 403}),
    Case("freeze the baseline through the API", "json", lambda t: "/api/v1/quotas/baselines?cycle=2026-2030", _f(),
         quota_baselines_state, ok={"province_admin": 200}, no={"city_admin": 403, "sibling_admin": 403, "teacher": 403}),
    Case("allocate 通许县's seats", "post", lambda t: "/quotas/allocations/new/", _f(**ALLOCATION_FORM),
         quota_allocations_state, ok=TX_IN_PAGE,
         no={"county_admin": 404, "other_city_admin": 404, "direct_admin": 404, "school_admin": 403, "teacher": 403,
             "tx_staff": 403}),
    Case("allocate 兰考县's seats: the city only reads", "post", lambda t: "/quotas/allocations/new/",
         _f(**{**ALLOCATION_FORM, "division": "410225"}), quota_allocations_state,
         ok={"direct_admin": 302, "province_admin": 302}, no={"city_admin": 403, "sibling_admin": 404}),
    Case("allocate through the API", "json", lambda t: "/api/v1/quotas/allocations",
         _f(division="410222", year=2026, total=1), quota_allocations_state,
         ok={"sibling_admin": 201, "city_admin": 201, "province_admin": 201},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "teacher": 403, "tx_staff": 403}),
    # --- performance score, ranking, elimination (evaluation) -----------------------------------
    Case("set next year's weights", "post", lambda t: "/evaluation/weights/", _f(**WEIGHTS_FORM), weights_state,
         ok={"province_admin": 302},
         no={"city_admin": 403, "sibling_admin": 403, "school_admin": 403, "tx_staff": 403, "teacher": 403}),
    Case("set weights through the API", "json", lambda t: "/api/v1/evaluation/weights", _f(**WEIGHTS_FORM),
         weights_state, ok={"province_admin": 201}, no={"city_admin": 403, "tx_staff": 403, "teacher": 403}),
    Case("rank 2025", "post", lambda t: "/evaluation/rankings/2025/compute/", _f(), ranking_state,
         ok={"province_admin": 302},
         no={"city_admin": 403, "sibling_admin": 403, "school_admin": 403, "tx_staff": 403, "teacher": 403}),
    Case("rank 2025 through the API", "json", lambda t: "/api/v1/evaluation/rankings/2025/compute", _f(),
         ranking_state, ok={"province_admin": 200}, no={"city_admin": 403, "tx_staff": 403, "teacher": 403}),
    # --- quotas: selection of nominees ---------------------------------------------------------
    Case("publish priority rules", "post", lambda t: "/quotas/selection/rules/new/",
         _f(rural_on="1", rural_points="25"), selection_state, ok={"sibling_admin": 302, "city_admin": 302},
         no={"school_admin": 403, "teacher": 403, "tx_staff": 403, "tx_expert": 403}),
    Case("publish priority rules through the API", "json", lambda t: "/api/v1/selection/rule-sets",
         _f(rules=[{"kind": "rural", "points": 25}]), selection_state, ok={"sibling_admin": 201},
         no={"school_admin": 403, "teacher": 403, "tx_staff": 403}),
    Case("build 通许县's ranked list", "post", lambda t: f"/quotas/selection/projects/{t.tx_high_end.pk}/",
         _f(seats="2"), selection_state, ok={"sibling_admin": 302},
         no={"county_admin": 403, "other_city_admin": 403, "city_admin": 403, "school_admin": 403, "teacher": 403,
             "tx_staff": 403}),
    Case("build a ranked list through the API", "json",
         lambda t: f"/api/v1/projects/{t.tx_high_end.pk}/nomination-lists", _f(seats=2), selection_state,
         ok={"sibling_admin": 201}, no={"county_admin": 403, "city_admin": 403, "school_admin": 403, "teacher": 403}),
    Case("drop a pick", "post", lambda t: f"/quotas/selection/lists/{t.tx_nlist.pk}/drop/",
         lambda t: {"pick": t.tx_selected.pk, "reason": "病假"}, selection_state, ok={"sibling_admin": 302},
         no=SELECTION_NO_PAGE),
    Case("drop a pick through the API", "json", lambda t: f"/api/v1/nomination-lists/{t.tx_nlist.pk}/drop",
         lambda t: {"pick_id": t.tx_selected.pk, "reason": "病假"}, selection_state, ok={"sibling_admin": 200},
         no=SELECTION_NO_API),
    Case("add a teacher to a list", "post", lambda t: f"/quotas/selection/lists/{t.tx_nlist.pk}/add/",
         lambda t: {"teacher": t.tx_free_teacher.pk, "reason": "学科急需"}, selection_state,
         ok={"sibling_admin": 302}, no=SELECTION_NO_PAGE),
    Case("add a teacher through the API", "json", lambda t: f"/api/v1/nomination-lists/{t.tx_nlist.pk}/add",
         lambda t: {"teacher_id": t.tx_free_teacher.pk, "reason": "学科急需"}, selection_state,
         ok={"sibling_admin": 200}, no=SELECTION_NO_API),
    Case("submit a ranked list", "post", lambda t: f"/quotas/selection/lists/{t.tx_nlist.pk}/submit/", _f(),
         selection_state, ok={"sibling_admin": 302}, no=SELECTION_NO_PAGE),
    Case("submit a ranked list through the API", "json",
         lambda t: f"/api/v1/nomination-lists/{t.tx_nlist.pk}/submit", _f(), selection_state,
         ok={"sibling_admin": 200}, no=SELECTION_NO_API),
    # 开封市's project: its counties (and the city, its organiser) nominate for it; the province above
    # the organiser, another city, a school of 杞县 and a teacher may not.
    Case("build a ranked list for the city's project", "post",
         lambda t: f"/quotas/selection/projects/{t.city_high_end.pk}/", _f(), selection_state,
         ok={"sibling_admin": 302, "county_admin": 302, "city_admin": 302},
         no={"province_admin": 403, "other_city_admin": 403, "school_admin": 403, "qx_school_admin_2": 403,
             "teacher": 403, "tx_staff": 403, "tx_expert": 403}),
    # Two seats for the city's project: above 杞县's and 通许县's share of one (refused, nothing written);
    # the organiser has no share from above and may.
    Case("build above the allocated share through the API", "json",
         lambda t: f"/api/v1/projects/{t.city_high_end.pk}/nomination-lists", _f(seats=2), selection_state,
         ok={"city_admin": 201},
         no={"sibling_admin": 422, "county_admin": 422, "province_admin": 403, "other_city_admin": 403,
             "school_admin": 403, "teacher": 403}),
    Case("appeal 通许县's elimination", "post", lambda t: f"/evaluation/cases/{t.tx_case.pk}/appeal/",
         _f(reason="视导当天为集中培训间隙，评分未反映实际"), case_state("tx_case"),
         ok={"tx_staff": 302, "sibling_admin": 302, "city_admin": 302, "province_admin": 302},
         no={**TX_OUT, "direct_admin": 404, "staff": 404, "teacher": 403}),
    Case("appeal through the API", "json", lambda t: f"/api/v1/elimination-cases/{t.tx_case.pk}/appeal",
         _f(reason="视导当天为集中培训间隙，评分未反映实际"), case_state("tx_case"), ok={"tx_staff": 200},
         no={"county_admin": 404, "staff": 404, "school_admin": 404, "teacher": 403}),
    # 通许县 appealed (its held project's, implemented by another institution than tx_staff's): the
    # province decides; the appellant and the city, who see the case, may not.
    Case("decide 通许县's appeal", "post", lambda t: f"/evaluation/cases/{t.tx_case_appealed.pk}/decide/",
         _f(decision="confirm", note="经复核维持原排名"), case_state("tx_case_appealed"), ok={"province_admin": 302},
         no={"sibling_admin": 403, "city_admin": 403, "tx_staff": 404, **TX_OUT, "teacher": 403}),
    Case("decide through the API", "json", lambda t: f"/api/v1/elimination-cases/{t.tx_case_appealed.pk}/decide",
         _f(decision="overturn", note="申诉成立，撤销淘汰"), case_state("tx_case_appealed"), ok={"province_admin": 200},
         no={"sibling_admin": 403, "city_admin": 403, "county_admin": 404, "teacher": 403}),
    # --- evaluation: supervision, outcome reviews, stakeholder ratings, rubrics ------------------------
    # 通许县's project: its organiser (and the city above) names supervisors and records; 吴专家, named,
    # records; its implementing institution (tx_staff) never scores it; 杞县 next door, 杞县's school,
    # the expert of 杞县 get 403 (they see the published project) and write nothing.
    Case("name a supervisor of 通许县's project", "post",
         lambda t: f"/evaluation/supervision/projects/{t.tx_open.pk}/supervisors/", _f(action="add", username="admin-410221"),
         supervision_state, ok={"sibling_admin": 302, "city_admin": 302},
         no={"county_admin": 403, "school_admin": 403, "tx_staff": 403, "tx_expert": 403, "teacher": 403}),
    Case("record a visit on 通许县's project", "post",
         lambda t: f"/evaluation/supervision/projects/{t.tx_open.pk}/records/visit/",
         _scored("hn_visit", visited_on="2026-11-27"), supervision_state,
         ok={"sibling_admin": 302, "city_admin": 302, "tx_expert": 302},
         no={"tx_staff": 403, "county_admin": 403, "school_admin": 403, "other_city_admin": 403, "teacher": 403}),
    Case("record a visit on 杞县's project", "post",
         lambda t: f"/evaluation/supervision/projects/{t.qx_open.pk}/records/visit/",
         _scored("hn_visit", visited_on="2026-11-27"), supervision_state, ok={"county_admin": 302},
         # 杞县's own school administrator, not named, and 杞县's second school: refused
         no={"school_admin": 403, "qx_school_admin_2": 403, "sibling_admin": 403, "tx_expert": 403}),
    Case("review an outcome of 通许县's project", "post",
         lambda t: f"/evaluation/supervision/projects/{t.tx_open.pk}/records/outcome/",
         _scored("tx_rubric", title="教学设计", kind="lesson_plan"), supervision_state,
         ok={"sibling_admin": 302, "tx_expert": 302}, no={"tx_staff": 403, "county_admin": 403, "school_admin": 403}),
    Case("rate 通许县's project as a stakeholder", "post",
         lambda t: f"/evaluation/supervision/projects/{t.tx_open.pk}/records/stakeholder/", _scored("hn_stakeholder"),
         supervision_state, ok={"city_admin": 302},  # 周八 of 开封市 attends it
         no={"sibling_admin": 403, "county_admin": 403, "school_admin": 403, "tx_staff": 403}),  # the organiser, outsiders
    Case("rate 杞县's project as its teacher's school", "post",
         lambda t: f"/evaluation/supervision/projects/{t.qx_other.pk}/records/stakeholder/", _scored("hn_stakeholder"),
         supervision_state, ok={"school_admin": 302},
         no={"qx_school_admin_2": 403, "county_admin": 403, "sibling_admin": 403}),
    Case("edit 吴专家's visit", "post", lambda t: f"/evaluation/supervision/records/visit/{t.tx_visit.pk}/",
         _f(visited_on="2026-11-21", score_a="10", score_b="20", note="改"), supervision_state, ok={"tx_expert": 302},
         no={"sibling_admin": 403, "city_admin": 403, "tx_staff": 403, "county_admin": 404, "school_admin": 404,
             "teacher": 403}),
    Case("add the file of 吴专家's outcome review", "upload",
         lambda t: f"/evaluation/supervision/records/outcome/{t.tx_review.pk}/file/",
         lambda t: {"file": SimpleUploadedFile("成果.pdf", b"%PDF-1.4 outcome")}, supervision_state,
         ok={"tx_expert": 302},
         no={"sibling_admin": 403, "city_admin": 403, "tx_staff": 403, "county_admin": 404, "school_admin": 404,
             "teacher": 403}),
    Case("add the file of 吴专家's outcome review through the API", "upload",
         lambda t: f"/api/v1/evaluation/records/outcome-reviews/{t.tx_review.pk}/file",
         lambda t: {"file": SimpleUploadedFile("成果.pdf", b"%PDF-1.4 outcome")}, supervision_state,
         ok={"tx_expert": 200},
         no={"sibling_admin": 403, "city_admin": 403, "tx_staff": 403, "county_admin": 404, "teacher": 403}),
    Case("new rubric of 通许县", "post", lambda t: "/evaluation/supervision/rubrics/new/",
         lambda t: {"kind": "visit", "code": "TX-NEW", "title": "新量规", "criteria": "a|组织|10",
                    "division": t.province.sibling.pk}, rubrics_state, ok={"sibling_admin": 302, "city_admin": 302},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "tx_expert": 403, "tx_staff": 403}),
    Case("edit 通许县's draft rubric", "post", lambda t: f"/evaluation/supervision/rubrics/{t.tx_rubric_draft.pk}/",
         _f(title="改名", criteria="a|组织|30"), rubrics_state, ok={"sibling_admin": 302, "city_admin": 302},
         no={"county_admin": 404, "direct_admin": 404, "school_admin": 403}),
    Case("publish 通许县's rubric", "post", lambda t: f"/evaluation/supervision/rubrics/{t.tx_rubric_draft.pk}/state/",
         _f(action="publish"), rubrics_state, ok={"sibling_admin": 302},
         no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403}),
    Case("retire the province's rubric", "post", lambda t: f"/evaluation/supervision/rubrics/{t.hn_visit.pk}/state/",
         _f(action="retire"), rubrics_state, ok={"province_admin": 302},
         no={"county_admin": 403, "city_admin": 403, "school_admin": 403}),  # they use it, they do not own it
    Case("record a visit through the API", "json", lambda t: f"/api/v1/projects/{t.tx_open.pk}/visits",
         _scored_json("hn_visit", visited_on="2026-11-27"), supervision_state,
         ok={"sibling_admin": 201, "tx_expert": 201},
         no={"tx_staff": 403, "county_admin": 403, "school_admin": 403, "teacher": 403}),
    Case("review an outcome through the API", "json", lambda t: f"/api/v1/projects/{t.tx_open.pk}/outcome-reviews",
         _scored_json("tx_rubric", title="研修报告", kind="report"), supervision_state, ok={"sibling_admin": 201},
         no={"tx_staff": 403, "county_admin": 403, "qx_school_admin_2": 403}),
    Case("rate as a stakeholder through the API", "json",
         lambda t: f"/api/v1/projects/{t.tx_open.pk}/stakeholder-ratings", _scored_json("hn_stakeholder"),
         supervision_state, ok={"city_admin": 201}, no={"sibling_admin": 403, "county_admin": 403, "school_admin": 403}),
    Case("correct 吴专家's visit through the API", "patch",
         lambda t: f"/api/v1/evaluation/records/visits/{t.tx_visit.pk}", _f(note="改"), supervision_state,
         ok={"tx_expert": 200},
         no={"sibling_admin": 403, "city_admin": 403, "tx_staff": 403, "county_admin": 404, "school_admin": 404,
             "teacher": 403}),
    Case("name a supervisor through the API", "json", lambda t: f"/api/v1/projects/{t.tx_open.pk}/supervisors",
         _f(username="admin-410200"), supervision_state, ok={"sibling_admin": 201},
         no={"county_admin": 403, "school_admin": 403, "tx_staff": 403, "tx_expert": 403}),
    Case("remove a supervisor through the API", "delete",
         lambda t: f"/api/v1/projects/{t.tx_open.pk}/supervisors/{t.tx_idle_supervisor.pk}", _f(), supervision_state,
         ok={"sibling_admin": 204, "city_admin": 204}, no={"county_admin": 404, "tx_staff": 403, "tx_expert": 404}),
    Case("new rubric through the API", "json", lambda t: "/api/v1/rubrics",
         lambda t: {"kind": "visit", "code": "TX-API", "title": "新量规", "division_id": t.province.sibling.pk,
                    "criteria": [{"code": "a", "label": "组织", "max": 10}]}, rubrics_state,
         ok={"sibling_admin": 201}, no={"county_admin": 404, "school_admin": 403, "tx_expert": 403}),
    Case("edit a draft rubric through the API", "patch", lambda t: f"/api/v1/rubrics/{t.tx_rubric_draft.pk}",
         _f(title="改名"), rubrics_state, ok={"sibling_admin": 200}, no={"county_admin": 404, "school_admin": 403}),
    Case("publish a rubric through the API", "json", lambda t: f"/api/v1/rubrics/{t.tx_rubric_draft.pk}/publish", _f(),
         rubrics_state, ok={"sibling_admin": 200}, no={"county_admin": 404, "direct_admin": 404}),
    Case("new rubric version through the API", "json", lambda t: f"/api/v1/rubrics/{t.tx_rubric.pk}/versions", _f(),
         rubrics_state, ok={"sibling_admin": 201}, no={"county_admin": 404, "other_city_admin": 404}),
    Case("retire a rubric through the API", "json", lambda t: f"/api/v1/rubrics/{t.tx_rubric.pk}/retire", _f(),
         rubrics_state, ok={"sibling_admin": 200, "city_admin": 200}, no={"county_admin": 404, "direct_admin": 404}),
    # --- evaluation: instruments, assessments, teaching outcomes ---------------------------------
    Case("make an instrument", "post", lambda t: "/evaluation/instruments/new/",
         _f(code="TX-NEW", kind="assessment", **EV_FORM), evaluation_instruments_state,
         ok={"sibling_admin": 302, "city_admin": 302},
         no={"school_admin": 403, "teacher": 403, "tx_staff": 403, "tx_expert": 403}),
    Case("edit 通许县's draft instrument", "post", lambda t: f"/evaluation/instruments/{t.tx_instrument_draft.pk}/edit/",
         _f(**EV_FORM), evaluation_instruments_state, ok=TX_IN_PAGE,
         no={"county_admin": 404, "other_city_admin": 404, "direct_admin": 404, "school_admin": 403, "teacher": 403,
             "tx_staff": 403}),
    Case("publish 通许县's draft instrument", "post",
         lambda t: f"/evaluation/instruments/{t.tx_instrument_draft.pk}/publish/", _f(), evaluation_instruments_state,
         ok=TX_IN_PAGE, no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "tx_staff": 403}),
    Case("new version of 通许县's instrument", "post",
         lambda t: f"/evaluation/instruments/{t.tx_instrument.pk}/new-version/", _f(), evaluation_instruments_state,
         ok=TX_IN_PAGE, no={"county_admin": 404, "other_city_admin": 404, "school_admin": 403, "teacher": 403}),
    Case("retire 通许县's instrument", "post", lambda t: f"/evaluation/instruments/{t.tx_instrument.pk}/retire/", _f(),
         evaluation_instruments_state, ok=TX_IN_PAGE,
         no={"county_admin": 404, "direct_admin": 404, "school_admin": 403, "tx_staff": 403}),
    Case("attach an assessment to 通许县's project", "post",
         lambda t: f"/evaluation/projects/{t.tx_ev_project.pk}/assessments/",
         lambda t: {"instrument": t.tx_instrument.pk, "point": "post", "opens_on": "2026-12-20",
                    "closes_on": "2026-12-30"}, evaluation_instruments_state,
         ok={"sibling_admin": 302, "city_admin": 302, "tx_staff": 302},
         # the project is open (seen by all) but run by 通许县 and its centre only
         no={"county_admin": 403, "school_admin": 403, "staff": 403, "teacher": 403}),
    Case("remove 通许县's assessment", "post", lambda t: f"/evaluation/assessments/attachments/{t.tx_mid.pk}/",
         _f(remove="1"), evaluation_instruments_state, ok={"sibling_admin": 302, "tx_staff": 302},
         no={"county_admin": 404, "school_admin": 404, "staff": 404, "teacher": 403, "sibling_teacher_user": 403}),
    Case("take 通许县's assessment", "post", lambda t: f"/evaluation/assessments/{t.tx_mid.pk}/", _f(q1="4"),
         evaluation_instruments_state, ok={"sibling_teacher_user": 302},
         no={"teacher": 404, "tx_expert": 404, "sibling_admin": 403, "tx_staff": 403}),
    Case("import teaching outcomes of 通许县's teacher", "upload", lambda t: "/evaluation/outcomes/import/",
         _outcome_file, evaluation_instruments_state, ok={"sibling_admin": 200, "city_admin": 200},
         # 杞县 does not find 李四 in its roster: the row is refused and nothing is written
         no={"county_admin": 400, "direct_admin": 400, "school_admin": 403, "sibling_teacher_user": 403}),
    Case("import teaching outcomes through the API", "upload", lambda t: "/api/v1/teaching-outcomes/import",
         _outcome_file, evaluation_instruments_state, ok={"sibling_admin": 200, "province_admin": 200},
         no={"county_admin": 200, "other_city_admin": 200, "school_admin": 403, "tx_staff": 403}),
    Case("make an instrument through the API", "json", lambda t: "/api/v1/instruments",
         _f(code="TX-API", kind="rating", title="满意度", items=[{"text": "总体满意", "dimension": "overall"}]),
         evaluation_instruments_state, ok={"sibling_admin": 201},
         no={"school_admin": 403, "teacher": 403, "tx_staff": 403}),
    Case("publish through the API", "json", lambda t: f"/api/v1/instruments/{t.tx_instrument_draft.pk}/publish", _f(),
         evaluation_instruments_state, ok={"sibling_admin": 200, "city_admin": 200},
         no={"county_admin": 404, "school_admin": 403, "sibling_teacher_user": 403}),
    Case("new version through the API", "json", lambda t: f"/api/v1/instruments/{t.tx_instrument.pk}/versions", _f(),
         evaluation_instruments_state, ok={"sibling_admin": 201}, no={"county_admin": 404, "school_admin": 403}),
    Case("retire through the API", "json", lambda t: f"/api/v1/instruments/{t.tx_instrument.pk}/retire", _f(),
         evaluation_instruments_state, ok={"sibling_admin": 200}, no={"other_city_admin": 404, "school_admin": 403}),
    Case("attach through the API", "json", lambda t: f"/api/v1/projects/{t.tx_ev_project.pk}/assessments",
         lambda t: {"instrument_id": t.tx_instrument.pk, "point": "post", "opens_on": "2026-12-20",
                    "closes_on": "2026-12-30"}, evaluation_instruments_state,
         ok={"sibling_admin": 201, "tx_staff": 201}, no={"county_admin": 403, "staff": 403, "teacher": 403}),
    Case("remove an assessment through the API", "delete", lambda t: f"/api/v1/assessments/{t.tx_mid.pk}", _f(),
         evaluation_instruments_state, ok={"sibling_admin": 204}, no={"county_admin": 404, "teacher": 403}),
    Case("answer through the API", "json", lambda t: f"/api/v1/assessments/{t.tx_mid.pk}/responses",
         _f(answers={"1": 4}), evaluation_instruments_state, ok={"sibling_teacher_user": 201},
         no={"teacher": 404, "tx_expert": 404, "sibling_admin": 403}),
    # --- funding: figures, budgets, spend, imports ----------------------------------------------
    Case("enter one's own payroll and ratio on the page", "post", lambda t: "/funding/figures/",
         _f(year="2027", payroll="50000000", ratio_percent="2"), funding_state, ok={"sibling_admin": 302},
         no={"school_admin": 403, "teacher": 403, "sibling_teacher_user": 403}),
    Case("enter 兰考县's payroll through the API", "json", lambda t: "/api/v1/funding/divisions/410225/figures",
         _f(year=2027, payroll="40000000", ratio_percent="2.5"), funding_state, ok={"direct_admin": 201},
         # the city reads its 省直管县 and never changes it; the province reads and does not enter for it
         no={"city_admin": 403, "province_admin": 403, "county_admin": 404, "school_admin": 404, "teacher": 403}),
    Case("enter 通许县's school figures on the page", "post", lambda t: "/funding/schools/",
         lambda t: {"school": t.province.sibling_school.code, "year": "2027", "public_budget": "1000000",
                    "training_budget": "50000"}, funding_state, ok={"sibling_admin": 302},
         no={"city_admin": 403, "province_admin": 403, "county_admin": 404, "school_admin": 404, "teacher": 403}),
    Case("enter 杞县第一小学's figures through the API", "json",
         lambda t: f"/api/v1/funding/schools/{t.province.school.code}/figures",
         _f(year=2027, public_budget="1000000", training_budget="50000"), funding_state,
         ok={"school_admin": 201, "county_admin": 201},
         no={"qx_school_admin_2": 404, "city_admin": 403, "sibling_admin": 404, "teacher": 403}),
    Case("add 通许县's training budget on the page", "post", lambda t: "/funding/budgets/?division=410222",
         _f(year="2027", amount="300000", purpose="骨干教师培训"), funding_state, ok={"sibling_admin": 302},
         no={"city_admin": 403, "county_admin": 404, "school_admin": 403, "teacher": 403}),
    Case("add 兰考县's training budget through the API", "json", lambda t: "/api/v1/funding/budgets",
         _f(division="410225", year=2027, amount="300000", purpose="骨干教师培训"), funding_state,
         ok={"direct_admin": 201},
         no={"city_admin": 403, "province_admin": 403, "sibling_admin": 404, "school_admin": 404, "teacher": 403}),
    Case("record spend on 通许县's project on the page", "upload", lambda t: f"/funding/projects/{t.tx_open.pk}/",
         lambda t: {"amount": "1200", "spent_on": "2026-11-01", "note": "讲课费", "evidence": _funding_pdf()},
         funding_state, ok={"sibling_admin": 302},
         no={"city_admin": 403, "county_admin": 404, "school_admin": 403, "teacher": 403}),
    Case("record spend through the API", "upload", lambda t: f"/api/v1/funding/projects/{t.tx_open.pk}/spend",
         lambda t: {"amount": "1200", "spent_on": "2026-11-01", "note": "讲课费", "evidence": _funding_pdf()},
         funding_state, ok={"sibling_admin": 201},
         no={"city_admin": 403, "county_admin": 404, "school_admin": 404, "teacher": 403}),
    Case("import 通许县's figures on the page", "upload", lambda t: "/funding/import/", _funding_file, funding_state,
         ok={"sibling_admin": 200},
         # another unit's row is refused with its reason and nothing is written
         no={"county_admin": 422, "city_admin": 422, "school_admin": 422, "teacher": 403}),
    Case("import 通许县's figures through the API", "upload", lambda t: "/api/v1/funding/imports/division",
         _funding_file, funding_state, ok={"sibling_admin": 200},
         # another division's rows are refused row by row: a 200 report with written false, nothing written
         no={"county_admin": 200, "province_admin": 200, "school_admin": 403, "teacher": 403}),
    # --- funding: budget and spend entries corrected, deleted, evidence attached; entered from above -------
    Case("correct 通许县's budget entry on the page", "post", lambda t: f"/funding/budgets/{t.tx_budget.pk}/",
         _f(year="2026", amount="310000", purpose="通许县骨干培训", reason="追加预算"), funding_entries_state,
         ok={"sibling_admin": 302},
         # the city and the province read it; it is 通许县's own entry, not one they entered for it
         no={"city_admin": 403, "province_admin": 403, "county_admin": 404, "other_city_admin": 404,
             "school_admin": 403, "teacher": 403}),
    Case("correct 通许县's budget entry through the API", "patch", lambda t: f"/api/v1/funding/budgets/{t.tx_budget.pk}",
         _f(amount="310000", reason="追加预算"), funding_entries_state, ok={"sibling_admin": 200},
         no={"city_admin": 403, "province_admin": 403, "county_admin": 404, "school_admin": 404, "teacher": 403}),
    Case("delete 通许县's budget entry on the page", "post", lambda t: f"/funding/budgets/{t.tx_budget.pk}/delete/",
         _f(reason="重复录入", confirm="1"), funding_entries_state, ok={"sibling_admin": 302},
         no={"city_admin": 403, "province_admin": 403, "county_admin": 404, "school_admin": 403, "teacher": 403}),
    Case("delete 通许县's budget entry through the API", "delete",
         lambda t: f"/api/v1/funding/budgets/{t.tx_budget.pk}?reason=重复录入", _f(), funding_entries_state,
         ok={"sibling_admin": 204},
         no={"city_admin": 403, "province_admin": 403, "county_admin": 404, "school_admin": 404, "teacher": 403}),
    Case("correct 通许县's spend on the page", "post", lambda t: f"/funding/spend/{t.tx_spend.pk}/",
         _f(amount="1100", spent_on="2026-11-01", note="讲课费", reason="按发票更正"), funding_entries_state,
         ok={"sibling_admin": 302},
         no={"city_admin": 403, "province_admin": 403, "county_admin": 404, "school_admin": 403, "teacher": 403}),
    Case("correct 通许县's spend through the API", "patch", lambda t: f"/api/v1/funding/spend/{t.tx_spend.pk}",
         _f(amount="1100", reason="按发票更正"), funding_entries_state, ok={"sibling_admin": 200},
         no={"city_admin": 403, "county_admin": 404, "school_admin": 404, "teacher": 403}),
    Case("delete 通许县's spend on the page", "post", lambda t: f"/funding/spend/{t.tx_spend.pk}/delete/",
         _f(reason="作废", confirm="1"), funding_entries_state, ok={"sibling_admin": 302},
         no={"city_admin": 403, "county_admin": 404, "school_admin": 403, "teacher": 403}),
    Case("delete 通许县's spend through the API", "delete", lambda t: f"/api/v1/funding/spend/{t.tx_spend.pk}?reason=作废",
         _f(), funding_entries_state, ok={"sibling_admin": 204},
         no={"city_admin": 403, "province_admin": 403, "county_admin": 404, "school_admin": 404, "teacher": 403}),
    Case("attach evidence to 通许县's imported spend on the page", "upload",
         lambda t: f"/funding/spend/{t.tx_spend.pk}/evidence/upload/", lambda t: {"evidence": _funding_pdf()},
         funding_entries_state, ok={"sibling_admin": 302},
         no={"city_admin": 403, "county_admin": 404, "school_admin": 403, "teacher": 403}),
    Case("attach evidence to 通许县's imported spend through the API", "upload",
         lambda t: f"/api/v1/funding/spend/{t.tx_spend.pk}/evidence", lambda t: {"evidence": _funding_pdf()},
         funding_entries_state, ok={"sibling_admin": 200},
         no={"city_admin": 403, "province_admin": 403, "county_admin": 404, "school_admin": 404, "teacher": 403}),
    Case("enter 杞县's payroll from above through the API", "json", lambda t: "/api/v1/funding/divisions/410221/figures",
         _f(year=2027, payroll="40000000", on_behalf=True, reason="逾期未报"), funding_entries_state,
         ok={"city_admin": 201, "province_admin": 201},
         # 杞县 itself does not enter "from above"; its neighbours, 兰考县, another city and schools never
         no={"county_admin": 403, "sibling_admin": 404, "direct_admin": 404, "other_city_admin": 404,
             "school_admin": 404, "teacher": 403}),
    Case("enter 兰考县's payroll from above through the API", "json",
         lambda t: "/api/v1/funding/divisions/410225/figures",
         _f(year=2027, payroll="40000000", on_behalf=True, reason="逾期未报"), funding_entries_state,
         ok={"province_admin": 201},
         # a 省直管县 reports to the province: its city reads it and never enters for it
         no={"city_admin": 403, "direct_admin": 403, "county_admin": 404, "school_admin": 404, "teacher": 403}),
    Case("enter 杞县's payroll from above on the page", "post", lambda t: "/funding/figures/?division=410221",
         _f(year="2027", payroll="40000000", on_behalf="1", reason="逾期未报"), funding_entries_state,
         ok={"city_admin": 302, "province_admin": 302},
         # 杞县 itself does not enter "from above" (403); neighbours and other cities do not see it
         no={"county_admin": 403, "sibling_admin": 404, "other_city_admin": 404, "direct_admin": 404, "school_admin": 403,
             "teacher": 403}),
    Case("enter 杞县's budget from above on the page", "post", lambda t: "/funding/budgets/?division=410221",
         _f(year="2027", amount="300000", purpose="代填培训经费", on_behalf="1", reason="逾期未报"),
         funding_entries_state, ok={"city_admin": 302, "province_admin": 302},
         no={"county_admin": 403, "sibling_admin": 404, "other_city_admin": 404, "school_admin": 403, "teacher": 403}),
    Case("enter 兰考县's budget from above through the API", "json", lambda t: "/api/v1/funding/budgets",
         _f(division="410225", year=2027, amount="300000", purpose="代填培训经费", on_behalf=True, reason="逾期未报"),
         funding_entries_state, ok={"province_admin": 201},
         no={"city_admin": 403, "direct_admin": 403, "sibling_admin": 404, "school_admin": 404, "teacher": 403}),
]

MATRIX = [(case, persona, status, persona in case.ok) for case in CASES
          for persona, status in (*case.ok.items(), *case.no.items())]


def _send(client, case: Case, t: Targets):
    url, data = case.url(t), case.data(t)
    if case.method == "post":
        return client.post(url, data)
    if case.method == "upload":
        return client.post(url, data)  # multipart
    if case.method == "json":
        return client.post(url, data, content_type="application/json")
    if case.method == "patch":
        return client.patch(url, data, content_type="application/json")
    return client.delete(url)


@pytest.mark.parametrize(("case", "persona", "status", "allowed"), MATRIX,
                         ids=[f"{c.name}-{p}" for c, p, _, _ in MATRIX])
def test_every_write_as_every_persona(case, persona, status, allowed, people, targets, client_for):
    import time_machine

    with time_machine.travel(dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC), tick=False):
        before = case.probe(targets)
        response = _send(client_for(people[persona]), case, targets)
        after = case.probe(targets)
    assert response.status_code == status, (case.name, persona, response.content[:300])
    if allowed:
        assert after != before, f"{case.name}: {persona} should have changed it"
    else:
        assert after == before, f"{case.name}: {persona} changed it"
    if response.status_code in (403, 404):
        body = response.content.decode("utf-8", "replace")
        assert "李四" not in body and "周八" not in body  # a refusal names nobody


def test_every_case_has_a_refusal_and_most_a_positive_control():
    for case in CASES:
        assert case.no, case.name
    assert sum(1 for case in CASES if case.ok) >= len(CASES) * 2 // 3


# --- every write route has a case ----------------------------------------------------------

def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def declared_methods(callback) -> set[str] | None:
    """The methods a page view allows, read from Django's require_http_methods in its wrappers."""
    seen: set[int] = set()
    while callback is not None and id(callback) not in seen:
        seen.add(id(callback))
        for cell in getattr(callback, "__closure__", None) or ():
            value = cell.cell_contents
            if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) and v.isupper() for v in value):
                return set(value)
        callback = getattr(callback, "__wrapped__", None)
    return None


PUBLIC_WRITES = {"accounts/login/"}  # the log-in form
OWN_SESSION = {"accounts/logout/"}  # ends the caller's own session


def write_routes() -> set[tuple[str, str]]:
    from core.tests.test_routes import _api_operations

    found = set()
    for route, callback in _walk(get_resolver().url_patterns):
        if route.startswith("xapi/"):
            continue  # client credentials, not people: lrs/tests cover each resource's writes and refusals
        if route.startswith("api/"):
            for operation in _api_operations(callback):
                for method in operation.methods:
                    if method != "GET":
                        found.add((route, method))
            continue
        methods = declared_methods(callback)
        assert methods is not None, f"{route}: the view declares no HTTP methods"
        if "POST" in methods and route not in PUBLIC_WRITES | OWN_SESSION:
            found.add((route, "POST"))
    return found


def test_every_page_view_declares_its_methods_and_every_write_route_has_a_case(targets):
    covered = set()
    for case in CASES:
        route = resolve(case.url(targets).split("?")[0]).route
        covered.add((route, {"patch": "PATCH", "delete": "DELETE"}.get(case.method, "POST")))
    missing = write_routes() - covered
    assert missing == set()


def test_the_route_walk_sees_methods(targets):
    assert ("projects/<int:project_id>/manage/", "POST") in write_routes()
    assert not any(route == "projects/" for route, _ in write_routes())
    assert io  # (uploads are built in memory)
