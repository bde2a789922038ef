"""The pure arithmetic: Hamilton's largest remainder, the Alabama paradox it suffers, and the
monotone top-up that re-allocates a larger total without taking a seat from anyone."""

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quotas.allocation import AllocationError, allocate, exact_quotas, hamilton, top_up

weights_st = st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=12).filter(lambda w: sum(w) > 0)


def _within_quota(seats, total, weights):
    return all(math.floor(q) <= s <= math.ceil(q) for s, q in zip(seats, exact_quotas(total, weights), strict=True))


@settings(max_examples=300, deadline=None)
@given(total=st.integers(min_value=1, max_value=3000), weights=weights_st)
def test_hamilton_sums_exactly_and_stays_within_quota(total, weights):
    seats = hamilton(total, weights)
    assert sum(seats) == total
    assert _within_quota(seats, total, weights)
    assert all(s == 0 for s, w in zip(seats, weights, strict=True) if w == 0)


@settings(max_examples=300, deadline=None)
@given(total=st.integers(min_value=1, max_value=500), weights=weights_st,
       steps=st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=5))
def test_topping_up_a_larger_total_never_takes_a_seat_and_stays_within_quota(total, weights, steps):
    seats = hamilton(total, weights)
    for step in steps:
        bigger = total + step
        new, within = top_up(bigger, weights, seats)
        assert sum(new) == bigger
        assert all(n >= o for n, o in zip(new, seats, strict=True))
        assert within and _within_quota(new, bigger, weights)
        seats, total = new, bigger


def test_plain_hamilton_has_the_alabama_paradox_which_the_top_up_avoids():
    # The classic example: 10 → 11 seats, the third state loses one under plain Hamilton.
    weights = [6, 6, 2]
    assert hamilton(10, weights) == [4, 4, 2]
    assert hamilton(11, weights) == [5, 5, 1]  # the third child loses a seat when the total grows
    new, within = top_up(11, weights, hamilton(10, weights))
    assert new[2] == 2 and sum(new) == 11 and within


def test_the_table_explains_the_arithmetic():
    result = allocate(10, {"A": 6, "B": 6, "C": 2})
    a, b, c = result.shares
    assert a.exact == Fraction(30, 7) and a.floor == 4 and a.remainder == Fraction(2, 7)
    assert c.exact == Fraction(10, 7) and c.floor == 1 and c.rank == 1 and c.extra == 1 and c.seats == 2
    assert (a.rank, b.rank) == (2, 3) and a.extra == b.extra == 0
    assert result.method == "hamilton" and result.within_quota


@pytest.mark.parametrize(("total", "weights", "message"), [
    (0, [1, 2], "正整数"), (-3, [1, 2], "正整数"), (5, [0, 0], "权重之和"), (5, [-1, 3], "负数"), (5, [], "下级单位")])
def test_bad_input_is_refused_in_chinese(total, weights, message):
    with pytest.raises(AllocationError, match=message):
        hamilton(total, weights)


def test_a_smaller_total_cannot_be_a_top_up():
    with pytest.raises(AllocationError, match="不能少于"):
        top_up(5, [1, 1], [3, 3])


def test_changed_weights_keep_published_seats_before_quota():
    new, within = top_up(6, [1, 9], [5, 0])  # the first child's quota fell to 0.6: it keeps 5
    assert new == [5, 1] and not within
