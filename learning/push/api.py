"""The push in the API: a teacher's own list, and any teacher's for an administrator over them."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import Field, Path, Router, Schema

from access.scope import scope_for_user
from core.dbrouting import replica_view
from learning.push.selectors import PushList, push_for
from people.selectors import teacher_get

router = Router(tags=["课程推送"])


class PushedOut(Schema):
    course_id: int
    title: str
    provider_name: str
    hours: float
    category: str
    format: str
    is_featured: bool
    reason: str = Field(..., description="推荐理由（中文）")
    signal: str = Field(..., description="理由来源：required 必修内容 / weak 训后测评较弱的能力 / similar 学过的相关课程 / peers 同学段同学科 / "
                                         "owed 欠缺学时 / fresh 新课 / featured 精品课 / fit 适合学段学科")
    score: float


class PushOut(Schema):
    teacher_id: int
    computed_at: dt.datetime
    items: list[PushedOut]


def _out(found: PushList) -> PushOut:
    return PushOut(teacher_id=found.teacher_id, computed_at=found.computed_at, items=[
        PushedOut(course_id=item.course.pk, title=item.course.title, provider_name=item.course.provider.name,
                  hours=float(item.course.hours), category=item.course.category, format=item.course.format,
                  is_featured=item.course.is_featured, reason=item.reason, signal=item.signal, score=item.score)
        for item in found.items])


@router.get("/me/recommendations", response=PushOut, summary="为我推荐的课程（附推荐理由）")
@replica_view
def my_recommendations(request):
    scope = scope_for_user(request.auth)
    teacher = teacher_get(scope=scope, teacher_id=request.auth.teacher_id) if request.auth.teacher_id else None
    if teacher is None:
        raise PermissionDenied("只有教师本人可以查看")
    return _out(push_for(scope, teacher))


@router.get("/teachers/{teacher_id}/recommendations", response=PushOut, summary="一位教师的课程推送（管辖范围内）")
@replica_view
def teacher_recommendations(request, teacher_id: int = Path(..., ge=1, le=2**62)):
    scope = scope_for_user(request.auth)
    teacher = teacher_get(scope=scope, teacher_id=teacher_id)
    if teacher is None:
        raise Http404
    return _out(push_for(scope, teacher))
