"""Course-library API (/api/v1/learning/…): courses the caller may see (teachers: the published
ones open to them), one course, importing a catalogue as JSON (the file import's validation and
row report), curating (publish, retire, merge) and the providers."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal

from django.http import Http404
from ninja import Field, Query, Router, Schema

from access.policy import Action, can
from access.scope import scope_for_user
from accounts.decorators import DIVISION_ADMIN_ROLES, division_admin_scope
from core.requests import client_ip
from learning import selectors, study_selectors
from learning.catalogue import ImportReport, catalogue_import
from learning.constants import CourseState, ProviderKind
from learning.models import Course, Provider
from learning.services import course_merge, course_publish, course_retire, provider_create
from learning.study import course_enrol

router = Router(tags=["课程资源库"])
MAX_IMPORT_ROWS = 5000


def _division_admin(request):
    return division_admin_scope(request.auth, "只有县级及以上管理员可以管理课程资源库")


class CourseOut(Schema):
    id: int
    provider: str = Field(..., description="提供方代码")
    provider_name: str
    code: str
    title: str
    description: str
    stages: list[str]
    subjects: list[str]
    topics: list[str] = Field(..., description="专题与五项能力（catalog Topic 代码）")
    required_content: list[str]
    hours: float
    category: str
    format: str
    level: str
    is_featured: bool = Field(..., description="精品资源共享课")
    activity_iri: str
    media_url: str
    duration_seconds: int = Field(..., description="学习时长（秒）：视频长度或阅读时间")
    state: CourseState
    division: str = Field(..., description="所属区划代码")
    rating: float | None
    rating_count: int
    completion_count: int
    merged_into_id: int | None
    published_at: dt.datetime | None
    may_change: bool = Field(..., description="调用者可否发布、下架、合并")


def _course_out(course: Course, may_change: bool) -> CourseOut:
    return CourseOut(
        id=course.pk, provider=course.provider.code, provider_name=course.provider.name, code=course.code,
        title=course.title, description=course.description, stages=course.stages, subjects=course.subjects,
        topics=course.topics, required_content=course.required_content, hours=float(course.hours), category=course.category,
        format=course.format, level=course.level, is_featured=course.is_featured, activity_iri=course.activity_iri,
        media_url=course.media_url, duration_seconds=course.duration_seconds,
        state=CourseState(course.state), division=course.division.code, rating=course.rating,
        rating_count=course.rating_count, completion_count=course.completion_count,
        merged_into_id=course.merged_into_id, published_at=course.published_at, may_change=may_change)


class CourseHitOut(CourseOut):
    score: float | None = Field(None, description="相关度（有搜索词 q 时；结果按它从高到低排列）")


class CoursePageOut(Schema):
    items: list[CourseHitOut]
    next_after: int | None = Field(None, description="无搜索词时的下一页：以此值作为 after 参数")
    next_page: int | None = Field(None, description="有搜索词时的下一页：以此值作为 page 参数（最多前 1000 条）")


class CourseQuery(Schema):
    q: str = Field("", description="搜索词（中文分词检索课程名称、标签、提供方与简介；不超过 100 字）")
    stage: str = ""
    subject: str = ""
    topic: str = ""
    required: str = Field("", description="必修内容代码")
    provider: str = Field("", description="提供方代码")
    state: str = Field("", description="管理员可按状态筛选（draft / published / retired）；教师只看到已发布的")
    featured: bool = False
    hours_min: str = Field("", description="最低学时（含）")
    hours_max: str = Field("", description="最高学时（含）")
    after: int | None = Field(None, ge=0, le=2**62, description="无搜索词时：按编号游标翻页")
    page: int = Field(1, ge=1, le=1000, description="有搜索词时：按相关度的第几页")
    limit: int = Field(50, ge=1, le=200)


@router.get("/learning/courses", response=CoursePageOut,
            summary="课程资源库：搜索与筛选（有 q 时按相关度排序并按页码翻页，否则按编号游标翻页）")
def courses(request, query: Query[CourseQuery]):
    scope = scope_for_user(request.auth)
    params = {name: str(value) for name, value in query.dict().items() if value is not None}
    params["featured"] = "1" if query.featured else ""
    filters = selectors.course_filters_from(params, admin=request.auth.role in DIVISION_ADMIN_ROLES)
    page = selectors.course_page(scope, filters, after=query.after, page=query.page, size=query.limit)
    return CoursePageOut(
        items=[CourseHitOut(**_course_out(c, can(scope, Action.CHANGE, c)).dict(), score=page.scores.get(c.pk))
               for c in page.courses],
        next_after=page.next_after, next_page=page.next_page)


@router.get("/learning/courses/{int:course_id}", response=CourseOut, summary="一门课程")
def course(request, course_id: int):
    scope = scope_for_user(request.auth)
    found = selectors.course_get(scope, course_id)
    if found is None:
        raise Http404
    return _course_out(found, can(scope, Action.CHANGE, found))


class CatalogueRowIn(Schema):
    provider: str = Field(..., description="提供方代码或名称")
    code: str
    title: str
    hours: Decimal | str
    stages: list[str] | str = Field(default_factory=list, description="学段代码或中文名称")
    subjects: list[str] | str = Field(default_factory=list)
    topics: list[str] | str = Field(default_factory=list, description="专题与五项能力")
    required_content: list[str] | str = Field(default_factory=list, description="必修内容")
    category: str = ""
    format: str = ""
    level: str = ""
    featured: bool | str = False
    activity_iri: str = ""
    description: str = ""
    media_url: str = Field("", description="本平台播放器播放的视频地址（本平台上的路径，以 / 开头）")
    duration_minutes: Decimal | str = Field("", description="学习时长（分钟）：视频长度或阅读时间")
    content: str = Field("", description="阅读材料的正文")


class CatalogueIn(Schema):
    rows: list[CatalogueRowIn] = Field(..., max_length=MAX_IMPORT_ROWS)


class RowOut(Schema):
    row: int = Field(..., description="第几行（从 1 起）")
    code: str
    title: str
    status: str = Field(..., description="created / updated / unchanged / refused")
    reason: str
    course_id: int | None


class ImportOut(Schema):
    code: str = Field(..., description="imported（已导入）或 refused（有行被拒绝，整批未导入）")
    applied: bool = Field(..., description="是否已导入（有任何一行被拒绝时整批不导入）")
    detail: str
    counts: dict[str, int]
    rows: list[RowOut]


def _report_out(report: ImportReport) -> ImportOut:
    counts = report.counts
    detail = (f"已导入：新增 {counts['created']}，更新 {counts['updated']}，未变 {counts['unchanged']}" if report.applied
              else f"未导入：{counts['refused']} 行有误")
    return ImportOut(code="imported" if report.applied else "refused", applied=report.applied, detail=detail, counts=counts,
                     rows=[RowOut(row=r.row, code=r.code, title=r.title, status=r.status, reason=r.reason,
                                  course_id=r.course_id if report.applied else None) for r in report.rows])


@router.post("/learning/courses/import", response={200: ImportOut, 409: ImportOut},
             summary="导入课程目录（JSON；逐行结果，全部无误才导入，否则 409 且不导入）")
def courses_import(request, payload: CatalogueIn):
    scope = _division_admin(request)
    rows = [row.dict() for row in payload.rows]
    digest = hashlib.sha256(json.dumps(rows, default=str, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    report = catalogue_import(scope=scope, actor=request.auth, division=request.auth.division,
                              rows=list(enumerate(rows, start=1)), source="api", digest=digest, ip=client_ip(request))
    return (200 if report.applied else 409), _report_out(report)


def _curated(request, course: Course) -> CourseOut:
    scope = scope_for_user(request.auth)
    found = selectors.course_get(scope, course.pk)
    if found is None:  # not reached: the caller just changed it
        raise Http404
    return _course_out(found, can(scope, Action.CHANGE, found))


@router.post("/learning/courses/{course_id}/publish", response=CourseOut, summary="发布课程（登记为计学时活动）")
def courses_publish(request, course_id: int):
    row = course_publish(scope=_division_admin(request), actor=request.auth, course_id=course_id, ip=client_ip(request))
    return _curated(request, row)


@router.post("/learning/courses/{course_id}/retire", response=CourseOut, summary="下架课程（停止计学时）")
def courses_retire(request, course_id: int):
    row = course_retire(scope=_division_admin(request), actor=request.auth, course_id=course_id, ip=client_ip(request))
    return _curated(request, row)


class MergeIn(Schema):
    into_id: int = Field(..., ge=1, le=2**62, description="保留的课程")


@router.post("/learning/courses/{course_id}/merge", response=CourseOut, summary="把重复课程合并到另一门课程")
def courses_merge(request, course_id: int, payload: MergeIn):
    kept = course_merge(scope=_division_admin(request), actor=request.auth, course_id=course_id,
                        into_id=payload.into_id, ip=client_ip(request))
    return _curated(request, kept)


class ProviderOut(Schema):
    id: int
    code: str
    name: str
    kind: ProviderKind
    iri_base: str
    division: str = Field(..., description="登记区划代码")


class ProviderIn(Schema):
    code: str
    name: str
    kind: ProviderKind
    iri_base: str = ""


def _provider_out(row: Provider) -> ProviderOut:
    return ProviderOut(id=row.pk, code=row.code, name=row.name, kind=ProviderKind(row.kind), iri_base=row.iri_base,
                       division=row.division.code)


@router.get("/learning/providers", response=list[ProviderOut], summary="课程提供方")
def providers(request):
    return [_provider_out(row) for row in selectors.providers_list(_division_admin(request))]


@router.post("/learning/providers", response={201: ProviderOut}, summary="登记课程提供方")
def providers_create(request, payload: ProviderIn):
    row = provider_create(scope=_division_admin(request), actor=request.auth, division=request.auth.division,
                          code=payload.code, name=payload.name, kind=payload.kind, iri_base=payload.iri_base,
                          ip=client_ip(request))
    return 201, _provider_out(row)


class EnrolmentOut(Schema):
    id: int
    course_id: int
    course_title: str
    state: str = Field(..., description="enrolled（已选学）/ in_progress（学习中）/ completed（已完成）")
    percent: int = Field(..., description="进度（服务器核验：视频为已观看比例，阅读为核验时间比例）")
    verified_seconds: int = Field(..., description="服务器核验的学习时间（秒）")
    position_seconds: float = Field(..., description="续播位置")
    registration: str = Field(..., description="xAPI context.registration")
    rating: int | None
    enrolled_at: dt.datetime
    last_studied_at: dt.datetime | None
    completed_at: dt.datetime | None


def _enrolment_out(row) -> EnrolmentOut:
    return EnrolmentOut(id=row.pk, course_id=row.course_id, course_title=row.course.title, state=row.state,
                        percent=row.percent, verified_seconds=row.verified_seconds,
                        position_seconds=row.position_seconds, registration=str(row.registration), rating=row.rating,
                        enrolled_at=row.enrolled_at, last_studied_at=row.last_studied_at, completed_at=row.completed_at)


@router.post("/learning/courses/{int:course_id}/enrol", response={200: EnrolmentOut, 201: EnrolmentOut},
             summary="选学课程（教师本人；已选学时返回原记录）")
def courses_enrol(request, course_id: int):
    row, created = course_enrol(scope=scope_for_user(request.auth), course_id=course_id)
    return (201 if created else 200), _enrolment_out(row)


@router.get("/me/enrolments", response=list[EnrolmentOut], summary="我的学习（本人选学的课程与进度）")
def my_enrolments(request):
    return [_enrolment_out(row) for row in study_selectors.enrolments_of(scope_for_user(request.auth))]
