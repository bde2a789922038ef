"""/api/v1/ operations for quotas: selection. Priority rule sets (list, one, publish a new
version), a high-end project's ranked nomination lists (build, list), one list with its picks
(paged) and overrides, drop / add with a reason, submit. Each route resolves the caller's scope
and calls one selector or service; the services ask the access policy. Bad input: 422 with errors."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from ninja import Field, Router, Schema

from accounts.decorators import division_admin_scope
from core.requests import client_ip
from quotas import selection, selection_selectors
from quotas.selection_models import PickRole

router = Router(tags=["高端培训名额"])
PAGE_SIZE = 100


def _scope(user):
    return division_admin_scope(user, "只有县级及以上管理员可以使用高端培训推荐名单")


class RuleIn(Schema):
    kind: str = Field(..., description="never_trained | rural | honour_pipeline | years_since")
    points: Any = Field(..., description="分值（years_since：每年分值）")
    params: dict = Field(default_factory=dict, description="never_trained: within_years；years_since: cap")


class RuleSetIn(Schema):
    rules: list[RuleIn]
    note: str = ""


class RuleOut(Schema):
    position: int
    kind: str
    kind_label: str
    points: int
    params: dict


class RuleSetOut(Schema):
    id: int
    division_code: str
    division_name: str
    version: int
    note: str
    created_at: dt.datetime
    rules: list[RuleOut]


class BuildIn(Schema):
    seats: int | None = Field(None, description="入选名额（默认：上级分配给本单位的该级该年度名额中尚余的人数，"
                                                  "不超过项目剩余名额；无分配时为项目剩余名额）；不能超过分配的名额")
    reserve: int | None = Field(None, description="候补人数（默认与入选名额相同）")


class ListOut(Schema):
    id: int
    project_id: int
    project_title: str
    division_code: str
    division_name: str
    rule_set_id: int
    rule_set_version: int
    seats: int
    reserve: int
    eligible_count: int
    state: str
    built_by: str | None
    built_at: dt.datetime
    submitted_at: dt.datetime | None


class PickOut(Schema):
    id: int
    teacher_id: int
    name: str
    school: str
    rank: int | None
    points: int
    explanation: str
    role: str
    added: bool
    outcome: str
    outcome_label: str
    outcome_reasons: list[str]


class OverrideOut(Schema):
    kind: str
    teacher_id: int
    name: str
    reason: str
    moved_teacher_id: int | None
    actor: str | None
    created_at: dt.datetime


class ListDetailOut(ListOut):
    page: int
    pages: int
    picks: list[PickOut]
    overrides: list[OverrideOut]


class DropIn(Schema):
    pick_id: int
    reason: str = ""


class AddIn(Schema):
    teacher_id: int
    reason: str = ""


class SelectionSeatsOut(Schema):
    project_id: int
    year: int = Field(..., description="项目开始的年度（与名额分配的年度对应）")
    level: str
    allocated: int | None = Field(..., description="上级分配给本单位的该级该年度名额；null：没有分配")
    already_on_list: int = Field(..., description="本单位教师已在项目名单上的人数")
    remaining: int | None = Field(..., description="尚可推荐的人数（分配名额减已在名单上的）；null：没有分配")
    free: int = Field(..., description="项目剩余名额")
    default: int = Field(..., description="生成名单时的默认入选名额")
    allocation_id: int | None
    allocator: str
    text: str


class SelectionCandidateOut(Schema):
    teacher_id: int
    name: str
    school: str
    points: int
    explanation: str
    role: str = Field(..., description="名单中的状态：空（未列入）、selected、reserve、dropped")
    rank: int | None


class SelectionCandidatesOut(Schema):
    items: list[SelectionCandidateOut]
    more: bool = Field(..., description="是否还有更多（只返回积分最高的前20人）")


def _rule_set(row) -> RuleSetOut:
    return RuleSetOut(id=row.pk, division_code=row.division.code, division_name=row.division.name, version=row.version,
                      note=row.note, created_at=row.created_at,
                      rules=[RuleOut(position=r.position, kind=r.kind, kind_label=r.get_kind_display(), points=r.points,
                                     params=r.params) for r in row.rules.all()])


def _list(row) -> ListOut:
    return ListOut(id=row.pk, project_id=row.project_id, project_title=row.project.title,
                   division_code=row.division.code, division_name=row.division.name, rule_set_id=row.rule_set_id,
                   rule_set_version=row.rule_set.version, seats=row.seats, reserve=row.reserve,
                   eligible_count=row.eligible_count, state=row.state,
                   built_by=row.built_by.username if row.built_by else None, built_at=row.built_at,
                   submitted_at=row.submitted_at)


def _detail(scope, list_id: int, page: int = 1, role: str = "") -> ListDetailOut:
    row = selection_selectors.list_get(scope, list_id)
    picks = selection_selectors.picks(row, role=role if role in PickRole.values else "")
    total = picks.count()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    items = [PickOut(id=p.pk, teacher_id=p.teacher_id, name=p.teacher.name, school=p.teacher.school.name, rank=p.rank,
                     points=p.points, explanation=p.explanation, role=p.role, added=p.added, outcome=p.outcome,
                     outcome_label=selection.OUTCOME_LABELS.get(p.outcome, ""), outcome_reasons=p.outcome_reasons)
             for p in picks[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]]
    overrides = [OverrideOut(kind=o.kind, teacher_id=o.pick.teacher_id, name=o.pick.teacher.name, reason=o.reason,
                             moved_teacher_id=o.moved.teacher_id if o.moved else None,
                             actor=o.actor.username if o.actor else None, created_at=o.created_at)
                 for o in selection_selectors.overrides(row)]
    return ListDetailOut(**_list(row).dict(), page=page, pages=pages, picks=items, overrides=overrides)


@router.get("/selection/rule-sets", response=list[RuleSetOut], summary="推荐优先规则（本级及上级、下级各版本）")
def rule_set_list(request):
    return [_rule_set(row) for row in selection_selectors.rule_sets(_scope(request.auth))[:500]]


@router.get("/selection/rule-sets/{int:rule_set_id}", response=RuleSetOut, summary="一个版本的推荐优先规则")
def rule_set_get(request, rule_set_id: int):
    return _rule_set(selection_selectors.rule_set_get(_scope(request.auth), rule_set_id))


@router.post("/selection/rule-sets", response={201: RuleSetOut}, summary="发布本级推荐优先规则（新版本）")
def rule_set_publish(request, payload: RuleSetIn):
    row = selection.rule_set_publish(scope=_scope(request.auth), actor=request.auth, ip=client_ip(request),
                                     rules=[r.dict() for r in payload.rules], note=payload.note)
    return 201, _rule_set(selection_selectors.rule_set_get(_scope(request.auth), row.pk))


@router.get("/projects/{int:project_id}/nomination-lists", response=list[ListOut],
            summary="高端培训项目的推荐名单（本辖区）")
def list_for_project(request, project_id: int):
    scope = _scope(request.auth)
    project = selection.project_for_selection(scope, project_id)
    return [_list(row) for row in selection_selectors.lists(scope, project_id=project.pk)[:200]]


@router.get("/projects/{int:project_id}/nomination-seats", response=SelectionSeatsOut,
            summary="本单位可为该高端培训项目推荐的名额及其来源（上级分配）")
def seats_get(request, project_id: int):
    scope = _scope(request.auth)
    project = selection.project_for_selection(scope, project_id)
    source = selection.seats_for(scope, project)
    return SelectionSeatsOut(project_id=project.pk, year=source.year, level=project.level, allocated=source.allocated,
                             already_on_list=source.used, remaining=source.remaining, free=source.free,
                             default=source.default, allocation_id=source.allocation_id, allocator=source.allocator,
                             text=source.text)


@router.post("/projects/{int:project_id}/nomination-lists", response={201: ListDetailOut},
             summary="按优先规则生成推荐名单")
def list_build(request, project_id: int, payload: BuildIn):
    scope = _scope(request.auth)
    row = selection.nomination_list_build(scope=scope, actor=request.auth, project_id=project_id, seats=payload.seats,
                                          reserve=payload.reserve, ip=client_ip(request))
    return 201, _detail(scope, row.pk)


@router.get("/nomination-lists/{int:list_id}", response=ListDetailOut, summary="推荐名单（分页，每页100人）")
def list_get(request, list_id: int, page: int = 1, role: str = ""):
    return _detail(_scope(request.auth), list_id, page, role)


@router.get("/nomination-lists/{int:list_id}/candidates", response=SelectionCandidatesOut,
            summary="按姓名（开头）或教师编号查找可增补的本辖区教师（最多20人，不含身份证号）")
def list_candidates(request, list_id: int, q: str = ""):
    found, more = selection.nomination_candidates(scope=_scope(request.auth), list_id=list_id, q=q)
    return SelectionCandidatesOut(items=[SelectionCandidateOut(**asdict(c)) for c in found], more=more)


@router.post("/nomination-lists/{int:list_id}/drop", response=ListDetailOut, summary="调出入选教师（须填写理由）")
def list_drop(request, list_id: int, payload: DropIn):
    scope = _scope(request.auth)
    selection.nomination_pick_drop(scope=scope, actor=request.auth, list_id=list_id, pick_id=payload.pick_id,
                                   reason=payload.reason, ip=client_ip(request))
    return _detail(scope, list_id)


@router.post("/nomination-lists/{int:list_id}/add", response=ListDetailOut, summary="增补教师（须填写理由）")
def list_add(request, list_id: int, payload: AddIn):
    scope = _scope(request.auth)
    selection.nomination_pick_add(scope=scope, actor=request.auth, list_id=list_id, teacher_id=payload.teacher_id,
                                  reason=payload.reason, ip=client_ip(request))
    return _detail(scope, list_id)


@router.post("/nomination-lists/{int:list_id}/submit", response=ListDetailOut,
             summary="提交推荐：入选教师逐一推荐报名，结果记录在名单上")
def list_submit(request, list_id: int):
    scope = _scope(request.auth)
    selection.nomination_list_submit(scope=scope, actor=request.auth, list_id=list_id, ip=client_ip(request))
    return _detail(scope, list_id, role=PickRole.SELECTED)
