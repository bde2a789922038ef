"""Supervisors, visits and outcome reviews: who may record them, the rubric they need, the scores
and total, the visit dates, the author's edit window, and that refusals write nothing."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from access.errors import Forbidden, NotVisible
from audit.models import AuditEvent
from evaluation import supervision
from evaluation.models import OutcomeReview, SupervisionVisit, Supervisor
from evaluation.tests import supervision_world
from evaluation.tests.supervision_world import SCORES, TODAY

pytestmark = pytest.mark.django_db
_today, sw = supervision_world._today, supervision_world.sw  # the fixtures these tests use


def _name(sw, who="expert", project="qx"):
    county = sw.people["county_admin"]
    return supervision.supervisor_add(scope=sw.scope("county_admin"), actor=county,
                                      project_id=sw.projects[project].pk, username=sw.people[who].username)


def _visit(sw, who="expert", project="qx", **extra):
    values = {"rubric_id": sw.rubrics["visit"].pk, "scores": SCORES, "visited_on": TODAY, "note": "组织有序"} | extra
    return supervision.visit_record(scope=sw.scope(who), actor=sw.people[who], project_id=sw.projects[project].pk,
                                    **values)


def _audits(action):
    return AuditEvent.objects.dangerously_unscoped().filter(action=action).count()


# --- supervisors ------------------------------------------------------------------------------------

def test_the_organiser_names_an_expert_and_the_expert_sees_the_project_in_their_list(sw):
    row = _name(sw)
    assert row.assigned_by == sw.people["county_admin"]
    assert _audits("evaluation.supervisor_add") == 1
    from evaluation.supervision_selectors import my_supervisions

    assert [s.row.project_id for s in my_supervisions(sw.scope("expert"))] == [sw.projects["qx"].pk]
    assert my_supervisions(sw.scope("tx_expert")) == []


@pytest.mark.parametrize(("who", "error"), [
    ("sibling_admin", NotVisible),  # 通许县 does not see 杞县's... it sees the project, but may not change it
    ("school_admin", Forbidden),  # 杞县's school: sees the county's project, does not organise it
    ("staff", Forbidden),  # the implementing institution
    ("expert", Forbidden),
])
def test_only_the_organiser_names_supervisors(sw, who, error):
    with pytest.raises((NotVisible, Forbidden)):
        supervision.supervisor_add(scope=sw.scope(who), actor=sw.people[who], project_id=sw.projects["qx"].pk,
                                   username=sw.people["expert"].username)
    assert not Supervisor.objects.dangerously_unscoped().exists()


@pytest.mark.parametrize("username", ["teacher-1", "staff-410221", "school-4102210001", "nobody-at-all", ""])
def test_only_experts_and_division_administrators_may_be_named(sw, username):
    with pytest.raises(ValidationError) as error:
        supervision.supervisor_add(scope=sw.scope("county_admin"), actor=sw.people["county_admin"],
                                   project_id=sw.projects["qx"].pk, username=username)
    assert "未找到该账户" in str(error.value)
    assert not Supervisor.objects.dangerously_unscoped().exists()


def test_a_city_administrator_may_be_named_and_naming_twice_is_refused(sw):
    _name(sw, "city_admin")
    with pytest.raises(ValidationError, match="已是本项目的视导专家"):
        _name(sw, "city_admin")
    assert Supervisor.objects.dangerously_unscoped().count() == 1


def test_a_supervisor_is_removed_only_while_they_have_no_records(sw):
    row = _name(sw)
    county = sw.people["county_admin"]
    _visit(sw)
    with pytest.raises(ValidationError, match="不能取消"):
        supervision.supervisor_remove(scope=sw.scope("county_admin"), actor=county, supervisor_id=row.pk)
    assert Supervisor.objects.dangerously_unscoped().filter(pk=row.pk).exists()
    other = _name(sw, "tx_expert")
    supervision.supervisor_remove(scope=sw.scope("county_admin"), actor=county, supervisor_id=other.pk)
    assert not Supervisor.objects.dangerously_unscoped().filter(pk=other.pk).exists()
    assert _audits("evaluation.supervisor_remove") == 1


# --- visits ------------------------------------------------------------------------------------------------

def test_a_named_expert_records_a_visit_with_the_total_on_a_hundred(sw):
    _name(sw)
    row = _visit(sw)
    assert row.scores == SCORES and row.total == Decimal("76.7")  # 23 / 30 × 100
    assert row.visitor == sw.people["expert"] and row.visited_on == TODAY
    event = AuditEvent.objects.dangerously_unscoped().get(action="evaluation.visit_record")
    assert event.detail["total"] == "76.7" and event.object_id == str(row.pk)


def test_the_organisers_administrator_records_a_visit_without_being_named(sw):
    assert _visit(sw, "county_admin").visitor == sw.people["county_admin"]
    assert _visit(sw, "city_admin").visitor == sw.people["city_admin"]


@pytest.mark.parametrize("who", ["expert", "school_admin", "school_admin_2", "staff", "sibling_admin", "tx_expert",
                                 "teacher"])
def test_those_not_named_and_not_organising_never_record_a_visit(sw, who):
    with pytest.raises((Forbidden, NotVisible)):
        _visit(sw, who)
    assert not SupervisionVisit.objects.dangerously_unscoped().exists()
    assert _audits("evaluation.visit_record") == 0


def test_the_implementing_institution_never_scores_its_project(sw):
    assert not supervision.may_score(sw.scope("staff"), sw.projects["qx"])
    with pytest.raises(Forbidden):
        supervision.outcome_review_record(scope=sw.scope("staff"), actor=sw.people["staff"],
                                          project_id=sw.projects["qx"].pk, rubric_id=sw.rubrics["outcome"].pk,
                                          scores=SCORES, title="自评", kind="report")
    assert not OutcomeReview.objects.dangerously_unscoped().exists()


@pytest.mark.parametrize("rubric", [None, "draft_visit", "outcome", "tx_visit", 999999])
def test_scores_without_a_published_rubric_of_the_kind_are_refused(sw, rubric):
    _name(sw)
    rubric_id = sw.rubrics[rubric].pk if isinstance(rubric, str) else rubric
    with pytest.raises(ValidationError) as error:
        _visit(sw, rubric_id=rubric_id)
    assert "没有量规不能评分" in str(error.value)
    assert not SupervisionVisit.objects.dangerously_unscoped().exists()


@pytest.mark.parametrize(("scores", "message"), [
    ({"design": 8}, "请为「实施过程」打分"),
    ({"design": 11, "delivery": 15}, "「方案设计」的得分应为 0–10 的整数"),
    ({"design": -1, "delivery": 15}, "0–10"),
    ({"design": 7.5, "delivery": 15}, "0–10"),
    ({"design": True, "delivery": 15}, "0–10"),
    ({"design": "八", "delivery": 15}, "0–10"),
    ({"design": 8, "delivery": 15, "extra": 3}, "量规中没有这些评分项：extra"),
    ([8, 15], "请为每一项评分细则打分"),
])
def test_a_score_for_every_criterion_an_integer_within_its_maximum(sw, scores, message):
    _name(sw)
    with pytest.raises(ValidationError) as error:
        _visit(sw, scores=scores)
    assert message in str(error.value)
    assert not SupervisionVisit.objects.dangerously_unscoped().exists()


def test_form_strings_are_read_as_integers_and_zero_and_the_maximum_are_allowed(sw):
    _name(sw)
    assert _visit(sw, scores={"design": "0", "delivery": "20"}).total == Decimal("66.7")
    assert _visit(sw, scores={"design": 10, "delivery": 20}).total == Decimal("100.0")
    assert _visit(sw, scores={"design": 0, "delivery": 0}).total == Decimal("0.0")


@pytest.mark.parametrize(("day", "ok"), [
    (dt.date(2026, 10, 25), True),  # a week before the first day (2026-11-01)
    (dt.date(2026, 10, 24), False),
    (TODAY, True),
    (TODAY + dt.timedelta(days=1), False),  # not in the future
    ("2026-11-27", True),
    ("not a date", False),
    (None, False),
])
def test_the_visit_date_lies_within_the_projects_dates_and_the_margin(sw, day, ok):
    _name(sw)
    if ok:
        assert _visit(sw, visited_on=day).pk
    else:
        with pytest.raises(ValidationError, match="视导日期"):
            _visit(sw, visited_on=day)
        assert not SupervisionVisit.objects.dangerously_unscoped().exists()


def test_a_visit_may_follow_the_project_by_thirty_days_not_more(sw):
    _name(sw)
    with time_machine.travel(dt.datetime(2027, 2, 1, 2, tzinfo=dt.UTC), tick=False):
        assert _visit(sw, visited_on=dt.date(2027, 1, 19), scores=SCORES).pk  # 2026-12-20 + 30
        with pytest.raises(ValidationError, match="视导日期应在"):
            _visit(sw, visited_on=dt.date(2027, 1, 20))


def test_a_draft_project_is_not_scored(sw):
    with pytest.raises(ValidationError, match="项目尚未发布"):
        _visit(sw, "county_admin", project="qx_draft")


# --- outcome reviews ---------------------------------------------------------------------------------------

def test_an_outcome_review_needs_a_title_and_a_kind_and_the_project_started(sw):
    _name(sw)
    common = {"scope": sw.scope("expert"), "actor": sw.people["expert"], "rubric_id": sw.rubrics["outcome"].pk,
              "scores": SCORES}
    row = supervision.outcome_review_record(project_id=sw.projects["qx"].pk, title="分层作业教学设计",
                                            kind="lesson_plan", **common)
    assert row.total == Decimal("76.7") and row.reviewer == sw.people["expert"]
    for title, kind, message in (("", "report", "请填写成果名称"), ("报告", "poem", "请选择成果类型")):
        with pytest.raises(ValidationError, match=message):
            supervision.outcome_review_record(project_id=sw.projects["qx"].pk, title=title, kind=kind, **common)
    supervision.supervisor_add(scope=sw.scope("county_admin"), actor=None, project_id=sw.projects["qx_later"].pk,
                               username="expert-1")
    with pytest.raises(ValidationError, match="开始后才能评审培训成果"):
        supervision.outcome_review_record(project_id=sw.projects["qx_later"].pk, title="报告", kind="report", **common)
    assert OutcomeReview.objects.dangerously_unscoped().count() == 1
    assert _audits("evaluation.outcome_review") == 1


# --- the author's edit window ----------------------------------------------------------------------------------

def test_the_author_edits_within_seven_days_then_the_record_is_final(sw):
    _name(sw)
    row = _visit(sw)
    updated = supervision.record_update(scope=sw.scope("expert"), actor=sw.people["expert"], kind="visit",
                                        record_id=row.pk, changes={"scores": {"design": 10, "delivery": 20},
                                                                   "note": "改进后"})
    assert updated.total == Decimal("100.0") and updated.note == "改进后"
    event = AuditEvent.objects.dangerously_unscoped().get(action="evaluation.visit_update")
    assert event.detail["changed"]["scores"] == [SCORES, {"design": 10, "delivery": 20}]
    with time_machine.travel(dt.datetime(2026, 12, 5, 3, tzinfo=dt.UTC), tick=False):  # 7 days and an hour later
        with pytest.raises(ValidationError, match="已定稿"):
            supervision.record_update(scope=sw.scope("expert"), actor=sw.people["expert"], kind="visit",
                                      record_id=row.pk, changes={"note": "再改"})
    row.refresh_from_db()
    assert row.note == "改进后"


def test_only_the_author_edits_a_record(sw):
    _name(sw)
    row = _visit(sw)
    for who in ("county_admin", "city_admin"):  # they oversee it: they see it, may not change it
        with pytest.raises(Forbidden):
            supervision.record_update(scope=sw.scope(who), actor=sw.people[who], kind="visit", record_id=row.pk,
                                      changes={"note": "篡改"})
    for who in ("sibling_admin", "tx_expert", "school_admin"):
        with pytest.raises(NotVisible):
            supervision.record_update(scope=sw.scope(who), actor=sw.people[who], kind="visit", record_id=row.pk,
                                      changes={"note": "篡改"})
    with pytest.raises(ValidationError, match="不可修改的字段"):
        supervision.record_update(scope=sw.scope("expert"), actor=sw.people["expert"], kind="visit",
                                  record_id=row.pk, changes={"total": 100})
    row.refresh_from_db()
    assert row.note == "组织有序" and row.total == Decimal("76.7")
    assert _audits("evaluation.visit_update") == 0


def test_a_bad_edit_writes_nothing(sw):
    _name(sw)
    row = _visit(sw)
    with pytest.raises(ValidationError):
        supervision.record_update(scope=sw.scope("expert"), actor=sw.people["expert"], kind="visit",
                                  record_id=row.pk, changes={"note": "新意见", "scores": {"design": 99, "delivery": 1}})
    row.refresh_from_db()
    assert row.note == "组织有序" and row.scores == SCORES


# --- the outcome's file ---------------------------------------------------------------------------------

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def _upload(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_an_outcome_review_keeps_the_outcomes_file_and_refuses_a_false_one(sw, settings):
    _name(sw)
    common = {"scope": sw.scope("expert"), "actor": sw.people["expert"], "rubric_id": sw.rubrics["outcome"].pk,
              "scores": SCORES, "project_id": sw.projects["qx"].pk, "kind": "lesson_plan"}
    row = supervision.outcome_review_record(title="分层作业教学设计", file=_upload("教学设计.pdf", PDF), **common)
    assert row.file_name == "教学设计.pdf" and row.file.read() == PDF
    settings.EVIDENCE_MAX_BYTES = 20
    for name, content, message in (("方案.exe", b"MZ\x90\x00", "只接受"), ("方案.pdf", b"\x89PNG\r\n\x1a\n", "内容与扩展名不符"),
                                   ("方案.pdf", PDF, "不能超过")):
        with pytest.raises(ValidationError, match=message):
            supervision.outcome_review_record(title="方案", file=_upload(name, content), **common)
    assert OutcomeReview.objects.dangerously_unscoped().count() == 1
    # Whoever sees the review opens the file; the next county does not see it at all.
    assert supervision.outcome_file_get(sw.scope("county_admin"), row.pk) == row
    assert supervision.outcome_file_get(sw.scope("staff"), row.pk) == row  # the implementer reads what was scored
    with pytest.raises(NotVisible):
        supervision.outcome_file_get(sw.scope("sibling_admin"), row.pk)


def test_only_the_author_adds_the_file_within_the_edit_period(sw):
    _name(sw)
    row = supervision.outcome_review_record(scope=sw.scope("expert"), actor=sw.people["expert"],
                                            project_id=sw.projects["qx"].pk, rubric_id=sw.rubrics["outcome"].pk,
                                            scores=SCORES, title="研修报告", kind="report")
    with pytest.raises(NotVisible):
        supervision.outcome_file_get(sw.scope("county_admin"), row.pk)  # no file yet
    with pytest.raises(Forbidden):
        supervision.outcome_file_attach(scope=sw.scope("county_admin"), actor=sw.people["county_admin"],
                                        review_id=row.pk, file=_upload("报告.pdf", PDF))
    done = supervision.outcome_file_attach(scope=sw.scope("expert"), actor=sw.people["expert"], review_id=row.pk,
                                           file=_upload("报告.pdf", PDF))
    assert done.file_name == "报告.pdf" and _audits("evaluation.outcome_review_update") == 1
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=supervision.EDIT_DAYS + 1)):
        with pytest.raises(ValidationError, match="已定稿"):
            supervision.outcome_file_attach(scope=sw.scope("expert"), actor=sw.people["expert"], review_id=row.pk,
                                            file=_upload("报告2.pdf", PDF))
