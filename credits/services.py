"""Writes to the hours ledger. Every writer goes through `ledger_entry_record`,
which is idempotent by source key, validates the entry, and updates the
teacher's cycle totals in the same transaction (under a lock on the teacher,
so concurrent writers for one teacher are serialised)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from access.policy import Action as Can
from access.policy import fetch
from access.scope import Scope
from audit.actions import Action
from audit.services import audit_record
from credits.constants import MAX_HOURS_PER_DAY, Category, EntryState, SourceType
from credits.models import CategoryRule, Cycle, CycleTotal, LedgerEntry, RuleSet
from people.identity import keyed_digest
from people.models import Teacher

TENTH = Decimal("0.1")
RULE_MAX_HOURS = Decimal(9999)  # fits the rule columns (6 digits, 1 decimal)


class SourceConflict(ValidationError):
    """The source key is already recorded with different content."""


def cycle_for_date(day: dt.date) -> Cycle | None:
    return Cycle.objects.filter(starts_on__lte=day, ends_on__gte=day).first()


def ledger_checksum(*, teacher_id: int, cycle_id: int, category: str, hours, occurred_on: dt.date, source_type: str,
                    source_id: str, source_key: str, reverses_id: int | None) -> str:
    """Keyed digest of an entry's substance (also used by the bulk loader in synth)."""
    message = "|".join([
        str(teacher_id), str(cycle_id), category, f"{Decimal(hours).quantize(TENTH)}", occurred_on.isoformat(),
        source_type, source_id, source_key, str(reverses_id or ""),
    ])
    return keyed_digest("credits.ledger_entry", message)


def entry_checksum(entry: LedgerEntry) -> str:
    return ledger_checksum(
        teacher_id=entry.teacher_id, cycle_id=entry.cycle_id, category=entry.category, hours=entry.hours,
        occurred_on=entry.occurred_on, source_type=entry.source_type, source_id=entry.source_id,
        source_key=entry.source_key, reverses_id=entry.reverses_id,
    )


def _hours(value) -> Decimal:
    try:
        hours = Decimal(str(value)).quantize(TENTH)
    except (InvalidOperation, ValueError):
        raise ValidationError({"hours": "学时应为数字"}) from None
    if not hours.is_finite():
        raise ValidationError({"hours": "学时应为数字"})
    return hours


def _add_to_totals(*, teacher_id: int, cycle_id: int, category: str, approved: Decimal, pending: Decimal) -> None:
    # The ledger writer's own bookkeeping, for a teacher its caller was allowed to write for.
    changed = CycleTotal.objects.dangerously_unscoped().filter(teacher_id=teacher_id, cycle_id=cycle_id, category=category).update(
        approved_hours=F("approved_hours") + approved, pending_hours=F("pending_hours") + pending
    )
    if not changed:  # the teacher row is locked by the caller, so no one else creates it meanwhile
        CycleTotal.objects.create(teacher_id=teacher_id, cycle_id=cycle_id, category=category,
                                  approved_hours=approved, pending_hours=pending)


def _same_entry(existing: LedgerEntry, *, teacher: Teacher, category: str, hours: Decimal, occurred_on: dt.date) -> LedgerEntry:
    if (existing.teacher_id, existing.category, existing.hours, existing.occurred_on) != (teacher.pk, category, hours, occurred_on):
        raise SourceConflict({"source_id": f"来源 {existing.source_key} 已记录为不同的内容（记录 #{existing.pk}）"})
    return existing


def ledger_entry_record(
    *, teacher: Teacher, category: str, hours, occurred_on: dt.date, source_type: str, source_id: str,
    actor=None, state: str = EntryState.APPROVED, note: str = "", evidence=None, today: dt.date | None = None,
) -> tuple[LedgerEntry, bool]:
    """Record hours once per source; returns (entry, created). Refuses bad input
    with Chinese messages and writes nothing."""
    today = today or timezone.localdate()
    hours = _hours(hours)
    problems: dict[str, str] = {}
    if category not in Category.values:
        problems["category"] = f"未知的学时类别：{category}"
    if source_type not in SourceType.values or source_type == SourceType.CORRECTION:
        problems["source_type"] = f"未知的来源类型：{source_type}"
    source_id = (source_id or "").strip()
    if not source_id or len(source_id) > 100:
        problems["source_id"] = "来源编号不能为空且不超过100字"
    if hours <= 0:
        problems["hours"] = "学时必须大于0（更正请使用撤销）"
    elif hours > MAX_HOURS_PER_DAY:
        problems["hours"] = f"一天的学时不能超过 {MAX_HOURS_PER_DAY}"
    if occurred_on > today:
        problems["occurred_on"] = "日期晚于今天"
    cycle = cycle_for_date(occurred_on)
    if cycle is None:
        problems["occurred_on"] = "日期不在任何继续教育周期内"
    if state not in (EntryState.APPROVED, EntryState.PENDING):
        problems["state"] = "新记录只能是待审核或已认定"
    if problems:
        raise ValidationError(problems)
    assert cycle is not None
    source_key = f"{source_type}:{source_id}"
    with transaction.atomic():
        # Serialise writers for this teacher: the day cap and the totals stay exact.
        # The writer's own checks, for a teacher its caller was allowed to write for: the lock,
        # the idempotency key (unique across the ledger) and the day's hours.
        Teacher.objects.dangerously_unscoped().select_for_update().filter(pk=teacher.pk).values_list("pk", flat=True).get()
        existing = LedgerEntry.objects.dangerously_unscoped().filter(source_key=source_key).first()
        if existing is not None:
            return _same_entry(existing, teacher=teacher, category=category, hours=hours, occurred_on=occurred_on), False
        day_total = (
            LedgerEntry.objects.dangerously_unscoped().filter(teacher=teacher, occurred_on=occurred_on, hours__gt=0)
            .exclude(state__in=[EntryState.REJECTED, EntryState.REVOKED]).aggregate(total=Sum("hours"))["total"]
            or Decimal(0)
        )
        if day_total + hours > MAX_HOURS_PER_DAY:
            raise ValidationError({"hours": f"{occurred_on} 当天累计学时将超过 {MAX_HOURS_PER_DAY}（已有 {day_total}）"})
        entry = LedgerEntry(
            teacher=teacher, cycle=cycle, category=category, hours=hours, occurred_on=occurred_on,
            source_type=source_type, source_id=source_id, source_key=source_key, note=note[:500], state=state,
            created_by=actor if actor is not None and actor.pk else None,
        )
        if evidence is not None:
            entry.evidence = evidence
        entry.checksum = entry_checksum(entry)
        try:
            with transaction.atomic():
                entry.save(force_insert=True)
        except IntegrityError:
            # Another process recorded the same source between our check and insert.
            existing = LedgerEntry.objects.dangerously_unscoped().get(source_key=source_key)
            return _same_entry(existing, teacher=teacher, category=category, hours=hours, occurred_on=occurred_on), False
        approved = hours if state == EntryState.APPROVED else Decimal(0)
        _add_to_totals(teacher_id=teacher.pk, cycle_id=cycle.pk, category=category, approved=approved, pending=hours - approved)
    return entry, True


def ledger_entry_decide(
    *, scope: Scope, actor, entry_id: int, approve: bool, ip: str | None = None, stage: str = "county"
) -> LedgerEntry:
    with transaction.atomic():
        action = Can.SCHOOL_CHECK if stage == "school" else Can.DECIDE
        entry = fetch(scope, LedgerEntry, entry_id, action, select_related=("teacher",), lock=True)
        if entry.state != EntryState.PENDING:
            raise ValidationError("只有待审核的记录可以审核")
        entry.state = EntryState.APPROVED if approve else EntryState.REJECTED
        entry.decided_by, entry.decided_at = actor, timezone.now()
        entry.save(update_fields=["state", "decided_by", "decided_at"])
        _add_to_totals(teacher_id=entry.teacher_id, cycle_id=entry.cycle_id, category=entry.category,
                       approved=entry.hours if approve else Decimal(0), pending=-entry.hours)
        audit_record(action=Action.LEDGER_APPROVE if approve else Action.LEDGER_REJECT, actor=actor, ip=ip,
                     scope_path=entry.teacher.division_path, object_type="ledger_entry", object_id=entry.pk,
                     detail={"teacher": entry.teacher_id, "hours": str(entry.hours), "category": entry.category, "stage": stage})
    return entry


def ledger_entry_revoke(*, scope: Scope, actor, entry_id: int, reason: str, ip: str | None = None) -> LedgerEntry:
    """Cancel approved hours with a compensating entry; the original is kept, marked revoked."""
    if len((reason or "").strip()) < 2:
        raise ValidationError({"reason": "请填写撤销原因"})
    with transaction.atomic():
        entry = fetch(scope, LedgerEntry, entry_id, Can.REVOKE, select_related=("teacher",), lock=True)
        if entry.state != EntryState.APPROVED or entry.hours <= 0:
            raise ValidationError("只有已认定的学时可以撤销")
        correction = LedgerEntry(
            teacher_id=entry.teacher_id, cycle_id=entry.cycle_id, category=entry.category, hours=-entry.hours,
            occurred_on=entry.occurred_on, source_type=SourceType.CORRECTION, source_id=f"revoke:{entry.pk}",
            source_key=f"{SourceType.CORRECTION}:revoke:{entry.pk}", note=reason.strip()[:500], reverses=entry,
            state=EntryState.APPROVED, created_by=actor, decided_by=actor, decided_at=timezone.now(),
        )
        correction.checksum = entry_checksum(correction)
        correction.save(force_insert=True)
        entry.state, entry.decided_by, entry.decided_at = EntryState.REVOKED, actor, timezone.now()
        entry.save(update_fields=["state", "decided_by", "decided_at"])
        _add_to_totals(teacher_id=entry.teacher_id, cycle_id=entry.cycle_id, category=entry.category,
                       approved=-entry.hours, pending=Decimal(0))
        audit_record(action=Action.LEDGER_REVOKE, actor=actor, ip=ip, scope_path=entry.teacher.division_path,
                     object_type="ledger_entry", object_id=entry.pk, detail={"reason": reason.strip()[:200], "correction": correction.pk})
    return correction


# Totals recomputed from the ledger, compared with the stored ones in SQL (works on
# PostgreSQL and SQLite); only the rows that differ come back to Python.
_DRIFT_SQL = """
WITH ledger AS (
  SELECT teacher_id, cycle_id, category,
         SUM(CASE WHEN state IN ('approved', 'revoked') THEN hours ELSE 0 END) AS approved,
         SUM(CASE WHEN state = 'pending' THEN hours ELSE 0 END) AS pending
  FROM credits_ledgerentry GROUP BY teacher_id, cycle_id, category
)
SELECT l.teacher_id, l.cycle_id, l.category, l.approved, l.pending, t.approved_hours, t.pending_hours
FROM ledger l LEFT JOIN credits_cycletotal t
  ON t.teacher_id = l.teacher_id AND t.cycle_id = l.cycle_id AND t.category = l.category
WHERE t.id IS NULL OR t.approved_hours <> l.approved OR t.pending_hours <> l.pending
UNION ALL
SELECT t.teacher_id, t.cycle_id, t.category, 0, 0, t.approved_hours, t.pending_hours
FROM credits_cycletotal t LEFT JOIN ledger l
  ON t.teacher_id = l.teacher_id AND t.cycle_id = l.cycle_id AND t.category = l.category
WHERE l.teacher_id IS NULL AND (t.approved_hours <> 0 OR t.pending_hours <> 0)
"""


def credits_reconcile(*, fix: bool = False) -> list[dict]:
    """Every (teacher, cycle, category) whose stored total differs from its ledger."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One batch job grouping every ledger row: let its hash tables stay in memory.
            cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(_DRIFT_SQL)
        drift = [
            {"teacher": row[0], "cycle": row[1], "category": row[2], "ledger_approved": Decimal(str(row[3])),
             "ledger_pending": Decimal(str(row[4])), "stored_approved": row[5], "stored_pending": row[6]}
            for row in cursor.fetchall()
        ]
    if fix and drift:
        with transaction.atomic():
            for row in drift:
                CycleTotal.objects.dangerously_unscoped().update_or_create(
                    teacher_id=row["teacher"], cycle_id=row["cycle"], category=row["category"],
                    defaults={"approved_hours": row["ledger_approved"], "pending_hours": row["ledger_pending"]},
                )
            audit_record(action=Action.LEDGER_RECONCILE, detail={"fixed": len(drift)})
    return drift


def ledger_verify() -> list[int]:
    """Ids of entries whose content no longer matches their keyed checksum."""
    return [
        entry.pk for entry in LedgerEntry.objects.dangerously_unscoped().order_by("id").iterator(chunk_size=5000)
        if entry.checksum != entry_checksum(entry)
    ]


def rule_set_revise(
    *, actor, cycle: Cycle, required_hours, hours_per_credit, category_limits: dict[str, tuple], note: str,
    ip: str | None = None,
) -> RuleSet:
    """A new version of a cycle's rules; earlier versions stay as they were.
    `category_limits` maps category -> (min_hours or None, max_hours or None)."""
    required, per_credit = _hours(required_hours), _hours(hours_per_credit)
    problems: dict[str, str] = {}
    if not 0 < required <= RULE_MAX_HOURS:
        problems["required_hours"] = f"周期要求学时必须大于0且不超过 {RULE_MAX_HOURS}"
    if not 0 < per_credit <= 100:
        problems["hours_per_credit"] = "每学分学时必须大于0且不超过100"
    limits = {}
    for category, (low, high) in category_limits.items():
        if category not in Category.values:
            problems[category] = f"未知的学时类别：{category}"
            continue
        low = None if low in (None, "") else _hours(low)
        high = None if high in (None, "") else _hours(high)
        if any(value is not None and not 0 <= value <= RULE_MAX_HOURS for value in (low, high)):
            problems[category] = f"学时应在 0 到 {RULE_MAX_HOURS} 之间"
        elif low is not None and high is not None and high < low:
            problems[category] = "计入上限不能低于最低要求"
        limits[category] = (low, high)
    if len((note or "").strip()) < 2:
        problems["note"] = "请填写修订说明"
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        latest = RuleSet.objects.select_for_update().filter(cycle=cycle).order_by("-version").first()
        rule_set = RuleSet.objects.create(cycle=cycle, version=(latest.version if latest else 0) + 1, required_hours=required,
                                          hours_per_credit=per_credit, created_by=actor, note=note.strip()[:200])
        CategoryRule.objects.bulk_create(
            CategoryRule(rule_set=rule_set, category=category, min_hours=limits.get(category, (None, None))[0],
                         max_hours=limits.get(category, (None, None))[1])
            for category in Category.values
        )
        audit_record(action=Action.RULES_REVISE, actor=actor, ip=ip, scope_path="410000.", object_type="rule_set",
                     object_id=rule_set.pk, detail={"cycle": cycle.code, "version": rule_set.version,
                                                    "required_hours": str(required), "limits": {k: [str(v) for v in pair] for k, pair in limits.items()}})
    return rule_set
