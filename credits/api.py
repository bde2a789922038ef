"""Hours API: a teacher's cycle summary and entries; idempotent recording."""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.http import Http404
from ninja import Field, Path, Query, Router, Schema

from access.errors import Forbidden
from access.policy import Action as Can
from access.scope import scope_for_user
from accounts.throttle import Throttled, rate_limited
from core.requests import client_ip
from credits import selectors
from credits.certificates import (
    MAX_TOKEN_LENGTH,
    VERIFY_API_MAX_PER_MINUTE_PER_ACCOUNT,
    VERIFY_MAX_PER_MINUTE,
    certificate_check,
)
from credits.claims import (
    claim_approval_reverse,
    claim_county_decide,
    claim_get,
    claim_resubmit,
    claim_school_check,
    with_history,
)
from credits.constants import API_SOURCE_TYPES, CATEGORY_LABELS, EntryState, SourceType
from credits.models import Cycle
from credits.services import SourceConflict, ledger_entry_record
from people.selectors import teacher_fetch, teacher_get

router = Router(tags=["学时"])


class CategoryOut(Schema):
    category: str
    label: str
    approved: float
    pending: float
    counted: float
    min_hours: float | None
    max_hours: float | None


class StepOut(Schema):
    kind: str
    label: str
    who: str
    at: dt.datetime | None
    reason: str
    entry_id: int | None


class EntryOut(Schema):
    id: int
    teacher_id: int
    cycle: str
    category: str
    hours: float
    occurred_on: dt.date
    source_type: str
    source_id: str
    state: str
    # Why a claim was refused or its approval reversed; its history (claims only).
    reason: str = ""
    history: list[StepOut] = []


class CreditsOut(Schema):
    teacher_id: int
    cycle: str
    rule_version: int
    required: float
    counted: float
    pending: float
    owed: float
    expected_by_now: float
    on_track: bool
    categories: list[CategoryOut]
    entries: list[EntryOut]


class EntryIn(Schema):
    teacher_id: int = Field(..., ge=1, le=2**62)
    category: str = Field(..., max_length=20)
    hours: Decimal = Field(..., max_digits=6, decimal_places=1)
    occurred_on: dt.date
    source_type: str = Field(SourceType.INTEGRATION, max_length=20)
    source_id: str = Field(..., min_length=1, max_length=100)
    state: str = Field(EntryState.APPROVED, max_length=10)
    note: str = Field("", max_length=500)


class ConflictOut(Schema):
    code: str
    detail: str


def entry_out(entry) -> EntryOut:
    history = getattr(entry, "history", []) if entry.source_type == SourceType.CLAIM else []
    return EntryOut(id=entry.pk, teacher_id=entry.teacher_id, cycle=entry.cycle.code, category=entry.category,
                    hours=float(entry.hours), occurred_on=entry.occurred_on, source_type=entry.source_type,
                    source_id=entry.source_id, state=entry.state, reason=getattr(entry, "reason", ""),
                    history=[StepOut(kind=step.kind, label=step.label, who=step.who, at=step.at, reason=step.reason,
                                     entry_id=step.entry_id) for step in history])


@router.get("/teachers/{teacher_id}/credits", response=CreditsOut, summary="教师本周期学时汇总与记录")
def teacher_credits(request, teacher_id: int = Path(..., ge=1, le=2**62), cycle: str = ""):
    scope = scope_for_user(request.auth)
    teacher = teacher_get(scope=scope, teacher_id=teacher_id)
    chosen = Cycle.objects.filter(code=cycle[:20]).first() if cycle else None
    if teacher is None or (cycle and chosen is None):
        raise Http404
    summary = selectors.teacher_cycle_summary(teacher=teacher, cycle=chosen)
    if summary is None:
        raise Http404
    return CreditsOut(
        teacher_id=teacher.pk, cycle=summary.cycle.code, rule_version=summary.rule_version, required=float(summary.required),
        counted=float(summary.counted), pending=float(summary.pending), owed=float(summary.owed),
        expected_by_now=float(summary.expected_by_now), on_track=summary.on_track,
        categories=[CategoryOut(category=line.category, label=line.label, approved=float(line.approved),
                                pending=float(line.pending), counted=float(line.counted),
                                min_hours=None if line.min_hours is None else float(line.min_hours),
                                max_hours=None if line.max_hours is None else float(line.max_hours))
                    for line in summary.lines],
        entries=[entry_out(e) for e in with_history(selectors.teacher_entries(teacher=teacher, cycle=summary.cycle),
                                                    scope=scope)],
    )


@router.post("/credits/entries", response={200: EntryOut, 201: EntryOut, 409: ConflictOut},
             summary="记录学时（按来源幂等：同一账户同一来源编号重复提交只记一次；接口只能写入 integration 来源）")
def record_entry(request, payload: EntryIn):
    # Project completions, claims, external imports, corrections and courses are the system's
    # own writers: a client cannot write (and so pre-empt) their keys.
    if payload.source_type not in API_SOURCE_TYPES:
        raise ValidationError({"source_type": "接口只能写入来源类型 integration（其他来源由系统记入）"})
    scope = scope_for_user(request.auth)
    # Who may write which state is the policy's: a school writes hours only for the county to decide.
    action = Can.RECORD_APPROVED if payload.state == EntryState.APPROVED else Can.RECORD_PENDING
    teacher = teacher_fetch(scope=scope, teacher_id=payload.teacher_id, action=action)
    try:
        entry, created = ledger_entry_record(
            teacher=teacher, category=payload.category, hours=payload.hours, occurred_on=payload.occurred_on,
            source_type=payload.source_type, source_id=payload.source_id, state=payload.state, note=payload.note,
            actor=request.auth, scope=scope, ip=client_ip(request),
        )
    except SourceConflict as error:
        return 409, ConflictOut(code="conflict", detail=error.messages[0])
    return (201 if created else 200), entry_out(entry)


class ClaimDecisionIn(Schema):
    approve: bool
    reason: str = Field("", max_length=500)


class ClaimReversalIn(Schema):
    reason: str = Field(..., max_length=500)


class ClaimResubmitIn(Schema):
    category: str = Field(..., max_length=20)
    hours: Decimal = Field(..., max_digits=6, decimal_places=1)
    occurred_on: dt.date
    note: str = Field(..., max_length=500)


def _claim(scope, entry_id: int) -> EntryOut:
    return entry_out(claim_get(scope=scope, entry_id=entry_id))


@router.get("/credits/claims/{entry_id}", response=EntryOut, summary="一条学时申报及其审核记录（教师本人与辖区管理员）")
def claim_read(request, entry_id: int = Path(..., ge=1, le=2**62)):
    return _claim(scope_for_user(request.auth), entry_id)


@router.post("/credits/claims/{entry_id}/decision", response=EntryOut,
             summary="审核学时申报：学校管理员为学校审核，县级及以上为认定；不通过须填写原因（reason）")
def claim_decision(request, payload: ClaimDecisionIn, entry_id: int = Path(..., ge=1, le=2**62)):
    scope = scope_for_user(request.auth)
    decide = claim_school_check if scope.school_id is not None else claim_county_decide
    decide(scope=scope, actor=request.auth, entry_id=entry_id, approve=payload.approve, reason=payload.reason,
           ip=client_ip(request))
    return _claim(scope, entry_id)


@router.post("/credits/claims/{entry_id}/reversal", response=EntryOut,
             summary="撤销已认定的申报（认定层级，周期关闭前；以冲销记录抵消，须填写原因）")
def claim_reversal(request, payload: ClaimReversalIn, entry_id: int = Path(..., ge=1, le=2**62)):
    scope = scope_for_user(request.auth)
    claim_approval_reverse(scope=scope, actor=request.auth, entry_id=entry_id, reason=payload.reason,
                           ip=client_ip(request))
    return _claim(scope, entry_id)


@router.post("/credits/claims/{entry_id}/resubmission", response={201: EntryOut},
             summary="教师修改未通过的申报后重新提交（新申报；沿用原证明材料）")
def claim_resubmission(request, payload: ClaimResubmitIn, entry_id: int = Path(..., ge=1, le=2**62)):
    scope = scope_for_user(request.auth)
    teacher = teacher_get(scope=scope, teacher_id=request.auth.teacher_id) if request.auth.teacher_id else None
    if teacher is None:
        raise Forbidden("只有教师本人可以重新提交申报")
    entry = claim_resubmit(scope=scope, teacher=teacher, actor=request.auth, entry_id=entry_id,
                           category=payload.category, hours=payload.hours, occurred_on=payload.occurred_on,
                           note=payload.note, ip=client_ip(request))
    return 201, _claim(scope, entry.pk)


class CertificateCategoryOut(Schema):
    category: str
    label: str
    counted: float


class CertificateCheckOut(Schema):
    valid: bool
    masked_name: str | None = None
    school: str | None = None
    cycle: str | None = None
    rule_version: int | None = None
    required: float | None = None
    counted: float | None = None
    complete: bool | None = None
    categories: list[CertificateCategoryOut] = []
    issued_on: dt.date | None = None
    serial: str | None = None
    hours_changed: bool | None = None  # the ledger no longer gives the counted hours on the certificate


@router.get("/certificates/verify", response=CertificateCheckOut,
            summary="核验学时证明（证明二维码中的 token；只返回脱敏姓名、学校、周期与学时）")
def certificate_verify(request, token: str = Query(..., max_length=MAX_TOKEN_LENGTH)):
    # Limited per account and per address (both counted on every call), as the public page is
    # per address: a signed-in client cannot probe tokens faster than an anonymous visitor.
    over_account = rate_limited("certificate-verify-api", f"u{request.auth.pk}",
                                limit=VERIFY_API_MAX_PER_MINUTE_PER_ACCOUNT, seconds=60)
    over_address = rate_limited("certificate-verify-api-ip", client_ip(request) or "unknown",
                                limit=VERIFY_MAX_PER_MINUTE, seconds=60)
    if over_account or over_address:
        raise Throttled("核验过于频繁，请稍后再试")
    verified = certificate_check(token)
    if verified is None:
        return CertificateCheckOut(valid=False)
    c = verified.certificate
    return CertificateCheckOut(
        valid=True, masked_name=verified.masked_name, school=verified.school_name, cycle=c.cycle_code,
        rule_version=c.rule_version, required=float(c.required), counted=float(c.counted), complete=c.complete,
        categories=[CertificateCategoryOut(category=code, label=CATEGORY_LABELS.get(code, code), counted=float(hours))
                    for code, hours in c.categories],
        issued_on=c.issued_on, serial=c.serial, hours_changed=verified.hours_changed,
    )
