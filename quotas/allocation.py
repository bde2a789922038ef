"""The arithmetic of seat allocation, pure (no Django): the largest-remainder (Hamilton) method
and the monotone top-up that re-allocates a larger total without taking a seat from anyone.

Every quota is an exact fraction (`fractions.Fraction`), so ties and remainders are decided
exactly, never by float rounding. Ties of equal remainders go to the larger weight, then to the
earlier key (the children's codes), so the result is deterministic.

Plain Hamilton suffers the Alabama paradox: a child can lose a seat when the total grows
(`hamilton(10, …)` may give a child more than `hamilton(11, …)`). A published share must never go
down, so a larger total for the same division and year is handed out by `top_up`: each child keeps
its previous seats, is raised to its lower quota, and the seats still left go by largest remainder
to the children below their upper quota (Balinski–Young's quota condition). The result is within
quota (every child has the floor or the ceiling of its exact quota) whenever the previous seats
were themselves within the upper quota of the new total, which holds when the weights did not
change (an earlier Hamilton or top-up allocation); otherwise seats keep priority over quota and
`within_quota` says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction


class AllocationError(ValueError):
    """Input the arithmetic refuses; the message is Chinese, for the page and the API."""


@dataclass(frozen=True)
class Share:
    key: str
    weight: int
    exact: Fraction  # total × weight / Σ weights
    floor: int
    remainder: Fraction  # exact − floor
    rank: int | None  # 1 = largest remainder among those who could take an extra seat; None: none to take
    extra: int  # the largest-remainder seat (0 or 1 over the floor, or the top-up's seats above the floor)
    seats: int
    previous: int | None = None  # seats in the allocation this one tops up


@dataclass(frozen=True)
class Result:
    total: int
    shares: tuple[Share, ...]
    method: str  # "hamilton" or "top_up"
    within_quota: bool

    @property
    def seats(self) -> dict[str, int]:
        return {share.key: share.seats for share in self.shares}


def _check(total: int, weights: Sequence[int]) -> None:
    if isinstance(total, bool) or not isinstance(total, int):
        raise AllocationError("名额总数应为整数")
    if total <= 0:
        raise AllocationError("名额总数应为正整数")
    if not weights:
        raise AllocationError("没有可分配的下级单位")
    if any(isinstance(w, bool) or not isinstance(w, int) for w in weights):
        raise AllocationError("权重应为整数")
    if any(w < 0 for w in weights):
        raise AllocationError("权重不能为负数")
    if sum(weights) <= 0:
        raise AllocationError("权重之和应大于零（至少一个下级单位的权重为正）")


def exact_quotas(total: int, weights: Sequence[int]) -> list[Fraction]:
    whole = sum(weights)
    return [Fraction(total * w, whole) for w in weights]


def _order(candidates: list[int], remainders: list[Fraction], weights: Sequence[int]) -> list[int]:
    return sorted(candidates, key=lambda i: (-remainders[i], -weights[i], i))


def hamilton(total: int, weights: Sequence[int]) -> list[int]:
    """Seats per weight by the largest-remainder method; sums to `total` exactly."""
    _check(total, weights)
    quotas = exact_quotas(total, weights)
    seats = [math.floor(q) for q in quotas]
    left = total - sum(seats)
    remainders = [q - s for q, s in zip(quotas, seats, strict=True)]
    for i in _order(list(range(len(weights))), remainders, weights)[:left]:
        seats[i] += 1
    return seats


def top_up(total: int, weights: Sequence[int], previous: Sequence[int]) -> tuple[list[int], bool]:
    """Seats for a larger `total` keeping every `previous` share: (seats, within quota).

    Each child gets max(previous, floor of its quota); the seats left go, one each, by largest
    remainder to the children still below the ceiling of their quota; if seats are still left
    (previous seats above a quota: the weights changed), they go by largest remainder to anyone."""
    _check(total, weights)
    if len(previous) != len(weights):
        raise AllocationError("原分配的下级单位与本次不一致")
    if any(p < 0 for p in previous):
        raise AllocationError("原分配名额不能为负数")
    if total < sum(previous):
        raise AllocationError(f"追加分配的名额总数（{total}）不能少于已公布的名额（{sum(previous)}）")
    quotas = exact_quotas(total, weights)
    seats = [max(p, math.floor(q)) for p, q in zip(previous, quotas, strict=True)]
    within = all(p <= math.ceil(q) for p, q in zip(previous, quotas, strict=True)) and sum(seats) <= total
    if sum(seats) > total:  # the floors cannot all be met without taking seats back: keep the seats
        seats = list(previous)
    while sum(seats) < total:
        remainders = [q - s for q, s in zip(quotas, seats, strict=True)]
        below = [i for i in range(len(weights)) if seats[i] < math.ceil(quotas[i])]
        pool = below or list(range(len(weights)))
        left = total - sum(seats)
        chosen = _order(pool, remainders, weights)[:left]
        for i in chosen:
            seats[i] += 1
    within = within and all(math.floor(q) <= s <= math.ceil(q) for s, q in zip(seats, quotas, strict=True))
    return seats, within


def allocate(total: int, weights: Mapping[str, int], previous: Mapping[str, int] | None = None) -> Result:
    """The table the page shows: per child its weight, exact quota, floor, remainder and its
    rank, the extra seat and the final seats. With `previous` (the same children), a top-up."""
    keys = list(weights)
    values = [weights[k] for k in keys]
    if previous is not None and set(previous) != set(keys):
        raise AllocationError("原分配的下级单位与本次不一致，不能追加分配")
    if previous is None:
        seats, within, method = hamilton(total, values), True, "hamilton"
    else:
        seats, within = top_up(total, values, [previous[k] for k in keys])
        method = "top_up"
    quotas = exact_quotas(total, values)
    floors = [math.floor(q) for q in quotas]
    remainders = [q - f for q, f in zip(quotas, floors, strict=True)]
    ranked = _order([i for i in range(len(keys)) if remainders[i] > 0], remainders, values)
    rank = {i: n + 1 for n, i in enumerate(ranked)}
    shares = tuple(
        Share(key=k, weight=values[i], exact=quotas[i], floor=floors[i], remainder=remainders[i], rank=rank.get(i),
              extra=seats[i] - floors[i], seats=seats[i], previous=None if previous is None else previous[k])
        for i, k in enumerate(keys))
    return Result(total=total, shares=shares, method=method, within_quota=within)
