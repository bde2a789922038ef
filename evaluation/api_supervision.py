"""/api/v1/ operations for evaluation: supervision visits, outcome reviews, stakeholder ratings, a
project's supervisors, an expert's own supervisions, and rubrics. Each route resolves the caller's
scope and calls one selector or service; the services ask the access policy. Refusals are JSON:
404 / 403 / 422 with the Chinese message per field (config.api)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from ninja import Field, File, Router, Schema, UploadedFile

from access.scope import scope_for_user
from accounts.decorators import DIVISION_ADMIN_ROLES
from core.requests import client_ip
from evaluation import rubrics, supervision
from evaluation import supervision_selectors as selectors
from evaluation.supervision_views import EVALUATION_ROLES

router = Router(tags=["培训评价"])


def _scope(user, roles=EVALUATION_ROLES, refusal: str = "当前角色不参与过程评价"):
    if user.role not in roles:
        raise PermissionDenied(refusal)
    return scope_for_user(user)


def _rubric_scope(user):
    return _scope(user, DIVISION_ADMIN_ROLES, "只有县级及以上管理员可以管理评分量规")


# --- schemas --------------------------------------------------------------------------------------

class CriterionIn(Schema):
    code: str = Field(..., max_length=20)
    label: str = Field(..., max_length=100)
    max: int = Field(..., ge=1, le=rubrics.CRITERION_MAX_POINTS)


class Criterion(Schema):
    code: str
    label: str
    max: int


class RubricOut(Schema):
    id: int
    code: str
    version: int
    kind: str = Field(..., description="visit / outcome / stakeholder")
    title: str
    state: str = Field(..., description="draft / published / retired")
    division: str = Field(..., description="所属单位的区划代码")
    criteria: list[Criterion]
    max_total: int


class RubricIn(Schema):
    kind: str = Field(..., max_length=12, description="visit / outcome / stakeholder")
    code: str = Field(..., max_length=40)
    title: str = Field(..., max_length=200)
    criteria: list[CriterionIn] = Field(..., max_length=rubrics.CRITERIA_MAX)
    division_id: int | None = Field(None, ge=1, le=2**62, description="所属单位（默认本单位）")


class RubricPatch(Schema):
    title: str | None = Field(None, max_length=200)
    criteria: list[CriterionIn] | None = Field(None, max_length=rubrics.CRITERIA_MAX)


class ScoreLine(Schema):
    code: str
    label: str
    max: int
    score: int | None


class RecordOut(Schema):
    id: int
    project_id: int
    rubric_id: int
    rubric: str
    scores: list[ScoreLine]
    total: Decimal = Field(..., description="百分制：各项得分之和 ÷ 满分之和 × 100，一位小数")
    note: str
    author: str
    created_at: dt.datetime
    editable_until: dt.datetime


class VisitOut(RecordOut):
    visited_on: dt.date


class OutcomeReviewOut(RecordOut):
    title: str
    kind: str
    file_name: str = Field("", description="成果文件名（空：未上传）")


class StakeholderRatingOut(RecordOut):
    unit_kind: str
    unit_label: str


class RecordListOut(Schema):
    mean: Decimal | None = Field(None, description="可见记录的平均分；只对项目的主管部门与实施机构给出")
    count: int


class VisitListOut(RecordListOut):
    items: list[VisitOut]


class OutcomeReviewListOut(RecordListOut):
    items: list[OutcomeReviewOut]


class StakeholderRatingListOut(RecordListOut):
    items: list[StakeholderRatingOut]


class ScoredIn(Schema):
    rubric_id: int | None = Field(None, ge=1, le=2**62, description="已发布的评分量规（没有量规不能评分）")
    scores: dict[str, int] = Field(..., description="评分细则编号 → 得分（0 至该项满分的整数）")
    note: str = Field("", max_length=supervision.NOTE_MAX)


class VisitIn(ScoredIn):
    visited_on: dt.date


class OutcomeReviewIn(ScoredIn):
    title: str = Field(..., max_length=supervision.TITLE_MAX)
    kind: str = Field(..., max_length=20, description="lesson_plan / report / case / lesson_video / other")


class SupervisorOut(Schema):
    id: int
    project_id: int
    user_id: int
    name: str
    role: str
    assigned_at: dt.datetime


class SupervisorIn(Schema):
    username: str = Field(..., max_length=150, description="专家或县级及以上管理员的用户名")


class SupervisionOut(Schema):
    project_id: int
    project: str
    organiser: str
    starts_on: dt.date
    ends_on: dt.date
    visits: int
    outcome_reviews: int


# --- outputs ----------------------------------------------------------------------------------------

def _rubric_out(row) -> RubricOut:
    return RubricOut(id=row.pk, code=row.code, version=row.version, kind=row.kind, title=row.title, state=row.state,
                     division=row.division.code, criteria=[Criterion(**item) for item in row.criteria],
                     max_total=sum(int(item["max"]) for item in row.criteria))


def _record(row, author) -> dict:
    return {"id": row.pk, "project_id": row.project_id, "rubric_id": row.rubric_id, "rubric": str(row.rubric),
            "scores": [ScoreLine(**line) for line in selectors.score_lines(row)], "total": row.total,
            "note": row.note, "author": supervision.account_label(author), "created_at": row.created_at,
            "editable_until": supervision.editable_until(row)}


def _visit_out(row) -> VisitOut:
    return VisitOut(**_record(row, row.visitor), visited_on=row.visited_on)


def _review_out(row) -> OutcomeReviewOut:
    return OutcomeReviewOut(**_record(row, row.reviewer), title=row.title, kind=row.kind, file_name=row.file_name)


def _rating_out(row) -> StakeholderRatingOut:
    return StakeholderRatingOut(**_record(row, row.rater), unit_kind=row.unit_kind, unit_label=row.unit_label)


# --- visits, outcome reviews, stakeholder ratings -------------------------------------------------------

@router.get("/projects/{int:project_id}/visits", response=VisitListOut, summary="项目的专家过程视导记录")
def visit_list(request, project_id: int):
    found = selectors.project_evaluation(_scope(request.auth), project_id)
    return VisitListOut(items=[_visit_out(row) for row in found.visits], count=len(found.visits),
                        mean=found.means["visit"] if found.oversee else None)


@router.post("/projects/{int:project_id}/visits", response={201: VisitOut},
             summary="记录一次过程视导（本项目的视导专家或项目主管部门管理员；须用已发布的视导量规）")
def visit_create(request, project_id: int, payload: VisitIn):
    row = supervision.visit_record(scope=_scope(request.auth), actor=request.auth, project_id=project_id,
                                   rubric_id=payload.rubric_id, scores=payload.scores, visited_on=payload.visited_on,
                                   note=payload.note, ip=client_ip(request))
    return 201, _visit_out(row)


@router.get("/projects/{int:project_id}/outcome-reviews", response=OutcomeReviewListOut, summary="项目的培训成果评审")
def outcome_review_list(request, project_id: int):
    found = selectors.project_evaluation(_scope(request.auth), project_id)
    return OutcomeReviewListOut(items=[_review_out(row) for row in found.reviews], count=len(found.reviews),
                                mean=found.means["outcome"] if found.oversee else None)


@router.post("/projects/{int:project_id}/outcome-reviews", response={201: OutcomeReviewOut},
             summary="评审一项培训成果（本项目的视导专家或项目主管部门管理员；须用已发布的成果量规）")
def outcome_review_create(request, project_id: int, payload: OutcomeReviewIn):
    row = supervision.outcome_review_record(
        scope=_scope(request.auth), actor=request.auth, project_id=project_id, rubric_id=payload.rubric_id,
        scores=payload.scores, title=payload.title, kind=payload.kind, note=payload.note, ip=client_ip(request))
    return 201, _review_out(row)


@router.get("/projects/{int:project_id}/stakeholder-ratings", response=StakeholderRatingListOut,
            summary="项目的相关利益群体评价")
def stakeholder_rating_list(request, project_id: int):
    found = selectors.project_evaluation(_scope(request.auth), project_id)
    return StakeholderRatingListOut(items=[_rating_out(row) for row in found.ratings], count=len(found.ratings),
                                    mean=found.means["stakeholder"] if found.oversee else None)


@router.post("/projects/{int:project_id}/stakeholder-ratings", response={201: StakeholderRatingOut},
             summary="本单位评价项目（参训教师所在学校、县市教育行政部门；每单位一次）")
def stakeholder_rating_create(request, project_id: int, payload: ScoredIn):
    row = supervision.stakeholder_rate(scope=_scope(request.auth), actor=request.auth, project_id=project_id,
                                       rubric_id=payload.rubric_id, scores=payload.scores, note=payload.note,
                                       ip=client_ip(request))
    return 201, _rating_out(row)


class RecordPatchIn(Schema):
    """Only the fields sent change; a visit's date and an outcome's title and kind on those records only."""

    scores: dict[str, int] | None = Field(None, description="评分细则编号 → 得分（同一量规）")
    note: str | None = Field(None, max_length=supervision.NOTE_MAX)
    visited_on: dt.date | None = None
    title: str | None = Field(None, max_length=supervision.TITLE_MAX)
    kind: str | None = Field(None, max_length=20)


# The URL's plural → (the service's record kind, the record's output).
RECORD_ROUTES = {"visits": ("visit", _visit_out), "outcome-reviews": ("outcome", _review_out),
                 "stakeholder-ratings": ("stakeholder", _rating_out)}


@router.patch("/evaluation/records/{record}/{int:record_id}", response=VisitOut | OutcomeReviewOut | StakeholderRatingOut,
              summary="作者在修改期内更正本人的视导记录、成果评审或利益群体评价（record：visits / outcome-reviews / "
                      "stakeholder-ratings）")
def record_patch(request, record: Literal["visits", "outcome-reviews", "stakeholder-ratings"], record_id: int,
                 payload: RecordPatchIn):
    kind, out = RECORD_ROUTES[record]
    row = supervision.record_update(scope=_scope(request.auth), actor=request.auth, kind=kind, record_id=record_id,
                                    changes=payload.dict(exclude_unset=True), ip=client_ip(request))
    return out(row)


@router.post("/evaluation/records/outcome-reviews/{int:record_id}/file", response=OutcomeReviewOut,
             summary="作者在修改期内上传（或替换）成果文件（multipart file：PDF、docx、pptx、xlsx、JPG、PNG）")
def outcome_file_upload(request, record_id: int, file: File[UploadedFile]):
    row = supervision.outcome_file_attach(scope=_scope(request.auth), actor=request.auth, review_id=record_id,
                                          file=file, ip=client_ip(request))
    return _review_out(row)


@router.get("/evaluation/records/outcome-reviews/{int:record_id}/file", summary="下载成果文件（可查看该成果评审者）",
            response={200: None})
def outcome_file_download(request, record_id: int):
    row = supervision.outcome_file_get(_scope(request.auth), record_id)
    return FileResponse(row.file.open("rb"), as_attachment=True, filename=row.file_name or "成果文件")


# --- supervisors ------------------------------------------------------------------------------------------

def _supervisor_out(row) -> SupervisorOut:
    return SupervisorOut(id=row.pk, project_id=row.project_id, user_id=row.user_id,
                         name=supervision.account_label(row.user), role=row.user.role, assigned_at=row.assigned_at)


@router.get("/projects/{int:project_id}/supervisors", response=list[SupervisorOut], summary="项目的视导专家")
def supervisor_list(request, project_id: int):
    found = selectors.project_evaluation(_scope(request.auth), project_id)
    return [_supervisor_out(row) for row in found.supervisors]


@router.post("/projects/{int:project_id}/supervisors", response={201: SupervisorOut},
             summary="指定视导专家（项目主管部门管理员）")
def supervisor_create(request, project_id: int, payload: SupervisorIn):
    row = supervision.supervisor_add(scope=_scope(request.auth), actor=request.auth, project_id=project_id,
                                     username=payload.username, ip=client_ip(request))
    return 201, _supervisor_out(row)


@router.delete("/projects/{int:project_id}/supervisors/{int:supervisor_id}", response={204: None},
               summary="取消视导专家（尚无视导、评审记录时）")
def supervisor_delete(request, project_id: int, supervisor_id: int):
    supervision.supervisor_remove(scope=_scope(request.auth), actor=request.auth, supervisor_id=supervisor_id,
                                  project_id=project_id, ip=client_ip(request))
    return 204, None


@router.get("/me/supervisions", response=list[SupervisionOut], summary="我的视导：被指定为视导专家的项目")
def my_supervisions(request):
    rows = selectors.my_supervisions(_scope(request.auth))
    return [SupervisionOut(project_id=s.row.project_id, project=s.row.project.title,
                           organiser=s.row.project.organiser.name, starts_on=s.row.project.starts_on,
                           ends_on=s.row.project.ends_on, visits=s.visits, outcome_reviews=s.reviews) for s in rows]


# --- rubrics ----------------------------------------------------------------------------------------------

@router.get("/rubrics", response=list[RubricOut], summary="评分量规（本辖区的全部，上级已发布的）")
def rubric_list(request, kind: str = "", state: str = ""):
    return [_rubric_out(row) for row in selectors.rubric_list(_rubric_scope(request.auth), kind=kind, state=state)]


@router.get("/rubrics/{int:rubric_id}", response=RubricOut, summary="一份评分量规")
def rubric_detail(request, rubric_id: int):
    return _rubric_out(selectors.rubric_get(_rubric_scope(request.auth), rubric_id))


@router.post("/rubrics", response={201: RubricOut}, summary="新建评分量规（草稿，第1版）")
def rubric_create(request, payload: RubricIn):
    scope = _rubric_scope(request.auth)
    row = rubrics.rubric_create(scope=scope, actor=request.auth, kind=payload.kind, code=payload.code,
                                title=payload.title, criteria=[item.dict() for item in payload.criteria],
                                division_id=payload.division_id, ip=client_ip(request))
    return 201, _rubric_out(selectors.rubric_get(scope, row.pk))


@router.patch("/rubrics/{int:rubric_id}", response=RubricOut, summary="修改草稿量规（只改传入的字段）")
def rubric_update(request, rubric_id: int, payload: RubricPatch):
    scope = _rubric_scope(request.auth)
    criteria = None if payload.criteria is None else [item.dict() for item in payload.criteria]
    rubrics.rubric_update(scope=scope, actor=request.auth, rubric_id=rubric_id, title=payload.title,
                          criteria=criteria, ip=client_ip(request))
    return _rubric_out(selectors.rubric_get(scope, rubric_id))


@router.post("/rubrics/{int:rubric_id}/publish", response=RubricOut, summary="发布量规（发布后冻结）")
def rubric_publish(request, rubric_id: int):
    scope = _rubric_scope(request.auth)
    rubrics.rubric_publish(scope=scope, actor=request.auth, rubric_id=rubric_id, ip=client_ip(request))
    return _rubric_out(selectors.rubric_get(scope, rubric_id))


@router.post("/rubrics/{int:rubric_id}/versions", response={201: RubricOut}, summary="以已发布或已停用的量规新建版本（草稿）")
def rubric_version(request, rubric_id: int):
    scope = _rubric_scope(request.auth)
    row = rubrics.rubric_new_version(scope=scope, actor=request.auth, rubric_id=rubric_id, ip=client_ip(request))
    return 201, _rubric_out(selectors.rubric_get(scope, row.pk))


@router.post("/rubrics/{int:rubric_id}/retire", response=RubricOut, summary="停用量规")
def rubric_retire(request, rubric_id: int):
    scope = _rubric_scope(request.auth)
    rubrics.rubric_retire(scope=scope, actor=request.auth, rubric_id=rubric_id, ip=client_ip(request))
    return _rubric_out(selectors.rubric_get(scope, rubric_id))
