"""Issue 4 item 7: synthetic plans, projects, enrolments, attendance and completions are
consistent with the rules the real paths enforce, and the ledger still reconciles."""

from decimal import Decimal

import pytest
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from catalog.constants import PlanState, ProjectState
from catalog.models import AnnualPlan, Attendance, Enrolment, Project
from catalog.plans import positioning_problems
from catalog.services import LEVEL_OF_DIVISION, enrolment_refusals
from credits.models import LedgerEntry
from credits.services import credits_reconcile, ledger_verify
from synth.services import province_synthesize


@pytest.fixture
def synthesised(settings):
    settings.DEMO_PASSWORD = ""
    return province_synthesize(scale="0.0005", seed=5)


@pytest.mark.django_db
def test_projects_sit_at_their_level_in_approved_plans_that_keep_the_rules(synthesised):
    assert synthesised.projects > 100 and synthesised.enrolments > 100
    for project in Project.objects.select_related("organiser", "plan"):
        expected = "school" if project.organiser_school_id else LEVEL_OF_DIVISION[project.organiser.level]
        assert project.level == expected, project.code
        assert project.plan is not None and project.plan.level == project.level
        if project.state != ProjectState.DRAFT:
            assert project.plan.state == PlanState.APPROVED, project.code  # published only once approved
    for plan in AnnualPlan.objects.all():
        assert positioning_problems(plan, list(plan.projects.all())) == [], plan
    levels = set(Project.objects.values_list("level", flat=True))
    states = set(Project.objects.values_list("state", flat=True))
    assert levels == {"province", "city", "county", "school"} and {"open", "finished", "draft"} <= states
    assert Project.objects.filter(is_high_end=True, level="province").exists()


@pytest.mark.django_db
def test_seats_enrolees_and_attendance_are_consistent(synthesised):
    today = timezone.localdate()
    held = Count("enrolments", filter=Q(enrolments__state__in=["pending", "enrolled", "completed"]))
    for project in Project.objects.annotate(held=held):
        assert project.seats_taken == project.held <= project.seats, project.code
    checked = 0
    for enrolment in Enrolment.objects.select_related("project", "teacher").order_by("id")[:300]:
        # Every enrolee was inside the audience (judged when the project ran: new teachers then).
        when = min(today, enrolment.project.starts_on)
        assert enrolment_refusals(project=enrolment.project, teacher=enrolment.teacher, today=when) == [], enrolment
        assert enrolment.teacher.hire_date <= when
        checked += 1
    assert checked == min(300, Enrolment.objects.count())
    assert not Attendance.objects.filter(session__held_on__gt=today).exists()
    assert not Attendance.objects.exclude(enrolment__state__in=["enrolled", "completed", "withdrawn"]).exists()
    assert not Attendance.objects.exclude(enrolment__project=F("session__project")).exists()


@pytest.mark.django_db
def test_completions_are_in_the_ledger_once_as_the_real_path_writes_them(synthesised):
    completed = list(Enrolment.objects.filter(state="completed").select_related("project"))
    assert completed
    for enrolment in completed[:200]:
        project = enrolment.project
        entries = LedgerEntry.objects.filter(source_key__startswith=f"project:{project.pk}:{enrolment.teacher_id}:")
        assert entries.aggregate(total=Sum("hours"))["total"] == project.hours
        assert entries.count() == project.sessions.count()
        assert set(entries.values_list("category", flat=True)) == {project.hour_category}
        assert enrolment.ledger_entry_id in set(entries.values_list("id", flat=True))
        assert project.state == ProjectState.FINISHED and project.ends_on < timezone.localdate()
    day_totals = (LedgerEntry.objects.filter(hours__gt=0).values("teacher_id", "occurred_on")
                  .annotate(total=Sum("hours")).filter(total__gt=Decimal(12)))
    assert not day_totals.exists()  # no day over the cap, history and training together
    assert credits_reconcile() == [] and ledger_verify() == []


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_training(settings):
    from synth.tests.test_synth import _wipe

    def snapshot():
        return (list(Project.objects.order_by("code").values_list("code", "title", "starts_on", "seats_taken")),
                Enrolment.objects.count(), Attendance.objects.count())

    settings.DEMO_PASSWORD = ""
    province_synthesize(scale="0.0005", seed=11, with_ledger=False)
    first = snapshot()
    _wipe()
    province_synthesize(scale="0.0005", seed=11, with_ledger=False)
    assert snapshot() == first


@pytest.mark.django_db
def test_no_training_leaves_the_catalog_empty(settings):
    settings.DEMO_PASSWORD = ""
    result = province_synthesize(scale="0.0005", seed=5, with_ledger=False, with_training=False)
    assert result.teachers > 0 and result.projects == 0
    assert not Project.objects.exists() and not AnnualPlan.objects.exists()
