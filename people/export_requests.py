"""Exports with full ID numbers, and bulk exports, need a second person's approval.

The approver must be a different administrator whose writable jurisdiction covers the
requester's (a peer at the same node or anyone above it; a city only reads its 省直管县,
so it cannot approve their requests). access.policy says who. An approved request
is good for one download within EXPORT_APPROVAL_HOURS."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from access.errors import Forbidden
from access.policy import Action as Can
from access.policy import fetch, visible
from access.scope import Scope
from audit.actions import Action
from audit.services import audit_record
from notifications import events as notice_events
from people.id_lookup import id_search_number, teacher_id_lookup
from people.models import ExportRequest
from people.roster.exporter import roster_export
from people.selectors import TeacherFilters, teacher_queryset

EXPORT_APPROVAL_HOURS = 24


def export_needs_approval(*, scope: Scope, filters: TeacherFilters) -> bool:
    """Page exports above EXPORT_BULK_ROWS rows need a second person's approval too."""
    return teacher_queryset(scope=scope, filters=filters)[: settings.EXPORT_BULK_ROWS + 1].count() > settings.EXPORT_BULK_ROWS


def export_request_create(
    *, scope: Scope, actor, filters: TeacherFilters, reason: str, full_ids: bool = True, ip: str | None = None
) -> ExportRequest:
    if scope.path is None or scope.teacher_id is not None:
        raise Forbidden("无导出权限")
    reason = reason.strip()
    if len(reason) < 4:
        raise ValidationError({"reason": "请写明用途（至少4个字）"})
    if id_search_number(filters.q) is not None:
        # The request would keep the number at rest and in its audit row; one teacher's full
        # number is for the audited reveal on their page.
        raise ValidationError({"q": "按身份证号查到的教师不能申请导出；如需完整号码，请在教师详情页查看（将记录审计）"})
    with transaction.atomic():
        request = ExportRequest.objects.create(requested_by=actor, scope_path=scope.path, school_id=scope.school_id,
                                               filters=filters.as_query(), reason=reason[:200], full_ids=full_ids)
        audit_record(action=Action.EXPORT_REQUEST, actor=actor, ip=ip, scope_path=scope.path,
                     object_type="export_request", object_id=request.pk,
                     detail={"reason": request.reason, "filters": request.filters, "full_ids": full_ids})
    return request


def export_requests_to_decide(*, scope: Scope) -> QuerySet[ExportRequest]:
    """Pending requests this administrator may decide: in their writable jurisdiction, not their own."""
    return (visible(scope, ExportRequest, Can.DECIDE).filter(state=ExportRequest.State.PENDING)
            .select_related("requested_by"))


def export_request_decide(*, scope: Scope, actor, request_id: int, approve: bool, ip: str | None = None) -> ExportRequest:
    with transaction.atomic():
        request = fetch(scope, ExportRequest, request_id, Can.DECIDE, lock=True)
        if request.state != ExportRequest.State.PENDING:
            raise ValidationError({"state": "该申请已处理"})
        request.state = ExportRequest.State.APPROVED if approve else ExportRequest.State.REJECTED
        request.decided_by, request.decided_at = actor, timezone.now()
        request.expires_at = request.decided_at + dt.timedelta(hours=EXPORT_APPROVAL_HOURS) if approve else None
        request.save()
        audit_record(action=Action.EXPORT_APPROVE if approve else Action.EXPORT_REJECT, actor=actor, ip=ip,
                     scope_path=request.scope_path, object_type="export_request", object_id=request.pk)
        notice_events.export_decided(request)
    return request


def export_request_download(*, scope: Scope, actor, request_id: int, destination, kind: str, ip: str | None = None) -> int:
    """Write the approved export once (full IDs if that was asked); then the request is spent.
    The requester's jurisdiction must still be the one the approval covered."""
    with transaction.atomic():
        request = fetch(scope, ExportRequest, request_id, Can.DOWNLOAD, lock=True)
        usable = (request.state == ExportRequest.State.APPROVED and request.expires_at is not None
                  and request.expires_at > timezone.now())
        if not usable or request.scope_path != scope.path or request.school_id != scope.school_id:
            raise Forbidden("没有可用的已批准导出申请")
        request.state = ExportRequest.State.USED
        request.save(update_fields=["state"])
        filters = TeacherFilters(**{k: (v == "1" if k == "new_teacher" else v) for k, v in request.filters.items()})
        # Requests stored before ID searches were refused here: the same lookup as any search.
        filters.id_lookup = teacher_id_lookup(scope=scope, actor=actor, q=filters.q, channel="export_request", ip=ip)
        return roster_export(scope=scope, actor=actor, destination=destination, kind=kind, filters=filters,
                             full_ids=request.full_ids, ip=ip, channel=f"approved:{request.pk}")
