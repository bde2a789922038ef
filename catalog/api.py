"""Project library and enrolment API, scoped like the pages."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import Field, Path, Query, Router, Schema

from catalog import selectors
from catalog.services import enrol, enrolment_withdraw
from org.scope import scope_for_user
from people.selectors import teacher_get

router = Router(tags=["培训项目"])


class ProjectOut(Schema):
    id: int
    code: str
    title: str
    level: str
    category: str
    mode: str
    organiser: str
    starts_on: dt.date
    ends_on: dt.date
    hours: float
    hour_category: str
    seats: int
    seats_taken: int
    state: str
    self_enrolment: bool
    is_high_end: bool


class ProjectFilters(Schema):
    level: str = Field("", max_length=10)
    category: str = Field("", max_length=20)
    mode: str = Field("", max_length=20)
    q: str = Field("", max_length=50)
    limit: int = Field(50, ge=1, le=200)


class EnrolIn(Schema):
    # Omitted: the signed-in teacher enrols themself; given: an administrator nominates.
    teacher_id: int | None = Field(None, ge=1, le=2**62)


class EnrolmentOut(Schema):
    id: int
    project_id: int
    teacher_id: int
    state: str


class RefusalOut(Schema):
    code: str
    detail: str
    reasons: list[str]


def _project_out(p) -> ProjectOut:
    return ProjectOut(id=p.pk, code=p.code, title=p.title, level=p.level, category=p.category, mode=p.mode,
                      organiser=p.organiser.name, starts_on=p.starts_on, ends_on=p.ends_on, hours=float(p.hours),
                      hour_category=p.hour_category, seats=p.seats, seats_taken=p.seats_taken, state=p.state,
                      self_enrolment=p.self_enrolment, is_high_end=p.is_high_end)


@router.get("/projects", response=list[ProjectOut], summary="培训项目库（筛选）")
def project_list(request, filters: Query[ProjectFilters]):
    scope = scope_for_user(request.auth)
    projects = selectors.project_queryset(scope=scope, level=filters.level, category=filters.category,
                                          mode=filters.mode, q=filters.q)
    return [_project_out(p) for p in projects[:filters.limit]]


@router.get("/projects/{project_id}", response=ProjectOut, summary="培训项目")
def project_detail(request, project_id: int = Path(..., ge=1, le=2**62)):
    project = selectors.project_get(scope=scope_for_user(request.auth), project_id=project_id)
    if project is None:
        raise Http404
    return _project_out(project)


@router.post("/projects/{project_id}/enrolments", response={201: EnrolmentOut, 422: RefusalOut},
             summary="报名（教师本人）或推荐（管理员，给出 teacher_id）；名额满则进入候补")
def project_enrol(request, payload: EnrolIn, project_id: int = Path(..., ge=1, le=2**62)):
    scope = scope_for_user(request.auth)
    if selectors.project_get(scope=scope, project_id=project_id) is None:
        raise Http404
    nominated = payload.teacher_id is not None
    if payload.teacher_id is not None:
        if scope.teacher_id is not None:
            raise PermissionDenied("教师只能为自己报名")
        teacher = teacher_get(scope=scope, teacher_id=payload.teacher_id)
        if teacher is None:
            raise Http404
        if not scope.can_write_row(path=teacher.division_path, school_id=teacher.school_id):
            raise PermissionDenied("本级对该教师只有查看权限")
    else:
        teacher = teacher_get(scope=scope, teacher_id=request.auth.teacher_id) if request.auth.teacher_id else None
        if teacher is None:
            raise PermissionDenied("账户未绑定教师档案")
    try:
        enrolment = enrol(project_id=project_id, teacher=teacher, actor=request.auth, nominated=nominated)
    except ValidationError as error:
        reasons = [message for messages in error.message_dict.values() for message in messages]
        return 422, RefusalOut(code="refused", detail="；".join(reasons), reasons=reasons)
    return 201, EnrolmentOut(id=enrolment.pk, project_id=enrolment.project_id, teacher_id=enrolment.teacher_id,
                             state=enrolment.state)


@router.post("/enrolments/{enrolment_id}/withdraw", response=EnrolmentOut, summary="退出报名（名额让给候补）")
def withdraw(request, enrolment_id: int = Path(..., ge=1, le=2**62)):
    scope = scope_for_user(request.auth)
    teacher = teacher_get(scope=scope, teacher_id=request.auth.teacher_id) if scope.teacher_id else None
    enrolment = enrolment_withdraw(enrolment_id=enrolment_id, teacher=teacher, scope=None if teacher else scope)
    return EnrolmentOut(id=enrolment.pk, project_id=enrolment.project_id, teacher_id=enrolment.teacher_id,
                        state=enrolment.state)
