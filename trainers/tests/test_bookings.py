"""Booking trainers on project sessions: who may, one session a day per trainer (a Chinese refusal
naming the other session; the database's constraint behind it, also when two bookings race),
unavailable days and trainers out of the pool refused, cancelling, the sessions delivered, and a
session that moves taking its bookings with it. Bookings racing with real connections:
test_booking_concurrency.py."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from access.errors import Forbidden, NotVisible
from audit.models import AuditEvent
from trainers import selectors, services
from trainers.models import TrainerBooking
from trainers.tests.conftest import project, scope_of, session

pytestmark = pytest.mark.django_db


def book(user, trainer, session_row):
    return services.booking_create(scope=scope_of(user), actor=user, trainer_id=trainer.pk, session_id=session_row.pk)


def _bookings():
    return sorted(TrainerBooking.objects.dangerously_unscoped().values_list("trainer_id", "session_id", "held_on"))


def test_a_trainer_takes_one_session_a_day(pool):
    u, t, s = pool.users, pool.trainers, pool.sessions
    booking = book(u["county_admin"], t["qx"], s["qx1"])
    assert (booking.held_on, booking.project, booking.booked_by) == (dt.date(2027, 3, 5), pool.projects["qx"],
                                                                     u["county_admin"])
    before = _bookings()
    # the city, booking the same 杞县 trainer for its own session the same day, is told which session holds the day
    with pytest.raises(ValidationError) as refused:
        book(u["city_admin"], t["qx"], s["kf1"])
    assert refused.value.message_dict["trainer"] == ["该培训专家（周教研）在 2027-03-05 已有安排：《杞县初中数学骨干研修》第1场"]
    with pytest.raises(ValidationError, match="已安排在这一场"):
        book(u["county_admin"], t["qx"], s["qx1"])
    assert _bookings() == before
    # another day is free; the same day is free for another trainer
    book(u["city_admin"], t["qx"], s["kf2"])
    book(u["city_admin"], t["kf"], s["kf1"])
    assert len(_bookings()) == 3
    events = AuditEvent.objects.dangerously_unscoped().filter(action="trainer.book")
    assert events.count() == 3 and events.filter(actor=u["city_admin"], scope_path=t["qx"].division_path).count() == 1


def test_the_clash_does_not_name_a_project_the_booker_cannot_see(pool, province):
    u, t = pool.users, pool.trainers
    draft = project("HN-D", province.province, state="draft", title="省级保密草稿项目")
    hidden = session(draft, 1, dt.date(2027, 3, 20))
    book(u["province_admin"], t["kf"], hidden)
    with pytest.raises(ValidationError) as refused:
        book(u["city_admin"], t["kf"], session(pool.projects["kf"], 3, dt.date(2027, 3, 20)))
    assert "其他项目的场次" in str(refused.value) and "保密" not in str(refused.value)


def test_who_may_book(pool, province):
    u, t, s = pool.users, pool.trainers, pool.sessions
    before = _bookings()
    cases = [
        ("county_admin", "kf", "qx1", NotVisible),  # the city's trainer is outside 杞县's pools
        ("county_admin", "qx", "kf1", NotVisible),  # 杞县 does not run the city's project (its session is not seen)
        ("sibling_admin", "tx", "qx1", NotVisible),
        ("city_admin", "lk", "kf1", Forbidden),  # the city reads 兰考's pool, does not book from it
        ("school_admin", "qx", "qx1", NotVisible),
        ("master_user", "qx_master", "qx1", NotVisible),  # a trainer does not book themself
        ("staff", "qx", "qx1", NotVisible),
    ]
    for who, trainer, where, refusal in cases:
        with pytest.raises(refusal):
            book(u[who], t[trainer], s[where])
    assert _bookings() == before
    # the city books its own and its counties' trainers on its counties' projects too; the province anyone
    book(u["city_admin"], t["kf"], s["qx2"])
    book(u["province_admin"], t["lk"], s["kf2"])
    lk_project = project("LK-1", province.direct)
    book(u["direct_admin"], t["lk"], session(lk_project, 1, dt.date(2027, 3, 8)))
    # a school's own project: the school runs it but has no pool; its county staffs it
    school_session = session(project("QX-S", province.county, school=province.school), 1, dt.date(2027, 3, 9))
    with pytest.raises(NotVisible):
        book(u["school_admin"], t["qx"], school_session)
    book(u["county_admin"], t["qx"], school_session)


def test_unavailable_days_trainers_out_of_the_pool_and_finished_projects_are_refused(pool):
    u, t, s = pool.users, pool.trainers, pool.sessions
    county = u["county_admin"]
    services.unavailability_add(scope=scope_of(county), actor=county, trainer_id=t["qx"].pk,
                                starts_on=dt.date(2027, 3, 4), ends_on=dt.date(2027, 3, 5), reason="外出学习")
    with pytest.raises(ValidationError, match=r"2027-03-05 不可安排（外出学习）"):
        book(county, t["qx"], s["qx1"])
    book(county, t["qx_master"], s["qx2"])
    with pytest.raises(ValidationError, match="已有授课安排"):  # nor can a booked day be made unavailable
        services.unavailability_add(scope=scope_of(county), actor=county, trainer_id=t["qx_master"].pk,
                                    starts_on=dt.date(2027, 3, 6), ends_on=dt.date(2027, 3, 7))
    services.trainer_update(scope=scope_of(county), actor=county, trainer_id=t["qx"].pk, changes={"active": False})
    with pytest.raises(ValidationError, match="已出库"):
        book(county, t["qx"], s["qx2"])
    finished = pool.projects["qx"]
    type(finished).objects.dangerously_unscoped().filter(pk=finished.pk).update(state="finished")
    with pytest.raises(ValidationError, match="项目已结束"):
        services.booking_delete(scope=scope_of(county), actor=county, trainer_id=t["qx_master"].pk,
                                session_id=s["qx2"].pk)
    assert _bookings() == [(t["qx_master"].pk, s["qx2"].pk, dt.date(2027, 3, 6))]


def test_cancelling_a_booking(pool):
    u, t, s = pool.users, pool.trainers, pool.sessions
    book(u["city_admin"], t["kf"], s["qx1"])
    # 杞县 runs the project and sees who teaches it (403), but the trainer is the city's to unbook
    for who, refusal in (("county_admin", Forbidden), ("sibling_admin", NotVisible), ("school_admin", NotVisible)):
        with pytest.raises(refusal):
            services.booking_delete(scope=scope_of(u[who]), actor=u[who], trainer_id=t["kf"].pk, session_id=s["qx1"].pk)
    services.booking_delete(scope=scope_of(u["city_admin"]), actor=u["city_admin"], trainer_id=t["kf"].pk,
                            session_id=s["qx1"].pk)
    assert _bookings() == []
    assert AuditEvent.objects.dangerously_unscoped().filter(action="trainer.unbook").count() == 1
    with pytest.raises(NotVisible):
        services.booking_delete(scope=scope_of(u["city_admin"]), actor=u["city_admin"], trainer_id=t["kf"].pk,
                                session_id=s["qx1"].pk)


def test_who_sees_a_booking(pool):
    u, t, s = pool.users, pool.trainers, pool.sessions
    book(u["city_admin"], t["kf"], s["qx1"])
    seen = {who: selectors.bookings_of_sessions(scope_of(u[who]), [s["qx1"]])[s["qx1"].pk]
            for who in ("county_admin", "city_admin", "sibling_admin", "school_admin", "teacher")}
    # 杞县 runs the project, so it sees who teaches it, though the trainer is of the city's pool
    assert [b.trainer.name for b in seen["county_admin"]] == ["冯专家"] == [b.trainer.name for b in seen["city_admin"]]
    assert seen["sibling_admin"] == seen["school_admin"] == seen["teacher"] == []


def test_the_database_holds_one_booking_per_trainer_and_day(pool):
    t, s = pool.trainers, pool.sessions
    TrainerBooking.objects.create(trainer=t["kf"], session=s["qx1"], project=pool.projects["qx"], held_on=s["qx1"].held_on)
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainerBooking.objects.create(trainer=t["kf"], session=s["kf1"], project=pool.projects["kf"],
                                      held_on=s["kf1"].held_on)


def test_a_booking_that_slips_past_the_check_is_refused_by_the_constraint_in_chinese(pool, monkeypatch):
    """As if another request booked the day between this one's check and its insert."""
    u, t, s = pool.users, pool.trainers, pool.sessions
    book(u["county_admin"], t["qx"], s["qx1"])
    monkeypatch.setattr(services, "booking_refusal", lambda *args: None)
    with pytest.raises(ValidationError) as refused:
        book(u["city_admin"], t["qx"], s["kf1"])
    assert "2027-03-05 已有安排" in str(refused.value)
    assert len(_bookings()) == 1
    assert AuditEvent.objects.dangerously_unscoped().filter(action="trainer.book").count() == 1


def test_sessions_delivered_and_upcoming(pool):
    u, t, s = pool.users, pool.trainers, pool.sessions
    import time_machine

    book(u["county_admin"], t["qx"], s["qx1"])
    book(u["city_admin"], t["qx"], s["kf2"])
    county = scope_of(u["county_admin"])
    with time_machine.travel(dt.datetime(2027, 3, 8, 10, tzinfo=dt.UTC), tick=False):
        record = selectors.delivered_of(selectors.bookings_of(county, t["qx"]))
        found = selectors.trainer_page(county, selectors.TrainerFilters(q="周"))
    assert [(b.project.title, b.session.number) for b in record.sessions] == [("杞县初中数学骨干研修", 1)]
    assert (record.projects, record.rated, record.rating) == (1, 0, None)  # no evaluation yet: no rating
    assert (found.delivered, found.upcoming) == ({t["qx"].pk: 1}, {t["qx"].pk: 1})


def test_a_session_that_moves_takes_its_bookings_or_is_refused(pool):
    u, t, s = pool.users, pool.trainers, pool.sessions
    book(u["county_admin"], t["qx"], s["qx1"])
    book(u["city_admin"], t["qx"], s["kf2"])
    moved = s["qx1"]
    moved.held_on = dt.date(2027, 3, 10)
    moved.save()
    assert (t["qx"].pk, moved.pk, dt.date(2027, 3, 10)) in _bookings()
    assert AuditEvent.objects.dangerously_unscoped().filter(action="trainer.reschedule").count() == 1
    # onto the day the trainer teaches the city's session: refused before anything is written
    moved.held_on = dt.date(2027, 3, 12)
    with pytest.raises(ValidationError, match="已有其他授课安排"):
        moved.save()
    moved.refresh_from_db()
    assert moved.held_on == dt.date(2027, 3, 10) and (t["qx"].pk, moved.pk, dt.date(2027, 3, 10)) in _bookings()
    services.unavailability_add(scope=scope_of(u["county_admin"]), actor=u["county_admin"], trainer_id=t["qx"].pk,
                                starts_on=dt.date(2027, 3, 20), ends_on=dt.date(2027, 3, 21))
    moved.held_on = dt.date(2027, 3, 20)
    with pytest.raises(ValidationError, match="不可安排"):
        moved.save()
