"""Continuing-education hours for guidance (category 专家/导师指导): when a teacher resolves a
question an expert answered, the expert who first answered it and the teacher each earn the
hours the province's rule in force gives, up to the rule's cap per cycle. Written through the
ledger's own writer, keyed by question and side, so a second call writes nothing.

An instant answer (accepting an already-answered question) earns nothing: nobody was guided,
and counting it would let hours be farmed by accepting matches."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record
from credits.constants import Category, EntryState, SourceType
from credits.models import LedgerEntry
from credits.services import cycle_for_date, ledger_entry_record
from guidance.models import HoursRule, Question
from people.models import Teacher

log = logging.getLogger(__name__)

# What applies until the province writes a rule of its own.
DEFAULT_RULE = {"expert_hours": Decimal("0.5"), "expert_cap": Decimal("20"),
                "asker_hours": Decimal("0.2"), "asker_cap": Decimal("6")}


@dataclass(frozen=True)
class Rule:
    expert_hours: Decimal
    expert_cap: Decimal
    asker_hours: Decimal
    asker_cap: Decimal
    effective_from: dt.date | None = None


def rule_in_force(day: dt.date) -> Rule:
    row = HoursRule.objects.filter(effective_from__lte=day).order_by("-effective_from").first()
    if row is None:
        return Rule(DEFAULT_RULE["expert_hours"], DEFAULT_RULE["expert_cap"], DEFAULT_RULE["asker_hours"],
                    DEFAULT_RULE["asker_cap"])
    return Rule(row.expert_hours, row.expert_cap, row.asker_hours, row.asker_cap, row.effective_from)


def rule_revise(*, scope: Scope, actor, effective_from: dt.date, expert_hours, expert_cap, asker_hours, asker_cap,
                ip: str | None = None) -> HoursRule:
    """The province writes a new version of the rule (from a date; earlier hours stand)."""
    if scope.role != "province_admin":
        from access.errors import Forbidden

        raise Forbidden("专家指导学时规则由省级管理员制定")
    problems = {}
    values = {}
    for name, value, top in (("expert_hours", expert_hours, 12), ("asker_hours", asker_hours, 12),
                             ("expert_cap", expert_cap, 360), ("asker_cap", asker_cap, 360)):
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            problems[name] = "请填写数字"
            continue
        if not number.is_finite() or number < 0 or number > top:
            problems[name] = f"须在 0 到 {top} 之间"
        values[name] = number
    if problems:
        raise ValidationError(problems)
    if HoursRule.objects.filter(effective_from=effective_from).exists():
        raise ValidationError({"effective_from": "该日期已有一版规则"})
    with transaction.atomic():
        row = HoursRule.objects.create(effective_from=effective_from, created_by=actor, **values)
        audit_record(action=Audit.GUIDANCE_HOURS_RULE, actor=actor, ip=ip, scope_path=scope.path or "",
                     object_type="guidance_hours_rule", object_id=row.pk,
                     detail={"effective_from": effective_from.isoformat(), **{k: str(v) for k, v in values.items()}})
    return row


def _earned_in_cycle(teacher_id: int, cycle_id: int) -> Decimal:
    # The ledger writer's teacher, read to apply the cap (the writer itself takes the lock).
    return (LedgerEntry.objects.dangerously_unscoped()
            .filter(teacher_id=teacher_id, cycle_id=cycle_id, source_type=SourceType.GUIDANCE)
            .exclude(state__in=[EntryState.REJECTED, EntryState.REVOKED])
            .aggregate(total=Sum("hours"))["total"] or Decimal(0))


def _write(teacher: Teacher, *, hours: Decimal, cap: Decimal, source_id: str, day: dt.date, note: str) -> Decimal:
    cycle = cycle_for_date(day)
    if cycle is None or hours <= 0:
        return Decimal(0)
    room = cap - _earned_in_cycle(teacher.pk, cycle.pk)
    hours = min(hours, room)
    if hours <= 0:
        return Decimal(0)
    try:
        _, created = ledger_entry_record(teacher=teacher, category=Category.GUIDANCE, hours=hours, occurred_on=day,
                                         source_type=SourceType.GUIDANCE, source_id=source_id, note=note, today=day)
    except ValidationError as error:
        # A full day (the ledger's daily limit) or a closed cycle: the question stays resolved.
        log.info("guidance hours not written for %s: %s", source_id, error.messages)
        return Decimal(0)
    return hours if created else Decimal(0)


def award(question: Question, *, today: dt.date | None = None) -> dict[str, Decimal]:
    """Hours for a resolved question an expert answered; {"expert": h, "asker": h} newly written."""
    if question.matched_id is not None or question.first_answered_at is None:
        return {"expert": Decimal(0), "asker": Decimal(0)}
    day = today or timezone.localdate()
    rule = rule_in_force(day)
    first = question.messages.filter(is_answer=True, member__isnull=False).select_related("member__teacher").first()
    written = {"expert": Decimal(0), "asker": Decimal(0)}
    if first is not None and first.member is not None:
        written["expert"] = _write(first.member.teacher, hours=rule.expert_hours, cap=rule.expert_cap, day=day,
                                   source_id=f"question:{question.pk}:expert", note="解答教师问题")
    written["asker"] = _write(question.teacher, hours=rule.asker_hours, cap=rule.asker_cap, day=day,
                              source_id=f"question:{question.pk}:asker", note="参与专家在线指导")
    return written
