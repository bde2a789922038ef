"""Tamper evidence that survives write access to the database: entries MAC'd with the state
they were recorded in, decisions as MAC-chained append-only rows, a seal per teacher counting
both, keyed checkpoints kept outside the database. Each test tampers as someone holding the
database would (raw SQL, triggers off, totals edited to match) and checks that verify (or
verify with a checkpoint) reports it, where reconcile alone was clean."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from access.scope import scope_for_user
from audit.models import AuditEvent
from core.checkpoints import checkpoint_read
from credits.models import CycleTotal, LedgerDecision, LedgerEntry, LedgerSeal
from credits.services import (
    LedgerIntegrityError,
    credits_reconcile,
    ledger_entry_decide,
    ledger_entry_record,
    ledger_entry_revoke,
    ledger_entry_school_check,
)
from credits.tests.tamper import as_attacker, seal_of
from credits.verification import CHECKPOINT_KIND, ledger_checkpoint, ledger_verify

DAY = dt.date(2026, 3, 10)
TODAY = dt.date(2026, 11, 28)
pg_only = pytest.mark.pg_only


def _record(teacher, **overrides):
    values = dict(teacher=teacher, category="centralised", hours="6", occurred_on=DAY, source_type="project",
                  source_id="P-1", today=TODAY)
    values.update(overrides)
    return ledger_entry_record(**values)[0]


def _claim(teacher, key="C-1", day=DAY):
    return _record(teacher, category="other", hours="3", source_type="claim", source_id=f"{teacher.pk}:{key}",
                   state="pending", occurred_on=day)


def _checked(users, entry):
    return ledger_entry_school_check(scope=scope_for_user(users["school_admin"]), actor=users["school_admin"],
                                     entry_id=entry.pk)


def _decide(users, entry, approve=True):
    return ledger_entry_decide(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"],
                               entry_id=entry.pk, approve=approve)


def _kinds(problems):
    return sorted((problem.kind, problem.entry_id or problem.teacher_id) for problem in problems)


def _db_time(moment):
    return connection.ops.adapt_datetimefield_value(moment)


def test_a_ledger_written_through_the_services_verifies_clean(province, users, tmp_path):
    """Entries, school checks, decisions, revocations and corrections all leave rows verify accepts."""
    teacher = province.teacher
    kept = _record(teacher)
    _decide(users, _checked(users, _claim(teacher, "A")))
    _decide(users, _checked(users, _claim(teacher, "B", day=DAY + dt.timedelta(days=1))), approve=False)
    ledger_entry_revoke(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], entry_id=kept.pk,
                        reason="重复记入")
    assert ledger_verify() == [] and credits_reconcile() == []
    assert seal_of(teacher.pk)[:2] == (4, 6)  # 3 entries + the compensating one; 2 + 2 decisions, revoke + correction
    chain = list(LedgerDecision.objects.dangerously_unscoped().filter(entry=kept).values_list("seq", "stage", "state"))
    assert chain == [(1, "revoke", "revoked")]
    call_command("credits", "verify")


def test_a_pending_claim_set_to_approved_in_sql_is_found_even_with_the_totals_edited(province):
    """The observed attack: state flipped in SQL and totals edited to match left verify and reconcile clean."""
    entry = _claim(province.teacher)
    with as_attacker() as cursor:
        cursor.execute("UPDATE credits_ledgerentry SET state = 'approved' WHERE id = %s", [entry.pk])
        cursor.execute("UPDATE credits_cycletotal SET approved_hours = approved_hours + 3, pending_hours = pending_hours - 3 "
                       "WHERE teacher_id = %s AND category = 'other'", [province.teacher.pk])
    assert _kinds(ledger_verify()) == [("state", entry.pk)]
    with pytest.raises(CommandError):
        call_command("credits", "verify")
    # The totals are compared with the state the MAC'd rows give, not with the edited cache.
    drift = credits_reconcile()
    assert [(row["category"], row["ledger_approved"], row["stored_approved"]) for row in drift] == [
        ("other", Decimal("0"), Decimal("3.0"))]


def test_a_deleted_entry_is_found_even_with_the_totals_edited(province):
    teacher = province.teacher
    _record(teacher)
    gone = _record(teacher, source_id="P-2", hours="2", occurred_on=DAY + dt.timedelta(days=1))
    with as_attacker() as cursor:
        cursor.execute("DELETE FROM credits_ledgerentry WHERE id = %s", [gone.pk])
        cursor.execute("UPDATE credits_cycletotal SET approved_hours = approved_hours - 2 WHERE teacher_id = %s",
                       [teacher.pk])
    assert credits_reconcile() == []  # the totals agree with what is left: reconcile alone cannot tell
    assert _kinds(ledger_verify()) == [("seal", teacher.pk)]


def test_a_deleted_last_decision_is_found_even_with_the_entry_made_to_agree(province, users):
    """A county's refusal removed: the entry put back to pending, the totals given the hours again."""
    teacher = province.teacher
    entry = _decide(users, _checked(users, _claim(teacher)), approve=False)
    with as_attacker() as cursor:
        cursor.execute("DELETE FROM credits_ledgerdecision WHERE entry_id = %s AND seq = 2", [entry.pk])
        cursor.execute("UPDATE credits_ledgerentry SET state = 'pending', decided_by_id = NULL, decided_at = NULL "
                       "WHERE id = %s", [entry.pk])
        cursor.execute("UPDATE credits_cycletotal SET pending_hours = pending_hours + 3 WHERE teacher_id = %s "
                       "AND category = 'other'", [teacher.pk])
    assert credits_reconcile() == []
    assert _kinds(ledger_verify()) == [("seal", teacher.pk)]
    # A later genuine decision does not re-seal over the gap: the seal counts on from its own number.
    _decide(users, entry)
    assert _kinds(ledger_verify()) == [("seal", teacher.pk)]


def test_a_forged_decision_is_found(province, users):
    """An approval inserted in SQL, even with the MAC of a genuine approval copied, and the seal's count raised."""
    teacher = province.teacher
    genuine = _decide(users, _checked(users, _claim(teacher, "A")))
    forged_for = _checked(users, _claim(teacher, "B", day=DAY + dt.timedelta(days=1)))
    copied_mac = LedgerDecision.objects.dangerously_unscoped().get(entry=genuine, seq=2).mac
    now = timezone.now()
    with as_attacker() as cursor:
        cursor.execute("INSERT INTO credits_ledgerdecision (entry_id, seq, stage, state, actor_id, at, note, mac) "
                       "VALUES (%s, 2, 'county', 'approved', %s, %s, '', %s)",
                       [forged_for.pk, users["county_admin"].pk, _db_time(now), copied_mac])
        cursor.execute("UPDATE credits_ledgerentry SET state = 'approved', decided_by_id = %s, decided_at = %s WHERE id = %s",
                       [users["county_admin"].pk, _db_time(now), forged_for.pk])
        cursor.execute("UPDATE credits_ledgerseal SET decisions = decisions + 1 WHERE teacher_id = %s", [teacher.pk])
        cursor.execute("UPDATE credits_cycletotal SET approved_hours = approved_hours + 3, pending_hours = pending_hours - 3 "
                       "WHERE teacher_id = %s AND category = 'other'", [teacher.pk])
    assert _kinds(ledger_verify()) == [("decision", forged_for.pk), ("seal", teacher.pk)]


def test_a_seal_rolled_back_to_an_older_copy_is_caught_by_verify_with_a_checkpoint(province, tmp_path):
    """Rows and seals wound back together to an older copy agree with each other; the checkpoint,
    kept outside the database, still names what it covered."""
    teacher = province.teacher
    _record(teacher)
    old_seal = seal_of(teacher.pk)
    later = _record(teacher, source_id="P-2", hours="2", occurred_on=DAY + dt.timedelta(days=1))
    path = ledger_checkpoint(tmp_path)
    with as_attacker() as cursor:
        cursor.execute("DELETE FROM credits_ledgerentry WHERE id = %s", [later.pk])
        cursor.execute("UPDATE credits_ledgerseal SET entries = %s, decisions = %s, mac = %s WHERE teacher_id = %s",
                       [*old_seal, teacher.pk])
        cursor.execute("UPDATE credits_cycletotal SET approved_hours = approved_hours - 2 WHERE teacher_id = %s",
                       [teacher.pk])
    assert ledger_verify() == [] and credits_reconcile() == []  # a consistent older copy
    problems = ledger_verify(checkpoint=checkpoint_read(path, kind=CHECKPOINT_KIND))
    assert [problem.kind for problem in problems] == ["checkpoint"] and "现存 1 条" in problems[0].detail
    with pytest.raises(CommandError, match="检查点"):
        call_command("credits", "verify", "--checkpoint", str(path))


def test_a_checkpoint_edited_by_hand_is_refused(province, tmp_path, capsys):
    _record(province.teacher)
    call_command("credits", "checkpoint", "--out", str(tmp_path))
    path = next(tmp_path.glob("credits-ledger-*.json"))
    call_command("credits", "verify", "--checkpoint", str(path))
    assert "覆盖的记录均在且未改动" in capsys.readouterr().out
    document = json.loads(path.read_text(encoding="utf-8"))
    document["state"]["entries"]["count"] = 0  # to cover a rollback that dropped everything
    document["state"]["entries"]["max_id"] = 0
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(CommandError, match="签名不符"):
        call_command("credits", "verify", "--checkpoint", str(path))


def test_a_checkpoint_stays_true_while_the_ledger_grows(province, users, tmp_path):
    teacher = province.teacher
    first = _record(teacher)
    claim = _claim(teacher)
    checkpoint = checkpoint_read(ledger_checkpoint(tmp_path), kind=CHECKPOINT_KIND)
    assert checkpoint["entries"]["count"] == 2 and checkpoint["entries"]["max_id"] == claim.pk
    _decide(users, _checked(users, claim))
    ledger_entry_revoke(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], entry_id=first.pk,
                        reason="重复")
    _record(teacher, source_id="P-3", hours="1", occurred_on=DAY + dt.timedelta(days=2))
    assert ledger_verify(checkpoint=checkpoint) == []


def test_a_tampered_seal_stops_further_writes_for_the_teacher(province):
    """A later write must not re-seal, and so hide, what was changed."""
    teacher = province.teacher
    _record(teacher)
    with as_attacker() as cursor:
        cursor.execute("UPDATE credits_ledgerseal SET entries = entries + 1 WHERE teacher_id = %s", [teacher.pk])
    with pytest.raises(LedgerIntegrityError, match="封签校验不符"):
        _record(teacher, source_id="P-2", hours="1")
    with as_attacker() as cursor:
        cursor.execute("DELETE FROM credits_ledgerseal WHERE teacher_id = %s", [teacher.pk])
    with pytest.raises(LedgerIntegrityError, match="缺少封签"):
        _record(teacher, source_id="P-2", hours="1")
    assert LedgerEntry.objects.dangerously_unscoped().count() == 1


def test_after_the_province_has_looked_a_reseal_lets_writes_resume_and_is_audited(province, users):
    from audit.models import AuditEvent
    from credits.services import ledger_reseal

    teacher = province.teacher
    _record(teacher)
    with as_attacker() as cursor:
        cursor.execute("UPDATE credits_ledgerseal SET entries = entries + 1 WHERE teacher_id = %s", [teacher.pk])
    assert ledger_verify()
    for who in ("county_admin", "city_admin"):  # only the province decides to accept the rows as they are
        with pytest.raises(PermissionDenied):
            ledger_reseal(scope=scope_for_user(users[who]), actor=users[who], teacher=teacher, reason="核查无误")
    ledger_reseal(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"], teacher=teacher,
                  reason="核查：封签被改，账本无误")
    assert ledger_verify() == []
    _record(teacher, source_id="P-2", hours="1")
    event = AuditEvent.objects.dangerously_unscoped().get(action="ledger.reseal")
    assert event.detail["before"] == {"entries": 2, "decisions": 0} and event.detail["after"]["entries"] == 1


def test_decisions_and_the_recorded_state_cannot_be_updated_in_the_database(province, users):
    entry = _checked(users, _claim(province.teacher))
    for statement, params in (
            ("UPDATE credits_ledgerdecision SET state = 'approved' WHERE entry_id = %s", [entry.pk]),
            ("UPDATE credits_ledgerentry SET recorded_state = 'approved' WHERE id = %s", [entry.pk]),
            ("UPDATE credits_ledgerentry SET created_by_id = %s WHERE id = %s", [users["county_admin"].pk, entry.pk])):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
    entry.refresh_from_db()
    assert entry.recorded_state == "pending" and entry.decisions.get().state == "checked"


@pg_only
def test_decisions_cannot_be_deleted_in_postgresql(province, users):
    entry = _checked(users, _claim(province.teacher))
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM credits_ledgerdecision WHERE entry_id = %s", [entry.pk])
    assert entry.decisions.count() == 1


# --- every write is audited, in its own transaction ---------------------------------------


def test_a_write_whose_audit_row_fails_is_rolled_back(province, users, monkeypatch):
    claim = _claim(province.teacher)

    def audit_down(**kwargs):
        raise DatabaseError("audit log unavailable")

    monkeypatch.setattr("credits.services.audit_record", audit_down)
    with pytest.raises(DatabaseError):
        _record(province.teacher, source_id="P-9")
    with pytest.raises(DatabaseError):
        _checked(users, claim)
    assert LedgerEntry.objects.dangerously_unscoped().count() == 1
    assert not LedgerDecision.objects.dangerously_unscoped().exists()
    assert seal_of(province.teacher.pk)[:2] == (1, 0)
    assert not CycleTotal.objects.dangerously_unscoped().filter(category="centralised").exists()
    claim.refresh_from_db()
    assert claim.school_checked_at is None


def test_every_kind_of_ledger_write_leaves_an_audit_event(province, users, tmp_path):
    teacher = province.teacher
    events = AuditEvent.objects.dangerously_unscoped()
    entry = _record(teacher, actor=users["county_admin"])
    recorded = events.get(action="ledger.record", object_id=str(entry.pk))
    assert recorded.actor == users["county_admin"] and recorded.detail["source_type"] == "project"
    claim = _checked(users, _claim(teacher))
    _decide(users, claim)
    ledger_entry_revoke(scope=scope_for_user(users["county_admin"]), actor=users["county_admin"], entry_id=entry.pk,
                        reason="重复")
    CycleTotal.objects.dangerously_unscoped().filter(teacher=teacher).update(approved_hours=99)
    credits_reconcile(fix=True)
    assert {(e.action, e.object_id) for e in events.exclude(action="ledger.reconcile")} == {
        ("ledger.record", str(entry.pk)), ("ledger.record", str(claim.pk)), ("claim.school_check", str(claim.pk)),
        ("ledger.approve", str(claim.pk)), ("ledger.revoke", str(entry.pk))}
    assert events.filter(action="ledger.reconcile").count() == 1


def test_a_refused_write_leaves_nothing(province):
    with pytest.raises(ValidationError):
        _record(province.teacher, hours="13")
    assert not LedgerSeal.objects.dangerously_unscoped().exists()
    assert not AuditEvent.objects.dangerously_unscoped().filter(action="ledger.record").exists()


def test_the_nightly_task_writes_a_checkpoint_that_verify_accepts(province, settings, tmp_path):
    from credits.tasks import ledger_checkpoint_task

    settings.INTEGRITY_CHECKPOINT_DIR = tmp_path
    _record(province.teacher)
    checkpoint = checkpoint_read(ledger_checkpoint_task()["checkpoint"], kind=CHECKPOINT_KIND)
    assert checkpoint["entries"]["count"] == 1 and ledger_verify(checkpoint=checkpoint) == []
    assert "credits.tasks.ledger_checkpoint_task" in {job["task"] for job in settings.CELERY_BEAT_SCHEDULE.values()}
