"""The trainer pool's services: who sees which pools, adding and editing trainers, promotion by
the pool's owner only, unavailable periods, and Chinese refusals that write nothing."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from access.errors import Forbidden, NotVisible
from access.policy import Action, visible
from audit.models import AuditEvent
from people.tests.factories import TeacherFactory
from trainers import selectors, services
from trainers.models import Trainer, TrainerLevelChange, TrainerUnavailability
from trainers.tests.conftest import add, scope_of

pytestmark = pytest.mark.django_db


def _names(user, action=Action.VIEW):
    return set(visible(scope_of(user), Trainer, action).values_list("name", flat=True))


def _count():
    return (Trainer.objects.dangerously_unscoped().count(), TrainerLevelChange.objects.dangerously_unscoped().count(),
            TrainerUnavailability.objects.dangerously_unscoped().count(),
            AuditEvent.objects.dangerously_unscoped().filter(action__startswith="trainer.").count())


def test_each_administrator_sees_the_pools_of_their_jurisdiction(pool):
    u = pool.users
    everyone = {"孙名师", "周教研", "吴教研", "郑教研", "冯专家", "陈专家", "褚首席"}
    assert _names(u["province_admin"]) == everyone
    # a city: its own pool and its counties' (its 省直管县's read only); never the province's or another city's
    assert _names(u["city_admin"]) == {"孙名师", "周教研", "吴教研", "郑教研", "冯专家"}
    assert _names(u["city_admin"], Action.CHANGE) == {"孙名师", "周教研", "吴教研", "冯专家"}
    # a county: only its own pool, not its sibling's nor the city's
    assert _names(u["county_admin"]) == {"孙名师", "周教研"}
    assert _names(u["sibling_admin"]) == {"吴教研"}
    assert _names(u["direct_admin"]) == _names(u["direct_admin"], Action.CHANGE) == {"郑教研"}
    assert _names(u["other_city_admin"]) == {"陈专家"}
    # a school, an institution, a teacher who is not a trainer: nothing; a trainer who is a teacher: their own
    for who in ("school_admin", "staff", "teacher"):
        assert _names(u[who]) == set(), who
    assert _names(u["master_user"]) == {"孙名师"}
    assert _names(u["master_user"], Action.CHANGE) == set()
    # grading is the pool owner's alone
    assert _names(u["county_admin"], Action.DECIDE) == {"孙名师", "周教研"}
    assert _names(u["city_admin"], Action.DECIDE) == {"冯专家"}
    assert _names(u["province_admin"], Action.DECIDE) == {"褚首席"}


def test_a_teachers_trainer_takes_the_registry_name_stage_and_subjects(pool):
    master = pool.trainers["qx_master"]
    assert (master.name, master.stages, master.subjects, master.source) == ("孙名师", ["junior"], ["math", "physics"],
                                                                             "master_teacher")
    assert master.pool_level == "county" and master.division_path == "410000.410200.410221."
    assert master.tags == "|stage:junior|subject:math|subject:physics|topic:classroom|topic:homework|source:master_teacher|"
    assert master.level_changes.get().to_grade == 1
    event = AuditEvent.objects.dangerously_unscoped().filter(action="trainer.create", object_id=str(master.pk)).get()
    assert event.scope_path == master.division_path and event.detail["teacher"] == master.teacher_id


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"source": "master_teacher", "name": "某名师"}, "teacher", "应关联教师名册"),
    ({"source": "nobody", "name": "某"}, "source", "请选择来源"),
    ({"name": ""}, "name", "请填写姓名"),
    ({"name": "某", "stages": ["college"]}, "stages", "学段不在可选范围内"),
    ({"name": "某", "stages": []}, "stages", "请至少选择一个学段"),
    ({"name": "某", "subjects": [], "topics": []}, "topics", "请至少选择一个学科或专题"),
    ({"name": "某", "topics": ["astrology"]}, "topics", "专题与能力不在可选范围内"),
    ({"name": "某" * 51}, "name", "不超过50个字"),
    ({"name": "某", "grade": 9}, "grade", "请选择等级"),
])
def test_bad_input_is_a_chinese_message_and_nothing_written(pool, values, field, message):
    before = _count()
    with pytest.raises(ValidationError) as refused:
        add(pool.users["county_admin"], **values)
    assert message in " ".join(refused.value.message_dict[field])
    assert _count() == before


def test_a_teacher_enters_one_pool_in_post_and_within_the_pools_division(pool, province):
    u = pool.users
    before = _count()
    with pytest.raises(ValidationError, match="已在培训专家库中"):
        add(u["city_admin"], teacher_id=pool.trainers["qx_master"].teacher_id, source="master_teacher")
    with pytest.raises(NotVisible):  # a county does not see its sibling's teachers
        add(u["county_admin"], teacher_id=province.sibling_teacher.pk, source="master_teacher")
    retired = TeacherFactory(school=province.school, name="退休师", status="retired")
    with pytest.raises(ValidationError, match="不在岗"):
        add(u["county_admin"], teacher_id=retired.pk, source="master_teacher")
    with pytest.raises(ValidationError, match="不在杞县辖区内"):  # the city adds 通许's teacher to 杞县's pool
        add(u["city_admin"], division_id=province.county.pk, teacher_id=province.sibling_teacher.pk,
            source="master_teacher")
    assert _count() == before


def test_who_adds_to_which_pool(pool, province):
    u = pool.users
    made = add(u["city_admin"], division_id=province.county.pk, name="市为县添加")  # the city writes its counties'
    assert made.division == province.county
    with pytest.raises(Forbidden):  # ... but only reads its 省直管县's
        add(u["city_admin"], division_id=province.direct.pk, name="市为兰考添加")
    with pytest.raises(NotVisible):  # a county does not reach up to the city's pool
        add(u["county_admin"], division_id=province.city.pk, name="县为市添加")
    with pytest.raises(Forbidden):  # school administrators, teachers: no pool of their own
        add(u["school_admin"], name="学校添加")
    with pytest.raises(Forbidden):
        add(u["teacher"], name="教师添加")
    # entry above 初级 is a grade decision: the owner's, not the city's for a county's pool
    with pytest.raises(ValidationError, match="只能由本级专家库的管理员评定"):
        add(u["city_admin"], division_id=province.county.pk, name="市定高级", grade=3)
    assert add(u["county_admin"], name="县定高级", grade=3).grade == 3


def test_promotion_is_the_owners_with_a_reason_and_is_audited(pool):
    u, trainer = pool.users, pool.trainers["qx"]
    for who, refusal in (("city_admin", Forbidden), ("province_admin", Forbidden), ("sibling_admin", NotVisible),
                         ("master_user", NotVisible), ("school_admin", NotVisible)):
        with pytest.raises(refusal):
            services.trainer_promote(scope=scope_of(u[who]), actor=u[who], trainer_id=trainer.pk, grade=2,
                                     reason="承担县级项目授课")
    county = u["county_admin"]
    before = _count()
    for grade, reason, message in ((1, "承担县级项目授课", "只能晋升到更高的等级"), (2, "好", "至少4个字"),
                                   ("x", "承担县级项目授课", "请选择等级")):
        with pytest.raises(ValidationError, match=message):
            services.trainer_promote(scope=scope_of(county), actor=county, trainer_id=trainer.pk, grade=grade,
                                     reason=reason)
    assert _count() == before
    services.trainer_promote(scope=scope_of(county), actor=county, trainer_id=trainer.pk, grade=3,
                             reason="承担县级项目授课12场，评价优秀")
    trainer.refresh_from_db()
    assert trainer.grade == 3
    change = trainer.level_changes.order_by("pk").last()
    assert (change.from_grade, change.to_grade, change.decided_by) == (1, 3, county)
    event = AuditEvent.objects.dangerously_unscoped().get(action="trainer.promote")
    assert event.actor == county and event.detail["from"] == 1 and event.detail["to"] == 3
    assert event.scope_path == trainer.division_path


def test_editing_keeps_grade_pool_and_link_and_is_audited(pool, province):
    u, trainer = pool.users, pool.trainers["tx"]
    city = u["city_admin"]
    services.trainer_update(scope=scope_of(city), actor=city, trainer_id=trainer.pk,
                            changes={"topics": ["experiment", "family"], "organisation": "通许县教研室"})
    trainer.refresh_from_db()
    assert trainer.topics == ["experiment", "family"] and "|topic:family|" in trainer.tags
    event = AuditEvent.objects.dangerously_unscoped().get(action="trainer.update")
    assert event.detail["changed"]["organisation"] == ["", "通许县教研室"]
    with pytest.raises(ValidationError, match="不可修改的字段"):
        services.trainer_update(scope=scope_of(city), actor=city, trainer_id=trainer.pk, changes={"grade": 4})
    with pytest.raises(Forbidden):  # the city reads 兰考's pool, does not edit it
        services.trainer_update(scope=scope_of(city), actor=city, trainer_id=pool.trainers["lk"].pk,
                                changes={"organisation": "x"})
    # a linked teacher's trainer keeps the registry's name whatever is sent
    master = pool.trainers["qx_master"]
    services.trainer_update(scope=scope_of(u["county_admin"]), actor=u["county_admin"], trainer_id=master.pk,
                            changes={"name": "改名"})
    master.refresh_from_db()
    assert master.name == "孙名师"


def test_unavailable_periods(pool):
    u, trainer = pool.users, pool.trainers["qx"]
    county = scope_of(u["county_admin"])
    before = _count()
    for starts, ends, message in (((2027, 3, 10), (2027, 3, 8), "结束日期不能早于开始日期"),
                                  ((2027, 3, 10), (2028, 3, 10), "不超过366天"),
                                  ((2027, 1, 1), (2027, 2, 1), "已经过去")):
        with pytest.raises(ValidationError, match=message):
            services.unavailability_add(scope=county, actor=u["county_admin"], trainer_id=trainer.pk,
                                        starts_on=dt.date(*starts), ends_on=dt.date(*ends))
    with pytest.raises(ValidationError, match="请填写开始和结束日期"):
        services.unavailability_add(scope=county, actor=u["county_admin"], trainer_id=trainer.pk, starts_on=None,
                                    ends_on=dt.date(2027, 3, 8))
    with pytest.raises(NotVisible):
        services.unavailability_add(scope=scope_of(u["sibling_admin"]), actor=u["sibling_admin"],
                                    trainer_id=trainer.pk, starts_on=dt.date(2027, 3, 8), ends_on=dt.date(2027, 3, 9))
    assert _count() == before
    period = services.unavailability_add(scope=county, actor=u["county_admin"], trainer_id=trainer.pk,
                                         starts_on=dt.date(2027, 3, 8), ends_on=dt.date(2027, 3, 9), reason="外出学习")
    free = selectors.TrainerFilters(available_on=dt.date(2027, 3, 9))
    assert trainer not in selectors.trainers(county, free)
    services.unavailability_remove(scope=county, actor=u["county_admin"], trainer_id=trainer.pk,
                                   unavailability_id=period.pk)
    assert trainer in selectors.trainers(county, free)
    assert list(AuditEvent.objects.dangerously_unscoped().filter(action__in=["trainer.unavailable", "trainer.available"]).order_by("pk")
                .values_list("action", flat=True)) == ["trainer.unavailable", "trainer.available"]


def test_a_trainer_with_sessions_ahead_stays_in_the_pool(pool):
    u, trainer = pool.users, pool.trainers["qx"]
    county = u["county_admin"]
    services.booking_create(scope=scope_of(county), actor=county, trainer_id=trainer.pk,
                            session_id=pool.sessions["qx1"].pk)
    with pytest.raises(ValidationError, match="还有 1 场未举行的授课安排"):
        services.trainer_update(scope=scope_of(county), actor=county, trainer_id=trainer.pk, changes={"active": False})
    services.booking_delete(scope=scope_of(county), actor=county, trainer_id=trainer.pk,
                            session_id=pool.sessions["qx1"].pk)
    services.trainer_update(scope=scope_of(county), actor=county, trainer_id=trainer.pk, changes={"active": False})
    assert trainer not in selectors.trainers(scope_of(county))
    assert trainer in selectors.trainers(scope_of(county), selectors.TrainerFilters(include_inactive=True))
    with pytest.raises(ValidationError, match="已出库"):
        services.trainer_promote(scope=scope_of(county), actor=county, trainer_id=trainer.pk, grade=2,
                                 reason="承担县级项目授课")


def test_the_development_record_of_a_teacher_trainer(pool, province):
    from catalog.models import Enrolment
    from credits.constants import SourceType
    from credits.services import ledger_entry_record
    from trainers.tests.conftest import project

    master = pool.trainers["qx_master"]
    done = project("QX-OLD", province.county, state="finished", starts_on=dt.date(2026, 9, 1),
                   ends_on=dt.date(2026, 9, 5), title="杞县名师工作室研修")
    Enrolment.objects.create(project=done, teacher=master.teacher, state="completed")
    Enrolment.objects.create(project=pool.projects["kf"], teacher=master.teacher, state="enrolled")
    ledger_entry_record(teacher=master.teacher, category="centralised", hours=12, occurred_on=dt.date(2026, 9, 5),
                        source_type=SourceType.SYNTH, source_id="dev-1")
    record = selectors.development_of(scope_of(pool.users["county_admin"]), master)
    assert [e.project.title for e in record.completed] == ["杞县名师工作室研修"]
    assert record.hours_completed_projects == 12 and record.cycle_counted == 12 and record.cycle_code == "2026-2030"
    assert selectors.development_of(scope_of(pool.users["master_user"]), master).completed  # their own
    assert selectors.development_of(scope_of(pool.users["county_admin"]), pool.trainers["qx"]) is None  # no teacher
