"""The ranking's arithmetic on known data, computed by hand: z-scores per source within the
group, weights re-spread over the sources present, composite, ranks with ties, bottom share."""

import math
from decimal import Decimal

import pytest

from evaluation.performance import bottom_count, rank_group

W = {"supervision": Decimal("0.5"), "rating": Decimal("0"), "outcome": Decimal("0.5"), "stakeholder": Decimal("0")}


def _src(supervision=None, rating=None, outcome=None, stakeholder=None):
    return {"supervision": supervision, "rating": rating, "outcome": outcome, "stakeholder": stakeholder}


def test_hand_computed_z_composite_ranks_and_the_flag():
    # supervision 60, 70, 80: mean 70, population sd √(200/3) = 8.164966 → z −1.224745, 0, 1.224745
    # outcome 70, 90, 80: mean 80, same sd → z −1.224745, 1.224745, 0
    # composite (½ each): A −1.224745, B 0.612372, C 0.612372 → B and C share rank 1, A is 3rd
    # normalised: the composites' sd is √0.75 = 0.866025 → A −1.414214, B and C 0.707107
    # D has one source only: not ranked, and not counted in anyone's z.
    sources = {1: _src(60, None, 70), 2: _src(70, None, 90), 3: _src(80, None, 80), 4: _src(99)}
    ranked = {r.project_id: r for r in rank_group(sources, W, share=Decimal("0.1"), min_group=3)}
    assert set(ranked) == {1, 2, 3}
    assert ranked[1].z == pytest.approx({"supervision": -1.224745, "outcome": -1.224745}, abs=1e-6)
    assert ranked[2].z == pytest.approx({"supervision": 0.0, "outcome": 1.224745}, abs=1e-6)
    assert [ranked[pk].composite for pk in (1, 2, 3)] == pytest.approx([-1.224745, 0.612372, 0.612372], abs=1e-6)
    assert [ranked[pk].normalised for pk in (1, 2, 3)] == pytest.approx([-1.414214, 0.707107, 0.707107], abs=1e-6)
    assert [ranked[pk].rank for pk in (1, 2, 3)] == [3, 1, 1]
    assert {pk for pk, r in ranked.items() if r.flagged} == {1}  # ceil(0.1 × 3) = 1: the last place
    assert all(r.group_size == 3 for r in ranked.values())


def test_a_group_smaller_than_the_minimum_is_ranked_but_nobody_is_flagged():
    sources = {1: _src(60, None, 70), 2: _src(70, None, 90), 3: _src(80, None, 80)}
    ranked = rank_group(sources, W, share=Decimal("0.5"), min_group=4)
    assert sorted(r.rank for r in ranked) == [1, 1, 3] and not any(r.flagged for r in ranked)


def test_a_missing_source_spreads_its_weight_over_the_present_ones():
    weights = {"supervision": Decimal("0.3"), "rating": Decimal("0.3"), "outcome": Decimal("0.2"),
               "stakeholder": Decimal("0.2")}
    # Project 3 has no outcome: its composite is (0.3 z_sup + 0.3 z_rating + 0.2 z_stake) / 0.8.
    sources = {1: _src(60, 50, 70, 80), 2: _src(80, 70, 90, 60), 3: _src(70, 90, None, 70)}
    ranked = {r.project_id: r for r in rank_group(sources, weights, share=Decimal("0.1"), min_group=5)}
    sd = math.sqrt(200 / 3)
    z_sup, z_stake = 0.0, 0.0  # 70 is the mean of 60, 80, 70 in both
    z_rating = (90 - 70) / math.sqrt(800 / 3)
    assert ranked[3].z == pytest.approx({"supervision": z_sup, "rating": z_rating, "stakeholder": z_stake})
    assert ranked[3].composite == pytest.approx((0.3 * z_sup + 0.3 * z_rating + 0.2 * z_stake) / 0.8, abs=1e-6)
    # outcome is standardised over the two projects that have it: 70 and 90 → −1 and +1
    assert ranked[1].z["outcome"] == pytest.approx(-1.0) and ranked[2].z["outcome"] == pytest.approx(1.0)
    assert ranked[1].z["supervision"] == pytest.approx(-10 / sd)


def test_a_tie_across_the_line_is_not_flagged_and_equal_sources_give_zero():
    sources = {pk: _src(70, None, 70) for pk in range(1, 6)}
    ranked = rank_group(sources, W, share=Decimal("0.2"), min_group=5)
    assert {r.rank for r in ranked} == {1} and not any(r.flagged for r in ranked)
    assert all(r.composite == 0.0 for r in ranked)


@pytest.mark.parametrize(("share", "n", "k"), [("0.05", 20, 1), ("0.05", 21, 2), ("0.1", 30, 3), ("0.5", 5, 3),
                                               ("0.1", 10, 1), ("0.1", 11, 2)])
def test_the_bottom_share_is_rounded_up_in_decimals(share, n, k):
    assert bottom_count(Decimal(share), n) == k
