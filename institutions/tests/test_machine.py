"""The accreditation state machine, exhaustively: every state × every transition is allowed
exactly when the table says so, and random sequences of moves by random actors on random days
never reach a snapshot with problems (the invariants the database's constraints hold)."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from institutions import machine
from institutions.constants import AccreditationState as S
from institutions.machine import Move, Refused, Snapshot, step

TODAY = dt.date(2026, 11, 28)
APPLICANT, REVIEWER = 1, 2


def _permissive(snapshot: Snapshot, name: str) -> Move:
    """A move every guard accepts (what is left is the state check)."""
    if name == "expire":
        return Move(actor=None, today=(snapshot.valid_until or TODAY) + dt.timedelta(days=1))
    if machine.TRANSITIONS[name].side == machine.SYSTEM:  # the elimination sanctions
        return Move(actor=None, today=TODAY, reason="年度绩效评价末位淘汰")
    if machine.TRANSITIONS[name].side == machine.APPLICANT:
        return Move(actor=APPLICANT, today=TODAY)
    until = (snapshot.valid_until or TODAY) + dt.timedelta(days=365)
    return Move(actor=REVIEWER, today=TODAY, reason="按认定标准审核", valid_from=TODAY, valid_until=until, scored=True,
                passed=True)


def _snapshot(state: str) -> Snapshot:
    term = state in machine.HOLDS_TERM
    return Snapshot(state=state, has_scope=True, has_evidence=True, applied_by=APPLICANT, submitted_by=APPLICANT,
                    decided_by=REVIEWER if term or state in (S.RETURNED, S.REFUSED) else None,
                    valid_from=TODAY if term else None, valid_until=TODAY + dt.timedelta(days=30) if term else None)


@pytest.mark.parametrize("state", S.values)
@pytest.mark.parametrize("name", sorted(machine.TRANSITIONS))
def test_every_state_and_transition(state, name):
    snapshot = _snapshot(state)
    transition = machine.TRANSITIONS[name]
    if state in transition.sources:
        after = step(snapshot, name, _permissive(snapshot, name))
        assert after.state == transition.target and not machine.problems(after)
    else:
        with pytest.raises(Refused, match="不能"):
            step(snapshot, name, _permissive(snapshot, name))


def test_final_states_have_no_way_out_and_every_state_is_reachable():
    for state in machine.FINAL:
        assert machine.allowed(state) == []
    reached, frontier = {S.DRAFT}, [S.DRAFT]
    while frontier:
        state = frontier.pop()
        for transition in machine.allowed(state):
            if transition.target not in reached:
                reached.add(transition.target)
                frontier.append(transition.target)
    assert reached == set(S.values)


def test_four_eyes_in_the_machine():
    submitted = _snapshot(S.SUBMITTED)
    for actor in (APPLICANT, None):
        move = Move(actor=actor, today=TODAY, reason="理由充分", valid_from=TODAY, valid_until=TODAY, scored=True,
                    passed=True)
        for name in ("approve", "return", "refuse"):
            with pytest.raises(Refused, match="申请人不能审核"):
                step(submitted, name, move)


@given(state=st.sampled_from(S.values), name=st.sampled_from(sorted(machine.TRANSITIONS)),
       actor=st.sampled_from([None, APPLICANT, REVIEWER, 3]),
       start=st.dates(dt.date(2020, 1, 1), dt.date(2035, 1, 1)), span=st.integers(-400, 2500),
       reason=st.sampled_from(["", "短", "理由充分的说明"]), scored=st.booleans(), passed=st.booleans())
def test_any_single_move_from_a_valid_snapshot_gives_a_valid_one(state, name, actor, start, span, reason, scored,
                                                                passed):
    snapshot = _snapshot(state)
    move = Move(actor=actor, today=start, reason=reason, valid_from=start, valid_until=start + dt.timedelta(days=span),
                scored=scored, passed=passed)
    try:
        after = step(snapshot, name, move)
    except Refused:
        return
    assert not machine.problems(after), (state, name, after)


class AccreditationMachine(RuleBasedStateMachine):
    """One accreditation's life under random moves by random accounts on advancing days; a refused
    move changes nothing, an accepted one never leaves a snapshot with problems."""

    def __init__(self):
        super().__init__()
        self.snapshot = Snapshot(applied_by=APPLICANT)
        self.today = TODAY

    def _try(self, name: str, move: Move) -> None:
        before = self.snapshot
        try:
            self.snapshot = step(before, name, move)
        except Refused as refusal:
            assert refusal.message and self.snapshot == before
            return
        assert self.snapshot.state == machine.TRANSITIONS[name].target

    @rule(days=st.integers(0, 800))
    def time_passes(self, days):
        self.today += dt.timedelta(days=days)

    @rule(scope=st.booleans(), evidence=st.booleans())
    @precondition(lambda self: self.snapshot.state in (S.DRAFT, S.RETURNED))
    def edit(self, scope, evidence):
        from dataclasses import replace

        self.snapshot = replace(self.snapshot, has_scope=self.snapshot.has_scope or scope,
                                has_evidence=self.snapshot.has_evidence or evidence)

    @rule(name=st.sampled_from(sorted(machine.TRANSITIONS)), actor=st.sampled_from([None, APPLICANT, REVIEWER, 3]),
          offset=st.integers(-30, 400), span=st.integers(-60, 2200), reason=st.sampled_from(["", "理由充分的说明"]),
          scored=st.booleans(), passed=st.booleans())
    def act(self, name, actor, offset, span, reason, scored, passed):
        start = self.today + dt.timedelta(days=offset)
        self._try(name, Move(actor=actor, today=self.today, reason=reason, valid_from=start,
                             valid_until=start + dt.timedelta(days=span), scored=scored, passed=passed))

    @invariant()
    def never_invalid(self):
        assert not machine.problems(self.snapshot), self.snapshot


TestAccreditationMachine = AccreditationMachine.TestCase
TestAccreditationMachine.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
