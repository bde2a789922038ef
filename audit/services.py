"""Writing audit events. Called inside the action's transaction: if the audit
row cannot be written, the action fails with it (SECURITY 11)."""

import hashlib
import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.models import AuditChainHead, AuditEvent


def _event_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}|{canonical}".encode()).hexdigest()


def _hashed_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "action": event.action,
        "scope_path": event.scope_path,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "result": event.result,
        "ip": event.ip,
        "detail": event.detail,
    }


def audit_record(
    *,
    action: str,
    actor=None,
    scope_path: str = "",
    object_type: str = "",
    object_id: str | int = "",
    result: str = "success",
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        event = AuditEvent(
            at=timezone.now(),
            actor=actor if actor is not None and actor.pk else None,
            actor_username=getattr(actor, "username", "") or "",
            action=action,
            scope_path=scope_path,
            object_type=object_type,
            object_id=str(object_id),
            result=result,
            ip=ip,
            detail=json.loads(json.dumps(detail or {}, ensure_ascii=False, default=str)),
            prev_hash=head.last_hash,
        )
        event.hash = _event_digest(head.last_hash, _hashed_fields(event))
        event.save(force_insert=True)
        head.last_hash = event.hash
        head.save(update_fields=["last_hash"])
    return event


def audit_verify() -> list[str]:
    """Walk the chain in order; return a description of every break found."""
    problems: list[str] = []
    prev_hash = "0" * 64
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=5000):
        if event.prev_hash != prev_hash:
            problems.append(f"#{event.pk}: 链断裂（前一条记录被删除或改动）")
        expected = _event_digest(event.prev_hash, _hashed_fields(event))
        if expected != event.hash:
            problems.append(f"#{event.pk}: 内容与哈希不符（记录被改动）")
        prev_hash = event.hash
    head = AuditChainHead.objects.filter(pk=1).first()
    if head and head.last_hash != prev_hash:
        problems.append("链尾与最后一条记录不符（末尾记录被删除）")
    return problems
