"""The demo province's high-end task: baseline frozen, one allocation per level this year."""

import datetime as dt

from people.tests.factories import TeacherFactory
from quotas.target_models import Allocation, TargetBaseline
from synth.quotas import quotas_synthesize


def test_the_demo_freezes_the_cycle_and_allocates_once_per_level(province):
    for _ in range(30):
        TeacherFactory(school=province.school)
    today = dt.date(2027, 3, 1)
    made = quotas_synthesize(today=today, county_codes=["410221"])
    assert made["allocations"] == 3 and made["baselines"] == TargetBaseline.objects.dangerously_unscoped().count()
    rows = Allocation.objects.dangerously_unscoped().order_by("level")
    assert sorted(rows.values_list("division__code", "level", "year")) == [
        ("410000", "province", 2027), ("410200", "city", 2027), ("410221", "county", 2027)]
    assert all(row.total == sum(row.shares.values_list("seats", flat=True)) for row in rows)
