"""/api/v1/ operations for quotas: targets. A division's high-end training task (target, progress,
both projections, each child's), the rate versions, the cycle's baseline freeze, and seat
allocations with their arithmetic. Each route resolves the caller's scope and calls one selector
or service; the services ask the access policy."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from ninja import Field, Router, Schema

from access.scope import scope_for_user
from accounts.models import ADMIN_ROLES
from core.requests import client_ip
from quotas import target_selectors as selectors
from quotas import targets as services

router = Router(tags=["高端培训名额"])


def _scope(user, *, division_only: bool = True):
    roles = {"county_admin", "city_admin", "province_admin"} if division_only else ADMIN_ROLES
    if user.role not in roles:
        raise PermissionDenied("只有管理员可以查看高端培训任务和名额分配")
    return scope_for_user(user)


class TaskOut(Schema):
    code: str
    name: str
    level: str
    level_label: str
    is_own: bool
    is_direct_county: bool
    read_only: bool
    teachers: int
    frozen: bool
    counted_on: dt.date
    rate: Decimal | None
    target: int
    completed: int
    percent: float
    open_seats: int
    projection_pace: int
    projection_planned: int
    at_risk: bool


class QuotaSchoolOut(Schema):
    code: str
    name: str
    teachers: int
    completed: int


class TargetsOut(Schema):
    division: str
    division_name: str
    cycle: str
    today: dt.date
    elapsed: float
    frozen: bool
    tasks: list[TaskOut]
    schools: list[QuotaSchoolOut]


class RateIn(Schema):
    level: str = Field(..., description="province / city / county")
    percent: Decimal = Field(..., description="比例（%），大于0且不超过100")
    effective_from: dt.date
    note: str = ""


class RateOut(Schema):
    id: int
    level: str
    version: int
    percent: Decimal
    effective_from: dt.date
    note: str


class FreezeOut(Schema):
    cycle: str
    frozen: int
    already: int
    counted_on: str
    teachers: int


class AllocationIn(Schema):
    division: str = Field("", description="区划代码；空为本级")
    year: int
    total: int = Field(..., description="名额总数（正整数）")
    weights: dict[str, int] | None = Field(None, description="自定权重：下级单位代码 → 非负整数；空则按教师数")
    note: str = ""


class ShareOut(Schema):
    code: str
    name: str
    kind: str
    teachers: int
    weight: int
    share_percent: float
    exact_quota: Decimal
    floor: int
    remainder: Decimal
    remainder_rank: int | None
    extra: int
    previous_seats: int | None
    seats: int


class AllocationOut(Schema):
    id: int
    division: str
    division_name: str
    level: str
    year: int
    version: int
    total: int
    basis: str
    method: str
    within_quota: bool
    is_current: bool
    supersedes_id: int | None
    created_at: dt.datetime
    shares: list[ShareOut] | None = None


def _task(row: selectors.TaskRow) -> TaskOut:
    return TaskOut(code=row.code, name=row.name, level=row.level, level_label=row.level_label, is_own=row.is_own,
                   is_direct_county=row.division.is_direct_county, read_only=row.read_only, teachers=row.teachers,
                   frozen=row.frozen, counted_on=row.counted_on, rate=row.rate, target=row.target,
                   completed=row.completed, percent=row.percent, open_seats=row.open_seats, projection_pace=row.pace,
                   projection_planned=row.planned, at_risk=row.at_risk)


def _rate(row) -> RateOut:
    return RateOut(id=row.pk, level=row.level, version=row.version, percent=row.percent,
                   effective_from=row.effective_from, note=row.note)


def _allocation(row, shares=None) -> AllocationOut:
    out = AllocationOut(id=row.pk, division=row.division.code, division_name=row.division.name, level=row.level,
                        year=row.year, version=row.version, total=row.total, basis=row.basis, method=row.method,
                        within_quota=row.within_quota, is_current=row.is_current, supersedes_id=row.supersedes_id,
                        created_at=row.created_at)
    if shares is not None:
        total_weight = sum(row.shares.values_list("weight", flat=True))
        out.shares = [ShareOut(
            code=s.child_code, name=s.child_name, kind="school" if s.child_school_id else "division",
            teachers=s.teachers, weight=s.weight,
            share_percent=round(s.weight * 100 / total_weight, 4) if total_weight else 0.0,
            exact_quota=s.exact_quota, floor=s.floor_seats, remainder=s.remainder, remainder_rank=s.remainder_rank,
            extra=s.extra, previous_seats=s.previous_seats, seats=s.seats) for s in shares]
    return out


@router.get("/quotas/targets", response=TargetsOut, summary="高端培训任务：本级及各下级的任务数、完成数与预计")
def targets(request, division: str = "", cycle: str = ""):
    scope = _scope(request.auth)
    unit = selectors.division_for(scope, division)
    view = selectors.targets_view(scope, unit, selectors.cycle_choose(cycle))
    return TargetsOut(division=unit.code, division_name=unit.name, cycle=view.cycle.code, today=view.today,
                      elapsed=round(view.elapsed, 4), frozen=view.frozen, tasks=[_task(r) for r in view.rows],
                      schools=[QuotaSchoolOut(code=s.school.code, name=s.school.name, teachers=s.teachers,
                                         completed=s.completed) for s in view.schools])


@router.get("/quotas/rates", response=list[RateOut], summary="高端培训任务比例（各层级各版本）")
def rates(request):
    return [_rate(row) for row in selectors.rate_versions(_scope(request.auth))]


@router.post("/quotas/rates", response={201: RateOut}, summary="新增比例版本（省级）")
def rate_add(request, payload: RateIn):
    row = services.rate_add(scope=_scope(request.auth), actor=request.auth, ip=client_ip(request), **payload.dict())
    return 201, _rate(row)


@router.post("/quotas/baselines", response=FreezeOut, summary="冻结周期教师基数（省级；已冻结的保持不变）")
def baseline_freeze(request, cycle: str = ""):
    return services.baseline_freeze(scope=_scope(request.auth), actor=request.auth, cycle_code=cycle,
                                    ip=client_ip(request))


@router.get("/quotas/allocations", response=list[AllocationOut], summary="名额分配（本级或下级区划的各版本）")
def allocations(request, division: str = "", year: int | None = None):
    scope = _scope(request.auth)
    unit = selectors.division_for(scope, division)
    return [_allocation(row) for row in selectors.allocations(scope, division=unit, year=year)[:500]]


@router.get("/quotas/allocations/received", response=list[ShareOut], summary="本单位获得的名额（学校管理员：本校）")
def received(request, year: int | None = None):
    scope = _scope(request.auth, division_only=False)
    shares = selectors.received_shares(scope, year)
    return [ShareOut(code=s.child_code, name=s.child_name, kind="school" if s.child_school_id else "division",
                     teachers=s.teachers, weight=s.weight, share_percent=0.0, exact_quota=s.exact_quota,
                     floor=s.floor_seats, remainder=s.remainder, remainder_rank=s.remainder_rank, extra=s.extra,
                     previous_seats=s.previous_seats, seats=s.seats) for s in shares]


@router.post("/quotas/allocations", response={201: AllocationOut}, summary="分配名额（最大余额法；同年度再分配新建版本）")
def allocation_create(request, payload: AllocationIn):
    scope = _scope(request.auth)
    row = services.allocation_create(scope=scope, actor=request.auth, division_code=payload.division,
                                     year=payload.year, total=payload.total, weights=payload.weights,
                                     note=payload.note, ip=client_ip(request))
    row = selectors.allocation_get(scope, row.pk)
    return 201, _allocation(row, selectors.allocation_shares(scope, row))


@router.get("/quotas/allocations/{int:allocation_id}", response=AllocationOut, summary="一次名额分配及其计算过程")
def allocation_detail(request, allocation_id: int):
    scope = _scope(request.auth, division_only=False)
    row = selectors.allocation_get(scope, allocation_id)
    return _allocation(row, selectors.allocation_shares(scope, row))
