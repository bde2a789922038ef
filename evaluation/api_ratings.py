"""/api/v1/ operations for evaluation: anonymous ratings. A trainee's one rating of a project
(nothing comes back that names the response), the project's result summary (per question mean and
count, or suppressed with the reason), and the organiser's rating windows. Refusals are JSON:
404 / 403 / 422 with Chinese messages (config.api)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404
from ninja import Field, Router, Schema

from access.errors import NotVisible
from access.policy import Action, can, fetch
from access.scope import scope_for_user
from catalog.models import Project
from core.requests import client_ip
from evaluation import rating_results, ratings
from evaluation.models import RatingWindow

router = Router(tags=["培训评价"])


class RatingIn(Schema):
    answers: dict[str, Any] = Field(..., description="题号 → 答案（量表内的整数），每题必答")


class RatedOut(Schema):
    rated: bool = True  # 已记录（匿名：不返回答卷编号）


@router.post("/projects/{int:project_id}/ratings", response={201: RatedOut},
             summary="学员匿名评价项目（每人每个评价窗口一次；答卷与本人不关联）")
def rating_create(request, project_id: int, payload: RatingIn):
    ratings.rating_submit(scope=scope_for_user(request.auth), actor=request.auth, project_id=project_id,
                          answers=payload.answers, ip=client_ip(request))
    return 201, RatedOut()


class QuestionOut(Schema):
    number: int
    text: str
    instrument: str
    dimension: str
    mean: float
    count: int


class WindowSummaryOut(Schema):
    id: int
    opens_on: dt.date | None
    closes_on: dt.date | None
    suppressed: bool
    reason: str = ""  # 样本不足 / 应答率不足50% / 评价尚未结束 / 为防推算而隐藏
    responses: int | None = None
    eligible: int | None = None
    questions: list[QuestionOut] = Field(default_factory=list)


class SummaryOut(Schema):
    project_id: int
    suppressed: bool
    reason: str = ""  # 样本不足 / 应答率不足50% / 评价尚未结束 / 为防推算而隐藏 / 尚未开设评价
    responses: int | None = None  # 应答数（隐藏时为空）
    eligible: int | None = None  # 应评人数（隐藏时为空）
    rate: float | None = None  # 应答率（隐藏时为空）
    questions: list[QuestionOut] = Field(default_factory=list, description="每题平均分与作答数（隐藏时为空）")
    windows: list[WindowSummaryOut] = Field(default_factory=list)


def _questions(cell, questions) -> list[QuestionOut]:
    return [QuestionOut(number=q.number, text=q.text, instrument=q.instrument, dimension=q.dimension, mean=q.mean,
                        count=q.count) for q in rating_results.question_results(cell, questions)]


@router.get("/projects/{int:project_id}/ratings/summary", response=SummaryOut,
            summary="项目匿名评价结果：每题平均分与作答数，或因样本不足等原因隐藏")
def rating_summary(request, project_id: int):
    scope = scope_for_user(request.auth)
    if not rating_results.overseen_projects(scope).filter(pk=project_id).exists():
        raise NotVisible("对象不存在或不在您的管辖范围内")
    found = rating_results.results_for(scope)
    cell = found.projects.get(project_id)
    if cell is None:
        return SummaryOut(project_id=project_id, suppressed=True, reason="尚未开设评价")
    windows = [WindowSummaryOut(id=child.window_id or 0, opens_on=child.opens_on, closes_on=child.closes_on, suppressed=child.suppressed,
                                reason=child.reason,
                                responses=None if child.suppressed else child.responses,
                                eligible=None if child.suppressed else child.eligible,
                                questions=_questions(child, found.questions))
               for child in cell.children]
    if cell.suppressed:
        return SummaryOut(project_id=project_id, suppressed=True, reason=cell.reason, windows=windows)
    rate = cell.rate
    return SummaryOut(project_id=project_id, suppressed=False, responses=cell.responses, eligible=cell.eligible,
                      rate=None if rate is None else round(float(rate), 3),
                      questions=_questions(cell, found.questions), windows=windows)


class WindowIn(Schema):
    instrument_id: int = Field(..., ge=1, le=2**62, description="已发布的匿名评价问卷")
    opens_on: dt.date
    closes_on: dt.date


class WindowOut(Schema):
    id: int
    project_id: int
    instrument_id: int
    instrument: str
    opens_on: dt.date
    closes_on: dt.date
    is_open: bool
    rated: int | None = None  # 已评价人数（仅主办方管理员可见）
    eligible: int | None = None  # 应评人数（截止后固定）
    rate: float | None = None


def _window_out(scope, window: RatingWindow) -> WindowOut:
    today = ratings.today()
    rated = eligible = rate = None
    if can(scope, Action.CHANGE, window):
        rated = ratings.participation_count(window)
        eligible = window.eligible if window.eligible is not None else ratings.eligible_now(window)
        rate = round(rated / eligible, 3) if eligible else None
    return WindowOut(id=window.pk, project_id=window.project_id, instrument_id=window.instrument_id,
                     instrument=str(window.instrument), opens_on=window.opens_on, closes_on=window.closes_on,
                     is_open=window.opens_on <= today <= window.closes_on, rated=rated, eligible=eligible, rate=rate)


@router.get("/projects/{int:project_id}/rating-windows", response=list[WindowOut], summary="项目的匿名评价窗口")
def window_list(request, project_id: int):
    scope = scope_for_user(request.auth)
    project = fetch(scope, Project, project_id)
    return [_window_out(scope, window) for window in ratings.windows_of(scope, project)]


@router.post("/projects/{int:project_id}/rating-windows", response={201: WindowOut},
             summary="开设匿名评价窗口（主办方管理员；与已有窗口不得重叠）")
def window_create(request, project_id: int, payload: WindowIn):
    scope = scope_for_user(request.auth)
    window = ratings.window_open(scope=scope, actor=request.auth, project_id=project_id, ip=client_ip(request),
                                 **payload.dict())
    return 201, _window_out(scope, window)


@router.patch("/rating-windows/{int:window_id}", response=WindowOut,
              summary="修改匿名评价窗口（已有学员评价后不能修改）")
def window_update(request, window_id: int, payload: WindowIn):
    scope = scope_for_user(request.auth)
    window = ratings.window_change(scope=scope, actor=request.auth, window_id=window_id, ip=client_ip(request),
                                   **payload.dict())
    return _window_out(scope, window)


@router.delete("/rating-windows/{int:window_id}", response={204: None},
               summary="删除匿名评价窗口（无人评价时；已有学员评价的窗口不能删除）")
def window_remove(request, window_id: int):
    ratings.window_delete(scope=scope_for_user(request.auth), actor=request.auth, window_id=window_id,
                          ip=client_ip(request))
    return 204, None


class MyWindowOut(Schema):
    window_id: int
    project_id: int
    project: str
    closes_on: dt.date
    rated: bool


@router.get("/me/rating-windows", response=list[MyWindowOut], summary="本人可参加的匿名评价（今日开放）")
def my_windows(request):
    scope = scope_for_user(request.auth)
    if scope.teacher_id is None:
        raise Http404
    return [MyWindowOut(window_id=window.pk, project_id=window.project_id, project=window.project.title,
                        closes_on=window.closes_on, rated=rated)
            for window, rated in ratings.rating_windows_for_teacher(scope)]
