"""/api/v1/ operations for evaluation: performance. The province's weights (versions; a new
version on every change), a year's ranking (compute; read by level and category), a project's
score card, and elimination cases (list, appeal, decide). Each route resolves the caller's scope
and calls one selector or service; the services ask the access policy."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.core.exceptions import PermissionDenied
from ninja import Field, Query, Router, Schema

from access.scope import scope_for_user
from accounts.models import ADMIN_ROLES, Role
from core.requests import client_ip
from evaluation import performance, performance_selectors
from evaluation.constants import CaseState

router = Router(tags=["培训评价"])
ROLES = ADMIN_ROLES | {Role.INSTITUTION_STAFF}


def _scope(user):
    if user.role not in ROLES:
        raise PermissionDenied("只有管理员和培训机构人员可以查看绩效评价")
    return scope_for_user(user)


class WeightsIn(Schema):
    year: int
    supervision: Decimal = Field(..., description="专家过程视导评价权重（0–1，最多三位小数）")
    rating: Decimal = Field(..., description="学员网络匿名评价权重")
    outcome: Decimal = Field(..., description="培训成果质量评价权重")
    stakeholder: Decimal = Field(..., description="相关利益群体评价权重")
    bottom_share: Decimal = Field(..., description="末位淘汰比例（大于0且不超过0.5）")
    min_group: int = Field(5, description="组内少于该项目数时只排名不淘汰")
    note: str = ""


class WeightsOut(Schema):
    id: int
    year: int
    version: int
    supervision: Decimal
    rating: Decimal
    outcome: Decimal
    stakeholder: Decimal
    bottom_share: Decimal
    min_group: int
    note: str
    created_at: dt.datetime


class ComputeOut(Schema):
    year: int
    weights_version: int
    projects: int
    ranked: int
    groups: int
    flagged: int
    appeal_until: dt.date


class ScoreOut(Schema):
    id: int
    project_id: int
    project_code: str
    project_title: str
    institution: str | None
    year: int
    level: str
    category: str
    supervision: float | None
    rating: float | None
    outcome: float | None
    stakeholder: float | None
    composite: float
    normalised: float
    rank: int
    group_size: int
    flagged: bool
    weights_version: int
    case_id: int | None
    case_state: str | None


class ScoreCardOut(ScoreOut):
    weights: WeightsOut


class CaseOut(Schema):
    id: int
    state: str
    state_label: str
    score: ScoreOut
    appeal_until: dt.date
    appeal_text: str
    appealed_at: dt.datetime | None
    decided_at: dt.datetime | None
    decision_note: str
    sanction: str


class AppealIn(Schema):
    reason: str


class DecideIn(Schema):
    decision: Literal["confirm", "overturn"]
    note: str


def _weights(row) -> WeightsOut:
    return WeightsOut(id=row.pk, year=row.year, version=row.version, supervision=row.supervision, rating=row.rating,
                      outcome=row.outcome, stakeholder=row.stakeholder, bottom_share=row.bottom_share,
                      min_group=row.min_group, note=row.note, created_at=row.created_at)


def _score(row) -> ScoreOut:
    case = getattr(row, "case", None) if hasattr(row, "case") else None
    return ScoreOut(id=row.pk, project_id=row.project_id, project_code=row.project.code,
                    project_title=row.project.title, institution=row.institution.name if row.institution else None,
                    year=row.year, level=row.level, category=row.category, supervision=row.supervision,
                    rating=row.rating, outcome=row.outcome, stakeholder=row.stakeholder, composite=row.composite,
                    normalised=row.normalised, rank=row.rank, group_size=row.group_size, flagged=row.flagged,
                    weights_version=row.weights.version, case_id=case.pk if case else None,
                    case_state=case.state if case else None)


def _case(row) -> CaseOut:
    return CaseOut(id=row.pk, state=row.state, state_label=CaseState(row.state).label, score=_score(row.score),
                   appeal_until=performance.appeal_deadline(row), appeal_text=row.appeal_text,
                   appealed_at=row.appealed_at, decided_at=row.decided_at, decision_note=row.decision_note,
                   sanction=row.sanction)


@router.get("/evaluation/weights", response=list[WeightsOut], summary="绩效评价权重（各年度各版本）")
def weights_list(request, year: int | None = None):
    return [_weights(row) for row in performance_selectors.weights_versions(_scope(request.auth), year)]


@router.post("/evaluation/weights", response={201: WeightsOut}, summary="设置年度权重（省级；新增一个版本）")
def weights_set(request, payload: WeightsIn):
    row = performance.weights_set(scope=_scope(request.auth), actor=request.auth, ip=client_ip(request),
                                  **payload.dict())
    return 201, _weights(row)


@router.post("/evaluation/rankings/{int:year}/compute", response=ComputeOut, summary="计算年度绩效排名（省级）")
def ranking_compute(request, year: int):
    return performance.ranking_compute(scope=_scope(request.auth), actor=request.auth, year=year,
                                       ip=client_ip(request))


@router.get("/evaluation/rankings", response=list[ScoreOut], summary="年度绩效排名（按层级、类别）")
def ranking_list(request, year: int = Query(...), level: str = "", category: str = ""):
    rows = performance_selectors.ranking(_scope(request.auth), year=year, level=level, category=category)
    return [_score(row) for row in rows]


@router.get("/projects/{int:project_id}/score", response=ScoreCardOut, summary="项目绩效得分（四个来源、权重、综合、排名）")
def project_score(request, project_id: int, year: int | None = None):
    row = performance_selectors.project_score(_scope(request.auth), project_id, year)
    return ScoreCardOut(**_score(row).dict(), weights=_weights(row.weights))


@router.get("/elimination-cases", response=list[CaseOut], summary="末位淘汰案件")
def case_list(request, state: str = "", year: int | None = None):
    return [_case(row) for row in performance_selectors.cases(_scope(request.auth), state=state, year=year)]


@router.post("/elimination-cases/{int:case_id}/appeal", response=CaseOut, summary="申诉（实施机构或主办单位）")
def case_appeal(request, case_id: int, payload: AppealIn):
    scope = _scope(request.auth)
    performance.case_appeal(scope=scope, actor=request.auth, case_id=case_id, reason=payload.reason,
                            ip=client_ip(request))
    return _case(performance_selectors.case_get(scope, case_id))


@router.post("/elimination-cases/{int:case_id}/decide", response=CaseOut, summary="处理申诉（省级，非申诉人）")
def case_decide(request, case_id: int, payload: DecideIn):
    scope = _scope(request.auth)
    performance.case_decide(scope=scope, actor=request.auth, case_id=case_id, decision=payload.decision,
                            note=payload.note, ip=client_ip(request))
    return _case(performance_selectors.case_get(scope, case_id))
