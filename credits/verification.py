"""Proving the hours ledger unchanged: `yanxiu credits verify [--checkpoint FILE]` and
`yanxiu credits checkpoint` (credits.integrity has the MACs).

verify, in one pass over the ledger in id order (the decisions read alongside, in entry order):

- each entry's checksum against its substance, recorded state included;
- each entry's decision chain: numbered 1, 2, … with no gap, each MAC chained onto the
  entry's checksum and the previous decision, each step one the workflow takes;
- the entry's cached state and decision columns against what its recorded state and chain
  give (a `state` edited in SQL shows here, whatever was done to the totals);
- each teacher's entries and decisions against the teacher's seal (a deleted row, or a
  deleted last decision, shows here), and rows without a seal;
- no source key twice (a copied row with a valid checksum standing in for a deleted one);
- with a checkpoint: every entry and decision up to the ids it reached is still there,
  unchanged (a rollback of seals and rows to an older copy shows here).

Totals (`CycleTotal`) are derived data: `credits reconcile` compares them with the ledger.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Count, Max

from core.checkpoints import checkpoint_write
from credits.integrity import decision_mac, derive, ledger_checksum, seal_mac
from credits.models import LedgerDecision, LedgerEntry, LedgerSeal

CHECKPOINT_KIND = "credits-ledger"
CHUNK = 5000


class _Entry(NamedTuple):
    id: int
    teacher_id: int
    cycle_id: int
    category: str
    hours: Any
    occurred_on: Any
    source_type: str
    source_id: str
    source_key: str
    reverses_id: int | None
    recorded_state: str
    created_by_id: int | None
    checksum: str
    state: str
    school_checked_by_id: int | None
    school_checked_at: Any
    decided_by_id: int | None
    decided_at: Any


class _Decision(NamedTuple):
    id: int
    entry_id: int
    seq: int
    stage: str
    state: str
    actor_id: int | None
    at: Any
    note: str
    mac: str


@dataclass(frozen=True)
class LedgerProblem:
    kind: str  # checksum, decision, state, seal, duplicate, checkpoint
    detail: str  # in Chinese, for the operator
    entry_id: int | None = None
    teacher_id: int | None = None

    def __str__(self) -> str:
        return self.detail


def _chains() -> Iterator[tuple[int, list[_Decision]]]:
    """Every entry's decisions, in entry order then sequence (the unique index's order)."""
    # The command-line check covers the whole ledger; no one's scope applies.
    rows = (LedgerDecision.objects.dangerously_unscoped().order_by("entry_id", "seq")
            .values_list(*_Decision._fields).iterator(chunk_size=CHUNK))
    for entry_id, group in itertools.groupby((_Decision(*row) for row in rows), key=lambda d: d.entry_id):
        yield entry_id, list(group)


def _chain_problems(entry: _Entry, chain: list[_Decision]) -> list[LedgerProblem]:
    problems = []
    previous, steps = "", []
    for number, decision in enumerate(chain, start=1):
        if decision.seq != number:
            problems.append(LedgerProblem("decision", f"学时记录 #{entry.id} 的审核记录第 {number} 步缺失或重复",
                                          entry.id, entry.teacher_id))
        expected = decision_mac(entry_checksum=entry.checksum, previous_mac=previous, entry_id=entry.id,
                                seq=decision.seq, stage=decision.stage, state=decision.state, actor_id=decision.actor_id,
                                at=decision.at, note=decision.note)
        if not hmac.compare_digest(decision.mac, expected):
            problems.append(LedgerProblem("decision", f"学时记录 #{entry.id} 的审核记录 #{decision.id} 与签名不符（伪造、改动或链断裂）",
                                          entry.id, entry.teacher_id))
        previous = decision.mac
        steps.append((decision.stage, decision.state, decision.actor_id, decision.at))
    derived = derive(entry.recorded_state, steps)
    if derived.problem:
        problems.append(LedgerProblem("decision", f"学时记录 #{entry.id}：{derived.problem}", entry.id, entry.teacher_id))
    elif (entry.state, entry.school_checked_by_id, entry.school_checked_at, entry.decided_by_id, entry.decided_at) != (
            derived.state, derived.school_checked_by_id, derived.school_checked_at, derived.decided_by_id, derived.decided_at):
        problems.append(LedgerProblem(
            "state", f"学时记录 #{entry.id} 的状态为 {entry.state}，记入时状态与审核记录给出的是 {derived.state}"
                     "（或审核人、审核时间不符）", entry.id, entry.teacher_id))
    return problems


def _seal_problems(counts: dict[int, list[int]]) -> list[LedgerProblem]:
    problems = []
    seals = LedgerSeal.objects.dangerously_unscoped().values_list("teacher_id", "entries", "decisions", "mac")
    for teacher_id, entries, decisions, mac in seals.iterator(chunk_size=CHUNK):
        if not hmac.compare_digest(mac, seal_mac(teacher_id=teacher_id, entries=entries, decisions=decisions)):
            problems.append(LedgerProblem("seal", f"教师 #{teacher_id} 的学时账本封签与签名不符（封签被改动）",
                                          teacher_id=teacher_id))
        have = counts.pop(teacher_id, [0, 0])
        if have != [entries, decisions]:
            problems.append(LedgerProblem(
                "seal", f"教师 #{teacher_id} 现有学时记录 {have[0]} 条、审核记录 {have[1]} 条，封签为 {entries} 条、"
                        f"{decisions} 条：有记录被删除或添加", teacher_id=teacher_id))
    for teacher_id, have in sorted(counts.items()):
        problems.append(LedgerProblem("seal", f"教师 #{teacher_id} 有学时记录 {have[0]} 条、审核记录 {have[1]} 条，却没有封签",
                                      teacher_id=teacher_id))
    return problems


def _duplicate_keys() -> list[LedgerProblem]:
    duplicated = (LedgerEntry.objects.dangerously_unscoped().values("source_key").annotate(n=Count("id"))
                  .filter(n__gt=1).values_list("source_key", "n"))
    return [LedgerProblem("duplicate", f"来源键 {key} 出现 {n} 次（唯一约束被绕过，记录被复制）") for key, n in duplicated]


def _digest(model, column: str, upto: int) -> tuple[int, str]:
    """(count, SHA-256 of "id:mac" lines) of the rows with id <= upto, in id order."""
    digest, count = hashlib.sha256(), 0
    rows = model.objects.dangerously_unscoped().filter(id__lte=upto).order_by("id").values_list("id", column)
    for pk, mac in rows.iterator(chunk_size=CHUNK * 4):
        digest.update(f"{pk}:{mac}\n".encode())
        count += 1
    return count, digest.hexdigest()


def _checkpoint_problems(checkpoint: dict, found: dict[str, tuple[int, str]]) -> list[LedgerProblem]:
    problems = []
    for table, label in (("entries", "学时记录"), ("decisions", "审核记录")):
        stated = checkpoint[table]
        count, digest = found[table]
        if (count, digest) != (stated["count"], stated["digest"]):
            problems.append(LedgerProblem(
                "checkpoint", f"检查点（{checkpoint.get('taken_at', '')}）时{label}至 #{stated['max_id']} 共 {stated['count']} 条，"
                              f"现存 {count} 条{'' if count != stated['count'] else '且内容不同'}："
                              "检查点覆盖的记录被删除、替换，或数据库被回滚到旧副本"))
    return problems


def ledger_verify(*, checkpoint: dict | None = None) -> list[LedgerProblem]:
    """Every problem found in the ledger (empty: intact). `checkpoint`: the state a checkpoint
    file stated (core.checkpoints.checkpoint_read), to prove everything it covered is still there."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # One snapshot for the whole pass: a write landing between reading a teacher's rows
                # and reading their seal must not look like tampering.
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return _verify(checkpoint)


def _verify(checkpoint: dict | None) -> list[LedgerProblem]:
    problems: list[LedgerProblem] = []
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    covered = checkpoint["entries"]["max_id"] if checkpoint else 0
    digest, covered_count = hashlib.sha256(), 0
    chains = _chains()
    waiting = next(chains, None)
    # verify covers the whole ledger, every jurisdiction (an operator's command).
    rows = LedgerEntry.objects.dangerously_unscoped().order_by("id").values_list(*_Entry._fields)
    for row in rows.iterator(chunk_size=CHUNK):
        entry = _Entry(*row)
        if entry.id <= covered:
            digest.update(f"{entry.id}:{entry.checksum}\n".encode())
            covered_count += 1
        expected = ledger_checksum(
            teacher_id=entry.teacher_id, cycle_id=entry.cycle_id, category=entry.category, hours=entry.hours,
            occurred_on=entry.occurred_on, source_type=entry.source_type, source_id=entry.source_id,
            source_key=entry.source_key, reverses_id=entry.reverses_id, recorded_state=entry.recorded_state,
            created_by_id=entry.created_by_id)
        if not hmac.compare_digest(entry.checksum, expected):
            problems.append(LedgerProblem("checksum", f"学时记录 #{entry.id} 与校验值不符（内容被改动）", entry.id, entry.teacher_id))
        while waiting is not None and waiting[0] < entry.id:
            problems.append(LedgerProblem("decision", f"审核记录指向不存在的学时记录 #{waiting[0]}", waiting[0]))
            waiting = next(chains, None)
        chain: list[_Decision] = []
        if waiting is not None and waiting[0] == entry.id:
            chain = waiting[1]
            waiting = next(chains, None)
        counts[entry.teacher_id][0] += 1
        counts[entry.teacher_id][1] += len(chain)
        problems.extend(_chain_problems(entry, chain))
    while waiting is not None:
        problems.append(LedgerProblem("decision", f"审核记录指向不存在的学时记录 #{waiting[0]}", waiting[0]))
        waiting = next(chains, None)
    problems.extend(_seal_problems(counts))
    problems.extend(_duplicate_keys())
    if checkpoint is not None:
        found = {"entries": (covered_count, digest.hexdigest()),
                 "decisions": _digest(LedgerDecision, "mac", checkpoint["decisions"]["max_id"])}
        problems.extend(_checkpoint_problems(checkpoint, found))
    return problems


def ledger_checkpoint_state() -> dict:
    """How far the ledger reaches now: for entries and decisions, the last id, the count and a
    digest of every row's MAC up to it."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Let writers in flight finish and hold new ones for a moment: every id up to the
                # maxima read here is then committed, and rows written later get larger ids.
                cursor.execute("LOCK TABLE credits_ledgerentry, credits_ledgerdecision IN SHARE MODE")
        reached = {
            "entries": LedgerEntry.objects.dangerously_unscoped().aggregate(m=Max("id"))["m"] or 0,
            "decisions": LedgerDecision.objects.dangerously_unscoped().aggregate(m=Max("id"))["m"] or 0,
        }
    state = {}
    for table, model, column in (("entries", LedgerEntry, "checksum"), ("decisions", LedgerDecision, "mac")):
        count, digest = _digest(model, column, reached[table])
        state[table] = {"max_id": reached[table], "count": count, "digest": digest}
    return state


def ledger_checkpoint(directory: str | Path | None = None) -> Path:
    """Write a keyed checkpoint file of the ledger (INTEGRITY_CHECKPOINT_DIR by default)."""
    return checkpoint_write(CHECKPOINT_KIND, ledger_checkpoint_state(), directory)
