"""Several audit chains: each linked and headed on its own, all checked by verify and
recorded by a checkpoint; tampering in any chain is found as in the first."""

import io
from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection

from audit import services
from audit.models import AuditChainHead, AuditEvent
from audit.services import (
    ChainState,
    audit_checkpoint,
    audit_checkpoint_read,
    audit_record,
    audit_verify,
    head_is_authentic,
    head_mac,
)
from core.checkpoints import checkpoint_write

pytestmark = pytest.mark.django_db
chains_migration = import_module("audit.migrations.0014_audit_chains")


@pytest.fixture
def into_chain(monkeypatch):
    """Appends go to the chain named, as when the chains before it are held by others."""
    def use(chain: int) -> None:
        monkeypatch.setattr(services, "_take_head", lambda: services._lock_head(chain))
    return use


def _bypass_triggers(cursor) -> None:
    if connection.vendor == "postgresql":
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute("ALTER TABLE audit_auditchainhead DISABLE TRIGGER USER")
    else:
        cursor.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        cursor.execute("DROP TRIGGER IF EXISTS audit_chain_head_forward_only")


def _interleaved(into_chain) -> dict[int, list[AuditEvent]]:
    """Events of chains 0 and 2 with interleaved ids."""
    events: dict[int, list[AuditEvent]] = {0: [], 2: []}
    for n in range(4):
        for chain in (0, 2):
            into_chain(chain)
            events[chain].append(audit_record(action="logout", detail={"n": n, "chain": chain}))
    return events


def test_each_chain_links_its_own_events_under_its_own_head(into_chain):
    events = _interleaved(into_chain)
    for chain, chained in events.items():
        assert {event.chain for event in chained} == {chain}
        assert chained[0].prev_hash == services.GENESIS
        assert all(later.prev_hash == earlier.hash for earlier, later in zip(chained, chained[1:], strict=False))
        head = AuditChainHead.objects.get(chain=chain)
        assert (head.last_id, head.event_count, head.last_hash) == (chained[-1].pk, 4, chained[-1].hash)
        assert head_is_authentic(head)
    assert audit_verify() == []


def test_a_head_is_bound_to_its_chain(into_chain):
    """Another chain's head, MAC and all, does not pass for this one's."""
    events = _interleaved(into_chain)
    zero = AuditChainHead.objects.get(chain=0)
    assert zero.mac != head_mac(2, ChainState(zero.last_id, zero.event_count, zero.last_hash))
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
        cursor.execute("UPDATE audit_auditchainhead SET last_id = %s, event_count = %s, last_hash = %s, mac = %s "
                       "WHERE chain = 2", [zero.last_id, zero.event_count, zero.last_hash, zero.mac])
    assert "链 2：链尾记录的校验码不符（链尾被改动或伪造）" in audit_verify()
    assert events[2][-1].pk != zero.last_id


def test_an_edited_row_in_another_chain_is_flagged(into_chain):
    events = _interleaved(into_chain)
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
        cursor.execute("UPDATE audit_auditevent SET detail = %s WHERE id = %s", ['{"n": 99}', events[2][1].pk])
    assert audit_verify() == [f"#{events[2][1].pk}: 内容与哈希不符（记录被改动）"]


def test_a_removed_row_in_another_chain_is_flagged(into_chain):
    events = _interleaved(into_chain)
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[2][1].pk])
    assert audit_verify() == [f"#{events[2][2].pk}: 链断裂（前一条记录被删除或改动）",
                              "链 2：链尾记录有 4 条，链中实有 3 条（有记录被删除）"]


def test_a_truncated_chain_with_a_rewound_head_is_flagged(into_chain):
    events = _interleaved(into_chain)
    kept = events[2][-2]
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[2][-1].pk])
        cursor.execute("UPDATE audit_auditchainhead SET last_id = %s, event_count = 3, last_hash = %s WHERE chain = 2",
                       [kept.pk, kept.hash])
    assert audit_verify() == ["链 2：链尾记录的校验码不符（链尾被改动或伪造）"]


def test_an_event_moved_to_another_chain_breaks_both(into_chain):
    """The chain number is not hashed, but the links are: a move shows in both chains."""
    events = _interleaved(into_chain)
    moved = events[2][1]
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
        cursor.execute("UPDATE audit_auditevent SET chain = 0 WHERE id = %s", [moved.pk])
    problems = audit_verify()
    assert f"#{moved.pk}: 链断裂（前一条记录被删除或改动）" in problems
    assert f"#{events[2][2].pk}: 链断裂（前一条记录被删除或改动）" in problems
    assert any(problem.startswith("链 0：") for problem in problems)
    assert any(problem.startswith("链 2：") for problem in problems)


def test_a_checkpoint_records_every_head_and_catches_one_chain_rolled_back(into_chain, tmp_path):
    events = _interleaved(into_chain)
    with connection.cursor() as cursor:  # chain 2's head as an older copy holds it
        cursor.execute("CREATE TEMPORARY TABLE old_head AS SELECT * FROM audit_auditchainhead WHERE chain = 2")
    into_chain(2)
    newest = audit_record(action="logout", detail={"n": "newest"})
    path = audit_checkpoint(tmp_path)
    checkpoint = audit_checkpoint_read(path)
    assert checkpoint.heads == {
        0: ChainState(events[0][-1].pk, 4, events[0][-1].hash),
        2: ChainState(newest.pk, 5, newest.hash),
    }
    with connection.cursor() as cursor:  # the newest event and its head rolled back, in chain 2 only
        _bypass_triggers(cursor)
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [newest.pk])
        cursor.execute("DELETE FROM audit_auditchainhead WHERE chain = 2")
        cursor.execute("INSERT INTO audit_auditchainhead SELECT * FROM old_head")
    assert audit_verify() == []  # inside the database, the older copy is a whole chain
    assert audit_verify([checkpoint]) == [f"检查点（{checkpoint.taken_at}）：#{newest.pk} 已不存在（日志被截断或回滚）"]


def test_a_checkpoint_notices_an_event_moved_out_of_its_chain(into_chain):
    events = _interleaved(into_chain)
    last = events[2][-1]
    checkpoint = services.Checkpoint({2: ChainState(last.pk, 4, last.hash)}, "t")
    assert audit_verify([checkpoint]) == []
    moved = services.Checkpoint({0: ChainState(last.pk, 4, last.hash)}, "t")
    assert audit_verify([moved]) == [f"检查点（t）：#{last.pk} 在链 2 中，检查点时在链 0 中（记录被移动）"]


def test_a_single_chain_checkpoint_file_is_read_as_chain_zero(tmp_path):
    """Files written before the chains were split keep their meaning: their events stay in chain 0."""
    events = [audit_record(action="logout", detail={"n": n}) for n in range(3)]
    path = checkpoint_write("audit", {"last_id": events[-1].pk, "count": 3, "last_hash": events[-1].hash}, tmp_path)
    checkpoint = audit_checkpoint_read(path)
    assert checkpoint.heads == {0: ChainState(events[-1].pk, 3, events[-1].hash)}
    assert audit_verify([checkpoint]) == []
    out = io.StringIO()
    call_command("audit", "verify", "--checkpoint", str(path), stdout=out)
    assert "已对照 1 个检查点" in out.getvalue()


def test_the_migration_moves_the_single_chain_to_chain_zero_without_rehashing():
    events = [audit_record(action="logout", detail={"n": n}) for n in range(3)]
    hashes = [(event.prev_hash, event.hash) for event in events]
    head = AuditChainHead.objects.get(chain=0)
    with connection.cursor() as cursor:  # the head as 0013 signed it
        _bypass_triggers(cursor)
    chains_migration.sign_heads_without_chain(django_apps, None)
    assert audit_verify() == ["链 0：链尾记录的校验码不符（链尾被改动或伪造）"]
    chains_migration.sign_heads_with_their_chain(django_apps, None)
    assert audit_verify() == []
    rows = AuditEvent.objects.dangerously_unscoped().order_by("id")
    assert [(row.prev_hash, row.hash) for row in rows] == hashes
    assert {row.chain for row in rows} == {0}
    head.refresh_from_db()
    assert head_is_authentic(head)
