"""Reads for the selection of nominees: rule sets, the high-end projects a division may rank for,
the seats a division may nominate for one (its allocated share), its lists, their picks and
overrides. Every read goes through the access policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from access.policy import Action, fetch, visible
from access.rules import ancestor_paths
from access.scope import Scope
from catalog.constants import Level, ProjectState
from catalog.models import Enrolment, Project
from catalog.nominations import ON_THE_LIST
from org.models import Division
from people.models import Teacher
from quotas.selection_models import (
    NominationList,
    NominationOverride,
    NominationPick,
    PriorityRuleSet,
)
from quotas.target_models import AllocationShare


def rule_sets(scope: Scope) -> QuerySet[PriorityRuleSet]:
    return (visible(scope, PriorityRuleSet).select_related("division", "created_by")
            .prefetch_related("rules").order_by("division_path", "-version"))


def rule_set_get(scope: Scope, rule_set_id: int) -> PriorityRuleSet:
    return fetch(scope, PriorityRuleSet, rule_set_id, select_related=("division", "created_by"))


def selection_projects(scope: Scope) -> QuerySet[Project]:
    """High-end projects, open or in draft, the viewer may rank their teachers for (the access
    policy's `select_nominees`: organised by their division or one above it)."""
    return (visible(scope, Project, Action.SELECT_NOMINEES)
            .filter(is_high_end=True, state__in=[ProjectState.DRAFT, ProjectState.OPEN])
            .select_related("organiser").order_by("-starts_on", "code"))


# --- seats: the share allocated down the hierarchy -------------------------------------------

LEVEL_LABELS: dict[str, str] = dict(Level.choices)  # 省级, 市级, 县级, 校级
SELF_LABELS: dict[str, str] = {"province": "本省", "city": "本市", "county": "本县"}


@dataclass(frozen=True)
class SeatSource:
    """Where a list's number of seats comes from.

    `allocated` is the share the nominating division received for the project's level and year
    (None: no allocation matches); `used` its teachers already on the project's list (pending,
    admitted, waiting or completed); `free` the project's free seats. The default number of seats
    is what is left of the share, capped by the free seats; without an allocation, the free seats."""

    division_label: str
    level_label: str
    year: int
    free: int
    allocated: int | None = None
    used: int = 0
    allocation_id: int | None = None
    allocation_version: int | None = None
    allocator: str = ""
    organiser: bool = False

    @property
    def remaining(self) -> int | None:
        return None if self.allocated is None else max(0, self.allocated - self.used)

    @property
    def default(self) -> int:
        return self.free if self.remaining is None else min(self.remaining, self.free)

    @property
    def share_text(self) -> str:
        """"上级分配给本县 2026 年市级名额 12 人", or why there is no share."""
        if self.allocated is None:
            if self.organiser:
                return f"本项目由{self.division_label}组织，没有上级分配的名额"
            return f"上级未向{self.division_label}分配 {self.year} 年{self.level_label}名额"
        return f"上级分配给{self.division_label} {self.year} 年{self.level_label}名额 {self.allocated} 人"

    @property
    def text(self) -> str:
        """The whole explanation the build form shows."""
        if self.allocated is None:
            return f"{self.share_text}，入选名额默认为项目剩余名额 {self.free} 人"
        parts = [f"{self.share_text}（{self.allocator}第{self.allocation_version}版分配）"]
        if self.used:
            parts.append(f"{self.division_label}教师已在项目名单上 {self.used} 人，尚余 {self.remaining} 人")
        parts.append(f"项目剩余名额 {self.free} 人，入选名额默认为 {self.default} 人，不能超过 {self.remaining} 人")
        return "；".join(parts)


def seats_allocated(scope: Scope, project: Project, division: Division) -> SeatSource:
    """The seats `division` may nominate for `project` (one query, two with an allocation).

    Matching: the current allocation (`Allocation.is_current`) whose level is the project's level
    and whose year is the year the project starts (a project belongs to the annual plan of that
    year), made by a division strictly above the nominating one and at or below the project's
    organiser (the city for its counties, the province for its cities and 省直管县), and in it the
    share whose child is the nominating division itself (`AllocationShare.child_path`, not a
    school's share). The organiser ranking its own teachers has no share from above."""
    year = project.starts_on.year
    source: dict[str, Any] = {"division_label": SELF_LABELS.get(division.level, "本单位"),
              "level_label": LEVEL_LABELS.get(project.level, ""), "year": year, "free": project.seats_left}
    if division.path == project.division_path:
        return SeatSource(**source, organiser=True)
    allocators = [path for path in ancestor_paths(division.path)[:-1] if path.startswith(project.division_path)]
    share = (visible(scope, AllocationShare)
             .filter(child_path=division.path, child_school__isnull=True, allocation__is_current=True,
                     allocation__level=project.level, allocation__year=year,
                     allocation__division_path__in=allocators)
             .select_related("allocation__division").order_by("-allocation__division_path").first())
    if share is None:
        return SeatSource(**source)
    used = (visible(scope, Enrolment).filter(project_id=project.pk, state__in=ON_THE_LIST,
                                             teacher__in=visible(scope, Teacher, Action.NOMINATE)).count())
    return SeatSource(**source, allocated=share.seats, used=used, allocation_id=share.allocation_id,
                      allocation_version=share.allocation.version, allocator=share.allocation.division.name)


def lists(scope: Scope, *, project_id: int | None = None) -> QuerySet[NominationList]:
    rows = visible(scope, NominationList).select_related("project", "division", "rule_set__division", "built_by")
    if project_id is not None:
        rows = rows.filter(project_id=project_id)
    return rows.order_by("-built_at", "-id")


def list_get(scope: Scope, list_id: int) -> NominationList:
    return fetch(scope, NominationList, list_id,
                 select_related=("project", "division", "rule_set__division", "built_by", "submitted_by"))


def picks(nomination_list: NominationList, *, role: str = "") -> QuerySet[NominationPick]:
    """The list's picks (reached from a list fetched through the policy), selected first, then the
    reserve in rank order, then the dropped."""
    from django.db.models import Case, F, IntegerField, Value, When

    rows = nomination_list.picks.select_related("teacher__school")
    if role:
        rows = rows.filter(role=role)
    order = Case(When(role="selected", then=Value(0)), When(role="reserve", then=Value(1)), default=Value(2),
                 output_field=IntegerField())
    return rows.annotate(role_order=order).order_by("role_order", F("rank").asc(nulls_last=True), "id")


def overrides(nomination_list: NominationList) -> QuerySet[NominationOverride]:
    return nomination_list.overrides.select_related("pick__teacher", "moved__teacher", "actor").order_by("created_at",
                                                                                                         "id")
