"""Annual plan API: list, create, read with overlaps, add/remove projects, check, submit, decide.
Plans outside the caller's jurisdiction are 404; steps the caller may not take are 403."""

import datetime as dt

from django.http import Http404
from ninja import Field, Path, Query, Router, Schema

from access.scope import scope_for_user
from catalog.plan_selectors import plan_get, plan_queryset, plan_view, plans_to_review
from catalog.plans import (
    plan_check_by,
    plan_create,
    plan_decide,
    plan_project_remove,
    plan_projects_add,
    plan_submit,
)
from core.requests import client_ip

router = Router(tags=["年度培训计划"])


class PlanOut(Schema):
    id: int
    year: int
    level: str
    division: str
    school: str | None
    state: str
    projects: int
    note: str
    review_note: str
    submitted_at: dt.datetime | None
    decided_at: dt.datetime | None
    checked_at: dt.datetime | None


class ConflictOut(Schema):
    project_id: int
    other_id: int
    other_title: str
    other_organiser: str
    other_level: str
    other_starts_on: dt.date
    other_ends_on: dt.date
    score: float
    text_similarity: float
    reasons: list[str]


class PlanDetailOut(PlanOut):
    project_ids: list[int]
    positioning_problems: list[str]
    warnings: list[str]
    conflicts: list[ConflictOut]


class PlanFilters(Schema):
    year: int | None = Field(None, ge=2000, le=2100)
    state: str = Field("", max_length=10)
    to_review: bool = False


class PlanIn(Schema):
    year: int = Field(..., ge=2000, le=2100)
    note: str = Field("", max_length=5000)


class ProjectIdsIn(Schema):
    project_ids: list[int] = Field(..., min_length=1, max_length=2000)


class DecisionIn(Schema):
    approve: bool
    note: str = Field("", max_length=5000)
    acknowledge_conflicts: bool = False


def _out(plan, projects: int | None = None) -> PlanOut:
    count = projects if projects is not None else getattr(plan, "project_count", None)
    return PlanOut(id=plan.pk, year=plan.year, level=plan.level, division=plan.division.name,
                   school=plan.school.name if plan.school_id else None, state=plan.state,
                   projects=count if count is not None else plan.projects.count(), note=plan.note,
                   review_note=plan.review_note, submitted_at=plan.submitted_at, decided_at=plan.decided_at,
                   checked_at=plan.checked_at)


def _plan(request, plan_id: int):
    plan = plan_get(scope=scope_for_user(request.auth), plan_id=plan_id)
    if plan is None:
        raise Http404
    return plan


def _detail(request, plan) -> PlanDetailOut:
    view = plan_view(scope=scope_for_user(request.auth), plan=plan)
    return PlanDetailOut(
        **_out(plan, len(view.projects)).dict(), project_ids=[p.pk for p in view.projects],
        positioning_problems=view.problems, warnings=view.warnings,
        conflicts=[ConflictOut(project_id=c.project_id, other_id=c.other_id, other_title=c.other.title,
                               other_organiser=(c.other.organiser_school or c.other.organiser).name,
                               other_level=c.other.level, other_starts_on=c.other.starts_on,
                               other_ends_on=c.other.ends_on, score=c.score, text_similarity=c.text_similarity,
                               reasons=c.reasons) for c in view.conflicts])


@router.get("/plans", response=list[PlanOut], summary="年度培训计划（本辖区；to_review=true 为待我审核）")
def plan_list(request, filters: Query[PlanFilters]):
    if filters.to_review:
        return [_out(p) for p in plans_to_review(scope=scope_for_user(request.auth))]
    plans = plan_queryset(scope=scope_for_user(request.auth), year=filters.year, state=filters.state)
    return [_out(p) for p in plans[:500]]


@router.post("/plans", response={201: PlanOut}, summary="建立本单位年度计划")
def plan_new(request, payload: PlanIn):
    plan = plan_create(scope=scope_for_user(request.auth), actor=request.auth, year=payload.year, note=payload.note)
    return 201, _out(plan)


@router.get("/plans/{plan_id}", response=PlanDetailOut, summary="计划详情：项目、定位问题、提示、疑似重复")
def plan_read(request, plan_id: int = Path(..., ge=1, le=2**62)):
    return _detail(request, _plan(request, plan_id))


@router.post("/plans/{plan_id}/projects", response=PlanDetailOut, summary="纳入本单位计划外项目")
def plan_add(request, payload: ProjectIdsIn, plan_id: int = Path(..., ge=1, le=2**62)):
    plan = _plan(request, plan_id)
    plan_projects_add(scope=scope_for_user(request.auth), plan_id=plan.pk, project_ids=payload.project_ids)
    return _detail(request, plan)


@router.delete("/plans/{plan_id}/projects/{project_id}", response=PlanDetailOut, summary="移出计划")
def plan_remove(request, plan_id: int = Path(..., ge=1, le=2**62), project_id: int = Path(..., ge=1, le=2**62)):
    plan = _plan(request, plan_id)
    plan_project_remove(scope=scope_for_user(request.auth), plan_id=plan.pk, project_id=project_id)
    return _detail(request, plan)


@router.post("/plans/{plan_id}/check", response=PlanDetailOut, summary="检查重叠项目")
def plan_check(request, plan_id: int = Path(..., ge=1, le=2**62)):
    plan = _plan(request, plan_id)
    plan_check_by(scope=scope_for_user(request.auth), plan_id=plan.pk)
    plan.refresh_from_db()
    return _detail(request, plan)


@router.post("/plans/{plan_id}/submit", response=PlanDetailOut, summary="报送上级审核")
def plan_submit_route(request, plan_id: int = Path(..., ge=1, le=2**62)):
    plan = plan_submit(scope=scope_for_user(request.auth), actor=request.auth, plan_id=_plan(request, plan_id).pk,
                       ip=client_ip(request))
    return _detail(request, plan)


@router.post("/plans/{plan_id}/decision", response=PlanDetailOut, summary="上级审核：批准或退回")
def plan_decision(request, payload: DecisionIn, plan_id: int = Path(..., ge=1, le=2**62)):
    plan = plan_decide(scope=scope_for_user(request.auth), actor=request.auth, plan_id=_plan(request, plan_id).pk,
                       approve=payload.approve,
                       note=payload.note, acknowledge_conflicts=payload.acknowledge_conflicts, ip=client_ip(request))
    return _detail(request, plan)
