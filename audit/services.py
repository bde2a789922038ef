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
    return audit_record_many([
        {"action": action, "actor": actor, "scope_path": scope_path, "object_type": object_type,
         "object_id": object_id, "result": result, "ip": ip, "detail": detail}
    ])[0]


def audit_record_many(entries: list[dict[str, Any]]) -> list[AuditEvent]:
    """Append several events to the chain under one lock and one bulk insert
    (a roster import audits every changed teacher without a query each)."""
    if not entries:
        return []
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        now = timezone.now()
        prev_hash = head.last_hash
        events = []
        for entry in entries:
            actor = entry.get("actor")
            event = AuditEvent(
                at=now,
                actor=actor if actor is not None and actor.pk else None,
                actor_username=getattr(actor, "username", "") or "",
                action=entry["action"],
                scope_path=entry.get("scope_path", ""),
                object_type=entry.get("object_type", ""),
                object_id=str(entry.get("object_id", "")),
                result=entry.get("result", "success"),
                ip=entry.get("ip"),
                detail=json.loads(json.dumps(entry.get("detail") or {}, ensure_ascii=False, default=str)),
                prev_hash=prev_hash,
            )
            event.hash = prev_hash = _event_digest(prev_hash, _hashed_fields(event))
            events.append(event)
        AuditEvent.objects.bulk_create(events, batch_size=1000)
        head.last_hash = prev_hash
        head.save(update_fields=["last_hash"])
    return events


def audit_verify() -> list[str]:
    """Walk the chain in order; return a description of every break found."""
    problems: list[str] = []
    prev_hash = "0" * 64
    for event in AuditEvent.objects.dangerously_unscoped().order_by("id").iterator(chunk_size=5000):
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
