"""Project library and enrolment API, scoped like the pages."""

import datetime as dt
from typing import Annotated, Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone
from ninja import Field, File, Path, Query, Router, Schema, UploadedFile

from access.policy import Action as Can
from access.policy import fetch, visible
from access.scope import scope_for_user
from accounts.decorators import division_admin_scope
from catalog import selectors
from catalog.attendance import attendance_record, completion_preview, project_complete, session_add
from catalog.models import Project
from catalog.services import (
    enrol,
    enrolment_withdraw,
    project_create,
    project_open,
    project_update,
)
from core.requests import client_ip
from people.selectors import teacher_fetch, teacher_get

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
    phase: str = Field("", description="进度，由状态与日期得出：draft 草稿 / enrolling 报名中 / closed 报名截止 / running 进行中 / finished 已结束")
    phase_label: str = ""
    self_enrolment: bool
    is_high_end: bool
    institution_id: int | None = Field(None, description="实施机构")
    institution: str = ""
    base_id: int | None = Field(None, description="培训基地（跟岗研修）")
    blocked: str = Field("", description="准入：不能发布（草稿）或暂停报名和开班（已发布）的原因；空为无")


class ProjectFilters(Schema):
    level: str = Field("", max_length=10)
    category: str = Field("", max_length=20)
    mode: str = Field("", max_length=20)
    q: str = Field("", max_length=50)
    phase: Literal["", "draft", "enrolling", "closed", "running", "finished"] = ""
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
    reasons: list[str] = []
    errors: Any = None  # a malformed request (422) carries the validation errors instead


def _project_out(p, blocked: dict[int, str] | None = None) -> ProjectOut:
    if blocked is None:
        blocked = selectors.blocked_reasons([p])
    return ProjectOut(id=p.pk, code=p.code, title=p.title, level=p.level, category=p.category, mode=p.mode,
                      organiser=p.organiser.name, starts_on=p.starts_on, ends_on=p.ends_on, hours=float(p.hours),
                      hour_category=p.hour_category, seats=p.seats, seats_taken=p.seats_taken, state=p.state,
                      phase=p.phase_now, phase_label=p.phase_label,
                      self_enrolment=p.self_enrolment, is_high_end=p.is_high_end, institution_id=p.institution_id,
                      institution=p.institution.name if p.institution_id else "", base_id=p.base_id,
                      blocked=blocked.get(p.pk, ""))


@router.get("/projects", response=list[ProjectOut], summary="培训项目库（筛选）")
def project_list(request, filters: Query[ProjectFilters]):
    scope = scope_for_user(request.auth)
    projects = list(selectors.project_queryset(scope=scope, level=filters.level, category=filters.category,
                                               mode=filters.mode, q=filters.q, phase=filters.phase)[:filters.limit])
    blocked = selectors.blocked_reasons(projects)
    return [_project_out(p, blocked) for p in projects]


@router.get("/projects/{project_id}", response=ProjectOut, summary="培训项目（blocked 说明准入为何不能发布或暂停）")
def project_detail(request, project_id: int = Path(..., ge=1, le=2**62)):
    project = selectors.project_get(scope=scope_for_user(request.auth), project_id=project_id)
    if project is None:
        raise Http404
    return _project_out(project)


@router.post("/projects/{project_id}/publish", response=ProjectOut,
             summary="发布报名（主办单位；所属计划须已批准，实施机构须持有覆盖本项目的有效准入）")
def project_publish(request, project_id: int = Path(..., ge=1, le=2**62)):
    scope = scope_for_user(request.auth)
    project = project_open(scope=scope, actor=request.auth, project_id=project_id, ip=client_ip(request))
    return _project_out(selectors.project_get(scope=scope, project_id=project.pk))


@router.post("/projects/{project_id}/enrolments", response={201: EnrolmentOut, 422: RefusalOut},
             summary="报名（教师本人）或推荐（管理员，给出 teacher_id）；名额满则进入候补")
def project_enrol(request, payload: EnrolIn, project_id: int = Path(..., ge=1, le=2**62)):
    scope = scope_for_user(request.auth)
    project = fetch(scope, Project, project_id)
    nominated = payload.teacher_id is not None
    if payload.teacher_id is not None:
        if scope.teacher_id is not None:
            raise PermissionDenied("教师只能为自己报名")
        teacher = teacher_fetch(scope=scope, teacher_id=payload.teacher_id, action=Can.NOMINATE)
    else:
        # The account's own record, read with the token (enrol checks it is visible: their own).
        own = request.auth.teacher if request.auth.teacher_id else None
        if own is None:
            raise PermissionDenied("账户未绑定教师档案")
        teacher = own
    try:
        enrolment = enrol(scope=scope, project_id=project_id, teacher=teacher, actor=request.auth, nominated=nominated,
                          ip=client_ip(request), project=project)
    except ValidationError as error:
        reasons = [message for messages in error.message_dict.values() for message in messages]
        return 422, RefusalOut(code="refused", detail="；".join(reasons), reasons=reasons)
    return 201, EnrolmentOut(id=enrolment.pk, project_id=enrolment.project_id, teacher_id=enrolment.teacher_id,
                             state=enrolment.state)


@router.post("/enrolments/{enrolment_id}/withdraw", response=EnrolmentOut, summary="退出项目/取消报名（名额让给候补，已获学时保留；报名开放期间可再次报名）")
def withdraw(request, enrolment_id: int = Path(..., ge=1, le=2**62)):
    enrolment = enrolment_withdraw(scope=scope_for_user(request.auth), enrolment_id=enrolment_id, actor=request.auth,
                                   ip=client_ip(request))
    return EnrolmentOut(id=enrolment.pk, project_id=enrolment.project_id, teacher_id=enrolment.teacher_id,
                        state=enrolment.state)


class ProjectIn(Schema):
    code: str = Field("", max_length=40, description="项目编号；不传则自动生成（区划代码-年度-序号）")
    title: str = Field(..., min_length=1, max_length=200)
    outline: str = Field("", max_length=5000)
    level: str = Field(..., max_length=10)
    category: str = Field(..., max_length=20)
    topics: list[str] = Field(default_factory=list, max_length=20)
    mode: str = Field(..., max_length=20)
    starts_on: dt.date
    ends_on: dt.date
    seats: int = Field(..., ge=1, le=100_000)
    hours: float = Field(..., gt=0, le=1000)
    hour_category: str = Field(..., max_length=20)
    budget: float = Field(0, ge=0, le=10**10)
    self_enrolment: bool = False
    needs_approval: bool = True
    is_high_end: bool = False
    audience: dict = Field(default_factory=dict)
    institution_id: int | None = Field(None, ge=1, le=2**62, description="实施机构（校本研修可不填）")
    base_id: int | None = Field(None, ge=1, le=2**62, description="培训基地（跟岗研修项目须选）")


class ProjectPatchIn(Schema):
    """Only the fields sent change; code, level and organiser never do."""

    title: str | None = Field(None, min_length=1, max_length=200)
    outline: str | None = Field(None, max_length=5000)
    category: str | None = Field(None, max_length=20)
    topics: list[str] | None = Field(None, max_length=20)
    mode: str | None = Field(None, max_length=20)
    institution_id: int | None = Field(None, ge=1, le=2**62)
    base_id: int | None = Field(None, ge=1, le=2**62)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    seats: int | None = Field(None, ge=1, le=100_000)
    hours: float | None = Field(None, gt=0, le=1000)
    hour_category: str | None = Field(None, max_length=20)
    budget: float | None = Field(None, ge=0, le=10**10)
    self_enrolment: bool | None = None
    needs_approval: bool | None = None
    is_high_end: bool | None = None
    min_attendance_percent: int | None = Field(None, ge=0, le=100)
    has_assessment: bool | None = None
    audience: dict | None = None


class SessionIn(Schema):
    title: str = Field(..., min_length=1, max_length=200)
    held_on: dt.date


class SessionOut(Schema):
    id: int
    number: int
    title: str
    held_on: dt.date


class AttendanceIn(Schema):
    enrolment_ids: list[int] = Field(..., max_length=5000)


class AttendanceOut(Schema):
    recorded: int
    already: int
    refused: list[RefusalOut]


class CompletionOut(Schema):
    completed: int
    already: int
    not_met: list[RefusalOut]


def _run(request, project_id: int):
    return fetch(scope_for_user(request.auth), Project, project_id, Can.RUN)


@router.post("/projects", response={201: ProjectOut}, summary="新建培训项目（草稿，由本级主办；不传 code 则自动编号；开始日期不能早于今天）")
def project_new(request, payload: ProjectIn):
    scope = division_admin_scope(request.auth, "只有县级及以上管理员可以新建项目")
    values = payload.dict()
    values["institution"] = _institution(scope, values.pop("institution_id"))
    values["base"] = _base(scope, values.pop("base_id"))
    project = project_create(scope=scope, actor=request.auth, organiser=request.auth.division,
                             ip=client_ip(request), today=timezone.localdate(), **values)
    return 201, _project_out(project)


def _institution(scope, institution_id: int | None):
    """The implementing institution the caller may name (access policy ASSIGN), or None."""
    from org.models import Institution

    if not institution_id:
        return None
    institution = visible(scope, Institution, Can.ASSIGN).filter(pk=institution_id).first()
    if institution is None:
        raise ValidationError({"institution_id": "实施机构不存在"})
    return institution


def _base(scope, base_id: int | None):
    """The training base the caller may book (access policy ASSIGN), or None."""
    from institutions.models import TrainingBase

    if not base_id:
        return None
    base = visible(scope, TrainingBase, Can.ASSIGN).filter(pk=base_id).first()
    if base is None:
        raise ValidationError({"base_id": "培训基地不存在"})
    return base


@router.patch("/projects/{project_id}", response=ProjectOut, summary="修改培训项目（只改所传字段）")
def project_patch(request, payload: ProjectPatchIn, project_id: int = Path(..., ge=1, le=2**62)):
    scope = scope_for_user(request.auth)
    project = fetch(scope, Project, project_id, Can.CHANGE)
    # null clears the implementing institution; for any other field it is refused, not stored.
    changes = payload.dict(exclude_unset=True)
    nulls = sorted(name for name, value in changes.items() if value is None and name not in ("institution_id", "base_id"))
    if nulls:
        raise ValidationError({name: "不能为空" for name in nulls})
    if "institution_id" in changes:
        changes["institution"] = _institution(scope, changes.pop("institution_id"))
    if "base_id" in changes:
        changes["base"] = _base(scope, changes.pop("base_id"))
    # seats too: checked with the other fields, then moved by project_seats_change, all or nothing
    project, _ = project_update(scope=scope, actor=request.auth, ip=client_ip(request), project_id=project.pk,
                                changes=changes)
    return _project_out(selectors.project_get(scope=scope, project_id=project.pk))


@router.post("/projects/{project_id}/sessions", response={201: SessionOut}, summary="添加场次")
def session_new(request, payload: SessionIn, project_id: int = Path(..., ge=1, le=2**62)):
    project = _run(request, project_id)
    session = session_add(scope=scope_for_user(request.auth), project=project, title=payload.title,
                          held_on=payload.held_on)
    return 201, SessionOut(id=session.pk, number=session.number, title=session.title, held_on=session.held_on)


@router.post("/sessions/{session_id}/attendance", response=AttendanceOut, summary="记录出勤（重复记录无副作用）")
def attendance(request, payload: AttendanceIn, session_id: int = Path(..., ge=1, le=2**62)):
    report = attendance_record(user=request.auth, scope=scope_for_user(request.auth), session_id=session_id,
                               enrolment_ids=payload.enrolment_ids, method="api")
    return AttendanceOut(recorded=report.recorded, already=report.already,
                         refused=[RefusalOut(code=str(i), detail=reason, reasons=[reason]) for i, reason in report.refused])


class UploadRefusalOut(Schema):
    row: int
    column: str
    reason: str


class AttendanceUploadOut(Schema):
    rows: int
    recorded: int
    already: int
    refused: list[UploadRefusalOut]


@router.post("/projects/{project_id}/attendance-upload", response=AttendanceUploadOut,
             summary="上传考勤表（导出表勾选后上传；按报名编号匹配，重复上传无副作用）")
def attendance_upload_route(request, file: File[UploadedFile], project_id: int = Path(..., ge=1, le=2**62)):
    from catalog.attendance_upload import attendance_upload

    project = _run(request, project_id)
    report = attendance_upload(user=request.auth, scope=scope_for_user(request.auth), project=project,
                               handle=file.file, name=file.name or "upload", ip=client_ip(request))  # type: ignore[arg-type]
    return AttendanceUploadOut(rows=report.rows, recorded=report.recorded, already=report.already,
                               refused=[UploadRefusalOut(**r) for r in report.refused])


class CompletionLineOut(Schema):
    enrolment_id: int
    teacher_id: int
    name: str
    school: str
    outcome: str = Field(..., description="complete 本次结业 | already 此前已结业 | not_met 未达结业条件")
    reason: str
    attended: int
    hours: float


class CompletionSessionOut(Schema):
    session_id: int
    number: int
    held_on: dt.date
    hours: float


class CompletionPreviewOut(Schema):
    digest: str = Field(..., description="确认时原样提交（?digest=）；名单、考勤或场次变化后失效")
    hours: float
    hour_category: str
    sessions: list[CompletionSessionOut]
    lines: list[CompletionLineOut]
    completers: int
    total_hours: float
    problem: str = Field("", description="为何暂不能判定结业（如尚无已举行的场次）；空为可以判定")


@router.get("/projects/{project_id}/completion", response=CompletionPreviewOut,
            summary="结业预览：谁结业、谁未达条件及原因、每人记入的学时与类别、合计；不写入")
def completion_preview_route(request, project_id: int = Path(..., ge=1, le=2**62)):
    project = _run(request, project_id)
    preview = completion_preview(scope=scope_for_user(request.auth), project=project)
    return CompletionPreviewOut(
        digest=preview.digest, hours=float(project.hours), hour_category=project.hour_category,
        sessions=[CompletionSessionOut(session_id=s.pk, number=s.number, held_on=s.held_on, hours=float(share))
                  for s, share in preview.session_days],
        lines=[CompletionLineOut(enrolment_id=line.enrolment_id, teacher_id=line.teacher_id, name=line.name,
                                 school=line.school, outcome=line.outcome, reason=line.reason, attended=line.attended,
                                 hours=float(line.hours)) for line in preview.lines],
        completers=len(preview.completers), total_hours=float(preview.total_hours), problem=preview.problem)


@router.post("/projects/{project_id}/completion", response=CompletionOut,
             summary="判定结业并把学时记入账本（每人每项目只记一次）；带 digest（来自预览）时只写入预览所示，"
                     "预览后有变化则 422 且不写入")
def completion(request, project_id: int = Path(..., ge=1, le=2**62), digest: str = Query("", max_length=64)):
    project = _run(request, project_id)
    report = project_complete(user=request.auth, scope=scope_for_user(request.auth), project=project,
                              digest=digest or None, ip=client_ip(request))
    return CompletionOut(completed=report.completed, already=report.already,
                         not_met=[RefusalOut(code=str(i), detail=reason, reasons=[reason]) for i, reason in report.not_met])


class ScheduleItemOut(Schema):
    session_id: int
    project_id: int
    project_title: str
    number: int
    title: str
    held_on: dt.date
    mode: str
    enrolment_state: str
    attended: bool


def _calling_teacher(request):
    teacher = teacher_get(scope=scope_for_user(request.auth), teacher_id=request.auth.teacher_id) \
        if request.auth.teacher_id else None
    if teacher is None:
        raise PermissionDenied("只有教师本人可以查看")
    return teacher


@router.get("/me/schedule", response=list[ScheduleItemOut], summary="我的培训日程（教师本人）")
def my_schedule(request):
    from catalog.schedule import teacher_schedule

    return [ScheduleItemOut(session_id=i.session.pk, project_id=i.session.project_id, project_title=i.session.project.title,
                            number=i.session.number, title=i.session.title, held_on=i.session.held_on,
                            mode=i.session.project.mode, enrolment_state=i.enrolment_state, attended=i.attended)
            for i in teacher_schedule(scope=scope_for_user(request.auth), teacher_id=_calling_teacher(request).pk)]


@router.get("/me/open-projects", response=list[ProjectOut], summary="向我开放的项目（可自主报名、我在培训对象之内）")
def my_open_projects(request):
    from django.utils import timezone

    from catalog.schedule import open_to_teacher

    return [_project_out(p) for p in open_to_teacher(scope=scope_for_user(request.auth), teacher=_calling_teacher(request),
                                                     today=timezone.localdate())]


class NominationsIn(Schema):
    teacher_ids: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(..., min_length=1, max_length=200)


class NominationOut(Schema):
    teacher_id: int
    name: str
    outcome: str = Field(..., description="enrolled | pending | waiting | already | refused")
    state: str
    reasons: list[str]


@router.post("/projects/{project_id}/nominations", response=list[NominationOut],
             summary="推荐本辖区教师参训（逐人给出结果；不符合条件的列出原因）")
def project_nominations(request, payload: NominationsIn, project_id: int = Path(..., ge=1, le=2**62)):
    from catalog.nominations import NomineeNotFound, may_nominate, nominees_get, project_nominate

    if not may_nominate(request.auth):
        raise PermissionDenied("只有管理员可以推荐教师")
    scope = scope_for_user(request.auth)
    project = selectors.project_get(scope=scope, project_id=project_id)
    if project is None:
        raise Http404
    try:
        teachers = nominees_get(scope=scope, teacher_ids=payload.teacher_ids)
    except NomineeNotFound:
        raise Http404 from None
    results = project_nominate(scope=scope, actor=request.auth, project=project, teachers=teachers, ip=client_ip(request))
    return [NominationOut(teacher_id=r.teacher_id, name=r.name, outcome=r.outcome, state=r.state, reasons=r.reasons)
            for r in results]
