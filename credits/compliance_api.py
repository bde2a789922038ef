"""Compliance API: the roll-up of a division and its children (child divisions,
or schools for a county), within the caller's scope."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import Query, Router, Schema

from access.scope import scope_for_user
from credits import compliance_selectors as selectors
from credits.compliance import compliance_refresh_request
from credits.constants import Category
from credits.models import Cycle
from credits.selectors import current_cycle

router = Router(tags=["学时达标"])


class RollupOut(Schema):
    kind: str  # "division" or "school"
    code: str
    name: str
    teachers: int
    complete: int
    complete_rate: float
    on_track: int
    on_track_rate: float
    new_teachers: int
    required_hours: float
    counted_hours: float
    pending_hours: float
    owed_hours: float
    hours_by_category: dict[str, float]
    progress_bands: list[int]


class DivisionOut(Schema):
    code: str
    name: str
    level: str


class ComplianceOut(Schema):
    division: DivisionOut
    cycle: str
    computed_at: dt.datetime | None
    as_of: dt.date | None
    rule_version: int | None
    total: RollupOut
    children: list[RollupOut]


class ComplianceQuery(Schema):
    division: str
    cycle: str = ""


def _rollup_out(row: selectors.Rollup) -> RollupOut:
    return RollupOut(
        kind="school" if row.school_id is not None else "division", code=row.code, name=row.name,
        teachers=row.teachers, complete=row.complete, complete_rate=row.complete_rate, on_track=row.on_track,
        on_track_rate=row.on_track_rate, new_teachers=row.new_teachers, required_hours=float(row.required_hours),
        counted_hours=float(row.counted_hours), pending_hours=float(row.pending_hours), owed_hours=float(row.owed_hours),
        hours_by_category={code: float(row.values[f"{code}_hours"]) for code in Category.values},
        progress_bands=row.bands,
    )


@router.get("/compliance", response=ComplianceOut, summary="区划及其下级的学时达标汇总")
def compliance(request, query: Query[ComplianceQuery]):
    scope = scope_for_user(request.auth)
    if scope.teacher_id is not None or scope.path is None:
        raise PermissionDenied("当前角色不能查看达标统计")
    division = selectors.compliance_division(scope=scope, code=query.division)
    cycle = Cycle.objects.filter(code=query.cycle[:20]).first() if query.cycle else current_cycle()
    if division is None or cycle is None:
        raise Http404
    refresh = selectors.compliance_refreshed(cycle)
    if selectors.compliance_is_stale(refresh, max_age_minutes=settings.COMPLIANCE_MAX_AGE_MINUTES):
        compliance_refresh_request(cycle)
        refresh = selectors.compliance_refreshed(cycle)
    total, children = selectors.division_rollup(scope=scope, cycle=cycle, division=division)
    return ComplianceOut(
        division=DivisionOut(code=division.code, name=division.name, level=division.level), cycle=cycle.code,
        computed_at=refresh.computed_at if refresh else None, as_of=refresh.as_of if refresh else None,
        rule_version=refresh.rule_version if refresh else None,
        total=_rollup_out(total), children=[_rollup_out(child) for child in children],
    )
