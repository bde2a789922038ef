"""Writing and verifying audit events. Called inside the action's transaction: if the
audit row cannot be written, the action fails with it.

The chain is keyed, so nobody without the key (kept outside the database) can recompute
it after an edit or a deletion:

    hash(event) = HMAC(key "audit.event", prev_hash + "|" + canonical JSON of its fields)
    head.mac    = HMAC(key "audit.head",  "last_id|event_count|last_hash")

Rolling the whole table and its head back to an older copy leaves a consistent chain;
keyed checkpoints kept off the database (`yanxiu audit checkpoint`) catch that.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.models import AuditChainHead, AuditEvent
from core.checkpoints import CheckpointError, checkpoint_read, checkpoint_write
from people.identity import keyed_digest

EVENT_PURPOSE = "audit.event"
HEAD_PURPOSE = "audit.head"
GENESIS = "0" * 64
CHECKPOINT_KIND = "audit"


class AuditChainError(RuntimeError):
    """The chain's head fails its MAC: appending would make a tampered chain look whole."""


@dataclass(frozen=True)
class ChainState:
    """How far the chain reached: what the head states and what a checkpoint records."""

    last_id: int = 0
    count: int = 0
    last_hash: str = GENESIS


@dataclass(frozen=True)
class Checkpoint:
    state: ChainState
    taken_at: str


def _canonical(fields: dict[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))


def event_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    return keyed_digest(EVENT_PURPOSE, f"{prev_hash}|{_canonical(fields)}")


def head_mac(state: ChainState) -> str:
    return keyed_digest(HEAD_PURPOSE, f"{state.last_id}|{state.count}|{state.last_hash}")


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


def _head_state(head: AuditChainHead) -> ChainState:
    return ChainState(last_id=head.last_id, count=head.event_count, last_hash=head.last_hash)


def _read_head() -> AuditChainHead | None:
    return AuditChainHead.objects.filter(pk=1).first()


def head_is_authentic(head: AuditChainHead) -> bool:
    return hmac.compare_digest(head.mac or "", head_mac(_head_state(head)))


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
        head, created = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        # Extending a forged head would sign the truncation it hides: refuse, loudly.
        if not created and not head_is_authentic(head):
            raise AuditChainError("审计日志链尾校验失败（可能被改动），拒绝追加记录；请运行 yanxiu audit verify 排查。")
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
            event.hash = prev_hash = event_digest(prev_hash, _hashed_fields(event))
            events.append(event)
        AuditEvent.objects.bulk_create(events, batch_size=1000)
        # Ids come back from the insert (RETURNING on PostgreSQL and SQLite); under the
        # head lock they grow in chain order.
        state = ChainState(last_id=events[-1].pk, count=head.event_count + len(events), last_hash=prev_hash)
        head.last_id, head.event_count, head.last_hash = state.last_id, state.count, state.last_hash
        head.mac = head_mac(state)
        head.save(update_fields=["last_id", "event_count", "last_hash", "mac"])
    return events


# --- verification -------------------------------------------------------------------------------


def audit_head_state() -> ChainState:
    """The state the head vouches for (an empty chain if there is none yet)."""
    head = _read_head()
    if head is None:
        return ChainState()
    if not head_is_authentic(head):
        raise AuditChainError("审计日志链尾校验失败（可能被改动），不能据此写检查点；请运行 yanxiu audit verify 排查。")
    return _head_state(head)


def audit_checkpoint(directory: str | Path | None = None) -> Path:
    """Write a keyed checkpoint of the chain's head (to INTEGRITY_CHECKPOINT_DIR by default)."""
    state = audit_head_state()
    return checkpoint_write(
        CHECKPOINT_KIND, {"last_id": state.last_id, "count": state.count, "last_hash": state.last_hash}, directory
    )


def audit_checkpoint_read(path: str | Path) -> Checkpoint:
    """A checkpoint file's state, once its key checks out; CheckpointError otherwise."""
    document = checkpoint_read(path, kind=CHECKPOINT_KIND)
    try:
        state = ChainState(last_id=int(document["last_id"]), count=int(document["count"]),
                           last_hash=str(document["last_hash"]))
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"检查点文件内容不完整：{path}") from error
    return Checkpoint(state=state, taken_at=str(document["taken_at"]))


def _checkpoint_problems(checkpoint: Checkpoint, event: AuditEvent, position: int) -> list[str]:
    label = f"检查点（{checkpoint.taken_at}）"
    problems = []
    if event.hash != checkpoint.state.last_hash:
        problems.append(f"{label}：#{event.pk} 的哈希与检查点不符（日志被改写或回滚）")
    if position < checkpoint.state.count:
        problems.append(f"{label}：截至 #{event.pk} 只有 {position} 条记录，检查点时有 {checkpoint.state.count} 条（记录被删除）")
    return problems


def _head_problems(head: AuditChainHead | None, chain: ChainState) -> list[str]:
    if head is None:
        return ["缺少链尾记录（链尾被删除）"] if chain.count else []
    problems = []
    if not head_is_authentic(head):
        problems.append("链尾记录的校验码不符（链尾被改动或伪造）")
    stated = _head_state(head)
    if stated.last_id > chain.last_id:
        problems.append("链尾与最后一条记录不符（末尾记录被删除）")
    elif (stated.last_id, stated.last_hash) != (chain.last_id, chain.last_hash):
        problems.append("链尾与最后一条记录不符（链尾被回退或改动）")
    elif stated.count > chain.count:
        problems.append(f"链尾记录有 {stated.count} 条，链中实有 {chain.count} 条（有记录被删除）")
    elif stated.count < chain.count:
        problems.append(f"链尾记录有 {stated.count} 条，链中实有 {chain.count} 条（链尾被重置或回退）")
    return problems


def _walk(after: ChainState, waiting: dict[int, list[Checkpoint]], problems: list[str]) -> ChainState:
    """Check the rows after `after.last_id` in id order, streaming (the table may be large)."""
    prev_hash, count, last_id = after.last_hash, after.count, after.last_id
    events = AuditEvent.objects.dangerously_unscoped().filter(id__gt=last_id).order_by("id")
    for event in events.iterator(chunk_size=5000):
        count += 1
        if event.prev_hash != prev_hash:
            problems.append(f"#{event.pk}: 链断裂（前一条记录被删除或改动）")
        if not hmac.compare_digest(event.hash, event_digest(event.prev_hash, _hashed_fields(event))):
            problems.append(f"#{event.pk}: 内容与哈希不符（记录被改动）")
        for checkpoint in waiting.pop(event.pk, ()):
            problems += _checkpoint_problems(checkpoint, event, count)
        prev_hash, last_id = event.hash, event.pk
    return ChainState(last_id=last_id, count=count, last_hash=prev_hash)


def audit_verify(checkpoints: Iterable[Checkpoint] = ()) -> list[str]:
    """Walk the chain; return a description of every break found. Each checkpoint's event
    must still be there, with its hash and at least its count of rows up to it."""
    waiting: dict[int, list[Checkpoint]] = {}
    for checkpoint in checkpoints:
        if checkpoint.state.count:  # a checkpoint of an empty chain holds nothing to lose
            waiting.setdefault(checkpoint.state.last_id, []).append(checkpoint)
    problems: list[str] = []
    chain = _walk(ChainState(), waiting, problems)
    head = _read_head()
    # Events appended while the table was walked: walk on to where the head stands now,
    # so a busy system is not reported as truncated.
    while head is not None and head.last_id > chain.last_id:
        further = _walk(chain, waiting, problems)
        if further == chain:
            break
        chain, head = further, _read_head()
    for event_id, missed in sorted(waiting.items()):
        for checkpoint in missed:
            problems.append(f"检查点（{checkpoint.taken_at}）：#{event_id} 已不存在（日志被截断或回滚）")
    return problems + _head_problems(head, chain)
