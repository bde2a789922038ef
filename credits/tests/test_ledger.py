"""The hours ledger: idempotent writes, validation, totals in the same
transaction, decisions, compensating revocation, reconcile and verify."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from access.errors import NotVisible
from access.scope import scope_for_user
from audit.models import AuditEvent
from credits.models import CycleTotal, LedgerEntry
from credits.selectors import teacher_cycle_summary
from credits.services import (
    SourceConflict,
    credits_reconcile,
    ledger_entry_decide,
    ledger_entry_record,
    ledger_entry_revoke,
    ledger_verify,
)

DAY = dt.date(2026, 3, 10)
TODAY = dt.date(2026, 11, 28)


def _record(teacher, **overrides):
    values = dict(teacher=teacher, category="centralised", hours="6", occurred_on=DAY, source_type="project",
                  source_id="P-1", today=TODAY)
    values.update(overrides)
    return ledger_entry_record(**values)


def _total(teacher, category="centralised"):
    total = CycleTotal.objects.dangerously_unscoped().get(teacher=teacher, category=category)
    return total.approved_hours, total.pending_hours


def test_the_same_completion_recorded_twice_is_one_entry(province):
    entry, created = _record(province.teacher)
    again, created_again = _record(province.teacher)
    assert (created, created_again) == (True, False) and again.pk == entry.pk
    assert LedgerEntry.objects.dangerously_unscoped().count() == 1
    assert _total(province.teacher) == (Decimal("6.0"), Decimal("0"))
    assert entry.cycle.code == "2026-2030"


def test_a_source_key_reused_with_other_content_is_a_conflict(province):
    _record(province.teacher)
    with pytest.raises(SourceConflict, match="已记录为不同的内容"):
        _record(province.teacher, hours="7")
    assert LedgerEntry.objects.dangerously_unscoped().count() == 1


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"hours": "-2"}, "hours", "必须大于0"),
        ({"hours": "0"}, "hours", "必须大于0"),
        ({"hours": "13"}, "hours", "一天的学时不能超过"),
        ({"hours": "abc"}, "hours", "数字"),
        ({"occurred_on": dt.date(2019, 5, 1)}, "occurred_on", "不在任何继续教育周期内"),
        ({"occurred_on": dt.date(2026, 12, 25)}, "occurred_on", "晚于今天"),
        ({"category": "sleeping"}, "category", "未知的学时类别"),
        ({"source_type": "correction"}, "source_type", "未知的来源类型"),
        ({"source_id": ""}, "source_id", "不能为空"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(province, overrides, field, message):
    with pytest.raises(ValidationError) as raised:
        _record(province.teacher, **overrides)
    assert message in " ".join(raised.value.message_dict[field])
    assert not LedgerEntry.objects.dangerously_unscoped().exists() and not CycleTotal.objects.dangerously_unscoped().exists()


def test_no_more_than_a_days_worth_in_one_day(province):
    _record(province.teacher, hours="8", source_id="A")
    with pytest.raises(ValidationError, match="当天累计学时将超过"):
        _record(province.teacher, hours="5", source_id="B", category="online")
    _record(province.teacher, hours="4", source_id="C", category="online")
    assert LedgerEntry.objects.dangerously_unscoped().count() == 2


def test_pending_claims_move_to_approved_on_decision_and_are_audited(province, users):
    entry, _ = _record(province.teacher, state="pending", source_type="claim", source_id="C-1")
    assert _total(province.teacher) == (Decimal("0"), Decimal("6.0"))
    with pytest.raises(NotVisible):  # another county's teacher: not even seen
        ledger_entry_decide(scope=scope_for_user(users["sibling_admin"]), actor=users["sibling_admin"], entry_id=entry.pk, approve=True)
    ledger_entry_decide(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], entry_id=entry.pk, approve=True)
    assert _total(province.teacher) == (Decimal("6.0"), Decimal("0.0"))
    assert AuditEvent.objects.dangerously_unscoped().filter(action="ledger.approve", object_id=str(entry.pk)).count() == 1
    with pytest.raises(ValidationError, match="只有待审核"):
        ledger_entry_decide(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], entry_id=entry.pk, approve=False)


def test_revocation_is_a_compensating_entry(province, users):
    entry, _ = _record(province.teacher)
    correction = ledger_entry_revoke(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"],
                                     entry_id=entry.pk, reason="重复申报")
    entry.refresh_from_db()
    assert entry.state == "revoked" and entry.hours == Decimal("6.0")  # the original is kept
    assert correction.hours == Decimal("-6.0") and correction.reverses_id == entry.pk
    assert _total(province.teacher) == (Decimal("0.0"), Decimal("0"))
    assert credits_reconcile() == []
    with pytest.raises(ValidationError):
        ledger_entry_revoke(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], entry_id=entry.pk, reason="再撤")


def test_reconcile_finds_and_fixes_drift(province, capsys):
    _record(province.teacher)
    _record(province.teacher, source_id="P-2", category="online", hours="3", occurred_on=dt.date(2026, 4, 1))
    assert credits_reconcile() == []
    call_command("credits", "reconcile")
    CycleTotal.objects.dangerously_unscoped().filter(category="online").update(approved_hours=Decimal("99"))
    drift = credits_reconcile()
    assert [(row["category"], row["ledger_approved"]) for row in drift] == [("online", Decimal("3.0"))]
    with pytest.raises(CommandError, match="1 处"):
        call_command("credits", "reconcile")
    call_command("credits", "reconcile", "--fix")
    assert credits_reconcile() == [] and _total(province.teacher, "online")[0] == Decimal("3.0")


def test_ledger_substance_cannot_be_updated_in_the_database(province):
    entry, _ = _record(province.teacher)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE credits_ledgerentry SET hours = 60 WHERE id = %s", [entry.pk])
    entry.refresh_from_db()
    assert entry.hours == Decimal("6.0")


def test_verify_catches_a_row_edited_behind_the_applications_back(province):
    """A ledger row edited in SQL fails verify."""
    entry, _ = _record(province.teacher)
    assert ledger_verify() == []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # flush deferred FK checks before ALTER TABLE
            cursor.execute("ALTER TABLE credits_ledgerentry DISABLE TRIGGER USER")
            cursor.execute("UPDATE credits_ledgerentry SET hours = 60 WHERE id = %s", [entry.pk])
            cursor.execute("ALTER TABLE credits_ledgerentry ENABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER credits_ledger_append_only")
            cursor.execute("UPDATE credits_ledgerentry SET hours = 60 WHERE id = %s", [entry.pk])
    assert [(problem.kind, problem.entry_id) for problem in ledger_verify()] == [("checksum", entry.pk)]
    with pytest.raises(CommandError, match="校验值不符"):
        call_command("credits", "verify")


def test_summary_prorates_new_teachers_and_judges_progress(province):
    teacher = province.teacher
    teacher.hire_date = dt.date(2028, 7, 1)  # hired mid-cycle: owes the share served
    summary = teacher_cycle_summary(teacher=teacher, today=dt.date(2029, 1, 1))
    assert summary.cycle.code == "2026-2030"
    # 2028-07-01..2030-12-31 is 914 of the cycle's 1826 days: ceil(360 * 914 / 1826) = 181
    assert summary.required == Decimal(181)
    teacher.hire_date = dt.date(2010, 9, 1)
    _record(teacher, hours="10")
    summary = teacher_cycle_summary(teacher=teacher, today=TODAY)
    assert summary.required == Decimal(360) and summary.counted == Decimal("10.0") and summary.owed == Decimal("350.0")
    assert summary.expected_by_now > Decimal(60) and not summary.on_track
    line = next(line for line in summary.lines if line.category == "centralised")
    assert (line.approved, line.counted) == (Decimal("10.0"), Decimal("10.0"))
