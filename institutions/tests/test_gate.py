"""The 准入 gate: publishing, enrolling and running sessions need the implementing institution's
accreditation in force and covering the project; suspension, revocation and expiry stop
enrolment and sessions (earned hours stay) and tell the organisers which projects; school-based
research is exempt. Pages and API say why a project is blocked."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from catalog.attendance import attendance_record, check_in, project_complete, session_add
from catalog.models import Enrolment, Project
from catalog.plans import plan_warnings
from catalog.selectors import blocked_reasons
from catalog.services import enrol, project_create, project_open, project_update
from catalog.tests.helpers import as_teacher
from credits.models import LedgerEntry
from institutions import gate, services
from institutions.tests.conftest import scope_of
from institutions.tests.test_accreditation import apply, decide, submit
from notifications.models import Notification
from people.tests.factories import TeacherFactory

pytestmark = pytest.mark.django_db

# Inside the accreditation's scope (test_accreditation.FULL) and term (2026-12-01 – 2029-11-30).
COVERED = {"level": "county", "category": "backbone", "mode": "centralised"}


def approved(accr, **scope):
    row = apply(accr, **scope)
    submit(accr, row)
    decide(accr, row)
    return row


def project(accr, province, institution="qx", code="QX-G-1", starts_on=dt.date(2026, 12, 2),
            ends_on=dt.date(2026, 12, 4), **fields):
    admin = accr["county_admin"]
    values = {**COVERED, **fields}
    return project_create(
        scope=scope_of(admin), actor=admin, code=code, title="杞县骨干教师课堂教学能力研修", organiser=province.county,
        institution=accr[institution] if institution else None, starts_on=starts_on, ends_on=ends_on, seats=5,
        hours=12, hour_category="centralised", self_enrolment=True, needs_approval=False, **values)


def publish(accr, p):
    return project_open(scope=scope_of(accr["county_admin"]), actor=accr["county_admin"], project_id=p.pk)


def state(p):
    return Project.objects.dangerously_unscoped().get(pk=p.pk).state


# --- publishing ----------------------------------------------------------------------------

def test_no_institution_or_no_accreditation_blocks_publishing(accr, province):
    for institution, why in ((None, "未指定实施机构"), ("qx", "尚未取得准入资格")):
        draft = project(accr, province, institution=institution, code=f"QX-{why}")
        with pytest.raises(ValidationError, match=why):
            publish(accr, draft)
        assert state(draft) == "draft"
    pending = apply(accr)
    submit(accr, pending)
    draft = project(accr, province, code="QX-P")
    with pytest.raises(ValidationError, match="尚在审核中"):
        publish(accr, draft)


@pytest.mark.parametrize(("fields", "why"), [
    ({"level": "city"}, "不含市级项目"),
    ({"category": "new_teacher"}, "不含“新教师规范化培训”类别"),
    ({"mode": "overseas"}, "不含“出国（境）研修”方式"),
    ({"starts_on": dt.date(2029, 11, 20), "ends_on": dt.date(2029, 12, 5)}, "不覆盖项目日期"),
])
def test_an_accreditation_that_does_not_cover_the_project_blocks_it(accr, province, fields, why):
    approved(accr)
    organiser = {"organiser": province.city} if fields.get("level") == "city" else {}
    if organiser:  # a city project is organised by the city
        admin = accr["city_admin"]
        draft = project_create(scope=scope_of(admin), actor=admin, code="KF-G", title="开封市骨干研修",
                               organiser=province.city, institution=accr["qx"], starts_on=dt.date(2026, 12, 2),
                               ends_on=dt.date(2026, 12, 4), seats=5, hours=12, hour_category="centralised",
                               **{**COVERED, **fields})
        with pytest.raises(ValidationError, match=why):
            project_open(scope=scope_of(admin), actor=admin, project_id=draft.pk)
    else:
        draft = project(accr, province, **fields)
        with pytest.raises(ValidationError, match=why):
            publish(accr, draft)
    assert state(draft) == "draft"


def test_a_covering_accreditation_lets_it_publish_and_school_based_research_is_exempt(accr, province):
    approved(accr)
    assert publish(accr, project(accr, province)).state == "open"
    # Only what is left of a project must be covered: one that began before the term still publishes.
    assert gate.refusal(project(accr, province, code="QX-G-2", starts_on=dt.date(2026, 11, 20)),
                        today=dt.date(2026, 12, 2), ahead=True) == ""
    school_based = project(accr, province, institution=None, code="QX-XB", category="school_based")
    assert publish(accr, school_based).state == "open"


# --- running ------------------------------------------------------------------------------

@pytest.fixture
def running(accr, province, time_machine):
    """An enrolling project with a session and an attending teacher, run under an approved
    accreditation; the clock is inside the term."""
    row = approved(accr)
    time_machine.move_to(dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC), tick=False)
    p = publish(accr, project(accr, province))
    staff_scope = scope_of(accr["qx_staff"])
    session = session_add(scope=staff_scope, project=p, title="第1天", held_on=dt.date(2026, 12, 2))
    enrolment = enrol(scope=as_teacher(province.teacher), project_id=p.pk, teacher=province.teacher)
    attendance_record(user=accr["qx_staff"], scope=staff_scope, session_id=session.pk, enrolment_ids=[enrolment.pk])
    absent = TeacherFactory(school=province.school)  # enrolled, not yet checked in
    enrol(scope=as_teacher(absent), project_id=p.pk, teacher=absent)
    return {"row": row, "project": p, "session": session, "enrolment": enrolment, "absent": absent}


def suspend(accr, row):
    admin = accr["county_admin"]
    services.accreditation_suspend(scope=scope_of(admin), actor=admin, accreditation_id=row.pk, reason="学员投诉核查中")


def test_suspension_stops_enrolment_and_sessions_keeps_hours_and_tells_the_organisers(accr, province, running):
    r = running
    project_complete(user=accr["qx_staff"], scope=scope_of(accr["qx_staff"]), project=r["project"],
                     today=dt.date(2026, 12, 5))
    earned = list(LedgerEntry.objects.dangerously_unscoped().filter(teacher=province.teacher).values_list("pk", "hours"))
    assert earned
    suspend(accr, r["row"])

    newcomer = TeacherFactory(school=province.school)
    with pytest.raises(ValidationError, match="暂停报名：实施机构的准入资格已暂停"):
        enrol(scope=as_teacher(newcomer), project_id=r["project"].pk, teacher=newcomer)
    assert not Enrolment.objects.dangerously_unscoped().filter(teacher=newcomer).exists()
    with pytest.raises(ValidationError, match="暂停开班"):
        attendance_record(user=accr["qx_staff"], scope=scope_of(accr["qx_staff"]), session_id=r["session"].pk,
                          enrolment_ids=[r["enrolment"].pk])
    with pytest.raises(ValidationError, match="暂停开班"):
        check_in(scope=as_teacher(r["absent"]), teacher=r["absent"], code=r["session"].check_in_code,
                 today=dt.date(2026, 12, 2))
    # Hours already earned stay, and the organiser hears which projects stopped.
    assert list(LedgerEntry.objects.dangerously_unscoped().filter(teacher=province.teacher)
                .values_list("pk", "hours")) == earned
    told = Notification.objects.dangerously_unscoped().filter(kind=services.PROJECTS_HELD_KIND)
    assert {n.recipient for n in told} == {accr["county_admin"], accr["county_admin_2"]}
    notice = told.first()
    assert "杞县教师发展中心准入暂停：1个项目暂停报名和开班" == notice.title and r["project"].code in notice.body
    assert notice.url.endswith(f"/projects/{r['project'].pk}/manage/")

    admin = accr["county_admin"]
    services.accreditation_reinstate(scope=scope_of(admin), actor=admin, accreditation_id=r["row"].pk, reason="核查无问题")
    assert enrol(scope=as_teacher(newcomer), project_id=r["project"].pk, teacher=newcomer).state == "enrolled"


def test_a_second_accreditation_in_force_keeps_the_projects_running(accr, province, running):
    approved(accr, categories=["backbone"], modes=["centralised"])
    suspend(accr, running["row"])
    assert blocked_reasons([running["project"]]) == {}
    assert not Notification.objects.dangerously_unscoped().filter(kind=services.PROJECTS_HELD_KIND).exists()


def test_expiry_by_the_daily_task_blocks_and_tells(accr, province, running):
    assert services.accreditations_expire(today=dt.date(2029, 12, 1)) == 1
    assert "已过期" in blocked_reasons([running["project"]], dt.date(2029, 12, 1))[running["project"].pk]
    assert Notification.objects.dangerously_unscoped().filter(kind=services.PROJECTS_HELD_KIND).count() == 2


def test_a_published_project_cannot_move_outside_the_accreditation(accr, province, running):
    admin = accr["county_admin"]
    before = Project.objects.dangerously_unscoped().values().get(pk=running["project"].pk)
    for changes in ({"institution": None}, {"mode": "online", "category": "new_teacher"},
                    {"ends_on": dt.date(2030, 1, 5)}):
        with pytest.raises(ValidationError, match="项目已发布，修改后"):
            project_update(scope=scope_of(admin), actor=admin, project_id=running["project"].pk, changes=changes)
    assert Project.objects.dangerously_unscoped().values().get(pk=running["project"].pk) == before
    # Within the scope it may change (centralised → online is covered).
    project_update(scope=scope_of(admin), actor=admin, project_id=running["project"].pk, changes={"mode": "online"})


# --- what the organiser sees --------------------------------------------------------------

def test_the_plan_check_the_pages_and_the_api_say_why(accr, province, client_for):
    from catalog.models import AnnualPlan

    draft = project(accr, province)
    plan = AnnualPlan.objects.create(division=province.county, level="county", year=2026,
                                     division_path=province.county.path, review_path=province.city.path)
    assert any(draft.code in w and "尚未取得准入资格" in w and "发布前须解决" in w
               for w in plan_warnings(scope_of(accr["county_admin"]), plan, [draft]))
    admin = client_for(accr["county_admin"])
    page = admin.get(f"/projects/{draft.pk}/manage/").content.decode()
    assert 'id="blocked"' in page and "暂不能发布" in page and "尚未取得准入资格" in page
    refused = admin.post(f"/api/v1/projects/{draft.pk}/publish", content_type="application/json")
    assert refused.status_code == 422 and "尚未取得准入资格" in str(refused.json())
    assert admin.get(f"/api/v1/projects/{draft.pk}").json()["blocked"] == "实施机构尚未取得准入资格"
    approved(accr)
    assert admin.get(f"/api/v1/projects/{draft.pk}").json()["blocked"] == ""
    published = admin.post(f"/api/v1/projects/{draft.pk}/publish", content_type="application/json")
    assert published.status_code == 200 and published.json()["state"] == "open"
    assert 'id="blocked"' not in admin.get(f"/projects/{draft.pk}/manage/").content.decode()


def test_the_gate_reads_the_accreditations_once_for_a_list(accr, province, django_assert_num_queries):
    approved(accr)
    drafts = [project(accr, province, code=f"QX-L-{n}") for n in range(5)]
    with django_assert_num_queries(1):
        assert blocked_reasons(drafts) == {}
