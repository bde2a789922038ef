"""The demo province's high-end training task: the current cycle's baseline frozen, and one
allocation per level for the current year — the province to its cities and 省直管县, the demo
county's city to its counties, the demo county to its schools — each a fifth of the division's
cycle target (a year's share), through the services, as each division's administrator would."""

from __future__ import annotations

import datetime as dt
import math

from django.core.exceptions import ValidationError

from access.scope import Scope
from org.models import Division
from quotas import target_selectors as selectors
from quotas.targets import allocation_create, baseline_freeze


def quotas_synthesize(*, today: dt.date, county_codes: list[str]) -> dict:
    province = Division.objects.filter(level="province").first()
    if province is None or not county_codes:
        return {"baselines": 0, "allocations": 0}
    frozen = baseline_freeze(scope=Scope.division(province), actor=None, today=today)
    county = Division.objects.filter(code=county_codes[0]).select_related("parent").first()
    units = [province]
    if county is not None:
        if county.parent is not None and county.parent.level == "city" and not county.is_direct_county:
            units.append(county.parent)
        units.append(county)
    cycle = selectors.cycle_choose("", today)
    made = 0
    for unit in units:
        scope = Scope.division(unit)
        view = selectors.targets_view(scope, unit, cycle, today)
        own = view.own
        if own is None or own.target <= 0:
            continue
        try:
            allocation_create(scope=scope, actor=None, division_code=unit.code, year=today.year,
                              total=max(1, math.ceil(own.target / 5)), note="演示数据：周期任务的五分之一")
        except ValidationError:  # no teachers below (a county without schools), or already allocated more
            continue
        made += 1
    return {"baselines": frozen["frozen"], "allocations": made}
