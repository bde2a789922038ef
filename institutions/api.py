"""Accreditation API (/api/v1/accreditations…): list and read; apply (a draft, JSON); add
evidence (multipart); submit; decide; renew (multipart); suspend, reinstate, revoke. Each route
resolves the caller's scope and calls one selector or service; the services ask the access
policy and move the row only through the state machine."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from ninja import Field, File, Form, Query, Router, Schema, UploadedFile

from access.scope import scope_for_user
from core.requests import client_ip
from institutions import registry, selectors, services
from institutions.views import ROLES

router = Router(tags=["培训机构准入"])


def _scope(user):
    if user.role not in ROLES:
        raise PermissionDenied("只有培训机构人员和县级及以上管理员可以办理机构准入")
    return scope_for_user(user)


class AccreditationOut(Schema):
    id: int
    institution_id: int
    institution: str
    accrediting_division: str = Field(..., description="认定单位区划代码")
    levels: list[str]
    categories: list[str]
    modes: list[str]
    state: str
    valid_from: dt.date | None
    valid_until: dt.date | None
    reason: str


class ScoreOut(Schema):
    criterion: str
    name: str
    max_score: int
    score: int | None


class EventOut(Schema):
    action: str
    from_state: str
    to_state: str
    reason: str
    at: dt.datetime


class AccreditationDetailOut(AccreditationOut):
    note: str
    criteria_version: int | None
    scores: list[ScoreOut]
    evidence: list[str]
    events: list[EventOut]


def _out(row) -> AccreditationOut:
    return AccreditationOut(id=row.pk, institution_id=row.institution_id, institution=row.institution.name,
                            accrediting_division=row.accrediting_division.code, levels=row.levels,
                            categories=row.categories, modes=row.modes, state=row.state, valid_from=row.valid_from,
                            valid_until=row.valid_until, reason=row.reason)


def _detail(scope, accreditation_id: int) -> AccreditationDetailOut:
    row = selectors.accreditation_get(scope, accreditation_id)
    if row is None:
        raise Http404
    given = {s.criterion_id: s.score for s in row.scores.all()}
    scores = [ScoreOut(criterion=item.code, name=item.name, max_score=item.max_score, score=given.get(item.pk))
              for item in (row.criteria.items.all() if row.criteria else [])]
    return AccreditationDetailOut(
        **_out(row).dict(), note=row.note, criteria_version=row.criteria.version if row.criteria else None,
        scores=scores, evidence=[e.name for e in row.evidence.all()],
        events=[EventOut(action=e.action, from_state=e.from_state, to_state=e.to_state, reason=e.reason, at=e.at)
                for e in row.events.all()])


@router.get("/accreditations", response=list[AccreditationOut], summary="准入申请（本机构；本辖区）")
def accreditation_list(request, state: str = "", q: str = "", to_decide: bool = False):
    scope = _scope(request.auth)
    return [_out(row) for row in selectors.accreditations(scope, state=state, q=q[:50], to_decide=to_decide)[:500]]


@router.get("/accreditations/{int:accreditation_id}", response=AccreditationDetailOut,
            summary="一个准入申请：范围、评分、证明材料与记录")
def accreditation_detail(request, accreditation_id: int):
    return _detail(_scope(request.auth), accreditation_id)


class ApplyIn(Schema):
    institution_id: int = Field(..., ge=1, le=2**62)
    levels: list[str] = Field(..., max_length=3)
    categories: list[str] = Field(..., max_length=20)
    modes: list[str] = Field(..., max_length=10)
    note: str = Field("", max_length=2000)


@router.post("/accreditations", response={201: AccreditationDetailOut},
             summary="申请准入（草稿；证明材料另行上传后提交）")
def accreditation_apply(request, payload: ApplyIn):
    scope = _scope(request.auth)
    row = services.accreditation_apply(scope=scope, actor=request.auth, institution_id=payload.institution_id,
                                       levels=payload.levels, categories=payload.categories, modes=payload.modes,
                                       note=payload.note, ip=client_ip(request))
    return 201, _detail(scope, row.pk)


@router.post("/accreditations/{int:accreditation_id}/evidence", response=AccreditationDetailOut,
             summary="上传证明材料（PDF、JPG、PNG）")
def evidence_upload(request, accreditation_id: int, file: File[UploadedFile]):
    scope = _scope(request.auth)
    services.evidence_add(scope=scope, actor=request.auth, accreditation_id=accreditation_id, files=[file],
                          ip=client_ip(request))
    return _detail(scope, accreditation_id)


@router.post("/accreditations/{int:accreditation_id}/submit", response=AccreditationDetailOut, summary="提交审核")
def accreditation_submit(request, accreditation_id: int):
    scope = _scope(request.auth)
    services.accreditation_submit(scope=scope, actor=request.auth, accreditation_id=accreditation_id,
                                  ip=client_ip(request))
    return _detail(scope, accreditation_id)


class DecisionIn(Schema):
    decision: Literal["approve", "return", "refuse"]
    reason: str = Field("", max_length=1000)
    scores: dict[str, int] = Field(default_factory=dict, description="认定项编号 → 得分")
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None


@router.post("/accreditations/{int:accreditation_id}/decision", response=AccreditationDetailOut,
             summary="认定单位作出决定（批准并给出有效期、退回修改、不予准入；续期：批准或不予续期）")
def accreditation_decide(request, accreditation_id: int, payload: DecisionIn):
    scope = _scope(request.auth)
    services.accreditation_decide(scope=scope, actor=request.auth, accreditation_id=accreditation_id,
                                  decision=payload.decision, reason=payload.reason, scores=payload.scores,
                                  valid_from=payload.valid_from, valid_until=payload.valid_until,
                                  ip=client_ip(request))
    return _detail(scope, accreditation_id)


@router.post("/accreditations/{int:accreditation_id}/renew", response=AccreditationDetailOut,
             summary="有效期内申请续期（附新的证明材料）")
def accreditation_renew(request, accreditation_id: int, file: File[UploadedFile], note: Form[str] = ""):
    scope = _scope(request.auth)
    services.accreditation_renew(scope=scope, actor=request.auth, accreditation_id=accreditation_id, note=note,
                                 files=[file], ip=client_ip(request))
    return _detail(scope, accreditation_id)


class ReasonIn(Schema):
    reason: str = Field(..., max_length=1000)


def _reviewer_route(name: str, service, summary: str):
    @router.post(f"/accreditations/{{int:accreditation_id}}/{name}", response=AccreditationDetailOut,
                 summary=summary, operation_id=f"accreditation_{name}")
    def route(request, accreditation_id: int, payload: ReasonIn):
        scope = _scope(request.auth)
        service(scope=scope, actor=request.auth, accreditation_id=accreditation_id, reason=payload.reason,
                ip=client_ip(request))
        return _detail(scope, accreditation_id)

    return route


_reviewer_route("suspend", services.accreditation_suspend, "暂停准入（认定单位）")
_reviewer_route("reinstate", services.accreditation_reinstate, "恢复准入（认定单位）")
_reviewer_route("revoke", services.accreditation_revoke, "撤销准入（认定单位）")


# --- the registry ---------------------------------------------------------------------------

class RegistryOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    division: str = Field(..., description="所在区划代码")
    accreditation_id: int | None = Field(None, description="有效的准入（没有则为最近一次）")
    accreditation_state: str | None
    levels: list[str]
    categories: list[str]
    modes: list[str]
    valid_until: dt.date | None


@router.get("/institutions", response=list[RegistryOut], summary="培训机构名录（本辖区；每家附有效或最近的准入）")
def registry_list(request, q: str = "", kind: str = "", in_force: bool | None = None):
    entries = registry.registry(_scope(request.auth), q=q[:50], kind=kind[:30], in_force=in_force)
    return [RegistryOut(id=e.institution.pk, code=e.institution.code, name=e.institution.name, kind=e.institution.kind,
                        division=e.institution.division.code,
                        accreditation_id=e.accreditation.pk if e.accreditation else None,
                        accreditation_state=e.accreditation.state if e.accreditation else None,
                        levels=e.accreditation.levels if e.accreditation else [],
                        categories=e.accreditation.categories if e.accreditation else [],
                        modes=e.accreditation.modes if e.accreditation else [],
                        valid_until=e.accreditation.valid_until if e.accreditation else None) for e in entries]


@router.get("/accreditations-expiring", response=list[AccreditationOut],
            summary="即将到期的准入（有效期在 days 天内结束）")
def expiring_list(request, days: int = Query(registry.EXPIRING_DAYS, ge=1, le=registry.EXPIRING_DAYS_MAX)):
    return [_out(row) for row in registry.expiring(_scope(request.auth), days=days)[:1000]]


@router.get("/institutions/export", summary="导出 Excel：kind=registry 机构名录，kind=expiring 即将到期（审计）")
def registry_export(request, kind: str, days: int = Query(registry.EXPIRING_DAYS, ge=1, le=registry.EXPIRING_DAYS_MAX)):
    handle, name, _ = registry.export(scope=_scope(request.auth), actor=request.auth, kind=kind, days=days,
                                      ip=client_ip(request))
    return FileResponse(handle, as_attachment=True, filename=name)
