"""Issue 4 item 7: synthetic plans, projects, enrolments, attendance and completions are
consistent with the rules the real paths enforce, and the ledger still reconciles."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from catalog.constants import PlanState, ProjectState
from catalog.models import AnnualPlan, Attendance, Enrolment, Project
from catalog.plans import positioning_problems
from catalog.services import LEVEL_OF_DIVISION, enrolment_refusals
from catalog.tests.helpers import as_teacher
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
    for project in Project.objects.dangerously_unscoped().select_related("organiser", "plan"):
        expected = "school" if project.organiser_school_id else LEVEL_OF_DIVISION[project.organiser.level]
        assert project.level == expected, project.code
        assert project.plan is not None and project.plan.level == project.level
        if project.state != ProjectState.DRAFT:
            assert project.plan.state == PlanState.APPROVED, project.code  # published only once approved
    for plan in AnnualPlan.objects.dangerously_unscoped().all():
        assert positioning_problems(plan, list(plan.projects.all())) == [], plan
    levels = set(Project.objects.dangerously_unscoped().values_list("level", flat=True))
    states = set(Project.objects.dangerously_unscoped().values_list("state", flat=True))
    assert levels == {"province", "city", "county", "school"} and {"open", "finished", "draft"} <= states
    assert Project.objects.dangerously_unscoped().filter(is_high_end=True, level="province").exists()


@pytest.mark.django_db
def test_seats_enrolees_and_attendance_are_consistent(synthesised):
    today = timezone.localdate()
    held = Count("enrolments", filter=Q(enrolments__state__in=["pending", "enrolled", "completed"]))
    for project in Project.objects.dangerously_unscoped().annotate(held=held):
        assert project.seats_taken == project.held <= project.seats, project.code
    ids = list(Enrolment.objects.dangerously_unscoped().order_by("id").values_list("id", flat=True))
    sample = ids[::max(1, len(ids) // 400)]  # every county, and the province's and cities' projects too
    checked = 0
    for enrolment in Enrolment.objects.dangerously_unscoped().filter(id__in=sample).select_related("project", "teacher"):
        # Every enrolee was inside the audience (judged when the project ran: new teachers then).
        when = min(today, enrolment.project.starts_on)
        assert enrolment_refusals(project=enrolment.project, teacher=enrolment.teacher, today=when) == [], enrolment
        assert enrolment.teacher.hire_date <= when
        checked += 1
    assert checked == len(sample) and {"province", "city", "county", "school"} == set(
        Enrolment.objects.dangerously_unscoped().filter(id__in=sample).values_list("project__level", flat=True))
    assert not Attendance.objects.dangerously_unscoped().filter(session__held_on__gt=today).exists()
    assert not Attendance.objects.dangerously_unscoped().exclude(enrolment__state__in=["enrolled", "completed", "withdrawn"]).exists()
    assert not Attendance.objects.dangerously_unscoped().exclude(enrolment__project=F("session__project")).exists()


@pytest.mark.django_db
def test_completions_are_in_the_ledger_once_as_the_real_path_writes_them(synthesised):
    completed = list(Enrolment.objects.dangerously_unscoped().filter(state="completed").select_related("project"))
    assert completed
    for enrolment in completed[:200]:
        project = enrolment.project
        entries = LedgerEntry.objects.dangerously_unscoped().filter(source_key__startswith=f"project:{project.pk}:{enrolment.teacher_id}:")
        assert entries.aggregate(total=Sum("hours"))["total"] == project.hours
        assert entries.count() == project.sessions.count()
        assert set(entries.values_list("category", flat=True)) == {project.hour_category}
        assert enrolment.ledger_entry_id in set(entries.values_list("id", flat=True))
        # One entry per session, on its day, under the source key project_complete uses.
        assert sorted(entries.values_list("occurred_on", "source_key")) == sorted(
            (s.held_on, f"project:{project.pk}:{enrolment.teacher_id}:{s.number}") for s in project.sessions.all())
        assert project.state == ProjectState.FINISHED and project.ends_on < timezone.localdate()
    day_totals = (LedgerEntry.objects.dangerously_unscoped().filter(hours__gt=0).values("teacher_id", "occurred_on")
                  .annotate(total=Sum("hours")).filter(total__gt=Decimal(12)))
    assert not day_totals.exists()  # no day over the cap, history and training together
    assert credits_reconcile() == [] and ledger_verify() == []


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_training(settings):
    from synth.tests.test_synth import _wipe

    def snapshot():
        return (list(Project.objects.dangerously_unscoped().order_by("code").values_list("code", "title", "starts_on", "seats", "seats_taken",
                                                                  "audience", "state")),
                list(Enrolment.objects.dangerously_unscoped().order_by("project__code", "teacher__id_index")
                     .values_list("project__code", "teacher__id_index", "state")),
                list(Attendance.objects.dangerously_unscoped().order_by("session__project__code", "session__number", "enrolment__teacher__id_index")
                     .values_list("session__project__code", "session__number", "enrolment__teacher__id_index")))

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
    assert not Project.objects.dangerously_unscoped().exists() and not AnnualPlan.objects.dangerously_unscoped().exists()


@pytest.mark.django_db
def test_projects_look_like_the_policy_and_enrolment_has_the_usual_mix(synthesised):
    today = timezone.localdate()
    for project in Project.objects.dangerously_unscoped().prefetch_related("sessions"):
        assert Decimal(24) <= project.hours <= Decimal(120), project.code
        assert project.hour_category == {"online": "online"}.get(
            project.mode, "school_based" if project.level == "school" else "centralised"), project.code
        assert project.title.startswith(f"{project.starts_on.year}年"), project.title
        sessions = list(project.sessions.all())
        assert sessions and all(project.starts_on <= s.held_on <= project.ends_on and len(s.check_in_code) == 6
                                for s in sessions), project.code
        if project.is_high_end:
            assert project.level in ("province", "city") and project.institution_id, project.code
        # Future projects take enrolment; past ones are finished.
        if project.state != ProjectState.DRAFT:
            assert (project.state == ProjectState.OPEN) == (project.starts_on > today), project.code
            assert (project.state == ProjectState.FINISHED) == (project.ends_on < today), project.code
    assert {c for c, in Project.objects.dangerously_unscoped().filter(level="province").values_list("category")} == {
        "master_teacher", "principal", "backbone", "rural_chief"}
    assert set(Project.objects.dangerously_unscoped().filter(level="county").values_list("category", flat=True)) == {
        "new_teacher", "backbone", "all_staff"}
    assert set(Project.objects.dangerously_unscoped().filter(level="school").values_list("category", flat=True)) == {"school_based"}

    states = dict(Enrolment.objects.dangerously_unscoped().values_list("state").annotate(n=Count("id")))
    assert {"pending", "enrolled", "waiting", "withdrawn", "completed"} <= set(states), states
    assert states["completed"] + states["enrolled"] > 10 * (states["withdrawn"] + states.get("rejected", 0))
    # A waiting list only where every seat is taken, and only while enrolment is open.
    assert not Enrolment.objects.dangerously_unscoped().filter(state="waiting").exclude(
        project__state="open", project__seats_taken=F("project__seats")).exists()
    assert not Enrolment.objects.dangerously_unscoped().filter(state="waiting", waiting_since__isnull=True).exists()
    assert not Enrolment.objects.dangerously_unscoped().filter(state__in=["pending", "rejected"], project__needs_approval=False).exists()
    assert not Enrolment.objects.dangerously_unscoped().filter(project__state__in=["draft"]).exists()
    # About nine sessions in ten attended by those admitted to finished projects.
    admitted = Enrolment.objects.dangerously_unscoped().filter(state__in=["enrolled", "completed"], project__state="finished")
    sessions = admitted.aggregate(n=Count("project__sessions"))["n"]
    present = Attendance.objects.dangerously_unscoped().filter(enrolment__in=admitted).count()
    assert 0.85 <= present / sessions <= 0.95, present / sessions
    assert not Enrolment.objects.dangerously_unscoped().filter(created_at__gt=timezone.now()).exists()
    assert not Enrolment.objects.dangerously_unscoped().filter(state="completed", completed_at__isnull=True).exists()


@pytest.mark.django_db
def test_the_demo_accounts_find_projects_to_see_join_and_a_completed_one(settings):
    from access.scope import scope_for_user
    from accounts.models import User
    from catalog.schedule import open_to_teacher, teacher_schedule
    from catalog.selectors import project_queryset
    from catalog.services import enrol

    settings.DEMO_PASSWORD = "Demo-password-for-a-test-1"
    province_synthesize(scale="0.0005", seed=5)
    today = timezone.localdate()
    teacher = User.objects.get(username="teacher-1").teacher
    assert Enrolment.objects.dangerously_unscoped().filter(teacher=teacher, state="completed").exists()
    assert teacher_schedule(scope=as_teacher(teacher), teacher_id=teacher.pk)
    joinable = open_to_teacher(scope=as_teacher(teacher), teacher=teacher, today=today)
    assert joinable
    assert enrol(scope=as_teacher(teacher), project_id=joinable[0].pk, teacher=teacher, today=today).state in ("enrolled", "pending", "waiting")
    school_admin = User.objects.filter(username__startswith="school-").order_by("username").first()
    own = project_queryset(scope=scope_for_user(school_admin)).filter(organiser_school=school_admin.school)
    assert {"finished"} < set(own.values_list("state", flat=True))
    for username in ("admin-410000", "admin-410200", "admin-410221", "admin-410225"):
        admin = User.objects.get(username=username)
        mine = Project.objects.dangerously_unscoped().filter(division_path__startswith=admin.division.path)
        assert mine.filter(state="open").exists() or mine.filter(state="draft").exists(), username
        assert mine.filter(state="finished", enrolments__state="completed").exists(), username
    staff = User.objects.get(username="staff-410000-yxy")
    assert Project.objects.dangerously_unscoped().filter(institution=staff.institution, state="finished").exists()


@pytest.mark.django_db
def test_every_published_project_passes_the_gate_and_a_few_drafts_are_blocked(synthesised):
    """Synthetic accreditations follow the synthetic projects: the 准入 gate lets every enrolling or
    running project through, blocks only the drafts handed to an institution under review, and the
    institutions without projects show the rest of the workflow."""
    from catalog.selectors import blocked_reasons
    from institutions.models import Accreditation

    projects = list(Project.objects.dangerously_unscoped().exclude(state="finished"))
    blocked = blocked_reasons(projects)
    published = [p for p in projects if p.state in ("open", "closed")]
    assert published and not any(p.pk in blocked for p in published)
    assert 1 <= len(blocked) <= 2
    assert all(p.state == "draft" and "审核" in blocked[p.pk] for p in projects if p.pk in blocked)
    states = set(Accreditation.objects.dangerously_unscoped().values_list("state", flat=True))
    assert {"approved", "submitted", "suspended", "refused"} <= states
    soon = timezone.localdate() + dt.timedelta(days=90)
    assert Accreditation.objects.dangerously_unscoped().filter(state="approved", valid_until__lte=soon).exists()
    # Four eyes, as the workflow keeps it: nobody decided their own application.
    assert not Accreditation.objects.dangerously_unscoped().filter(decided_by=F("applied_by")).exists()


@pytest.mark.django_db
def test_every_shadowing_project_has_a_base_with_room(synthesised):
    from institutions.bases import term_label, terms_between
    from institutions.models import TrainingBase

    shadowing = list(Project.objects.dangerously_unscoped().filter(mode="shadowing").select_related("base"))
    assert shadowing and all(p.base is not None for p in shadowing)
    held: dict = {}
    for p in shadowing:
        for term in terms_between(p.starts_on, p.ends_on):
            held[(p.base_id, term)] = held.get((p.base_id, term), 0) + p.seats
    seats = dict(TrainingBase.objects.dangerously_unscoped().values_list("pk", "seats_per_term"))
    assert all(used <= seats[base_id] for (base_id, _), used in held.items()), [
        (base_id, term_label(term), used) for (base_id, term), used in held.items() if used > seats[base_id]]
    kinds = set(TrainingBase.objects.dangerously_unscoped().values_list("kind", flat=True))
    assert {"university", "institution", "school"} <= kinds
