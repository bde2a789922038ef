"""The keyed MACs that make the hours ledger tamper-evident, and the rule that derives an
entry's state from what is MAC'd. Pure functions of values (no queries), shared by the
writers, `credits verify`, the bulk loaders (synth, bench) and the migration that sealed
existing rows, so all of them compute exactly the same thing.

- entry checksum: HMAC over the entry's substance, including the state it was recorded
  with (`recorded_state`) and who recorded it;
- decision MAC: HMAC over one decision (school check, county decision, revocation,
  correction), chained onto the entry's checksum and the previous decision's MAC, so a
  decision cannot be forged, moved to another entry, reordered or dropped from the middle;
- seal MAC: HMAC over a teacher's number of entries and decisions, so a deleted row (or a
  deleted last decision) leaves the teacher's rows short of their seal.

The key is derived from the integrity key (`people.identity.keyed_digest`), which is kept
outside the database: write access to the database is not enough to forge any of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from credits.constants import DecisionStage, DecisionState, EntryState
from people.identity import keyed_digest

TENTH = Decimal("0.1")
ENTRY_PURPOSE = "credits.ledger_entry"
DECISION_PURPOSE = "credits.ledger_decision"
SEAL_PURPOSE = "credits.ledger_seal"


def ledger_checksum(*, teacher_id: int, cycle_id: int, category: str, hours, occurred_on: dt.date, source_type: str,
                    source_id: str, source_key: str, reverses_id: int | None, recorded_state: str,
                    created_by_id: int | None) -> str:
    """Keyed digest of an entry's substance (the bulk loaders compute it too)."""
    message = "|".join([
        str(teacher_id), str(cycle_id), category, f"{Decimal(hours).quantize(TENTH)}", occurred_on.isoformat(),
        source_type, source_id, source_key, str(reverses_id or ""), recorded_state, str(created_by_id or ""),
    ])
    return keyed_digest(ENTRY_PURPOSE, message)


def moment(at: dt.datetime) -> str:
    """A timestamp as the MAC sees it: UTC, microseconds (what both databases store)."""
    if at.tzinfo is not None:
        at = at.astimezone(dt.UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def decision_mac(*, entry_checksum: str, previous_mac: str, entry_id: int, seq: int, stage: str, state: str,
                 actor_id: int | None, at: dt.datetime, note: str) -> str:
    message = "|".join([entry_checksum, previous_mac, str(entry_id), str(seq), stage, state, str(actor_id or ""),
                        moment(at), note])
    return keyed_digest(DECISION_PURPOSE, message)


def seal_mac(*, teacher_id: int, entries: int, decisions: int) -> str:
    return keyed_digest(SEAL_PURPOSE, f"{teacher_id}|{entries}|{decisions}")


@dataclass(frozen=True)
class Decided:
    """An entry's decision fields as its recorded state and decision chain give them."""

    state: str
    school_checked_by_id: int | None = None
    school_checked_at: dt.datetime | None = None
    decided_by_id: int | None = None
    decided_at: dt.datetime | None = None
    problem: str = ""  # a decision the chain does not allow at that point


def derive(recorded_state: str, decisions: list[tuple[str, str, int | None, dt.datetime]]) -> Decided:
    """The state reached from `recorded_state` through `decisions` ((stage, state, actor_id,
    at) in order). A step the workflow never takes is reported, not applied."""
    state = recorded_state
    nobody: tuple[int | None, dt.datetime | None] = (None, None)
    checked, decided = nobody, nobody
    for number, (stage, new_state, actor_id, at) in enumerate(decisions, start=1):
        allowed = (
            (stage == DecisionStage.SCHOOL and state == EntryState.PENDING and checked[1] is None
             and new_state in (DecisionState.CHECKED, DecisionState.REJECTED))
            or (stage == DecisionStage.COUNTY and state == EntryState.PENDING
                and new_state in (DecisionState.APPROVED, DecisionState.REJECTED))
            or (stage == DecisionStage.REVOKE and state == EntryState.APPROVED and new_state == DecisionState.REVOKED)
            or (stage == DecisionStage.CORRECTION and number == 1 and recorded_state == EntryState.APPROVED
                and new_state == DecisionState.APPROVED)
        )
        if not allowed:
            return Decided(state=state, problem=f"第 {number} 步审核（{stage} → {new_state}）不符合流程")
        if new_state == DecisionState.CHECKED:
            checked = (actor_id, at)
        else:
            state, decided = new_state, (actor_id, at)
    return Decided(state=state, school_checked_by_id=checked[0], school_checked_at=checked[1],
                   decided_by_id=decided[0], decided_at=decided[1])
