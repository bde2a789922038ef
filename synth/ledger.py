"""Synthetic hours history for each teacher: the closed cycle and the current
one up to today, most teachers on track, a tail behind, new teachers
pro-rated. Rows are tuples for the bulk writer; totals are summed here so the
ledger and `credits_cycletotal` agree exactly (`yanxiu credits reconcile`), and
each teacher's seal counts the rows written for them (`yanxiu credits verify`).
A bulk loader, audited once as a whole (the `synth` event): no per-entry audit."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal

from credits.integrity import ledger_checksum, seal_mac

# category, weight, hours per session (low, high), in half hours
# About 6.5 hours a session on average: ~55 entries per teacher per full cycle,
# ~60 M for the province per five-year cycle.
SESSIONS = (("centralised", 35, (12, 24)), ("online", 35, (4, 16)), ("school_based", 20, (8, 16)),
            ("guidance", 7, (4, 8)), ("other", 3, (8, 16)))
LEDGER_COLUMNS = ["id", "teacher_id", "cycle_id", "category", "hours", "occurred_on", "source_type", "source_id",
                  "source_key", "note", "evidence", "recorded_state", "state", "created_at", "checksum"]
TOTAL_COLUMNS = ["teacher_id", "cycle_id", "category", "approved_hours", "pending_hours"]
SEAL_COLUMNS = ["teacher_id", "entries", "decisions", "mac"]
CLAIM_NOTES = ("参加县级教研活动并作交流发言", "参加校外听评课活动", "参加学科教学研讨会", "完成市级专题讲座学习",
               "参加乡村教师送教下乡活动")


@dataclass(frozen=True)
class CycleInfo:
    id: int
    starts_on: dt.date
    ends_on: dt.date
    required: Decimal


class LedgerGenerator:
    def __init__(self, *, seed: int, county_code: str, cycles: list[CycleInfo], today: dt.date, first_id: int, now):
        self.rng = random.Random(f"{seed}:ledger:{county_code}")
        self.cycles, self.today, self.next_id, self.now = cycles, today, first_id, now
        self.categories: list[str] = [category for category, _, _ in SESSIONS]
        self.weights: list[float] = [weight for _, weight, _ in SESSIONS]
        self.spans: dict[str, tuple[int, int]] = {category: span for category, _, span in SESSIONS}
        self.totals: dict[tuple[int, int, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
        self.written: Counter[int] = Counter()  # entries per teacher, for the seals

    def rows(self, teacher_id: int, hire_date: dt.date):
        rng = self.rng
        for cycle in self.cycles:
            start, end = max(cycle.starts_on, hire_date), min(cycle.ends_on, self.today)
            if start > end:
                continue
            served = (cycle.ends_on - start).days + 1
            required = Decimal(math.ceil(cycle.required * served / ((cycle.ends_on - cycle.starts_on).days + 1)))
            elapsed_share = ((end - start).days + 1) / served
            behind = rng.random() < (0.15 if end == cycle.ends_on else 0.2)
            factor = rng.uniform(0.45, 0.95) if behind else rng.uniform(1.0, 1.15 if end == cycle.ends_on else 1.6)
            target = float(required) * elapsed_share * factor
            days = (end - start).days + 1
            used: set[int] = set()
            earned, number = 0.0, 0
            while earned < target and len(used) < days:
                offset = rng.randrange(days)
                if offset in used:
                    continue
                used.add(offset)
                category = rng.choices(self.categories, weights=self.weights)[0]
                low, high = self.spans[category]
                hours = Decimal(rng.randint(low, high)) / 2
                day = start + dt.timedelta(days=offset)
                pending = end != cycle.ends_on and (self.today - day).days < 30 and rng.random() < 0.3
                number += 1
                # Pending hours are teachers' own claims waiting for their school, as the real path
                # writes them, so every pending hour has a claim in a review queue behind it.
                source_type = "claim" if pending else "synth"
                source_id = f"{teacher_id}:synth-{cycle.id}-{number}" if pending else f"{teacher_id}-{cycle.id}-{number}"
                source_key = f"{source_type}:{source_id}"
                note = CLAIM_NOTES[number % len(CLAIM_NOTES)] if pending else ""
                total = self.totals[(teacher_id, cycle.id, category)]
                total[1 if pending else 0] += hours
                earned += float(hours)
                state = "pending" if pending else "approved"
                self.written[teacher_id] += 1
                yield (self.next_id, teacher_id, cycle.id, category, hours, day, source_type, source_id, source_key, note,
                       "", state, state, self.now,
                       ledger_checksum(teacher_id=teacher_id, cycle_id=cycle.id, category=category, hours=hours,
                                       occurred_on=day, source_type=source_type, source_id=source_id,
                                       source_key=source_key, reverses_id=None, recorded_state=state,
                                       created_by_id=None))
                self.next_id += 1

    def total_rows(self):
        for (teacher_id, cycle_id, category), (approved, pending) in self.totals.items():
            yield (teacher_id, cycle_id, category, approved, pending)

    def seal_rows(self):
        """A seal per teacher written for (these are new teachers: no earlier seal, no decisions)."""
        for teacher_id, entries in sorted(self.written.items()):
            yield (teacher_id, entries, 0, seal_mac(teacher_id=teacher_id, entries=entries, decisions=0))
