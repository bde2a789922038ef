"""Writes to the hours ledger. Every new entry goes through `ledger_entry_record`,
which is idempotent by source key, validates the entry, and updates the teacher's
cycle totals in the same transaction (under a lock on the teacher, so concurrent
writers for one teacher are serialised). Decisions, revocations and corrections are
here too. Every write, in its own transaction and under the teacher's lock:

- appends rows and never rewrites them (an entry's `state` and decision columns are a
  cache of its append-only decision rows),
- MACs what it appends and updates the teacher's seal (credits.integrity),
- writes an audit event; if the audit row fails, the write rolls back with it.
"""

from __future__ import annotations

import datetime as dt
import hmac
import uuid
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, OuterRef, Subquery, Sum
from django.utils import timezone

from access.policy import Action as Can
from access.policy import fetch, require
from access.scope import Scope
from audit.actions import Action
from audit.services import audit_record
from core.dbtuning import roomy_transaction
from credits.constants import (
    MAX_HOURS_PER_DAY,
    Category,
    DecisionStage,
    DecisionState,
    EntryState,
    SourceType,
)
from credits.integrity import decision_mac, ledger_checksum, seal_mac
from credits.models import (
    CategoryRule,
    Cycle,
    CycleTotal,
    LedgerDecision,
    LedgerEntry,
    LedgerSeal,
    RuleSet,
)
from credits.verification import ledger_verify  # noqa: F401 - the ledger's check, where callers have found it
from people.models import Teacher

TENTH = Decimal("0.1")
RULE_MAX_HOURS = Decimal(9999)  # fits the rule columns (6 digits, 1 decimal)
CLOSED_CYCLE = "{cycle} 周期已关闭，不能再记入、审核或撤销学时；如需更正，请由省级管理员办理已关闭周期的学时更正"


class SourceConflict(ValidationError):
    """The source key is already recorded with different content."""


class LedgerIntegrityError(ValidationError):
    """The teacher's ledger no longer matches its seal (rows changed in the database):
    nothing more is written for the teacher until the province has looked, so a later
    write cannot re-seal, and so hide, what was changed."""


def cycle_for_date(day: dt.date) -> Cycle | None:
    return Cycle.objects.filter(starts_on__lte=day, ends_on__gte=day).first()


def entry_checksum(entry: LedgerEntry) -> str:
    return ledger_checksum(
        teacher_id=entry.teacher_id, cycle_id=entry.cycle_id, category=entry.category, hours=entry.hours,
        occurred_on=entry.occurred_on, source_type=entry.source_type, source_id=entry.source_id,
        source_key=entry.source_key, reverses_id=entry.reverses_id, recorded_state=entry.recorded_state,
        created_by_id=entry.created_by_id,
    )


def source_key_for(*, source_type: str, source_id: str, teacher_id: int, actor_id: int | None) -> str:
    """The idempotency key. System writers' keys are `<type>:<id>` (their ids are their own: a
    project, a teacher's claim form, a revoked entry). An API client writes `integration` under
    its own account, so only its own earlier entry can share a key with it; an external record
    is the same record only for the same teacher (another teacher's certificate with the same
    number is another record)."""
    if source_type == SourceType.INTEGRATION:
        return f"{source_type}:u{actor_id}:{source_id}"
    if source_type == SourceType.EXTERNAL:
        return f"{source_type}:t{teacher_id}:{source_id}"
    return f"{source_type}:{source_id}"


def _hours(value) -> Decimal:
    try:
        hours = Decimal(str(value)).quantize(TENTH)
    except (InvalidOperation, ValueError):
        raise ValidationError({"hours": "学时应为数字"}) from None
    if not hours.is_finite():
        raise ValidationError({"hours": "学时应为数字"})
    return hours


def _actor_id(actor) -> int | None:
    return actor.pk if actor is not None and actor.pk else None


def _refuse_closed(cycle: Cycle, today: dt.date, field: str = "occurred_on") -> None:
    if cycle.is_closed(today):
        raise ValidationError({field: CLOSED_CYCLE.format(cycle=cycle.code)})


def _lock_teacher(teacher_id: int) -> None:
    # Serialise every ledger writer of this teacher: the day cap, the totals and the seal stay exact.
    Teacher.objects.dangerously_unscoped().select_for_update().filter(pk=teacher_id).values_list("pk", flat=True).get()


def _add_to_totals(*, teacher_id: int, cycle_id: int, category: str, approved: Decimal, pending: Decimal) -> None:
    # The ledger writer's own bookkeeping, for a teacher its caller was allowed to write for.
    changed = CycleTotal.objects.dangerously_unscoped().filter(teacher_id=teacher_id, cycle_id=cycle_id, category=category).update(
        approved_hours=F("approved_hours") + approved, pending_hours=F("pending_hours") + pending
    )
    if not changed:  # the teacher row is locked by the caller, so no one else creates it meanwhile
        CycleTotal.objects.create(teacher_id=teacher_id, cycle_id=cycle_id, category=category,
                                  approved_hours=approved, pending_hours=pending)


def _write_checks(teacher_id: int, *, source_key: str, day: dt.date) -> tuple[int | None, Decimal, LedgerSeal | None]:
    """What a new entry is checked against, read in one statement once the teacher's lock is
    held (so with a snapshot taken after it): the entry already recorded under the key, the
    day's hours so far, and the teacher's seal."""
    entries = LedgerEntry.objects.dangerously_unscoped()
    day_hours = (entries.filter(teacher_id=OuterRef("pk"), occurred_on=day, hours__gt=0)
                 .exclude(state__in=[EntryState.REJECTED, EntryState.REVOKED])
                 .order_by().values("teacher_id").annotate(total=Sum("hours")).values("total"))
    seal = LedgerSeal.objects.dangerously_unscoped().filter(teacher_id=OuterRef("pk"))
    row = (Teacher.objects.dangerously_unscoped().filter(pk=teacher_id)
           .annotate(existing=Subquery(entries.filter(source_key=source_key).values("id")[:1]),
                     day_total=Subquery(day_hours), seal_entries=Subquery(seal.values("entries")[:1]),
                     seal_decisions=Subquery(seal.values("decisions")[:1]), seal_mac=Subquery(seal.values("mac")[:1]))
           .values("existing", "day_total", "seal_entries", "seal_decisions", "seal_mac").get())
    current = None
    if row["seal_mac"] is not None:
        current = LedgerSeal(teacher_id=teacher_id, entries=row["seal_entries"], decisions=row["seal_decisions"],
                             mac=row["seal_mac"])
        current._state.adding = False
    return row["existing"], Decimal(str(row["day_total"] or 0)), current


_UNREAD = object()


def _seal(teacher_id: int, *, entries: int, decisions: int, current=_UNREAD) -> None:
    """Count what this transaction appended into the teacher's seal. The caller holds the
    teacher's lock (and may pass the seal it read under it). A seal that does not check out
    (or rows without one) refuses the write."""
    seal = (LedgerSeal.objects.dangerously_unscoped().filter(teacher_id=teacher_id).first()
            if current is _UNREAD else current)
    if seal is None:
        # The teacher's first ledger write: no earlier row may exist (a deleted seal would).
        if LedgerEntry.objects.dangerously_unscoped().filter(teacher_id=teacher_id).count() != entries:
            raise LedgerIntegrityError({"teacher": "该教师的学时账本缺少封签，可能被改动，暂停记入；请联系省级管理员核查"})
        LedgerSeal.objects.create(teacher_id=teacher_id, entries=entries, decisions=decisions,
                                  mac=seal_mac(teacher_id=teacher_id, entries=entries, decisions=decisions))
        return
    expected = seal_mac(teacher_id=teacher_id, entries=seal.entries, decisions=seal.decisions)
    if not hmac.compare_digest(seal.mac, expected):
        raise LedgerIntegrityError({"teacher": "该教师的学时账本封签校验不符，可能被改动，暂停记入；请联系省级管理员核查"})
    seal.entries += entries
    seal.decisions += decisions
    seal.mac = seal_mac(teacher_id=teacher_id, entries=seal.entries, decisions=seal.decisions)
    seal.save(update_fields=["entries", "decisions", "mac"])


def _decision_append(*, entry: LedgerEntry, stage: str, state: str, actor, note: str = "", at: dt.datetime | None = None,
                     first: bool = False, save_cache: bool = True) -> LedgerDecision:
    """Append a decision to the entry's chain and bring the entry's cache columns in line.
    `first`: the entry was inserted in this transaction (no earlier decision to look up);
    `save_cache=False`: the caller inserted the entry with the cache already set."""
    at = at or timezone.now()
    last = None if first else entry.decisions.order_by("-seq").values_list("seq", "mac").first()
    seq, previous = (last[0] + 1, last[1]) if last else (1, "")
    actor_id, note = _actor_id(actor), (note or "")[:500]
    decision = LedgerDecision(entry=entry, seq=seq, stage=stage, state=state, actor_id=actor_id, at=at, note=note)
    decision.mac = decision_mac(entry_checksum=entry.checksum, previous_mac=previous, entry_id=entry.pk, seq=seq,
                                stage=stage, state=state, actor_id=actor_id, at=at, note=note)
    decision.save(force_insert=True)
    if state == DecisionState.CHECKED:
        entry.school_checked_by_id, entry.school_checked_at = actor_id, at
        fields = ["school_checked_by", "school_checked_at"]
    else:
        entry.state, entry.decided_by_id, entry.decided_at = state, actor_id, at
        fields = ["state", "decided_by", "decided_at"]
    if save_cache:
        entry.save(update_fields=fields)
    return decision


def _same_entry(existing: LedgerEntry, *, teacher: Teacher, category: str, hours: Decimal, occurred_on: dt.date) -> LedgerEntry:
    if (existing.teacher_id, existing.category, existing.hours, existing.occurred_on) != (teacher.pk, category, hours, occurred_on):
        # Keys are per writer (source_key_for): the entry named is the caller's own; say nothing more.
        raise SourceConflict({"source_id": "该来源编号已记录为不同的内容"})
    return existing


def _day_total(teacher_id: int, day: dt.date) -> Decimal:
    return (
        LedgerEntry.objects.dangerously_unscoped().filter(teacher_id=teacher_id, occurred_on=day, hours__gt=0)
        .exclude(state__in=[EntryState.REJECTED, EntryState.REVOKED]).aggregate(total=Sum("hours"))["total"]
        or Decimal(0)
    )


def ledger_entry_record(
    *, teacher: Teacher, category: str, hours, occurred_on: dt.date, source_type: str, source_id: str,
    actor=None, state: str = EntryState.APPROVED, note: str = "", evidence=None, today: dt.date | None = None,
    scope: Scope | None = None, ip: str | None = None,
) -> tuple[LedgerEntry, bool]:
    """Record hours once per source; returns (entry, created). Refuses bad input
    with Chinese messages and writes nothing.

    `scope`: a person writing directly (the API) rather than a system writer: the policy
    says which state they may write (a school only `pending`, for the county to decide),
    and a school's entry is marked checked by that school, so it waits at the county."""
    if scope is not None:
        require(scope, Can.RECORD_APPROVED if state == EntryState.APPROVED else Can.RECORD_PENDING, teacher)
    school_check = scope is not None and scope.school_id is not None
    today = today or timezone.localdate()
    hours = _hours(hours)
    problems: dict[str, str] = {}
    if category not in Category.values:
        problems["category"] = f"未知的学时类别：{category}"
    if source_type not in SourceType.values or source_type == SourceType.CORRECTION:
        problems["source_type"] = f"未知的来源类型：{source_type}"
    elif source_type == SourceType.INTEGRATION and _actor_id(actor) is None:
        problems["source_type"] = "接口写入的学时须由登录账户记入"
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
    elif cycle.is_closed(today):
        problems["occurred_on"] = CLOSED_CYCLE.format(cycle=cycle.code)
    if state not in (EntryState.APPROVED, EntryState.PENDING):
        problems["state"] = "新记录只能是待审核或已认定"
    if problems:
        raise ValidationError(problems)
    assert cycle is not None
    actor_id = _actor_id(actor)
    source_key = source_key_for(source_type=source_type, source_id=source_id, teacher_id=teacher.pk, actor_id=actor_id)
    with transaction.atomic():
        # The writer's own checks, for a teacher its caller was allowed to write for: the lock,
        # the idempotency key (unique across the ledger) and the day's hours.
        _lock_teacher(teacher.pk)
        existing_id, day_total, seal = _write_checks(teacher.pk, source_key=source_key, day=occurred_on)
        if existing_id is not None:
            existing = LedgerEntry.objects.dangerously_unscoped().get(pk=existing_id)
            return _same_entry(existing, teacher=teacher, category=category, hours=hours, occurred_on=occurred_on), False
        if day_total + hours > MAX_HOURS_PER_DAY:
            raise ValidationError({"hours": f"{occurred_on} 当天累计学时将超过 {MAX_HOURS_PER_DAY}（已有 {day_total}）"})
        now = timezone.now()
        entry = LedgerEntry(
            teacher=teacher, cycle=cycle, category=category, hours=hours, occurred_on=occurred_on,
            source_type=source_type, source_id=source_id, source_key=source_key, note=note[:500], recorded_state=state,
            state=state, created_by_id=actor_id,
        )
        if school_check and state == EntryState.PENDING:
            entry.school_checked_by_id, entry.school_checked_at = actor_id, now
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
        decisions = 0
        if entry.school_checked_at is not None:
            _decision_append(entry=entry, stage=DecisionStage.SCHOOL, state=DecisionState.CHECKED, actor=actor,
                             note="学校记入，经学校审核", at=now, first=True, save_cache=False)
            decisions = 1
        _seal(teacher.pk, entries=1, decisions=decisions, current=seal)
        approved = hours if state == EntryState.APPROVED else Decimal(0)
        _add_to_totals(teacher_id=teacher.pk, cycle_id=cycle.pk, category=category, approved=approved, pending=hours - approved)
        audit_record(action=Action.LEDGER_RECORD, actor=actor, ip=ip, scope_path=teacher.division_path,
                     object_type="ledger_entry", object_id=entry.pk,
                     detail={"teacher": teacher.pk, "source_type": source_type, "source_id": source_id,
                             "category": category, "hours": str(hours), "occurred_on": occurred_on.isoformat(),
                             "state": state, "school_checked": entry.school_checked_at is not None})
    return entry, True


def ledger_entry_school_check(*, scope: Scope, actor, entry_id: int, ip: str | None = None,
                              today: dt.date | None = None) -> LedgerEntry:
    """The school passes a pending entry on to the county (a decision row, audited)."""
    with transaction.atomic():
        entry = fetch(scope, LedgerEntry, entry_id, Can.SCHOOL_CHECK, select_related=("teacher", "cycle"), lock=True)
        if entry.state != EntryState.PENDING or entry.school_checked_at is not None:
            raise ValidationError("只有未经学校审核的待审核记录可以审核")
        _refuse_closed(entry.cycle, today or timezone.localdate(), "__all__")
        _lock_teacher(entry.teacher_id)
        _decision_append(entry=entry, stage=DecisionStage.SCHOOL, state=DecisionState.CHECKED, actor=actor)
        _seal(entry.teacher_id, entries=0, decisions=1)
        audit_record(action=Action.CLAIM_SCHOOL_CHECK, actor=actor, ip=ip, scope_path=entry.teacher.division_path,
                     object_type="ledger_entry", object_id=entry.pk, detail={"hours": str(entry.hours)})
    return entry


def ledger_entry_decide(
    *, scope: Scope, actor, entry_id: int, approve: bool, ip: str | None = None, stage: str = "county",
    today: dt.date | None = None, note: str = "",
) -> LedgerEntry:
    """`note`: the reason, kept on the decision row (the teacher reads it)."""
    if stage == "school" and approve:  # a school passes an entry on, it does not approve it
        raise ValueError("the school stage checks (ledger_entry_school_check) or refuses")
    with transaction.atomic():
        action = Can.SCHOOL_CHECK if stage == "school" else Can.DECIDE
        entry = fetch(scope, LedgerEntry, entry_id, action, select_related=("teacher", "cycle"), lock=True)
        if entry.state != EntryState.PENDING:
            raise ValidationError("只有待审核的记录可以审核")
        _refuse_closed(entry.cycle, today or timezone.localdate(), "__all__")
        _lock_teacher(entry.teacher_id)
        _decision_append(entry=entry, stage=DecisionStage.SCHOOL if stage == "school" else DecisionStage.COUNTY,
                         state=DecisionState.APPROVED if approve else DecisionState.REJECTED, actor=actor,
                         note=(note or "").strip())
        _seal(entry.teacher_id, entries=0, decisions=1)
        _add_to_totals(teacher_id=entry.teacher_id, cycle_id=entry.cycle_id, category=entry.category,
                       approved=entry.hours if approve else Decimal(0), pending=-entry.hours)
        audit_record(action=Action.LEDGER_APPROVE if approve else Action.LEDGER_REJECT, actor=actor, ip=ip,
                     scope_path=entry.teacher.division_path, object_type="ledger_entry", object_id=entry.pk,
                     detail={"teacher": entry.teacher_id, "hours": str(entry.hours), "category": entry.category, "stage": stage,
                             "reason": (note or "").strip()[:200]})
    return entry


def _correction_insert(*, teacher_id: int, cycle: Cycle, category: str, hours: Decimal, occurred_on: dt.date,
                       source_id: str, reverses: LedgerEntry | None, actor, reason: str, at: dt.datetime) -> LedgerEntry:
    """A compensating entry, with the decision naming who authorised it and why."""
    actor_id = _actor_id(actor)
    correction = LedgerEntry(
        teacher_id=teacher_id, cycle=cycle, category=category, hours=hours, occurred_on=occurred_on,
        source_type=SourceType.CORRECTION, source_id=source_id, source_key=f"{SourceType.CORRECTION}:{source_id}",
        note=reason[:500], reverses=reverses, recorded_state=EntryState.APPROVED, state=EntryState.APPROVED,
        created_by_id=actor_id, decided_by_id=actor_id, decided_at=at,
    )
    correction.checksum = entry_checksum(correction)
    correction.save(force_insert=True)
    _decision_append(entry=correction, stage=DecisionStage.CORRECTION, state=DecisionState.APPROVED, actor=actor,
                     note=reason, at=at, first=True, save_cache=False)
    return correction


def ledger_entry_revoke(*, scope: Scope, actor, entry_id: int, reason: str, ip: str | None = None,
                        today: dt.date | None = None) -> LedgerEntry:
    """Cancel approved hours with a compensating entry; the original is kept, marked revoked."""
    if len((reason or "").strip()) < 2:
        raise ValidationError({"reason": "请填写撤销原因"})
    reason = reason.strip()
    with transaction.atomic():
        entry = fetch(scope, LedgerEntry, entry_id, Can.REVOKE, select_related=("teacher", "cycle"), lock=True)
        if entry.state != EntryState.APPROVED or entry.hours <= 0:
            raise ValidationError("只有已认定的学时可以撤销")
        _refuse_closed(entry.cycle, today or timezone.localdate(), "__all__")
        _lock_teacher(entry.teacher_id)
        now = timezone.now()
        correction = _correction_insert(
            teacher_id=entry.teacher_id, cycle=entry.cycle, category=entry.category, hours=-entry.hours,
            occurred_on=entry.occurred_on, source_id=f"revoke:{entry.pk}", reverses=entry, actor=actor, reason=reason,
            at=now)
        _decision_append(entry=entry, stage=DecisionStage.REVOKE, state=DecisionState.REVOKED, actor=actor, note=reason,
                         at=now)
        _seal(entry.teacher_id, entries=1, decisions=2)
        _add_to_totals(teacher_id=entry.teacher_id, cycle_id=entry.cycle_id, category=entry.category,
                       approved=-entry.hours, pending=Decimal(0))
        audit_record(action=Action.LEDGER_REVOKE, actor=actor, ip=ip, scope_path=entry.teacher.division_path,
                     object_type="ledger_entry", object_id=entry.pk, detail={"reason": reason[:200], "correction": correction.pk})
    return correction


@transaction.atomic
def ledger_reseal(*, scope: Scope, actor, teacher: Teacher, reason: str, ip: str | None = None) -> LedgerSeal:
    """After the province has looked into a teacher whose seal no longer matched (and restored
    what was changed, or accepted it), seal the teacher's rows as they are now so writes for
    them resume. Province administrators only; the old and new counts are audited, so the
    decision to accept the rows stays on the record."""
    require(scope, Can.CORRECT_CLOSED_CYCLE, teacher)
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ValidationError({"reason": "请写明核查结论（至少4个字）"})
    Teacher.objects.dangerously_unscoped().select_for_update().filter(pk=teacher.pk).values_list("pk", flat=True).get()
    entries = LedgerEntry.objects.dangerously_unscoped().filter(teacher=teacher).count()
    decisions = LedgerDecision.objects.dangerously_unscoped().filter(entry__teacher=teacher).count()
    seal = LedgerSeal.objects.dangerously_unscoped().filter(teacher=teacher).first()
    before = {"entries": seal.entries, "decisions": seal.decisions} if seal else None
    seal = seal or LedgerSeal(teacher=teacher)
    seal.entries, seal.decisions = entries, decisions
    seal.mac = seal_mac(teacher_id=teacher.pk, entries=entries, decisions=decisions)
    seal.save()
    audit_record(action=Action.LEDGER_RESEAL, actor=actor, ip=ip, scope_path=teacher.division_path,
                 object_type="teacher", object_id=teacher.pk,
                 detail={"reason": reason[:200], "before": before, "after": {"entries": entries, "decisions": decisions}})
    return seal


def ledger_closed_cycle_correction(
    *, scope: Scope, actor, teacher: Teacher, category: str, hours, occurred_on: dt.date, reason: str,
    ip: str | None = None, today: dt.date | None = None,
) -> LedgerEntry:
    """The one way to change hours in a closed cycle: a province administrator's compensating
    entry (positive to add hours, negative to take them away), with its reason, audited."""
    require(scope, Can.CORRECT_CLOSED_CYCLE, teacher)
    today = today or timezone.localdate()
    hours = _hours(hours)
    reason = (reason or "").strip()
    problems: dict[str, str] = {}
    if category not in Category.values:
        problems["category"] = f"未知的学时类别：{category}"
    if hours == 0:
        problems["hours"] = "更正学时不能为0"
    elif hours > MAX_HOURS_PER_DAY:
        problems["hours"] = f"一天的学时不能超过 {MAX_HOURS_PER_DAY}"
    elif hours < -RULE_MAX_HOURS:
        problems["hours"] = f"更正学时不能少于 -{RULE_MAX_HOURS}"
    if occurred_on > today:
        problems["occurred_on"] = "日期晚于今天"
    cycle = cycle_for_date(occurred_on)
    if cycle is None:
        problems["occurred_on"] = "日期不在任何继续教育周期内"
    elif not cycle.is_closed(today):
        problems["occurred_on"] = f"{cycle.code} 周期尚未关闭，请按正常流程记入、审核或撤销"
    if len(reason) < 2:
        problems["reason"] = "请填写更正原因"
    if problems:
        raise ValidationError(problems)
    assert cycle is not None
    with transaction.atomic():
        _lock_teacher(teacher.pk)
        if hours > 0:
            day_total = _day_total(teacher.pk, occurred_on)
            if day_total + hours > MAX_HOURS_PER_DAY:
                raise ValidationError({"hours": f"{occurred_on} 当天累计学时将超过 {MAX_HOURS_PER_DAY}（已有 {day_total}）"})
        else:
            approved = (LedgerEntry.objects.dangerously_unscoped()
                        .filter(teacher_id=teacher.pk, cycle=cycle, category=category,
                                state__in=[EntryState.APPROVED, EntryState.REVOKED])
                        .aggregate(total=Sum("hours"))["total"] or Decimal(0))
            if approved + hours < 0:
                raise ValidationError({"hours": f"该类别已认定学时只有 {approved}，不能更正为负数"})
        correction = _correction_insert(
            teacher_id=teacher.pk, cycle=cycle, category=category, hours=hours, occurred_on=occurred_on,
            source_id=f"closed:{uuid.uuid4().hex}", reverses=None, actor=actor, reason=reason, at=timezone.now())
        _seal(teacher.pk, entries=1, decisions=1)
        _add_to_totals(teacher_id=teacher.pk, cycle_id=cycle.pk, category=category, approved=hours, pending=Decimal(0))
        audit_record(action=Action.LEDGER_CORRECT, actor=actor, ip=ip, scope_path=teacher.division_path,
                     object_type="ledger_entry", object_id=correction.pk,
                     detail={"teacher": teacher.pk, "cycle": cycle.code, "category": category, "hours": str(hours),
                             "occurred_on": occurred_on.isoformat(), "reason": reason[:200]})
    return correction


# Totals recomputed from the ledger, compared with the stored ones in SQL (works on
# PostgreSQL and SQLite); only the rows that differ come back to Python. An entry's state
# is taken from what is MAC'd, its recorded state and its last decision (a school's
# "checked" leaves it pending), not from the state column, which is only a cache: editing
# the cache and the totals to match does not make the totals agree here.
_DRIFT_SQL = """
WITH last_decision AS (
  SELECT entry_id, MAX(seq) AS seq FROM credits_ledgerdecision WHERE state <> 'checked' GROUP BY entry_id
), decided AS (
  SELECT d.entry_id, d.state FROM credits_ledgerdecision d
  JOIN last_decision m ON m.entry_id = d.entry_id AND m.seq = d.seq
), ledger AS (
  SELECT e.teacher_id, e.cycle_id, e.category,
         SUM(CASE WHEN COALESCE(x.state, e.recorded_state) IN ('approved', 'revoked') THEN e.hours ELSE 0 END) AS approved,
         SUM(CASE WHEN COALESCE(x.state, e.recorded_state) = 'pending' THEN e.hours ELSE 0 END) AS pending
  FROM credits_ledgerentry e LEFT JOIN decided x ON x.entry_id = e.id
  GROUP BY e.teacher_id, e.cycle_id, e.category
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


def credits_reconcile(*, fix: bool = False, actor=None) -> list[dict]:
    """Every (teacher, cycle, category) whose stored total differs from its ledger."""
    # One batch job grouping every ledger row: let its hash tables stay in memory.
    with roomy_transaction("256MB"), connection.cursor() as cursor:
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
            audit_record(action=Action.LEDGER_RECONCILE, actor=actor, scope_path="410000.",
                         detail={"fixed": len(drift),
                                 "rows": [{key: str(value) for key, value in row.items()} for row in drift[:100]]})
    return drift


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
