"""Writing and verifying audit events. Called inside the action's transaction: if the
audit row cannot be written, the action fails with it.

Events form AUDIT_CHAINS chains. Each chain is keyed, so nobody without the key (kept
outside the database) can recompute it after an edit or a deletion:

    hash(event) = HMAC(key "audit.event", prev_hash + "|" + canonical JSON of its fields)
    head.mac    = HMAC(key "audit.head",  "chain|last_id|event_count|last_hash")

An append locks one chain's head only: on PostgreSQL the first head no other transaction
holds (SELECT ... FOR UPDATE SKIP LOCKED), so concurrent writers proceed side by side
instead of queueing on one lock. Within a chain, ids grow in chain order (the next
append to it waits for the head's lock, so for the previous one's commit).

Rolling the whole table and its heads back to an older copy leaves consistent chains;
keyed checkpoints of every head kept off the database (`yanxiu audit checkpoint`) catch that.
"""

from __future__ import annotations

import hmac
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditChainHead, AuditEvent
from core.checkpoints import CheckpointError, checkpoint_read, checkpoint_write
from people.identity import keyed_digest

EVENT_PURPOSE = "audit.event"
HEAD_PURPOSE = "audit.head"
GENESIS = "0" * 64
CHECKPOINT_KIND = "audit"


class AuditChainError(RuntimeError):
    """A chain's head fails its MAC: appending would make a tampered chain look whole."""


@dataclass(frozen=True)
class ChainState:
    """How far one chain reached: what its head states and what a checkpoint records."""

    last_id: int = 0
    count: int = 0
    last_hash: str = GENESIS


@dataclass(frozen=True)
class Checkpoint:
    """Every chain's state at a moment (a chain absent from it had no events yet)."""

    heads: dict[int, ChainState] = field(default_factory=dict)
    taken_at: str = ""


def _canonical(fields: dict[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))


def event_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    return keyed_digest(EVENT_PURPOSE, f"{prev_hash}|{_canonical(fields)}")


def head_mac(chain: int, state: ChainState) -> str:
    return keyed_digest(HEAD_PURPOSE, f"{chain}|{state.last_id}|{state.count}|{state.last_hash}")


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


def _read_heads() -> dict[int, AuditChainHead]:
    return {head.chain: head for head in AuditChainHead.objects.order_by("chain")}


def head_is_authentic(head: AuditChainHead) -> bool:
    return hmac.compare_digest(head.mac or "", head_mac(head.chain, _head_state(head)))


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


def _chain_count() -> int:
    return max(1, int(getattr(settings, "AUDIT_CHAINS", 1)))


def _lock_head(chain: int) -> AuditChainHead:
    """Lock the chain's head, waiting for it if need be; a chain's first append creates its
    head, already under a MAC (of the empty chain), so every head is checked alike."""
    head = AuditChainHead.objects.select_for_update().filter(chain=chain).first()
    if head is None:
        # Two transactions may start the same chain at once: the second insert waits for
        # the first and then does nothing, and both lock the one row.
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(chain=chain, mac=head_mac(chain, ChainState()))], ignore_conflicts=True)
        head = AuditChainHead.objects.select_for_update().get(chain=chain)
    return head


def _take_head() -> AuditChainHead:
    """The head of a chain no other transaction is appending to, locked. Without SKIP
    LOCKED (SQLite, which serialises writers anyway) or with one chain: chain 0."""
    chains = _chain_count()
    if chains == 1 or not connection.features.has_select_for_update_skip_locked:
        return _lock_head(0)
    head = (AuditChainHead.objects.select_for_update(skip_locked=True).filter(chain__lt=chains)
            .order_by("chain").first())
    if head is not None:
        return head
    # Every head there is, is taken: start the next chain if there is room, else wait on one.
    started = set(AuditChainHead.objects.filter(chain__lt=chains).values_list("chain", flat=True))
    unstarted = [chain for chain in range(chains) if chain not in started]
    return _lock_head(unstarted[0] if unstarted else random.randrange(chains))  # noqa: S311 - spreading waiters, not a secret


def audit_record_many(entries: list[dict[str, Any]]) -> list[AuditEvent]:
    """Append several events to one chain under one lock and one bulk insert
    (a roster import audits every changed teacher without a query each)."""
    if not entries:
        return []
    with transaction.atomic():
        head = _take_head()
        # Extending a forged head would sign the truncation it hides: refuse, loudly.
        if not head_is_authentic(head):
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
                chain=head.chain,
                prev_hash=prev_hash,
            )
            event.hash = prev_hash = event_digest(prev_hash, _hashed_fields(event))
            events.append(event)
        AuditEvent.objects.bulk_create(events, batch_size=1000)
        # Ids come back from the insert (RETURNING on PostgreSQL and SQLite); under the
        # head lock they grow in chain order.
        state = ChainState(last_id=events[-1].pk, count=head.event_count + len(events), last_hash=prev_hash)
        head.last_id, head.event_count, head.last_hash = state.last_id, state.count, state.last_hash
        head.mac = head_mac(head.chain, state)
        head.save(update_fields=["last_id", "event_count", "last_hash", "mac"])
    return events


# --- verification -------------------------------------------------------------------------------


def audit_head_states() -> dict[int, ChainState]:
    """The state every head vouches for (no entry for a chain not started yet)."""
    states = {}
    for chain, head in _read_heads().items():
        if not head_is_authentic(head):
            raise AuditChainError(f"审计日志链 {chain} 的链尾校验失败（可能被改动），不能据此写检查点；"
                                  "请运行 yanxiu audit verify 排查。")
        states[chain] = _head_state(head)
    return states


def audit_checkpoint(directory: str | Path | None = None) -> Path:
    """Write a keyed checkpoint of every chain's head (to INTEGRITY_CHECKPOINT_DIR by default)."""
    heads = {str(chain): {"last_id": state.last_id, "count": state.count, "last_hash": state.last_hash}
             for chain, state in audit_head_states().items()}
    return checkpoint_write(CHECKPOINT_KIND, {"chains": heads}, directory)


def _chain_state(document: dict[str, Any]) -> ChainState:
    return ChainState(last_id=int(document["last_id"]), count=int(document["count"]),
                      last_hash=str(document["last_hash"]))


def audit_checkpoint_read(path: str | Path) -> Checkpoint:
    """A checkpoint file's heads, once its key checks out; CheckpointError otherwise. A file
    from before the chains were split states one head: chain 0's, where its events stay."""
    document = checkpoint_read(path, kind=CHECKPOINT_KIND)
    try:
        if "chains" in document:
            heads = {int(chain): _chain_state(state) for chain, state in dict(document["chains"]).items()}
        else:
            heads = {0: _chain_state(document)}
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise CheckpointError(f"检查点文件内容不完整：{path}") from error
    return Checkpoint(heads=heads, taken_at=str(document["taken_at"]))


@dataclass(frozen=True)
class _Awaited:
    """A checkpoint's head, waiting for its event during the walk."""

    chain: int
    state: ChainState
    taken_at: str


def _checkpoint_problems(awaited: _Awaited, event: AuditEvent, position: int) -> list[str]:
    label = f"检查点（{awaited.taken_at}）"
    problems = []
    if event.chain != awaited.chain:
        problems.append(f"{label}：#{event.pk} 在链 {event.chain} 中，检查点时在链 {awaited.chain} 中（记录被移动）")
    if event.hash != awaited.state.last_hash:
        problems.append(f"{label}：#{event.pk} 的哈希与检查点不符（日志被改写或回滚）")
    if position < awaited.state.count:
        problems.append(f"{label}：截至 #{event.pk} 只有 {position} 条记录，检查点时有 {awaited.state.count} 条（记录被删除）")
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


def _all_events():
    # Verification reads every row, whoever may see it.
    return AuditEvent.objects.dangerously_unscoped()


class _Walk:
    """Checks rows in id order, each against the chain it names, streaming (the table may
    be large). Per chain it keeps how far it reached."""

    def __init__(self, waiting: dict[int, list[_Awaited]]):
        self.waiting = waiting
        self.chains: dict[int, ChainState] = {}
        self.problems: list[str] = []

    def over(self, events) -> None:
        for event in events.iterator(chunk_size=5000):
            reached = self.chains.get(event.chain, ChainState())
            count = reached.count + 1
            if event.prev_hash != reached.last_hash:
                self.problems.append(f"#{event.pk}: 链断裂（前一条记录被删除或改动）")
            if not hmac.compare_digest(event.hash, event_digest(event.prev_hash, _hashed_fields(event))):
                self.problems.append(f"#{event.pk}: 内容与哈希不符（记录被改动）")
            for awaited in self.waiting.pop(event.pk, ()):
                self.problems += _checkpoint_problems(awaited, event, count)
            self.chains[event.chain] = ChainState(last_id=event.pk, count=count, last_hash=event.hash)

    def on(self, chain: int) -> bool:
        """Walk one chain on from where it was reached; whether it went further."""
        before = self.chains.get(chain, ChainState())
        self.over(_all_events().filter(chain=chain, id__gt=before.last_id).order_by("id"))
        return self.chains.get(chain, ChainState()) != before


def audit_verify(checkpoints: Iterable[Checkpoint] = ()) -> list[str]:
    """Walk every chain; return a description of every break found. Each checkpoint's
    events must still be there, in their chain, with their hash and at least their
    chain's count of rows up to them."""
    waiting: dict[int, list[_Awaited]] = {}
    for checkpoint in checkpoints:
        for chain, state in checkpoint.heads.items():
            if state.count:  # a checkpoint of an empty chain holds nothing to lose
                waiting.setdefault(state.last_id, []).append(_Awaited(chain, state, checkpoint.taken_at))
    walk = _Walk(waiting)
    walk.over(_all_events().order_by("id"))
    heads = _read_heads()
    # Events appended while the table was walked (or committed late, behind a higher id of
    # another chain): walk each chain on to where its head stands now, so a busy system
    # is not reported as truncated.
    behind = [chain for chain, head in heads.items() if head.last_id > walk.chains.get(chain, ChainState()).last_id]
    while behind:
        behind = [chain for chain in behind if walk.on(chain)]
        if behind:
            heads = _read_heads()
            behind = [chain for chain in behind if heads[chain].last_id > walk.chains[chain].last_id]
    problems = walk.problems
    for event_id, missed in sorted(waiting.items()):
        for awaited in missed:
            problems.append(f"检查点（{awaited.taken_at}）：#{event_id} 已不存在（日志被截断或回滚）")
    for chain in sorted(set(heads) | set(walk.chains)):
        problems += [f"链 {chain}：{problem}"
                     for problem in _head_problems(heads.get(chain), walk.chains.get(chain, ChainState()))]
    return problems
