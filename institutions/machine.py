"""The accreditation state machine: every state, every transition and its guards, in one place.

Transitions are data (`TRANSITIONS`): the states an action may start from, the state it leads
to, who takes it (the applicant's side, the accrediting division, or the system's daily task)
and its guards, each a function returning a Chinese refusal or None. `step` is pure: it takes a
`Snapshot` of a row and a `Move` (who, when, what they entered) and returns the next snapshot or
raises `Refused`; the services (institutions/services.py) apply the result to the row in one
transaction with its history event and audit row. `problems` states the invariants the
database's check constraints hold too (institutions/models.py); the property test
(institutions/tests/test_machine.py) walks random sequences of moves and never reaches a
snapshot with problems.

    draft ─submit─► submitted ─approve─► approved ─renew─► renewal_submitted ─approve─► approved
      ▲               │  │                 │  ▲  │                 │ refuse (keeps the old term)
      └──(edit)── returned refused         │  │  └─suspend─► suspended ─reinstate─┘
                                           │  └────────────────────┘
               approved / suspended / renewal_submitted ─revoke─► revoked; ─expire─► expired

The system also suspends (sanction_suspend) or revokes (sanction_revoke) after a confirmed
bottom-ranked elimination (evaluation.sanctions); a first year only warns (an event, no move).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from institutions.constants import MAX_VALIDITY_DAYS
from institutions.constants import AccreditationState as S

APPLICANT, REVIEWER, SYSTEM = "applicant", "reviewer", "system"

# States in which the row carries a granted term (valid_from ≤ valid_until) and who granted it.
HOLDS_TERM = frozenset({S.APPROVED, S.RENEWAL_SUBMITTED, S.SUSPENDED, S.REVOKED, S.EXPIRED})
# States in which the institution may implement projects under the accreditation.
IN_FORCE = frozenset({S.APPROVED, S.RENEWAL_SUBMITTED})
# Nothing follows these.
FINAL = frozenset({S.REFUSED, S.REVOKED, S.EXPIRED})


class Refused(Exception):
    """A move the machine does not allow; `message` is Chinese, `field` names the input at fault."""

    def __init__(self, message: str, field: str = "state"):
        super().__init__(message)
        self.message, self.field = message, field


@dataclass(frozen=True)
class Snapshot:
    state: str = S.DRAFT
    has_scope: bool = False
    has_evidence: bool = False
    applied_by: int | None = None
    submitted_by: int | None = None
    decided_by: int | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None


@dataclass(frozen=True)
class Move:
    actor: int | None  # the account acting; None for the system's daily task
    today: dt.date
    reason: str = ""
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    scored: bool = False  # every criterion of the review has a score
    passed: bool = False  # the total reaches the criteria's pass mark


Guard = Callable[[Snapshot, Move], "str | None"]


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: frozenset[str]
    target: str
    side: str
    guards: tuple[Guard, ...] = ()


# --- guards --------------------------------------------------------------------------------

def _scope(s: Snapshot, m: Move) -> str | None:
    return None if s.has_scope else "请至少选择一个层级、一个项目类别和一种培训方式"


def _evidence(s: Snapshot, m: Move) -> str | None:
    return None if s.has_evidence else "请先上传证明材料（PDF、JPG 或 PNG）"


def _four_eyes(s: Snapshot, m: Move) -> str | None:
    if m.actor is None or m.actor in (s.applied_by, s.submitted_by):
        return "申请人不能审核本人提交的申请"
    return None


def _reason(s: Snapshot, m: Move) -> str | None:
    return None if len((m.reason or "").strip()) >= 4 else "请填写理由（至少4个字）"


def _term(s: Snapshot, m: Move) -> str | None:
    if m.valid_from is None or m.valid_until is None:
        return "请填写有效期的起止日期"
    if m.valid_from > m.valid_until:
        return "有效期开始日期不能晚于结束日期"
    if m.valid_until < m.today:
        return "有效期结束日期不能早于今天"
    if (m.valid_until - m.valid_from).days > MAX_VALIDITY_DAYS:
        return "有效期不能超过五年"
    return None


def _renewed_term(s: Snapshot, m: Move) -> str | None:
    if m.valid_until is None:
        return "请填写续期后的有效期结束日期"
    if s.valid_until is not None and m.valid_until <= s.valid_until:
        return "续期后的有效期应晚于原有效期"
    if s.valid_from is not None and (m.valid_until - s.valid_from).days > MAX_VALIDITY_DAYS:
        return "有效期不能超过五年"
    return None


def _scored(s: Snapshot, m: Move) -> str | None:
    if not m.scored:
        return "请为每一项认定标准评分"
    return None if m.passed else "评分未达到合格线，不能批准"


def _before_expiry(s: Snapshot, m: Move) -> str | None:
    return None if s.valid_until is not None and m.today <= s.valid_until else "准入已过有效期，请重新申请"


def _past_expiry(s: Snapshot, m: Move) -> str | None:
    return None if s.valid_until is not None and m.today > s.valid_until else "尚未到期"


def _system(s: Snapshot, m: Move) -> str | None:
    return None if m.actor is None else "到期由系统每日处理"


def _by_sanction(s: Snapshot, m: Move) -> str | None:
    """Sanctions of the annual performance ranking are the system's, after a confirmed elimination."""
    return None if m.actor is None else "末位淘汰的资质处理由系统在淘汰确认后执行"


TRANSITIONS: dict[str, Transition] = {t.name: t for t in (
    Transition("submit", "提交审核", frozenset({S.DRAFT, S.RETURNED}), S.SUBMITTED, APPLICANT, (_scope, _evidence)),
    Transition("approve", "批准", frozenset({S.SUBMITTED}), S.APPROVED, REVIEWER, (_four_eyes, _scored, _term)),
    Transition("return", "退回修改", frozenset({S.SUBMITTED}), S.RETURNED, REVIEWER, (_four_eyes, _reason)),
    Transition("refuse", "不予准入", frozenset({S.SUBMITTED}), S.REFUSED, REVIEWER, (_four_eyes, _reason)),
    Transition("renew", "申请续期", frozenset({S.APPROVED}), S.RENEWAL_SUBMITTED, APPLICANT,
               (_before_expiry, _evidence)),
    Transition("approve_renewal", "批准续期", frozenset({S.RENEWAL_SUBMITTED}), S.APPROVED, REVIEWER,
               (_four_eyes, _scored, _renewed_term)),
    # A refused renewal leaves the accreditation as it was, to its old end date.
    Transition("refuse_renewal", "不予续期", frozenset({S.RENEWAL_SUBMITTED}), S.APPROVED, REVIEWER,
               (_four_eyes, _reason)),
    Transition("suspend", "暂停", frozenset({S.APPROVED, S.RENEWAL_SUBMITTED}), S.SUSPENDED, REVIEWER,
               (_four_eyes, _reason)),
    Transition("reinstate", "恢复", frozenset({S.SUSPENDED}), S.APPROVED, REVIEWER,
               (_four_eyes, _reason, _before_expiry)),
    Transition("revoke", "撤销", frozenset({S.APPROVED, S.RENEWAL_SUBMITTED, S.SUSPENDED}), S.REVOKED, REVIEWER,
               (_four_eyes, _reason)),
    Transition("expire", "到期", frozenset({S.APPROVED, S.RENEWAL_SUBMITTED, S.SUSPENDED}), S.EXPIRED, SYSTEM,
               (_system, _past_expiry)),
    # The annual ranking's confirmed eliminations (evaluation.sanctions): a second consecutive year
    # suspends, a third revokes; the reason names the years.
    Transition("sanction_suspend", "末位淘汰暂停", frozenset({S.APPROVED, S.RENEWAL_SUBMITTED}), S.SUSPENDED, SYSTEM,
               (_by_sanction, _reason)),
    Transition("sanction_revoke", "末位淘汰撤销", frozenset({S.APPROVED, S.RENEWAL_SUBMITTED, S.SUSPENDED}), S.REVOKED,
               SYSTEM, (_by_sanction, _reason)),
)}
# What a reviewer's decision on a submitted application or renewal means, by the row's state.
DECISIONS: dict[str, dict[str, str]] = {
    S.SUBMITTED: {"approve": "approve", "return": "return", "refuse": "refuse"},
    S.RENEWAL_SUBMITTED: {"approve": "approve_renewal", "refuse": "refuse_renewal"},
}


def allowed(state: str, side: str | None = None) -> list[Transition]:
    """The transitions that may start from `state` (for one side only, if given)."""
    return [t for t in TRANSITIONS.values() if state in t.sources and (side is None or t.side == side)]


def step(snapshot: Snapshot, name: str, move: Move) -> Snapshot:
    """The snapshot after `name`, or Refused (nothing changes)."""
    transition = TRANSITIONS.get(name)
    if transition is None:
        raise Refused("未知的操作")
    if snapshot.state not in transition.sources:
        raise Refused(f"当前状态（{S(snapshot.state).label}）不能{transition.label}")
    for guard in transition.guards:
        if (problem := guard(snapshot, move)) is not None:
            raise Refused(problem, _field_of(guard))
    changes: dict = {"state": transition.target}
    if name == "submit":
        changes["submitted_by"] = move.actor
    elif name == "renew":
        changes["submitted_by"] = move.actor
    elif name == "approve":
        changes.update(decided_by=move.actor, valid_from=move.valid_from, valid_until=move.valid_until)
    elif name == "approve_renewal":
        changes.update(decided_by=move.actor, valid_until=move.valid_until)
    elif name in ("return", "refuse"):
        changes["decided_by"] = move.actor
    return dataclasses.replace(snapshot, **changes)


def _field_of(guard: Guard) -> str:
    fields: dict[Guard, str] = {_reason: "reason", _term: "valid_until", _renewed_term: "valid_until",
                                _scored: "scores", _evidence: "evidence", _scope: "levels"}
    return fields.get(guard, "state")


def problems(s: Snapshot) -> list[str]:
    """What would make a snapshot invalid (the database refuses the same, by check constraints)."""
    found = []
    if s.state not in S.values:
        found.append("unknown state")
    if s.state in HOLDS_TERM:
        if s.valid_from is None or s.valid_until is None or s.valid_from > s.valid_until:
            found.append("a granted state without an ordered term")
        if s.decided_by is None:
            found.append("a granted state without its decider")
    elif s.valid_from is not None or s.valid_until is not None:
        found.append("a term before any grant")
    if s.decided_by is not None and s.decided_by == s.applied_by:
        found.append("decided by its applicant")
    if s.state != S.DRAFT and not (s.has_scope and s.has_evidence):
        found.append("submitted without scope or evidence")
    return found
