"""The high-end task's progress table: written once per teacher, level and cycle when completion
is judged, kept right when a project's dates or high-end flag change, filled by the backfill to
the same counts the join of enrolments and teachers gave, checked and rebuilt by the command."""

import datetime as dt
import io
import json
import random

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from access.scope import Scope, scope_for_user
from accounts.models import Role
from audit.models import AuditEvent
from catalog.attendance import attendance_record, project_complete, session_add
from catalog.models import Enrolment, Project
from catalog.services import enrol, project_create, project_update
from catalog.tests.helpers import as_teacher, publish
from credits.models import Cycle
from institutions.tests.helpers import accredit
from org.models import Division, Institution
from people.models import Teacher
from people.tests.factories import TeacherFactory
from quotas import progress
from quotas import target_selectors as selectors
from quotas.progress_models import HighEndCompletion

TODAY = dt.date(2026, 12, 10)


def _rows():
    return HighEndCompletion.objects.dangerously_unscoped()


@pytest.fixture
def judged(province, users, make_user):
    """杞县's high-end county project, three sessions, three enrolled teachers; `run(teachers)` marks
    them present at every session and judges completion as the implementing institution."""
    institution = Institution.objects.create(
        code="410221-JSFZ", name="杞县教师发展中心", kind="county_centre", division=province.county
    )
    accredit(institution)
    staff = make_user("staff-qx", Role.INSTITUTION_STAFF, institution=institution)
    admin = users["county_admin"]
    scope = scope_for_user(staff)
    teachers = [TeacherFactory(school=province.school) for _ in range(3)]

    made_so_far = []

    def project(code, *, level="county", organiser=province.county, creator=admin, high_end=True):
        first = 1 + 3 * len(
            made_so_far
        )  # each project on its own three days (the ledger's day cap)
        made = publish(
            project_create(
                scope=scope_for_user(creator),
                actor=creator,
                code=code,
                title=f"高端研修{code}",
                level=level,
                category="backbone",
                mode="centralised",
                organiser=organiser,
                institution=institution,
                starts_on=dt.date(2026, 11, first),
                ends_on=dt.date(2026, 11, first + 2),
                seats=10,
                hours=20,
                hour_category="centralised",
                self_enrolment=True,
                needs_approval=False,
                is_high_end=high_end,
            )
        )
        sessions = [
            session_add(
                scope=scope, project=made, title=f"第{n}天", held_on=dt.date(2026, 11, first + n)
            )
            for n in (0, 1, 2)
        ]
        made_so_far.append(made)
        return made, sessions

    def run(made_sessions, who):
        made, sessions = made_sessions
        enrolments = [enrol(scope=as_teacher(t), project_id=made.pk, teacher=t) for t in who]
        for session in sessions:
            attendance_record(
                user=staff,
                scope=scope,
                session_id=session.pk,
                enrolment_ids=[e.pk for e in enrolments],
            )
        return project_complete(user=staff, scope=scope, project=made, today=TODAY)

    return {"project": project, "run": run, "teachers": teachers, "staff": staff, "admin": admin}


def test_judging_completion_writes_one_row_per_completer_once(province, judged):
    j = judged
    made = j["project"]("QX-H1")
    report = j["run"](made, j["teachers"][:2])
    assert report.completed == 2
    rows = list(_rows().order_by("teacher_id"))
    assert [
        (r.teacher_id, r.level, r.cycle.code, r.division_path, r.school_id, r.project_id)
        for r in rows
    ] == [
        (t.pk, "county", "2026-2030", province.county.path, province.school.pk, made[0].pk)
        for t in j["teachers"][:2]
    ]
    assert all(r.completed_at is not None and r.enrolment.teacher_id == r.teacher_id for r in rows)
    again = project_complete(
        user=j["staff"], scope=scope_for_user(j["staff"]), project=made[0], today=TODAY
    )
    assert again.completed == 0 and again.already == 2 and _rows().count() == 2  # nothing new


def test_judging_again_repairs_a_missing_row(province, judged):
    j = judged
    made = j["project"]("QX-H1")
    j["run"](made, j["teachers"][:2])
    _rows().filter(teacher=j["teachers"][0]).delete()
    project_complete(
        user=j["staff"], scope=scope_for_user(j["staff"]), project=made[0], today=TODAY
    )
    assert set(_rows().values_list("teacher_id", flat=True)) == {
        j["teachers"][0].pk,
        j["teachers"][1].pk,
    }


def test_a_project_that_is_not_high_end_writes_nothing(province, judged):
    j = judged
    assert j["run"](j["project"]("QX-N", high_end=False), j["teachers"][:1]).completed == 1
    assert _rows().count() == 0


def test_two_projects_of_one_level_count_once_and_levels_separately(province, judged, users):
    j = judged
    teacher = j["teachers"][0]
    first = j["project"]("QX-H1")
    j["run"](first, [teacher])
    j["run"](j["project"]("QX-H2"), [teacher])  # the same level and cycle again: still one row
    j["run"](
        j["project"]("KF-H1", level="city", organiser=province.city, creator=users["city_admin"]),
        [teacher],
    )
    assert (
        Enrolment.objects.dangerously_unscoped().filter(teacher=teacher, state="completed").count()
        == 3
    )
    assert sorted(_rows().filter(teacher=teacher).values_list("level", "project_id")) == [
        ("city", Project.objects.dangerously_unscoped().get(code="KF-H1").pk),
        ("county", first[0].pk),
    ]
    view = selectors.targets_view(
        Scope.division(province.county), province.county, Cycle.objects.get(code="2026-2030"), TODAY
    )
    assert view.own is not None and view.own.completed == 1
    assert [(s.school.code, s.completed) for s in view.schools] == [(province.school.code, 1)]


def test_a_teacher_who_moves_counts_where_they_completed(province, judged):
    j = judged
    j["run"](j["project"]("QX-H1"), j["teachers"][:2])
    moved = j["teachers"][0]
    Teacher.objects.dangerously_unscoped().filter(pk=moved.pk).update(
        school=province.sibling_school, division_path=province.sibling.path
    )
    cycle = Cycle.objects.get(code="2026-2030")
    county = selectors.targets_view(
        Scope.division(province.county), province.county, cycle, TODAY
    ).own
    sibling = selectors.targets_view(
        Scope.division(province.sibling), province.sibling, cycle, TODAY
    ).own
    assert county is not None and sibling is not None
    assert (county.completed, sibling.completed) == (2, 0)
    report = progress.completions_verify()
    assert report.ok and report.moved == 1 and report.rows == 2


def test_moving_a_projects_end_out_of_the_cycle_or_dropping_high_end_recounts(
    province, judged, users
):
    j = judged
    teacher, other = j["teachers"][:2]
    first = j["project"]("QX-H1")
    j["run"](first, [teacher, other])
    second = j["project"]("QX-H2")
    j["run"](second, [teacher])
    assert _rows().get(teacher=teacher).project_id == first[0].pk
    admin = users["county_admin"]
    project_update(
        scope=scope_for_user(admin),
        actor=admin,
        project_id=first[0].pk,
        changes={"is_high_end": False},
    )
    # The teacher's other county project now counts; the other teacher has none left.
    assert list(_rows().values_list("teacher_id", "project_id")) == [(teacher.pk, second[0].pk)]
    assert progress.completions_verify().ok
    project_update(
        scope=scope_for_user(admin),
        actor=admin,
        project_id=first[0].pk,
        changes={"is_high_end": True},
    )
    assert _rows().count() == 2 and progress.completions_verify().ok


def test_the_project_edit_does_not_touch_the_table_when_nothing_that_counts_changes(
    province, judged, users
):
    j = judged
    made = j["project"]("QX-H1")
    j["run"](made, j["teachers"][:1])
    before = list(_rows().values_list("pk", "project_id"))
    admin = users["county_admin"]
    project_update(
        scope=scope_for_user(admin), actor=admin, project_id=made[0].pk, changes={"title": "新名称"}
    )
    assert list(_rows().values_list("pk", "project_id")) == before


def _old_join(path: str, cycle: Cycle) -> dict[tuple[str, str], int]:
    """What `_completers` counted before the table: completions joined to the teachers."""
    rows = (
        Enrolment.objects.dangerously_unscoped()
        .filter(
            state="completed",
            project__is_high_end=True,
            project__level__in=selectors.LEVELS,
            project__ends_on__gte=cycle.starts_on,
            project__ends_on__lte=cycle.ends_on,
            teacher__division_path__startswith=path,
        )
        .order_by()
        .values_list("teacher__division_path", "project__level")
        .annotate(n=Count("teacher_id", distinct=True))
    )
    return {(p, level): n for p, level, n in rows}


def _old_schools(county: Division, cycle: Cycle) -> dict[int, int]:
    return dict(
        Enrolment.objects.dangerously_unscoped()
        .filter(
            state="completed",
            project__is_high_end=True,
            project__level="county",
            project__ends_on__gte=cycle.starts_on,
            project__ends_on__lte=cycle.ends_on,
            teacher__division_path=county.path,
        )
        .order_by()
        .values_list("teacher__school_id")
        .annotate(n=Count("teacher_id", distinct=True))
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_backfill_counts_what_the_join_counted_on_a_random_world(province, seed):
    rng = random.Random(seed)
    p = province
    schools = [p.school, p.sibling_school, p.direct_school, p.other_city_school]
    teachers = [TeacherFactory(school=rng.choice(schools)) for _ in range(25)]
    organisers = [
        (p.county, "county"),
        (p.sibling, "county"),
        (p.city, "city"),
        (p.province, "province"),
        (p.other_city, "city"),
    ]
    ends = [
        dt.date(2024, 6, 1),
        dt.date(2026, 3, 1),
        dt.date(2028, 7, 1),
        dt.date(2030, 12, 31),
        dt.date(2031, 1, 2),
    ]
    for n in range(12):
        organiser, level = rng.choice(organisers)
        end = rng.choice(ends)
        project = Project.objects.create(
            code=f"R{n}",
            title=f"随机{n}",
            level=level,
            category="backbone",
            mode="centralised",
            organiser=organiser,
            division_path=organiser.path,
            seats=50,
            hours=40,
            hour_category="centralised",
            is_high_end=rng.random() < 0.8,
            starts_on=end - dt.timedelta(days=3),
            ends_on=end,
            state="finished",
        )
        for teacher in rng.sample(teachers, rng.randrange(1, 10)):
            Enrolment.objects.create(
                project=project,
                teacher=teacher,
                state=rng.choice(["completed", "completed", "enrolled", "withdrawn"]),
            )
    assert progress.completions_backfill() > 0
    assert progress.completions_backfill() == 0  # idempotent
    for cycle in Cycle.objects.all():
        for division in (p.province, p.city, p.county, p.other_city):
            assert selectors._completers(
                Scope.division(p.province), division.path, cycle
            ) == _old_join(division.path, cycle)
        new = selectors._school_rows(Scope.division(p.county), p.county, cycle)
        old = _old_schools(p.county, cycle)
        assert {row.school.pk: row.completed for row in new if row.completed} == old
    report = progress.completions_verify()
    assert report.ok and report.rows == _rows().count() and report.moved == 0


def test_a_viewer_counts_only_rows_of_its_jurisdiction(province):
    p = province
    cycle = Cycle.objects.get(code="2026-2030")
    from quotas.tests.helpers import completed

    completed(
        p.other_city_teacher, p.province, level="province", ends_on=dt.date(2026, 6, 1), code="HN-1"
    )
    completed(p.teacher, p.province, level="province", ends_on=dt.date(2026, 6, 1), code="HN-2")
    assert (
        sum(selectors._completers(Scope.division(p.province), p.province.path, cycle).values()) == 2
    )
    # The city asked about the whole province sees only its own teachers' rows.
    assert sum(selectors._completers(Scope.division(p.city), p.province.path, cycle).values()) == 1


def test_verify_and_rebuild_commands(province, judged):
    j = judged
    j["run"](j["project"]("QX-H1"), j["teachers"])
    out = io.StringIO()
    call_command("quotas", "progress-verify", stdout=out)
    assert json.loads(out.getvalue()) == {
        "rows": 3,
        "missing": 0,
        "stale": 0,
        "moved": 0,
        "ok": True,
    }
    _rows().filter(teacher=j["teachers"][0]).delete()
    # A stale row: its enrolment is withdrawn behind the services' back.
    Enrolment.objects.dangerously_unscoped().filter(teacher=j["teachers"][1]).update(
        state="withdrawn"
    )
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("quotas", "progress-verify", stdout=out)
    assert json.loads(out.getvalue())["missing"] == 1 and json.loads(out.getvalue())["stale"] == 1
    out = io.StringIO()
    call_command("quotas", "progress-rebuild", stdout=out)
    assert json.loads(out.getvalue()) == {"removed": 1, "added": 1}
    assert set(_rows().values_list("teacher_id", flat=True)) == {
        j["teachers"][0].pk,
        j["teachers"][2].pk,
    }
    assert (
        AuditEvent.objects.dangerously_unscoped().filter(action="quotas.progress_rebuild").count()
        == 1
    )
    call_command("quotas", "progress-verify", stdout=io.StringIO())


def test_the_progress_view_costs_a_fixed_number_of_queries(province):
    p = province
    cycle = Cycle.objects.get(code="2026-2030")
    from quotas.tests.helpers import completed

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            selectors.targets_view(Scope.division(p.province), p.province, cycle, TODAY)
        return len(captured)

    before = count()
    for n in range(6):
        teacher = TeacherFactory(school=p.sibling_school if n % 2 else p.direct_school)
        completed(
            teacher,
            p.city if n % 2 else p.province,
            level="city" if n % 2 else "province",
            ends_on=dt.date(2026, 6, 1),
            code=f"Q-{n}",
        )
    assert count() == before <= 8
