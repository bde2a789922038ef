import hashlib

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from org.models import ResearchCommunity, School
from people.models import Teacher, TeacherHonour, TeacherSubject
from synth.facts import province_stage_facts, province_teacher_total
from synth.generate import largest_remainder
from synth.services import SynthRefused, province_synthesize

FRACTION = "0.002"


def _digest() -> str:
    """Content of the generated registry, independent of encryption nonces."""
    digest = hashlib.sha256()
    for row in Teacher.objects.dangerously_unscoped().order_by("id_index").values_list(
        "name", "id_index", "birth_date", "sex", "stage", "title", "hire_date", "school__code", "status"
    ):
        digest.update(repr(row).encode())
    for row in TeacherSubject.objects.dangerously_unscoped().order_by("teacher__id_index", "subject").values_list("teacher__id_index", "subject", "is_main"):
        digest.update(repr(row).encode())
    return digest.hexdigest()


def _wipe() -> None:
    from guidance.models import (
        GuidanceTeam,
        ProblemCluster,
        Question,
        QuestionMessage,
        TeamMember,
        TeamSchool,
    )

    for model in (QuestionMessage, Question, ProblemCluster, TeamSchool, TeamMember, GuidanceTeam):  # demo guidance
        model.objects.dangerously_unscoped().all().delete()
    from institutions.models import Accreditation

    Accreditation.objects.dangerously_unscoped().all().delete()  # its scores and history go with it
    from trainers.models import Trainer, TrainerBooking, TrainerLevelChange, TrainerUnavailability

    for model in (TrainerBooking, TrainerLevelChange, TrainerUnavailability, Trainer):  # the demo trainer pools
        model.objects.dangerously_unscoped().all().delete()
    from funding.models import (
        DivisionFunding,
        FundingImport,
        ProjectSpend,
        SchoolFunding,
        TrainingBudget,
    )

    for model in (ProjectSpend, SchoolFunding, TrainingBudget, DivisionFunding, FundingImport):  # the demo funding
        model.objects.dangerously_unscoped().all().delete()
    from quotas.selection_models import NominationList, NominationOverride, NominationPick
    from quotas.target_models import Allocation, AllocationShare, TargetBaseline

    # the demo high-end task: baselines and allocations (they hold schools and divisions), any lists
    for model in (NominationOverride, NominationPick, NominationList, AllocationShare, Allocation, TargetBaseline):
        model.objects.dangerously_unscoped().all().delete()
    from quotas.progress_models import HighEndCompletion

    HighEndCompletion.objects.dangerously_unscoped().all().delete()  # the high-end task's progress table
    from synth.tests.test_evaluation import evaluation_wipe

    evaluation_wipe()
    User.objects.all().delete()
    from catalog.models import (
        AnnualPlan,
        Attendance,
        Enrolment,
        PlanConflict,
        Project,
        ProjectSession,
    )

    for model in (Attendance, Enrolment, ProjectSession, PlanConflict, Project, AnnualPlan):
        model.objects.dangerously_unscoped().all().delete()
    from institutions.models import TrainingBase

    TrainingBase.objects.dangerously_unscoped().all().delete()
    from learning.models import CourseEnrolment, StudySession

    for model in (StudySession, CourseEnrolment):  # the demo study histories
        model.objects.dangerously_unscoped().all().delete()
    TeacherHonour.objects.dangerously_unscoped().all().delete()
    TeacherSubject.objects.dangerously_unscoped().all().delete()
    ResearchCommunity.objects.dangerously_unscoped().update(chief_teacher=None)
    Teacher.objects.dangerously_unscoped().all().delete()
    School.objects.dangerously_unscoped().all().delete()
    ResearchCommunity.objects.dangerously_unscoped().all().delete()


@pytest.mark.django_db
def test_same_seed_gives_the_same_province_and_another_seed_does_not(settings):
    settings.DEMO_PASSWORD = ""
    province_synthesize(scale=FRACTION, seed=7, with_ledger=False)
    first = _digest()
    _wipe()
    province_synthesize(scale=FRACTION, seed=7, with_ledger=False)
    assert _digest() == first
    _wipe()
    province_synthesize(scale=FRACTION, seed=8, with_ledger=False)
    assert _digest() != first


@pytest.mark.django_db
def test_fraction_reproduces_the_province_counts_per_stage(settings):
    settings.DEMO_PASSWORD = ""
    result = province_synthesize(scale=FRACTION, seed=1, with_ledger=False)
    teachers = Teacher.objects.dangerously_unscoped()
    assert result.teachers == teachers.count()
    assert abs(result.teachers - province_teacher_total() * 0.002) <= 5
    for fact in province_stage_facts():
        assert abs(teachers.filter(stage=fact.stage).count() - fact.teachers * 0.002) <= 1
    # Every county-level unit has teachers, and every teacher's path is their school's.
    assert result.counties == 157
    assert not teachers.exclude(division_path__startswith="410000.").exists()
    mismatched = [t for t in teachers.select_related("school")[:500] if t.division_path != t.school.division_path]
    assert mismatched == []
    # ID numbers are valid and consistent with the stored birth date and sex.
    from people.identity import id_parse

    for teacher in teachers.order_by("id")[:200]:
        parsed = id_parse(teacher.id_number)
        assert (parsed.birth_date, parsed.sex) == (teacher.birth_date, teacher.sex)


@pytest.mark.django_db
def test_scale_s_builds_one_county_and_demo_accounts(settings):
    settings.DEMO_PASSWORD = "Qiuyue-Lianxi-2026"
    province_synthesize(scale="S", seed=1, division_code="410222", with_ledger=False)
    paths = set(Teacher.objects.dangerously_unscoped().values_list("division_path", flat=True))
    assert paths == {"410000.410200.410222."}
    assert User.objects.filter(username="admin-410000", role="province_admin").exists()
    assert User.objects.filter(username="admin-410222", role="county_admin", division__code="410222").exists()
    assert User.objects.filter(username__startswith="teacher-", teacher__division_path="410000.410200.410222.").count() == 5
    assert User.objects.get(username="admin-410222").check_password("Qiuyue-Lianxi-2026")


@pytest.mark.django_db
def test_refused_in_production_and_no_default_accounts(settings):
    """No default or shared accounts in production: with prod settings the demo loader refuses to run."""
    settings.IS_PROD = True
    with pytest.raises(SynthRefused):
        province_synthesize(scale="S", seed=1)
    with pytest.raises(CommandError, match="生产环境"):
        call_command("synth", "--scale", "S")
    assert not Teacher.objects.dangerously_unscoped().exists()
    assert not User.objects.filter(is_active=True, username__in=["admin", "root", "demo"]).exists()


@pytest.mark.django_db
def test_bad_scale_is_refused():
    with pytest.raises(CommandError, match="规模"):
        call_command("synth", "--scale", "huge")


def test_largest_remainder_sums_exactly():
    shares = largest_remainder(1000, [0.3, 1.7, 2.2, 0.01])
    assert sum(shares) == 1000
    # 71.26, 403.80, 522.57, 2.38: the two largest remainders (.80, .57) get the spare units.
    assert shares == [71, 404, 523, 2]


@pytest.mark.django_db
def test_ledger_history_is_consistent_and_mostly_on_track(settings):
    """Issue 3 item 7: every teacher gets a history; totals match the ledger; checksums hold."""
    from credits.selectors import teacher_cycle_summary
    from credits.services import credits_reconcile, ledger_verify

    settings.DEMO_PASSWORD = ""
    result = province_synthesize(scale="0.0005", seed=3)
    assert result.ledger_entries > result.teachers * 20
    assert credits_reconcile() == [] and ledger_verify() == []
    summaries = [teacher_cycle_summary(teacher=t) for t in Teacher.objects.dangerously_unscoped()]
    on_track = sum(s.on_track for s in summaries) / len(summaries)
    assert 0.6 < on_track < 0.95  # most on track, a tail behind
    assert any(s.required < 360 for s in summaries)  # teachers hired this cycle owe a pro-rated share
