"""The compliance arithmetic on its own (no database): what the ratio requires, the verdict, the
shortfall, for any figures; and the parsing of money and ratios."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from funding.models import PAYROLL_MAX, RATIO_MAX, RATIO_MIN
from funding.selectors import DivisionRow, SchoolRow
from funding.services import parse_money, parse_ratio

money = st.decimals(min_value=0, max_value=10**10, places=2, allow_nan=False, allow_infinity=False)
ratios = st.one_of(st.none(), st.decimals(min_value=RATIO_MIN, max_value=RATIO_MAX, places=2))


@given(payroll=st.one_of(st.none(), money), ratio=ratios, direct=money, projects=money)
def test_a_division_is_met_exactly_when_its_budget_covers_the_ratio(payroll, ratio, direct, projects):
    row = DivisionRow(code="410221", name="杞县", level="county", path="x", is_direct_county=False, year=2026,
                      payroll=payroll, ratio_percent=ratio, direct_budget=direct, project_budget=projects,
                      spend=Decimal(0))
    if payroll is None:
        assert row.state == "no_data" and row.shortfall == 0 and row.verdict == "无数据"
        return
    required = (payroll * (ratio if ratio is not None else RATIO_MIN) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert row.required == required
    assert (row.state == "met") == (direct + projects >= required)
    assert row.shortfall == max(required - direct - projects, Decimal(0))
    assert (row.state == "short") == (row.shortfall > 0)
    if row.state == "short":
        assert row.verdict == f"缺口 ¥{row.shortfall:,.2f}"


@given(public=money, share=st.decimals(min_value=0, max_value=1, places=4))
def test_a_school_is_met_exactly_at_five_percent(public, share):
    training = (public * share).quantize(Decimal("0.01"))
    row = SchoolRow(school_id=1, code="1", name="学校", year=2026, public_budget=public, training_budget=training)
    need = public * 5 / 100  # exact, as the grouped queries of the summaries and the gaps list compare it
    assert (row.state == "met") == (training >= need)
    assert row.shortfall == max(need - training, Decimal(0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert (row.state == "short") == (need > training)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**12, max_value=10**12))
def test_money_is_accepted_exactly_within_its_bounds(value):
    if 0 < value <= PAYROLL_MAX:
        assert parse_money(str(value), field="payroll", label="教师工资总额", maximum=PAYROLL_MAX,
                           positive=True) == value
    else:
        with pytest.raises(ValidationError):
            parse_money(str(value), field="payroll", label="教师工资总额", maximum=PAYROLL_MAX, positive=True)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=0, max_value=5))
def test_ratios_are_accepted_exactly_between_one_and_a_half_and_two_and_a_half(value):
    if RATIO_MIN <= value <= RATIO_MAX:
        assert parse_ratio(f"{value}%") == value
    else:
        with pytest.raises(ValidationError):
            parse_ratio(str(value))
