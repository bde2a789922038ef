"""Learning-records API (/api/v1/lrs/…): clients and their traffic, credited activities,
held completions and their decision, a teacher's own records and identities. The xAPI
resources themselves are at /xapi/ (client credentials, not people)."""

from __future__ import annotations

import datetime as dt

from django.http import Http404
from ninja import Field, Query, Router, Schema

from access.policy import fetch
from access.scope import scope_for_user
from accounts.decorators import division_admin_scope
from core.requests import client_ip
from credits.constants import Category
from lrs import selectors
from lrs.clients import client_create, client_revoke
from lrs.credited import credited_activity_create, credited_activity_set_active
from lrs.crediting import credit_decide
from lrs.learners import identities_of, learner_identity_add, learner_identity_remove
from lrs.models import CreditedActivity, CreditState, LrsClient, StatementCredit

router = Router(tags=["学习记录"])


def _division_admin(request):
    return division_admin_scope(request.auth, "只有县级及以上管理员可以管理学习记录接入")


class ClientOut(Schema):
    id: int
    name: str
    key: str
    division: str = Field(..., description="所属区划代码")
    activity_prefixes: list[str]
    may_write: bool
    reads_all: bool
    rate_per_minute: int
    last_seen_at: dt.datetime | None
    revoked_at: dt.datetime | None
    today_statements: int = 0
    today_rejected: int = 0
    recent_statements: int = Field(0, description="近30天语句数")


def _client_out(client: LrsClient) -> ClientOut:
    return ClientOut(id=client.pk, name=client.name, key=client.key, division=client.division.code,
                     activity_prefixes=client.activity_prefixes, may_write=client.may_write, reads_all=client.reads_all,
                     rate_per_minute=client.rate_per_minute, last_seen_at=client.last_seen_at,
                     revoked_at=client.revoked_at, today_statements=getattr(client, "today_statements", 0),
                     today_rejected=getattr(client, "today_rejected", 0),
                     recent_statements=getattr(client, "recent_statements", 0))


class ClientIn(Schema):
    name: str
    activity_prefixes: list[str] = Field(..., description='可写入的活动 IRI 前缀；"*" 表示不限')
    may_write: bool = True
    reads_all: bool = False
    rate_per_minute: int = 600


class ClientCreatedOut(ClientOut):
    secret: str = Field(..., description="密钥，只返回这一次")


@router.get("/lrs/clients", response=list[ClientOut], summary="本辖区的学习记录接入方")
def clients(request):
    return [_client_out(client) for client in selectors.clients_list(_division_admin(request))]


@router.post("/lrs/clients", response={201: ClientCreatedOut}, summary="创建接入方（密钥只返回一次）")
def clients_create(request, payload: ClientIn):
    client, secret = client_create(scope=_division_admin(request), actor=request.auth, name=payload.name,
                                   division=request.auth.division, activity_prefixes=payload.activity_prefixes,
                                   may_write=payload.may_write, reads_all=payload.reads_all,
                                   rate_per_minute=payload.rate_per_minute, ip=client_ip(request))
    return 201, ClientCreatedOut(**_client_out(client).dict(), secret=secret)


@router.post("/lrs/clients/{client_id}/revoke", response=ClientOut, summary="停用接入方")
def clients_revoke(request, client_id: int):
    client = client_revoke(scope=_division_admin(request), actor=request.auth, client_id=client_id,
                           ip=client_ip(request))
    return _client_out(client)


class DayOut(Schema):
    day: dt.date
    statements: int
    rejected: int


@router.get("/lrs/clients/{client_id}/days", response=list[DayOut], summary="接入方近30天每日语句与拒绝数")
def client_days(request, client_id: int):
    client = fetch(_division_admin(request), LrsClient, client_id)
    return [DayOut(day=d.day, statements=d.statements, rejected=d.rejected) for d in selectors.client_days(client)]


class RejectionOut(Schema):
    at: dt.datetime
    method: str
    resource: str
    status: int
    message: str


@router.get("/lrs/clients/{client_id}/rejections", response=list[RejectionOut], summary="接入方最近被拒绝的请求")
def client_rejections(request, client_id: int):
    client = fetch(_division_admin(request), LrsClient, client_id)
    return [RejectionOut(at=r.at, method=r.method, resource=r.resource, status=r.status, message=r.message)
            for r in selectors.client_rejections(client)]


class UnmatchedOut(Schema):
    agent_key: str
    completions: int
    latest: dt.datetime


@router.get("/lrs/clients/{client_id}/unmatched", response=list[UnmatchedOut], summary="未匹配教师的学习者")
def client_unmatched(request, client_id: int):
    scope = _division_admin(request)
    client = fetch(scope, LrsClient, client_id)
    return [UnmatchedOut(agent_key=u.agent_key, completions=u.completions, latest=u.latest)
            for u in selectors.client_unmatched(scope, client)]


class CreditOut(Schema):
    id: int
    state: str
    reason: str
    statement_id: str
    client_id: int
    credited_activity_id: int
    activity: str
    hours: float
    teacher_id: int | None
    timestamp: dt.datetime
    stored: dt.datetime
    decided_at: dt.datetime | None


def _credit_out(credit: StatementCredit) -> CreditOut:
    return CreditOut(id=credit.pk, state=credit.state, reason=credit.reason,
                     statement_id=str(credit.statement.statement_id), client_id=credit.client_id,
                     credited_activity_id=credit.credited_activity_id, activity=credit.credited_activity.title,
                     hours=float(credit.credited_activity.hours), teacher_id=credit.teacher_id,
                     timestamp=credit.statement.timestamp, stored=credit.statement.stored, decided_at=credit.decided_at)


class CreditFilter(Schema):
    state: CreditState = CreditState.FLAGGED
    client_id: int | None = None


@router.get("/lrs/credits", response=list[CreditOut], summary="完成记录的计学时结果（默认：待核查）")
def credits(request, filters: Query[CreditFilter]):
    scope = _division_admin(request)
    client = fetch(scope, LrsClient, filters.client_id) if filters.client_id else None
    return [_credit_out(c) for c in selectors.credits_list(scope, state=filters.state, client=client)]


class DecisionIn(Schema):
    approve: bool
    note: str = ""


@router.post("/lrs/credits/{credit_id}/decision", response=CreditOut, summary="认定或不予认定待核查的完成记录")
def credits_decide(request, credit_id: int, payload: DecisionIn):
    credit = credit_decide(scope=_division_admin(request), actor=request.auth, credit_id=credit_id,
                           approve=payload.approve, note=payload.note, ip=client_ip(request))
    return _credit_out(credit)


class CreditedOut(Schema):
    id: int
    activity_iri: str
    is_prefix: bool
    title: str
    hours: float
    category: str
    division: str
    active: bool


def _credited_out(row: CreditedActivity) -> CreditedOut:
    return CreditedOut(id=row.pk, activity_iri=row.activity_iri, is_prefix=row.is_prefix, title=row.title,
                       hours=float(row.hours), category=row.category, division=row.division.code, active=row.active)


class CreditedIn(Schema):
    activity_iri: str
    title: str
    hours: float
    category: Category = Category.ONLINE
    is_prefix: bool = False


class CreditedPatch(Schema):
    active: bool


@router.get("/lrs/credited-activities", response=list[CreditedOut], summary="计学时活动")
def credited(request, q: str = ""):
    return [_credited_out(row) for row in selectors.credited_activities_list(_division_admin(request), search=q[:100])[:1000]]


@router.post("/lrs/credited-activities", response={201: CreditedOut}, summary="登记计学时活动（IRI 或前缀）")
def credited_create(request, payload: CreditedIn):
    row = credited_activity_create(scope=_division_admin(request), actor=request.auth, division=request.auth.division,
                                   activity_iri=payload.activity_iri, title=payload.title, hours=payload.hours,
                                   category=payload.category, is_prefix=payload.is_prefix, ip=client_ip(request))
    return 201, _credited_out(row)


@router.patch("/lrs/credited-activities/{credited_id}", response=CreditedOut, summary="停用或启用计学时活动")
def credited_update(request, credited_id: int, payload: CreditedPatch):
    row = credited_activity_set_active(scope=_division_admin(request), actor=request.auth, credited_id=credited_id,
                                       active=payload.active, ip=client_ip(request))
    return _credited_out(row)


# --- a teacher's own ----------------------------------------------------------------------------

def _teacher(request):
    if request.auth.teacher_id is None:
        raise Http404("账户未绑定教师档案")
    return scope_for_user(request.auth), request.auth.teacher


class RecordOut(Schema):
    statement_id: str
    when: dt.datetime
    verb: str
    activity: str
    activity_id: str
    score: str
    source: str
    credit: str = Field(..., description="计学时结果（空：该记录不涉及学时）")


class RecordsOut(Schema):
    records: list[RecordOut]
    next_before: str | None = Field(None, description="下一页：以此值作为 before 参数")


@router.get("/lrs/me/records", response=RecordsOut, summary="我的学习记录（中文动作与活动名）")
def my_records(request, before: str = ""):
    scope, teacher = _teacher(request)
    records, more = selectors.teacher_records(scope, teacher, before=before[:40])
    return RecordsOut(records=[RecordOut(**vars(r)) for r in records], next_before=more)


class IdentityOut(Schema):
    id: int
    agent_key: str
    created_at: dt.datetime


class IdentityIn(Schema):
    kind: str = Field(..., description="mbox（电子邮箱）或 account（平台账号）")
    value: str
    home_page: str = ""


@router.get("/lrs/me/identities", response=list[IdentityOut], summary="我登记的学习者身份")
def my_identities(request):
    scope, teacher = _teacher(request)
    return [IdentityOut(id=i.pk, agent_key=i.agent_key, created_at=i.created_at) for i in identities_of(scope, teacher)]


@router.post("/lrs/me/identities", response={201: list[IdentityOut]}, summary="登记学习者身份（此前的记录随之归档）")
def my_identities_add(request, payload: IdentityIn):
    scope, teacher = _teacher(request)
    rows = learner_identity_add(scope=scope, actor=request.auth, teacher=teacher, kind=payload.kind,
                                value=payload.value, home_page=payload.home_page, ip=client_ip(request))
    return 201, [IdentityOut(id=i.pk, agent_key=i.agent_key, created_at=i.created_at) for i in rows]


@router.delete("/lrs/me/identities/{identity_id}", response={204: None}, summary="删除学习者身份")
def my_identities_remove(request, identity_id: int):
    scope, _ = _teacher(request)
    learner_identity_remove(scope=scope, actor=request.auth, identity_id=identity_id, ip=client_ip(request))
    return 204, None

