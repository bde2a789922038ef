"""Training-base API (/api/v1/training-bases…): the registry with filters and this term's seats,
one base with its coming terms, designate (POST) and edit (PATCH). Scoped like the pages."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from access.policy import visible
from access.scope import scope_for_user
from accounts.decorators import division_admin_scope
from accounts.models import ADMIN_ROLES, Role
from core.requests import client_ip
from institutions import bases, selectors
from institutions.constants import INSTITUTION_BASES
from org.models import Institution, School

router = Router(tags=["培训基地"])


def _scope(user):
    if user.role not in ADMIN_ROLES | {Role.INSTITUTION_STAFF}:
        raise PermissionDenied("只有管理员和培训机构人员可以查看培训基地")
    return scope_for_user(user)


class BaseOut(Schema):
    id: int
    name: str
    kind: str
    division: str = Field(..., description="认定单位区划代码")
    level: str
    institution_id: int | None
    school_code: str | None
    stages: list[str]
    subjects: list[str]
    seats_per_term: int
    seats_used_this_term: int
    designated_on: dt.date
    active: bool


class TermOut(Schema):
    term: str
    seats: int
    used: int
    left: int
    project_ids: list[int]


class BaseDetailOut(BaseOut):
    note: str
    terms: list[TermOut]


class BaseFilters(Schema):
    level: str = Field("", max_length=10)
    kind: str = Field("", max_length=20)
    stage: str = Field("", max_length=20)
    subject: str = Field("", max_length=30)
    q: str = Field("", max_length=50)
    limit: int = Field(100, ge=1, le=500)


def _out(base, used: int) -> dict:
    return {"id": base.pk, "name": base.name, "kind": base.kind, "division": base.division.code,
            "level": base.division.level, "institution_id": base.institution_id,
            "school_code": base.school.code if base.school_id else None, "stages": base.stages,
            "subjects": base.subjects, "seats_per_term": base.seats_per_term, "seats_used_this_term": used,
            "designated_on": base.designated_on, "active": base.active}


def _detail(scope, base_id: int) -> BaseDetailOut:
    base = selectors.training_base_get(scope, base_id)
    if base is None:
        raise Http404
    schedule = selectors.base_schedule(base, today=timezone.localdate())
    return BaseDetailOut(**_out(base, schedule[0]["used"]), note=base.note, terms=[
        TermOut(term=t["term"], seats=t["seats"], used=t["used"], left=t["left"],
                project_ids=[p.pk for p in t["projects"]]) for t in schedule])


@router.get("/training-bases", response=list[BaseOut], summary="培训基地（筛选；本学期跟岗名额使用）")
def base_list(request, filters: Query[BaseFilters]):
    scope = _scope(request.auth)
    rows = list(selectors.training_bases(scope, level=filters.level, kind=filters.kind, stage=filters.stage,
                                         subject=filters.subject, q=filters.q)[:filters.limit])
    used = selectors.term_usage(rows, bases.term_of(timezone.localdate()))
    return [BaseOut(**_out(base, used[base.pk])) for base in rows]


@router.get("/training-bases/{int:base_id}", response=BaseDetailOut, summary="一个培训基地：各学期名额与项目")
def base_detail(request, base_id: int):
    return _detail(_scope(request.auth), base_id)


class BaseIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    kind: str = Field(..., max_length=20)
    institution_id: int | None = Field(None, ge=1, le=2**62, description="高校、培训机构基地")
    school_code: str | None = Field(None, max_length=20, description="中小学、幼儿园基地")
    stages: list[str] = Field(default_factory=list, max_length=10)
    subjects: list[str] = Field(default_factory=list, max_length=40)
    seats_per_term: int = Field(..., ge=0, le=10_000)
    designated_on: dt.date
    active: bool = True
    note: str = Field("", max_length=2000)


class BasePatchIn(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    kind: str | None = Field(None, max_length=20)
    institution_id: int | None = Field(None, ge=1, le=2**62)
    school_code: str | None = Field(None, max_length=20)
    stages: list[str] | None = Field(None, max_length=10)
    subjects: list[str] | None = Field(None, max_length=40)
    seats_per_term: int | None = Field(None, ge=0, le=10_000)
    designated_on: dt.date | None = None
    active: bool | None = None
    note: str | None = Field(None, max_length=2000)


def _resolve(scope, values: dict, kind: str | None) -> dict:
    """institution_id / school_code → the rows the caller sees (unknown: a field error)."""
    if "institution_id" in values:
        pk = values.pop("institution_id")
        values["institution"] = visible(scope, Institution).filter(pk=pk).first() if pk else None
        if pk and values["institution"] is None:
            raise ValidationError({"institution_id": "机构不存在或不在本辖区"})
    if "school_code" in values:
        code = values.pop("school_code")
        values["school"] = visible(scope, School).filter(code=code).first() if code else None
        if code and values["school"] is None:
            raise ValidationError({"school_code": "学校不存在或不在本辖区"})
    if kind is not None:  # the other side of a base is cleared when its kind says so
        values.setdefault("institution" if kind not in INSTITUTION_BASES else "school", None)
    return values


@router.post("/training-bases", response={201: BaseDetailOut}, summary="认定培训基地（本单位）")
def base_create(request, payload: BaseIn):
    scope = division_admin_scope(request.auth, "只有县级及以上管理员可以认定培训基地")
    values = _resolve(scope, payload.dict(), payload.kind)
    base = bases.base_create(scope=scope, actor=request.auth, division=request.auth.division, ip=client_ip(request),
                             **values)
    return 201, _detail(scope, base.pk)


@router.patch("/training-bases/{int:base_id}", response=BaseDetailOut, summary="修改培训基地（只改所传字段）")
def base_patch(request, base_id: int, payload: BasePatchIn):
    scope = _scope(request.auth)
    changes = payload.dict(exclude_unset=True)
    nulls = sorted(k for k, v in changes.items() if v is None and k not in ("institution_id", "school_code"))
    if nulls:
        raise ValidationError({name: "不能为空" for name in nulls})
    bases.base_update(scope=scope, actor=request.auth, base_id=base_id, changes=_resolve(scope, changes, changes.get("kind")),
                      ip=client_ip(request))
    return _detail(scope, base_id)
