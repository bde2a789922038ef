"""Trainer pool API (/api/v1/trainers…): search and read (scoped like the pages), add, edit
(PATCH: only the fields sent), promote, unavailable periods, and bookings on project sessions.
Each route resolves the caller's scope and calls one selector or service; the services ask the
access policy. Refusals are JSON: 404 / 403 / 422 with the Chinese message per field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import Field, Query, Router, Schema

from access.scope import scope_for_user
from core.requests import client_ip
from trainers import selectors, services
from trainers.views import VIEW_ROLES

router = Router(tags=["培训专家库"])


def _scope(user):
    if user.role not in VIEW_ROLES:
        raise PermissionDenied("只有县级及以上管理员（及入库教师本人）可以使用培训专家库")
    return scope_for_user(user)


class TrainerOut(Schema):
    id: int
    name: str
    division: str = Field(..., description="所属专家库的区划代码")
    division_name: str
    pool_level: str = Field(..., description="province / city / county")
    source: str
    organisation: str
    stages: list[str]
    subjects: list[str]
    topics: list[str]
    grade: int = Field(..., description="1 初级, 2 中级, 3 高级, 4 首席培训师")
    grade_label: str
    active: bool
    teacher_id: int | None
    sessions_delivered: int
    sessions_upcoming: int


class TrainerPageOut(Schema):
    items: list[TrainerOut]
    count: int
    page: int
    pages: int


class PeriodOut(Schema):
    id: int
    starts_on: dt.date
    ends_on: dt.date
    reason: str


class BookingOut(Schema):
    trainer_id: int
    session_id: int
    project_id: int
    project: str
    number: int
    held_on: dt.date
    rating: Decimal | None = Field(None, description="评价（评价功能上线前为空）")


class LevelChangeOut(Schema):
    from_grade: int
    to_grade: int
    reason: str
    at: dt.datetime


class CompletedOut(Schema):
    project_id: int
    project: str
    hours: Decimal
    completed_at: dt.datetime | None


class DevelopmentOut(Schema):
    completed: list[CompletedOut]
    hours_completed_projects: Decimal
    cycle: str
    cycle_counted: Decimal | None
    cycle_required: Decimal | None


class TrainerDetailOut(TrainerOut):
    expertise: str
    rating: Decimal | None
    rated_sessions: int
    unavailable: list[PeriodOut]
    bookings: list[BookingOut]
    levels: list[LevelChangeOut]
    development: DevelopmentOut | None


def _out(row, delivered: int = 0, upcoming: int = 0) -> TrainerOut:
    return TrainerOut(id=row.pk, name=row.name, division=row.division.code, division_name=row.division.name,
                      pool_level=row.pool_level, source=row.source, organisation=row.organisation, stages=row.stages,
                      subjects=row.subjects, topics=row.topics, grade=row.grade, grade_label=row.grade_label,
                      active=row.active, teacher_id=row.teacher_id, sessions_delivered=delivered,
                      sessions_upcoming=upcoming)


def _booking_out(booking) -> BookingOut:
    return BookingOut(trainer_id=booking.trainer_id, session_id=booking.session_id, project_id=booking.project_id,
                      project=booking.project.title, number=booking.session.number, held_on=booking.held_on,
                      rating=booking.rating)


def _detail(scope, trainer_id: int) -> TrainerDetailOut:
    row = selectors.trainer_get(scope, trainer_id)
    if row is None:
        raise Http404
    bookings = selectors.bookings_of(scope, row)
    delivered = selectors.delivered_of(bookings)
    development = selectors.development_of(scope, row)
    return TrainerDetailOut(
        **_out(row, len(delivered.sessions), len(bookings) - len(delivered.sessions)).dict(),
        expertise=row.expertise, rating=delivered.rating, rated_sessions=delivered.rated,
        unavailable=[PeriodOut(id=p.pk, starts_on=p.starts_on, ends_on=p.ends_on, reason=p.reason)
                     for p in selectors.unavailable_of(scope, row)],
        bookings=[_booking_out(b) for b in bookings],
        levels=[LevelChangeOut(from_grade=c.from_grade, to_grade=c.to_grade, reason=c.reason, at=c.decided_at)
                for c in selectors.level_history(scope, row)],
        development=None if development is None else DevelopmentOut(
            completed=[CompletedOut(project_id=e.project_id, project=e.project.title, hours=e.project.hours,
                                    completed_at=e.completed_at) for e in development.completed],
            hours_completed_projects=development.hours_completed_projects, cycle=development.cycle_code,
            cycle_counted=development.cycle_counted, cycle_required=development.cycle_required))


class SearchIn(Schema):
    level: str = Field("", max_length=10, description="province / city / county")
    division: str = Field("", max_length=6, description="只看该区划的专家库")
    stage: str = Field("", max_length=20)
    subject: str = Field("", max_length=20)
    topic: str = Field("", max_length=30)
    source: str = Field("", max_length=20)
    grade: int = Field(0, ge=0, le=4)
    q: str = Field("", max_length=30, description="姓名包含")
    available_on: dt.date | None = Field(None, description="当天可安排（在库、无安排、未登记不可安排）")
    include_inactive: bool = False
    page: int = Field(1, ge=1, le=100_000)
    size: int = Field(selectors.PAGE_SIZE, ge=1, le=selectors.PAGE_SIZE_MAX)


@router.get("/trainers", response=TrainerPageOut, summary="培训专家库检索（本辖区及下级专家库）")
def trainer_list(request, filters: Query[SearchIn]):
    scope = _scope(request.auth)
    data = filters.dict()
    found = selectors.trainer_page(scope, selectors.TrainerFilters.from_query(data), page=filters.page,
                                   size=filters.size)
    return TrainerPageOut(items=[_out(row, found.delivered.get(row.pk, 0), found.upcoming.get(row.pk, 0))
                                 for row in found.rows],
                          count=found.page.paginator.count, page=found.page.number,
                          pages=found.page.paginator.num_pages)


@router.get("/trainers/{int:trainer_id}", response=TrainerDetailOut,
            summary="一位培训专家：安排、授课记录、不可安排时段、等级记录与培育记录")
def trainer_detail(request, trainer_id: int):
    return _detail(_scope(request.auth), trainer_id)


class TrainerIn(Schema):
    division_id: int | None = Field(None, ge=1, le=2**62, description="专家库所属区划（默认本单位）")
    teacher_id: int | None = Field(None, ge=1, le=2**62, description="关联教师（名师、学科带头人必填）")
    name: str = Field("", max_length=50, description="未关联教师时必填")
    source: str = Field(..., max_length=20)
    organisation: str = Field("", max_length=100)
    expertise: str = Field("", max_length=500)
    stages: list[str] = Field(default_factory=list, max_length=10)
    subjects: list[str] = Field(default_factory=list, max_length=30)
    topics: list[str] = Field(default_factory=list, max_length=20)
    grade: int = Field(1, ge=1, le=4)


@router.post("/trainers", response={201: TrainerDetailOut}, summary="添加培训专家（入库）")
def trainer_create(request, payload: TrainerIn):
    scope = _scope(request.auth)
    row = services.trainer_create(scope=scope, actor=request.auth, ip=client_ip(request), **payload.dict())
    return 201, _detail(scope, row.pk)


class TrainerPatch(Schema):
    name: str | None = Field(None, max_length=50)
    source: str | None = Field(None, max_length=20)
    organisation: str | None = Field(None, max_length=100)
    expertise: str | None = Field(None, max_length=500)
    stages: list[str] | None = Field(None, max_length=10)
    subjects: list[str] | None = Field(None, max_length=30)
    topics: list[str] | None = Field(None, max_length=20)
    active: bool | None = Field(None, description="false：出库（不再安排）")


@router.patch("/trainers/{int:trainer_id}", response=TrainerDetailOut, summary="修改培训专家信息（只改传入的字段）")
def trainer_update(request, trainer_id: int, payload: TrainerPatch):
    scope = _scope(request.auth)
    changes = {key: value for key, value in payload.dict(exclude_unset=True).items() if value is not None}
    services.trainer_update(scope=scope, actor=request.auth, trainer_id=trainer_id, changes=changes,
                            ip=client_ip(request))
    return _detail(scope, trainer_id)


class PromoteIn(Schema):
    grade: int = Field(..., ge=1, le=4)
    reason: str = Field(..., max_length=500)


@router.post("/trainers/{int:trainer_id}/promote", response=TrainerDetailOut,
             summary="晋升等级（仅本级专家库的管理员；须说明理由）")
def trainer_promote(request, trainer_id: int, payload: PromoteIn):
    scope = _scope(request.auth)
    services.trainer_promote(scope=scope, actor=request.auth, trainer_id=trainer_id, grade=payload.grade,
                             reason=payload.reason, ip=client_ip(request))
    return _detail(scope, trainer_id)


class PeriodIn(Schema):
    starts_on: dt.date
    ends_on: dt.date
    reason: str = Field("", max_length=100)


@router.post("/trainers/{int:trainer_id}/unavailable", response={201: PeriodOut}, summary="登记不可安排时段")
def unavailable_add(request, trainer_id: int, payload: PeriodIn):
    row = services.unavailability_add(scope=_scope(request.auth), actor=request.auth, trainer_id=trainer_id,
                                      starts_on=payload.starts_on, ends_on=payload.ends_on, reason=payload.reason,
                                      ip=client_ip(request))
    return 201, PeriodOut(id=row.pk, starts_on=row.starts_on, ends_on=row.ends_on, reason=row.reason)


@router.delete("/trainers/{int:trainer_id}/unavailable/{int:period_id}", response={204: None},
               summary="删除不可安排时段")
def unavailable_remove(request, trainer_id: int, period_id: int):
    services.unavailability_remove(scope=_scope(request.auth), actor=request.auth, trainer_id=trainer_id,
                                   unavailability_id=period_id, ip=client_ip(request))
    return 204, None


class BookingIn(Schema):
    session_id: int = Field(..., ge=1, le=2**62)


@router.post("/trainers/{int:trainer_id}/bookings", response={201: BookingOut},
             summary="安排授课（一位培训专家一天只安排一场）")
def booking_create(request, trainer_id: int, payload: BookingIn):
    booking = services.booking_create(scope=_scope(request.auth), actor=request.auth, trainer_id=trainer_id,
                                      session_id=payload.session_id, ip=client_ip(request))
    return 201, _booking_out(booking)


@router.delete("/trainers/{int:trainer_id}/bookings/{int:session_id}", response={204: None}, summary="取消授课安排")
def booking_delete(request, trainer_id: int, session_id: int):
    services.booking_delete(scope=_scope(request.auth), actor=request.auth, trainer_id=trainer_id,
                            session_id=session_id, ip=client_ip(request))
    return 204, None
