"""Writes of the high-end training task: a new rate version (the province), the cycle's frozen
baseline of teacher counts (the province, one set-based statement for every division), and a
division's allocation of its seats to its children (versioned; a larger total tops up the
previous allocation so no published share goes down). Each write is audited in its transaction;
bad input is a ValidationError in Chinese and nothing is written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from access.errors import Forbidden
from access.policy import Action, can, visible
from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record
from credits.models import Cycle
from org.models import Division
from people.models import Teacher
from quotas import allocation as arithmetic
from quotas import target_selectors as selectors
from quotas.target_models import Allocation, AllocationShare, TargetBaseline, TargetRate, TaskLevel

# A year's allocation may not hand out more seats than the children have teachers.
MAX_SEATS_PER_TEACHER = 1


def may_set_rates(scope: Scope) -> bool:
    return can(scope, Action.CHANGE, TargetRate(level=TaskLevel.PROVINCE))


def may_freeze(scope: Scope) -> bool:
    return can(scope, Action.CHANGE, TargetBaseline(division_path=scope.path or ""))


def may_allocate(scope: Scope, division: Division) -> bool:
    return can(scope, Action.CHANGE, Allocation(division_path=division.path))


# --- rates ----------------------------------------------------------------------------------------

def rate_add(*, scope: Scope, actor, level: str, percent, effective_from, note: str = "",
             ip: str | None = None) -> TargetRate:
    """A new version of a level's rate (older versions stay; a cycle uses the one in effect on its
    first day)."""
    if not may_set_rates(scope):
        raise Forbidden("只有省级管理员可以设置高端培训比例")
    errors: dict[str, str] = {}
    if level not in TaskLevel.values:
        errors["level"] = "层级应为省级、市级或县级"
    try:
        value = Decimal(str(percent).strip())
        if not value.is_finite() or value <= 0 or value > 100 or value != value.quantize(Decimal("0.01")):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["percent"] = "比例应为大于0且不超过100的数，最多两位小数"
        value = Decimal(0)
    if isinstance(effective_from, str):
        try:
            effective_from = dt.date.fromisoformat(effective_from.strip())
        except ValueError:
            effective_from = None
    if not isinstance(effective_from, dt.date):
        errors["effective_from"] = "请填写生效日期（YYYY-MM-DD）"
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        rows = visible(scope, TargetRate).select_for_update().filter(level=level)
        version = (rows.aggregate(v=Max("version"))["v"] or 0) + 1
        row = TargetRate.objects.create(level=level, version=version, percent=value, effective_from=effective_from,
                                        note=(note or "").strip()[:500], created_by=actor)
        audit_record(action=Audit.QUOTA_RATE, actor=actor, ip=ip, scope_path=scope.path or "",
                     object_type="target_rate", object_id=row.pk,
                     detail={"level": level, "version": version, "percent": str(value),
                             "effective_from": effective_from.isoformat()})
    return row


# --- baselines ------------------------------------------------------------------------------------

def baseline_freeze(*, scope: Scope, actor, cycle_code: str = "", today: dt.date | None = None,
                    ip: str | None = None) -> dict:
    """Freeze every division's task area count for a cycle: one grouped query of active teachers
    per division path, one bulk insert. Idempotent: divisions already frozen keep their count."""
    if not may_freeze(scope):
        raise Forbidden("只有省级管理员可以冻结高端培训教师基数")
    today = today or timezone.localdate()
    cycle = selectors.cycle_choose(cycle_code, today)
    with transaction.atomic():
        Cycle.objects.select_for_update().filter(pk=cycle.pk).first()  # one freeze of a cycle at a time
        divisions = list(visible(scope, Division).filter(path__startswith=scope.path or "", level__in=TaskLevel.values))
        direct_paths = [d.path for d in divisions if d.is_direct_county]
        by_path = dict(visible(scope, Teacher).filter(division_path__startswith=scope.path or "", status="active")
                       .order_by().values_list("division_path").annotate(n=Count("*")))
        done = set(TargetBaseline.objects.visible_to(scope, Action.VIEW).filter(cycle=cycle)
                   .values_list("division_id", flat=True))
        rows = [TargetBaseline(division=d, division_path=d.path, level=d.level, cycle=cycle,
                               teachers=selectors.area_teachers(d, by_path, direct_paths), counted_on=today,
                               created_by=actor)
                for d in divisions if d.pk not in done]
        TargetBaseline.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        summary = {"cycle": cycle.code, "frozen": len(rows), "already": len(done), "counted_on": today.isoformat(),
                   "teachers": sum(row.teachers for row in rows if row.level == TaskLevel.PROVINCE)}
        audit_record(action=Audit.QUOTA_BASELINE, actor=actor, ip=ip, scope_path=scope.path or "",
                     object_type="cycle", object_id=cycle.pk, detail=summary)
    return summary


# --- allocations ----------------------------------------------------------------------------------

def _parse_total(total) -> int:
    try:
        value = int(str(total).strip())
    except (TypeError, ValueError):
        raise ValidationError({"total": "名额总数应为正整数"}) from None
    if value <= 0:
        raise ValidationError({"total": "名额总数应为正整数"})
    return value


def _parse_weights(weights: dict | None, codes: list[str]) -> dict[str, int] | None:
    if weights is None:
        return None
    unknown = sorted(set(weights) - set(codes))
    if unknown:
        raise ValidationError({"weights": f"以下单位不是本级的下级单位：{'、'.join(unknown)}"})
    parsed = {}
    for code in codes:
        raw = weights.get(code, 0)
        try:
            value = int(str(raw).strip() or 0)
        except (TypeError, ValueError):
            raise ValidationError({"weights": f"{code} 的权重应为非负整数"}) from None
        if value < 0:
            raise ValidationError({"weights": f"{code} 的权重不能为负数"})
        parsed[code] = value
    if sum(parsed.values()) <= 0:
        raise ValidationError({"weights": "权重之和应大于零（至少一个下级单位的权重为正）"})
    return parsed


def allocation_preview(*, scope: Scope, division: Division, year: int, total, weights: dict | None = None,
                       today: dt.date | None = None) -> tuple[arithmetic.Result, dict, list, Allocation | None]:
    """The arithmetic the allocation would store, without writing: (result, teachers per child,
    children, the current allocation it would supersede)."""
    if not 2000 <= int(year or 0) <= 2100:
        raise ValidationError({"year": "年度应在2000–2100之间"})
    value = _parse_total(total)
    kind, children = selectors.allocation_children(scope, division)
    if not children:
        raise ValidationError({"division": "本级没有可分配的下级单位"})
    codes = [c.code for c in children]
    cycle = Cycle.objects.filter(starts_on__year__lte=year, ends_on__year__gte=year).order_by("starts_on").first()
    teachers = selectors.child_teachers(scope, division, kind, children, cycle)
    parsed = _parse_weights(weights, codes)
    basis_weights = parsed if parsed is not None else teachers
    if sum(teachers.values()) * MAX_SEATS_PER_TEACHER < value:
        raise ValidationError({"total": f"名额总数（{value}）超过下级单位的专任教师总数（{sum(teachers.values())}）"})
    if parsed is None and sum(teachers.values()) <= 0:
        raise ValidationError({"weights": "下级单位没有在职教师，请填写自定权重"})
    current = visible(scope, Allocation).filter(division=division, year=year, is_current=True).first()
    previous = None
    if current is not None and value >= current.total:
        shares = dict(current.shares.values_list("child_code", "seats"))
        if set(shares) == set(codes):
            previous = shares
    try:
        result = arithmetic.allocate(value, basis_weights, previous)
    except arithmetic.AllocationError as error:
        raise ValidationError({"total": str(error)}) from None
    return result, teachers, children, current


def allocation_create(*, scope: Scope, actor, division_code: str, year, total, weights: dict | None = None,
                      note: str = "", ip: str | None = None) -> Allocation:
    """Allocate a division's high-end seats of its level for a year to its children. A new
    allocation for the same division and year supersedes the current one (kept as history); when
    its total is not smaller and the children are the same, every child keeps its published seats
    (the monotone top-up)."""
    division = selectors.division_for(scope, division_code)
    if not may_allocate(scope, division):
        raise Forbidden("无权为该区划分配名额（省直管县由省级分配）")
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise ValidationError({"year": "年度应为整数"}) from None
    with transaction.atomic():
        # Lock the division so two planners of the same year do not both become version n.
        Division.objects.select_for_update().filter(pk=division.pk).first()
        result, teachers, children, current = allocation_preview(scope=scope, division=division, year=year,
                                                                 total=total, weights=weights)
        version = (visible(scope, Allocation).filter(division=division, year=year)
                   .aggregate(v=Max("version"))["v"] or 0) + 1
        if current is not None:
            Allocation.objects.visible_to(scope, Action.CHANGE).filter(pk=current.pk).update(is_current=False)
        row = Allocation.objects.create(
            division=division, division_path=division.path, level=division.level, year=year, version=version,
            total=result.total, basis="weights" if weights is not None else "teachers", method=result.method,
            within_quota=result.within_quota, supersedes=current, note=(note or "").strip()[:500], created_by=actor)
        by_code = {c.code: c for c in children}
        shares = []
        for share in result.shares:
            child = by_code[share.key]
            is_school = not isinstance(child, Division)
            shares.append(AllocationShare(
                allocation=row, child_division=None if is_school else child, child_school=child if is_school else None,
                child_path=child.division_path if is_school else child.path, child_code=child.code,
                child_name=child.name, teachers=teachers.get(child.code, 0), weight=share.weight,
                exact_quota=_dec(share.exact, 6), floor_seats=share.floor, remainder=_dec(share.remainder, 6),
                remainder_rank=share.rank, extra=share.extra, previous_seats=share.previous, seats=share.seats))
        AllocationShare.objects.bulk_create(shares)
        audit_record(action=Audit.QUOTA_ALLOCATE, actor=actor, ip=ip, scope_path=division.path,
                     object_type="allocation", object_id=row.pk,
                     detail={"division": division.code, "year": year, "version": version, "total": result.total,
                             "method": result.method, "basis": row.basis,
                             "supersedes": current.pk if current else None,
                             "seats": {s.key: s.seats for s in result.shares}})
    return row


def _dec(value, places: int) -> Decimal:
    quantum = Decimal(1).scaleb(-places)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(quantum)
