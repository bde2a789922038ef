"""A closed cycle is closed: no new entries, decisions or revocations dated in it, except the
province's audited correction (service and command line)."""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from access.scope import scope_for_user
from audit.models import AuditEvent
from credits.models import Cycle, CycleTotal, LedgerEntry
from credits.services import (
    credits_reconcile,
    ledger_closed_cycle_correction,
    ledger_entry_decide,
    ledger_entry_record,
    ledger_entry_revoke,
    ledger_entry_school_check,
)
from credits.verification import ledger_verify

LAST_YEAR = dt.date(2025, 6, 1)
TODAY = dt.date(2026, 11, 28)
BEFORE_CLOSING = dt.date(2025, 12, 20)  # the cycle was still open


def _record(teacher, **overrides):
    values = dict(teacher=teacher, category="centralised", hours="6", occurred_on=LAST_YEAR, source_type="project",
                  source_id="P-2025", today=TODAY)
    values.update(overrides)
    return ledger_entry_record(**values)


def _approved_2025(province):
    return CycleTotal.objects.dangerously_unscoped().get(teacher=province.teacher, cycle__code="2021-2025",
                                                       category="centralised").approved_hours


def test_the_finished_cycle_is_closed_and_the_current_one_open(db):
    assert Cycle.objects.get(code="2021-2025").closed_on == dt.date(2026, 1, 1)
    assert Cycle.objects.get(code="2026-2030").closed_on is None
    assert Cycle.objects.get(code="2021-2025").is_closed(TODAY) and not Cycle.objects.get(code="2021-2025").is_closed(BEFORE_CLOSING)


def test_new_entries_dated_in_a_closed_cycle_are_refused(province, users, client_for):
    with pytest.raises(ValidationError, match="2021-2025 周期已关闭") as raised:
        _record(province.teacher)
    assert "occurred_on" in raised.value.message_dict
    response = client_for(users["county_admin"]).post(
        "/api/v1/credits/entries", content_type="application/json",
        data={"teacher_id": province.teacher.pk, "category": "online", "hours": "2", "occurred_on": "2025-05-06",
              "source_id": "LATE-1"})
    assert response.status_code == 422 and "周期已关闭" in response.json()["errors"]["occurred_on"][0]
    assert not LedgerEntry.objects.dangerously_unscoped().exists()


def test_decisions_and_revocations_dated_in_a_closed_cycle_are_refused(province, users):
    county = scope_for_user(users["county_admin"])
    pending, _ = _record(province.teacher, source_type="claim", source_id="late-claim", state="pending",
                         occurred_on=dt.date(2025, 12, 10), today=BEFORE_CLOSING)
    approved, _ = _record(province.teacher, source_id="P-late", occurred_on=dt.date(2025, 12, 11), today=BEFORE_CLOSING)
    with pytest.raises(ValidationError, match="周期已关闭"):
        ledger_entry_school_check(scope=scope_for_user(users["school_admin"]), actor=users["school_admin"], entry_id=pending.pk)
    with pytest.raises(ValidationError, match="周期已关闭"):
        ledger_entry_decide(scope=county, actor=users["county_admin"], entry_id=pending.pk, approve=True)
    with pytest.raises(ValidationError, match="周期已关闭"):
        ledger_entry_revoke(scope=county, actor=users["county_admin"], entry_id=approved.pk, reason="重复记入")
    pending.refresh_from_db()
    approved.refresh_from_db()
    assert (pending.state, approved.state) == ("pending", "approved") and LedgerEntry.objects.dangerously_unscoped().count() == 2


def test_the_province_corrects_a_closed_cycle_with_an_audited_compensating_entry(province, users):
    _record(province.teacher, occurred_on=dt.date(2025, 12, 11), today=BEFORE_CLOSING)
    province_scope = scope_for_user(users["province_admin"])
    added = ledger_closed_cycle_correction(scope=province_scope, actor=users["province_admin"], teacher=province.teacher,
                                           category="centralised", hours="4", occurred_on=LAST_YEAR,
                                           reason="省培项目结业学时补录", today=TODAY)
    taken = ledger_closed_cycle_correction(scope=province_scope, actor=users["province_admin"], teacher=province.teacher,
                                           category="centralised", hours="-7", occurred_on=LAST_YEAR,
                                           reason="重复记入核减", today=TODAY)
    assert (added.source_type, added.hours, taken.hours) == ("correction", Decimal("4.0"), Decimal("-7.0"))
    assert _approved_2025(province) == Decimal("3.0")
    assert [(d.stage, d.state, d.actor_id, d.note) for d in taken.decisions.all()] == [
        ("correction", "approved", users["province_admin"].pk, "重复记入核减")]
    events = AuditEvent.objects.dangerously_unscoped().filter(action="ledger.correct")
    assert {e.object_id for e in events} == {str(added.pk), str(taken.pk)} and events.first().actor == users["province_admin"]
    assert ledger_verify() == [] and credits_reconcile() == []


def test_only_the_province_corrects_and_only_a_closed_cycle(province, users):
    arguments = dict(teacher=province.teacher, category="centralised", hours="2", occurred_on=LAST_YEAR, reason="补录",
                     today=TODAY)
    with pytest.raises(PermissionDenied):
        ledger_closed_cycle_correction(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], **arguments)
    province_scope = scope_for_user(users["province_admin"])
    for change, field, message in [
        ({"occurred_on": dt.date(2026, 3, 1)}, "occurred_on", "尚未关闭"),
        ({"hours": "-1"}, "hours", "不能更正为负数"),  # nothing approved to take away
        ({"hours": "0"}, "hours", "不能为0"),
        ({"reason": " "}, "reason", "请填写更正原因"),
    ]:
        with pytest.raises(ValidationError) as raised:
            ledger_closed_cycle_correction(scope=province_scope, actor=users["province_admin"], **{**arguments, **change})
        assert message in " ".join(raised.value.message_dict[field])
    assert not LedgerEntry.objects.dangerously_unscoped().exists()


def test_the_command_line_corrects_a_closed_cycle_as_the_province(province, users):
    out = io.StringIO()
    call_command("credits", "correct", "--teacher", str(province.teacher.pk), "--category", "centralised", "--hours", "5",
                 "--date", "2025-06-01", "--reason", "线下补录", stdout=out)
    report = json.loads(out.getvalue())
    assert (report["cycle"], report["hours"]) == ("2021-2025", "5.0") and _approved_2025(province) == Decimal("5.0")
    with pytest.raises(CommandError, match="无权"):
        call_command("credits", "correct", "--teacher", str(province.teacher.pk), "--category", "centralised",
                     "--hours", "1", "--date", "2025-06-01", "--reason", "补录", "--as", users["county_admin"].username)
    with pytest.raises(CommandError, match="需要"):
        call_command("credits", "correct", "--teacher", str(province.teacher.pk))
