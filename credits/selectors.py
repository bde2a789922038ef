"""Reads of the hours ledger: one teacher's cycle summary, their entries."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from credits.constants import CATEGORY_LABELS, Category
from credits.models import Cycle, LedgerEntry, RuleSet


@dataclass(frozen=True)
class CategoryLine:
    category: str
    label: str
    approved: Decimal
    pending: Decimal
    counted: Decimal  # approved, capped by the category's maximum
    min_hours: Decimal | None
    max_hours: Decimal | None

    @property
    def short_of_minimum(self) -> Decimal:
        return max(Decimal(0), (self.min_hours or Decimal(0)) - self.counted)


@dataclass(frozen=True)
class CycleSummary:
    cycle: Cycle
    rule_version: int
    required: Decimal
    counted: Decimal
    pending: Decimal
    owed: Decimal
    expected_by_now: Decimal
    lines: tuple[CategoryLine, ...]
    # Exact: counted / required >= elapsed / span, in whole days (the SQL roll-up agrees).
    on_track: bool

    @property
    def complete(self) -> bool:
        """The requirement and every category minimum are met."""
        return self.counted >= self.required and not any(line.short_of_minimum for line in self.lines)

    @property
    def percent(self) -> int:
        return min(100, int(self.counted * 100 / self.required)) if self.required else 100


def current_cycle(today: dt.date | None = None) -> Cycle | None:
    today = today or timezone.localdate()
    return Cycle.objects.filter(starts_on__lte=today, ends_on__gte=today).first() or Cycle.objects.order_by("-starts_on").first()


def rule_set_in_force(cycle: Cycle) -> RuleSet:
    return RuleSet.objects.prefetch_related("category_rules").filter(cycle=cycle).order_by("-version").first()  # type: ignore[return-value]


def required_hours(*, rule_set: RuleSet, cycle: Cycle, hire_date: dt.date) -> Decimal:
    """A teacher hired during the cycle owes the share of it they will serve (rounded up to whole hours)."""
    if hire_date <= cycle.starts_on:
        return rule_set.required_hours
    if hire_date > cycle.ends_on:
        return Decimal(0)
    total_days = (cycle.ends_on - cycle.starts_on).days + 1
    served_days = (cycle.ends_on - hire_date).days + 1
    return Decimal(math.ceil(rule_set.required_hours * served_days / total_days))


def teacher_cycle_summary(*, teacher, cycle: Cycle | None = None, today: dt.date | None = None) -> CycleSummary | None:
    today = today or timezone.localdate()
    cycle = cycle or current_cycle(today)
    if cycle is None:
        return None
    rule_set = rule_set_in_force(cycle)
    rules = {rule.category: rule for rule in rule_set.category_rules.all()}
    totals = {t.category: t for t in teacher.cycle_totals.filter(cycle=cycle)}  # a teacher the caller holds
    lines = []
    for category in Category.values:
        total, rule = totals.get(category), rules.get(category)
        approved = total.approved_hours if total else Decimal(0)
        max_hours = rule.max_hours if rule else None
        lines.append(CategoryLine(
            category=category, label=CATEGORY_LABELS[category], approved=approved,
            pending=total.pending_hours if total else Decimal(0),
            counted=min(approved, max_hours) if max_hours is not None else approved,
            min_hours=rule.min_hours if rule else None, max_hours=max_hours,
        ))
    required = required_hours(rule_set=rule_set, cycle=cycle, hire_date=teacher.hire_date)
    counted = sum((line.counted for line in lines), Decimal(0))
    start = max(cycle.starts_on, teacher.hire_date)
    span = max(1, (cycle.ends_on - start).days + 1)
    elapsed = min(span, max(0, (min(today, cycle.ends_on) - start).days + 1))
    return CycleSummary(
        cycle=cycle, rule_version=rule_set.version, required=required, counted=counted,
        pending=sum((line.pending for line in lines), Decimal(0)), owed=max(Decimal(0), required - counted),
        expected_by_now=(required * elapsed / span).quantize(Decimal("0.1")), lines=tuple(lines),
        on_track=counted * span >= required * elapsed,
    )


def teacher_entries(*, teacher, cycle: Cycle | None = None, limit: int = 200) -> QuerySet[LedgerEntry]:
    entries = teacher.ledger_entries.select_related("cycle", "created_by")
    if cycle is not None:
        entries = entries.filter(cycle=cycle)
    return entries.order_by("-occurred_on", "-id")[:limit]
