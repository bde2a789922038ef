from django.http import Http404
from ninja import Field, Query, Router, Schema

from access.policy import Action, can
from access.scope import scope_for_user
from org import selectors

router = Router(tags=["组织机构"])


class RegionOut(Schema):
    code: str
    name: str
    level: str
    parent_code: str | None
    is_direct_county: bool
    writable: bool


class SchoolOut(Schema):
    code: str
    name: str
    division_code: str
    division_name: str
    stages: list[str]
    is_rural: bool


class SchoolPage(Schema):
    items: list[SchoolOut]
    total: int


class SchoolQuery(Schema):
    division: str = ""
    q: str = ""
    stage: str = ""
    offset: int = Field(0, ge=0, le=10_000_000)
    limit: int = Field(50, ge=1, le=200)


def _region(division, scope) -> RegionOut:
    return RegionOut(
        code=division.code, name=division.name, level=division.level,
        parent_code=division.parent.code if division.parent_id else None,
        is_direct_county=division.is_direct_county, writable=can(scope, Action.CHANGE, division),
    )


def _school(school) -> SchoolOut:
    return SchoolOut(
        code=school.code, name=school.name, division_code=school.division.code, division_name=school.division.name,
        stages=school.stages, is_rural=school.is_rural,
    )


@router.get("/regions", response=list[RegionOut], summary="管辖范围内的行政区划")
def regions(request, parent: str = ""):
    scope = scope_for_user(request.auth)
    return [_region(d, scope) for d in selectors.division_list(scope=scope, parent_code=parent[:6])]


@router.get("/regions/{code}", response=RegionOut, summary="一个行政区划")
def region(request, code: str):
    scope = scope_for_user(request.auth)
    division = selectors.division_get(scope=scope, code=code[:6])
    if division is None:
        raise Http404
    return _region(division, scope)


@router.get("/schools", response=SchoolPage, summary="管辖范围内的学校")
def schools(request, query: Query[SchoolQuery]):
    scope = scope_for_user(request.auth)
    rows = selectors.school_list(scope=scope, division_code=query.division[:6], q=query.q[:50], stage=query.stage[:20])
    page = rows[query.offset : query.offset + query.limit]
    return SchoolPage(items=[_school(s) for s in page], total=rows.count())


@router.get("/schools/{code}", response=SchoolOut, summary="一所学校")
def school(request, code: str):
    found = selectors.school_get(scope=scope_for_user(request.auth), code=code[:10])
    if found is None:
        raise Http404
    return _school(found)
