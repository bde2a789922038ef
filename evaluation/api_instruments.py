"""/api/v1/ operations for evaluation: instruments (list, read, create, publish, new version,
retire), a project's assessments (list, attach, remove), a teacher's assessments and their answers,
and a project's comparison. Each route resolves the caller's scope and calls one selector or
service; the services ask the access policy. Refusals are JSON: 404 / 403 / 422 in Chinese."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import Field, File, Query, Router, Schema, UploadedFile

from access.policy import Action, can
from access.scope import scope_for_user
from accounts.decorators import DIVISION_ADMIN_ROLES
from core.requests import client_ip
from evaluation import comparison as cmp
from evaluation import instrument_selectors as selectors
from evaluation import instruments as services
from evaluation import outcomes
from evaluation.constants import DIMENSION_LABELS
from evaluation.instrument_views import READ_ROLES, TAKER_ROLES

router = Router(tags=["培训评价"])


def _scope(user, roles=READ_ROLES, refusal: str = "当前角色无权使用测评工具"):
    if user.role not in roles:
        raise PermissionDenied(refusal)
    return scope_for_user(user)


class ItemSchema(Schema):
    number: int = 0
    text: str = Field(..., max_length=500)
    dimension: str = Field(..., max_length=20)
    dimension_label: str = ""
    reverse: bool = False


class InstrumentOut(Schema):
    id: int
    code: str
    version: int
    kind: str
    title: str
    description: str
    scale_min: int
    scale_max: int
    division: str = Field(..., description="所属单位的区划代码")
    state: str
    published_at: dt.datetime | None
    item_count: int


class InstrumentDetailOut(InstrumentOut):
    items: list[ItemSchema]
    may_change: bool


def _out(row, count: int | None = None) -> InstrumentOut:
    return InstrumentOut(id=row.pk, code=row.code, version=row.version, kind=row.kind, title=row.title,
                         description=row.description, scale_min=row.scale_min, scale_max=row.scale_max,
                         division=row.division.code, state=row.state, published_at=row.published_at,
                         item_count=getattr(row, "item_count", count or 0))


def _detail(scope, instrument_id: int) -> InstrumentDetailOut:
    row = selectors.instrument_get(scope, instrument_id)
    if row is None:
        raise Http404
    items = [ItemSchema(number=i.number, text=i.text, dimension=i.dimension,
                        dimension_label=DIMENSION_LABELS.get(i.dimension, i.dimension), reverse=i.reverse)
             for i in row.items.order_by("number")]
    return InstrumentDetailOut(**_out(row, len(items)).dict(), items=items, may_change=can(scope, Action.CHANGE, row))


class InstrumentQuery(Schema):
    kind: str = Field("", max_length=12)
    state: str = Field("", max_length=10)


@router.get("/instruments", response=list[InstrumentOut], summary="测评工具列表（本辖区的，及上级已发布的）")
def instrument_list(request, filters: Query[InstrumentQuery]):
    scope = _scope(request.auth)
    return [_out(row) for row in selectors.instruments_visible(scope, kind=filters.kind, state=filters.state)
            [:selectors.PAGE_MAX]]


class InstrumentIn(Schema):
    code: str = Field(..., max_length=40)
    kind: str = Field(..., max_length=12, description="assessment（能力测评）或 rating（匿名评价问卷）")
    title: str = Field(..., max_length=200)
    description: str = Field("", max_length=2000)
    scale_min: int = Field(1, ge=0, le=10)
    scale_max: int = Field(5, ge=0, le=10)
    division_id: int | None = Field(None, ge=1, le=2**62, description="所属单位（默认本单位）")
    items: list[ItemSchema] = Field(default_factory=list, max_length=services.ITEMS_MAX)


@router.post("/instruments", response={201: InstrumentDetailOut}, summary="新建测评工具（草稿，含题目）")
def instrument_create(request, payload: InstrumentIn):
    scope = _scope(request.auth, DIVISION_ADMIN_ROLES, "只有县级及以上管理员可以管理测评工具")
    data = payload.dict()
    items = [{"text": i["text"], "dimension": i["dimension"], "reverse": i["reverse"]} for i in data.pop("items")]
    row = services.instrument_create(scope=scope, actor=request.auth, items=items, ip=client_ip(request), **data)
    return 201, _detail(scope, row.pk)


@router.get("/instruments/{int:instrument_id}", response=InstrumentDetailOut, summary="一个测评工具及其题目")
def instrument_detail(request, instrument_id: int):
    return _detail(_scope(request.auth), instrument_id)


@router.post("/instruments/{int:instrument_id}/publish", response=InstrumentDetailOut,
             summary="发布（至少一道题；发布后不再改动）")
def instrument_publish(request, instrument_id: int):
    scope = _scope(request.auth, DIVISION_ADMIN_ROLES, "只有县级及以上管理员可以管理测评工具")
    services.instrument_publish(scope=scope, actor=request.auth, instrument_id=instrument_id, ip=client_ip(request))
    return _detail(scope, instrument_id)


@router.post("/instruments/{int:instrument_id}/versions", response={201: InstrumentDetailOut},
             summary="新建版本（复制为同一编号的下一版草稿）")
def instrument_new_version(request, instrument_id: int):
    scope = _scope(request.auth, DIVISION_ADMIN_ROLES, "只有县级及以上管理员可以管理测评工具")
    copy = services.instrument_new_version(scope=scope, actor=request.auth, instrument_id=instrument_id,
                                           ip=client_ip(request))
    return 201, _detail(scope, copy.pk)


@router.post("/instruments/{int:instrument_id}/retire", response=InstrumentDetailOut, summary="停用已发布的测评工具")
def instrument_retire(request, instrument_id: int):
    scope = _scope(request.auth, DIVISION_ADMIN_ROLES, "只有县级及以上管理员可以管理测评工具")
    services.instrument_retire(scope=scope, actor=request.auth, instrument_id=instrument_id, ip=client_ip(request))
    return _detail(scope, instrument_id)


# --- a project's assessments -------------------------------------------------------------------

class AttachmentOut(Schema):
    id: int
    project_id: int
    instrument_id: int
    instrument: str
    point: str
    opens_on: dt.date
    closes_on: dt.date
    responses: int | None = None


def _attachment_out(row, responses: int | None = None) -> AttachmentOut:
    return AttachmentOut(id=row.pk, project_id=row.project_id, instrument_id=row.instrument_id,
                         instrument=str(row.instrument), point=row.point, opens_on=row.opens_on,
                         closes_on=row.closes_on, responses=responses)


@router.get("/projects/{int:project_id}/assessments", response=list[AttachmentOut], summary="项目的测评安排")
def attachment_list(request, project_id: int):
    scope = _scope(request.auth)
    project = cmp.project_for_comparison(scope, project_id)
    return [_attachment_out(row, getattr(row, "response_count", None)) for row in selectors.project_attachments(scope, project)]


class AttachmentIn(Schema):
    instrument_id: int = Field(..., ge=1, le=2**62)
    point: str = Field(..., max_length=4, description="pre / mid / post")
    opens_on: dt.date
    closes_on: dt.date


@router.post("/projects/{int:project_id}/assessments", response={201: AttachmentOut},
             summary="为项目安排测评（已发布的能力测评，训前/训中/训后各一次）")
def attachment_create(request, project_id: int, payload: AttachmentIn):
    scope = _scope(request.auth)
    row = services.attachment_create(scope=scope, actor=request.auth, project_id=project_id, ip=client_ip(request),
                                     **payload.dict())
    return 201, _attachment_out(row, 0)


@router.delete("/assessments/{int:attachment_id}", response={204: None}, summary="取消测评安排（尚无作答时）")
def attachment_delete(request, attachment_id: int):
    services.attachment_delete(scope=_scope(request.auth), actor=request.auth, attachment_id=attachment_id,
                               ip=client_ip(request))
    return 204, None


# --- a teacher's assessments -------------------------------------------------------------------

class MyAssessmentOut(AttachmentOut):
    project: str
    title: str
    scale_min: int
    scale_max: int
    answered: bool
    open: bool


@router.get("/me/assessments", response=list[MyAssessmentOut], summary="我的测评（已录取或已结业项目的测评）")
def my_assessments(request):
    scope = _scope(request.auth, TAKER_ROLES, "只有教师本人可以查看自己的测评")
    return [MyAssessmentOut(**_attachment_out(r.attachment).dict(), project=r.attachment.project.title,
                            title=r.attachment.instrument.title, scale_min=r.attachment.instrument.scale_min,
                            scale_max=r.attachment.instrument.scale_max, answered=r.answered, open=r.open)
            for r in selectors.my_assessments(scope)]


class ResponseIn(Schema):
    answers: dict[str, int] = Field(..., description='{"题号": 答案}，每题都要作答，答案在量表范围内')


class ResponseOut(Schema):
    id: int
    attachment_id: int
    scores: dict[str, float]


@router.post("/assessments/{int:attachment_id}/responses", response={201: ResponseOut},
             summary="提交测评作答（本人；开放期内；每人一次）")
def response_submit(request, attachment_id: int, payload: ResponseIn):
    scope = _scope(request.auth, TAKER_ROLES, "只有参训教师本人可以作答")
    response = services.response_submit(scope=scope, actor=request.auth, attachment_id=attachment_id,
                                        answers=payload.answers)
    return 201, ResponseOut(id=response.pk, attachment_id=attachment_id,
                            scores={s.dimension: round(s.score, 4) for s in response.scores.all()})


# --- comparison --------------------------------------------------------------------------------

class PairedOut(Schema):
    before: str
    after: str
    dimension: str
    label: str
    n: int
    suppressed: bool
    reason: str = ""
    mean_before: float | None = None
    mean_after: float | None = None
    change: float | None = None
    sd_change: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    d_z: float | None = None
    g_z: float | None = None
    d_ci_low: float | None = None
    d_ci_high: float | None = None
    p: float | None = None


class DidOut(Schema):
    measure: str
    before_year: int
    after_year: int
    n_trained: int
    n_controls: int
    suppressed: bool
    reason: str = ""
    trained_change: float | None = None
    control_change: float | None = None
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


class ComparisonOut(Schema):
    project_id: int
    min_pairs: int
    points: list[str]
    rows: list[PairedOut]
    did: list[DidOut]


@router.get("/projects/{int:project_id}/comparison", response=ComparisonOut,
            summary="训前训后对比评价（配对变化、效应量、置信区间；与未参训教师的双重差分）")
def project_comparison(request, project_id: int):
    comparison = cmp.project_comparison(_scope(request.auth), project_id)
    rows = []
    for row in comparison.rows:
        figures = {} if row.stats is None else {k: v for k, v in row.stats.__dict__.items() if k != "n"}
        rows.append(PairedOut(before=row.before, after=row.after, dimension=row.dimension, label=row.label, n=row.n,
                              suppressed=row.suppressed, reason=row.reason, **figures))
    did = [DidOut(measure=d.measure, before_year=d.before_year, after_year=d.after_year, n_trained=d.n_trained,
                  n_controls=d.n_controls, suppressed=d.suppressed, reason=d.reason, trained_change=d.trained_change,
                  control_change=d.control_change, estimate=d.estimate, ci_low=d.ci_low, ci_high=d.ci_high)
           for d in comparison.did]
    return ComparisonOut(project_id=comparison.project.pk, min_pairs=cmp.MIN_PAIRS, points=comparison.points,
                         rows=rows, did=did)


# --- teaching outcomes -------------------------------------------------------------------------

class OutcomeRefusalOut(Schema):
    row: int
    column: str
    reason: str
    values: list[str] = Field(..., description="该行内容（身份证号已脱敏）")


class OutcomeImportOut(Schema):
    written: bool = Field(..., description="false：有行未通过检查，整个文件未导入")
    rows: int
    created: int
    updated: int
    unchanged: int
    rejections: list[OutcomeRefusalOut]


@router.post("/teaching-outcomes/import", response=OutcomeImportOut,
             summary="导入教学成效数据（Excel/CSV；有任一行未通过则整个文件不导入；同一文件重复导入无变化）")
def outcome_import(request, file: File[UploadedFile]):
    from people.roster.files import RosterFileError

    scope = _scope(request.auth, DIVISION_ADMIN_ROLES, "只有县级及以上管理员可以导入教学成效数据")
    try:
        result = outcomes.outcome_import(scope=scope, actor=request.auth, handle=file.file,  # type: ignore[arg-type]
                                         name=file.name or "upload", ip=client_ip(request))
    except RosterFileError as error:
        raise ValidationError({"file": str(error)}) from None
    return OutcomeImportOut(written=result.written, rows=result.rows, created=result.created, updated=result.updated,
                            unchanged=result.unchanged,
                            rejections=[OutcomeRefusalOut(**r) for r in result.rejections[:outcomes.REJECTIONS_SHOWN]])


class OutcomeFilterIn(Schema):
    year: int | None = Field(None, ge=2000, le=2100, description="学年（起始年份）")
    measure: str = Field("", max_length=40)
    page: int = Field(1, ge=1, le=100_000)


class OutcomeRowOut(Schema):
    teacher_id: int
    teacher_name: str
    school: str
    year: int
    measure: str
    value: float
    source: str


class OutcomePageOut(Schema):
    items: list[OutcomeRowOut]
    count: int
    page: int
    pages: int


@router.get("/teaching-outcomes", response=OutcomePageOut, summary="本辖区教师已导入的教学成效数据（分页，每页50条）")
def outcome_list(request, filters: Query[OutcomeFilterIn]):
    from django.core.paginator import Paginator

    from accounts.models import ADMIN_ROLES

    scope = _scope(request.auth, ADMIN_ROLES, "只有管理员可以查看教学成效数据")
    page = Paginator(selectors.outcome_rows(scope, year=filters.year, measure=filters.measure), 50).get_page(
        filters.page)
    return OutcomePageOut(items=[OutcomeRowOut(teacher_id=r.teacher_id, teacher_name=r.teacher.name,
                                               school=r.teacher.school.name, year=r.year, measure=r.measure,
                                               value=r.value, source=r.source) for r in page],
                          count=page.paginator.count, page=page.number, pages=page.paginator.num_pages)
