"""The audit trail cannot be quietly rewritten by someone with write access to the
database: the chain is keyed (HMAC under a key kept outside the database), the chain's
head carries a MAC of its own and may only move forward, and keyed checkpoints kept off
the database catch a truncation or a rollback to an older copy."""

import datetime as dt
import hashlib
import hmac
import io
import json
from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditChainHead, AuditEvent
from audit.services import (
    GENESIS,
    AuditChainError,
    ChainState,
    Checkpoint,
    _hashed_fields,
    audit_checkpoint,
    audit_checkpoint_read,
    audit_record,
    audit_record_many,
    audit_verify,
    head_is_authentic,
)
from audit.tasks import audit_checkpoint_task
from core.checkpoints import CheckpointError, checkpoint_read, checkpoint_write

pytestmark = pytest.mark.django_db

FORGED_HEAD = "链 0：链尾记录的校验码不符（链尾被改动或伪造）"
migration = import_module("audit.migrations.0013_keyed_chain")
chains_migration = import_module("audit.migrations.0014_audit_chains")


def _chain(n: int = 5) -> list[AuditEvent]:
    return [audit_record(action="logout", detail={"n": i}) for i in range(n)]


def _head(chain: int = 0) -> AuditChainHead:
    return AuditChainHead.objects.get(chain=chain)


def _bypass_triggers(cursor) -> None:
    """What an owner of the tables could do (rolled back with the test)."""
    if connection.vendor == "postgresql":
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute("ALTER TABLE audit_auditchainhead DISABLE TRIGGER USER")
    else:
        cursor.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        cursor.execute("DROP TRIGGER IF EXISTS audit_chain_head_forward_only")


def _sha256(prev_hash: str, fields: dict) -> str:
    """The unkeyed chain anyone can recompute."""
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}|{canonical}".encode()).hexdigest()


def _rows() -> list[AuditEvent]:
    return list(AuditEvent.objects.dangerously_unscoped().order_by("id"))


def _count() -> int:
    return AuditEvent.objects.dangerously_unscoped().count()


# --- the chain and its head -------------------------------------------------------------------


def test_the_head_states_last_id_count_and_hash_under_its_mac():
    events = _chain(3)
    events += audit_record_many([{"action": "logout", "detail": {"batch": i}} for i in range(4)])
    head = _head()
    assert (head.last_id, head.event_count, head.last_hash) == (events[-1].pk, 7, events[-1].hash)
    assert head_is_authentic(head)
    assert audit_verify() == []


@pytest.mark.parametrize("rewind", ["hash", "hash_id_and_count"])
def test_deleting_the_last_row_and_rewinding_the_head_is_flagged(rewind):
    events = _chain()
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[-1].pk])
        if rewind == "hash":  # what was observed: only the head's hash wound back
            cursor.execute("UPDATE audit_auditchainhead SET last_hash = %s WHERE chain = 0", [events[-2].hash])
        else:  # a thorough attacker winds back everything the head states
            cursor.execute("UPDATE audit_auditchainhead SET last_hash = %s, last_id = %s, event_count = %s WHERE chain = 0",
                           [events[-2].hash, events[-2].pk, len(events) - 1])
    problems = audit_verify()
    assert FORGED_HEAD in problems
    if rewind == "hash_id_and_count":
        assert problems == [FORGED_HEAD]
    err = io.StringIO()
    with pytest.raises(CommandError, match="校验失败"):
        call_command("audit", "verify", stderr=err)
    assert FORGED_HEAD in err.getvalue()


@pytest.mark.parametrize("guess", ["sha256", "hmac_with_secret_key", "hmac_with_empty_key", "copied_mac"])
def test_a_rewound_head_with_a_forged_mac_is_flagged(guess):
    events = _chain()
    state = f"0|{events[-2].pk}|{len(events) - 1}|{events[-2].hash}"
    mac = {
        "sha256": hashlib.sha256(state.encode()).hexdigest(),
        "hmac_with_secret_key": hmac.new(settings.SECRET_KEY.encode(), state.encode(), "sha256").hexdigest(),
        "hmac_with_empty_key": hmac.new(b"", state.encode(), "sha256").hexdigest(),
        "copied_mac": _head().mac,
    }[guess]
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[-1].pk])
        cursor.execute("UPDATE audit_auditchainhead SET last_hash = %s, last_id = %s, event_count = %s, mac = %s "
                       "WHERE chain = 0", [events[-2].hash, events[-2].pk, len(events) - 1, mac])
    assert audit_verify() == [FORGED_HEAD]


def test_a_forged_head_is_not_extended():
    """Appending on top of a rewound head would sign the truncation it hides."""
    events = _chain()
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[-1].pk])
        cursor.execute("UPDATE audit_auditchainhead SET last_hash = %s, last_id = %s, event_count = %s WHERE chain = 0",
                       [events[-2].hash, events[-2].pk, len(events) - 1])
    with pytest.raises(AuditChainError, match="链尾校验失败"):
        audit_record(action="logout")
    assert _count() == len(events) - 1
    assert audit_verify() == [FORGED_HEAD]


def test_a_missing_head_is_flagged_and_a_new_one_does_not_hide_it():
    events = _chain(3)
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
        cursor.execute("DELETE FROM audit_auditchainhead")
    assert audit_verify() == ["链 0：缺少链尾记录（链尾被删除）"]
    later = audit_record(action="logout")  # starts a fresh head, from the genesis hash
    assert later.prev_hash == GENESIS != events[-1].hash
    assert audit_verify() == [f"#{later.pk}: 链断裂（前一条记录被删除或改动）", "链 0：链尾记录有 1 条，链中实有 4 条（链尾被重置或回退）"]


def test_the_database_only_lets_the_head_move_forward():
    _chain(3)
    for sql in [
        "UPDATE audit_auditchainhead SET last_id = last_id - 1, event_count = event_count - 1",
        "UPDATE audit_auditchainhead SET last_hash = 'f'",  # the count must grow
        "UPDATE audit_auditchainhead SET last_id = 0, event_count = event_count + 1",
    ]:
        with pytest.raises(DatabaseError, match="only moves forward"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    audit_record(action="logout")  # the application's own move forward is allowed
    assert _head().event_count == 4
    assert audit_verify() == []


@pytest.mark.pg_only
def test_the_head_cannot_be_deleted_on_postgresql():
    _chain(2)
    with pytest.raises(DatabaseError, match="may not be deleted"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditchainhead")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditChainHead.objects.all().delete()
    assert audit_verify() == []


def test_an_edited_row_is_flagged_even_with_the_chain_recomputed():
    """Without the key, re-hashing the edited row and everything after it does not help."""
    events = _chain()
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
        cursor.execute("UPDATE audit_auditevent SET detail = %s WHERE id = %s", ['{"n": 99}', events[2].pk])
        rows = _rows()
        prev_hash = rows[1].hash
        for row in rows[2:]:
            prev_hash, old = _sha256(prev_hash, _hashed_fields(row)), prev_hash
            cursor.execute("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE id = %s", [old, prev_hash, row.pk])
        cursor.execute("UPDATE audit_auditchainhead SET last_hash = %s WHERE chain = 0", [prev_hash])
    assert audit_verify() == [f"#{event.pk}: 内容与哈希不符（记录被改动）" for event in events[2:]] + [FORGED_HEAD]


def test_recording_many_events_takes_as_many_queries_as_recording_two():
    """One head lock and one bulk insert, however many events (as many as fit in one
    statement: SQLite takes at most 999 parameters)."""
    audit_record(action="logout")
    with CaptureQueriesContext(connection) as two:
        audit_record_many([{"action": "logout"}] * 2)
    with CaptureQueriesContext(connection) as many:
        audit_record_many([{"action": "logout", "detail": {"n": i}} for i in range(60)])
    assert len(many) == len(two)
    assert len([q for q in many.captured_queries if q["sql"].startswith('INSERT INTO "audit_auditevent"')]) == 1
    assert _head().event_count == 63 and audit_verify() == []


def test_verify_streams_the_table():
    audit_record_many([{"action": "logout", "detail": {"n": i}} for i in range(6000)])
    with CaptureQueriesContext(connection) as queries:
        assert audit_verify() == []
    assert len(queries) <= 3  # the rows in one streamed query, and the heads


def test_events_appended_while_verify_walks_are_not_taken_for_a_truncation(monkeypatch):
    from audit import services

    _chain(3)
    read_heads, appended = services._read_heads, []

    def heads_after_an_append():
        if not appended:  # another request appends between the walk and the heads' read
            appended.append(audit_record(action="logout"))
        return read_heads()

    monkeypatch.setattr(services, "_read_heads", heads_after_an_append)
    assert audit_verify() == []
    assert appended and _head().last_id == appended[0].pk


# --- checkpoints kept outside the database -------------------------------------------------------


def test_the_checkpoint_command_writes_a_keyed_file(tmp_path):
    events = _chain(3)
    out = io.StringIO()
    call_command("audit", "checkpoint", "--out", str(tmp_path), stdout=out)
    [path] = tmp_path.iterdir()
    assert str(path) in out.getvalue()
    state = checkpoint_read(path, kind="audit")
    assert state["chains"] == {"0": {"last_id": events[-1].pk, "count": 3, "last_hash": events[-1].hash}}


def test_verify_with_a_checkpoint_passes_while_the_chain_grows(tmp_path):
    _chain(3)
    first = audit_checkpoint(tmp_path / "a")
    _chain(2)
    second = audit_checkpoint(tmp_path / "b")
    audit_record(action="logout")
    out = io.StringIO()
    call_command("audit", "verify", "--checkpoint", str(first), "--checkpoint", str(second), stdout=out)
    assert "已对照 2 个检查点" in out.getvalue()


def test_a_checkpoint_of_an_empty_chain_holds_nothing_to_lose(tmp_path):
    path = audit_checkpoint(tmp_path)
    assert audit_checkpoint_read(path).heads == {}
    _chain(2)
    assert audit_verify([audit_checkpoint_read(path)]) == []


def test_rolling_table_and_head_back_to_an_older_copy_is_caught_by_a_checkpoint(tmp_path):
    _chain(3)
    with connection.cursor() as cursor:  # the older copy (a backup, a snapshot)
        cursor.execute("CREATE TEMPORARY TABLE old_events AS SELECT * FROM audit_auditevent")
        cursor.execute("CREATE TEMPORARY TABLE old_head AS SELECT * FROM audit_auditchainhead")
    later = _chain(2)
    path = audit_checkpoint(tmp_path)
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
        cursor.execute("DELETE FROM audit_auditevent")
        cursor.execute("DELETE FROM audit_auditchainhead")
        cursor.execute("INSERT INTO audit_auditevent SELECT * FROM old_events")
        cursor.execute("INSERT INTO audit_auditchainhead SELECT * FROM old_head")
    newer = audit_record(action="logout")  # the restored head is authentic, so the chain goes on
    assert audit_verify() == []  # inside the database, an older copy is a whole chain
    taken_at = audit_checkpoint_read(path).taken_at
    assert audit_verify([audit_checkpoint_read(path)]) == [
        f"检查点（{taken_at}）：#{later[-1].pk} 已不存在（日志被截断或回滚）"]
    err = io.StringIO()
    with pytest.raises(CommandError, match="校验失败"):
        call_command("audit", "verify", "--checkpoint", str(path), stderr=err)
    assert f"#{later[-1].pk} 已不存在" in err.getvalue()
    assert newer.pk > later[-1].pk


def test_a_checkpoint_names_the_hash_and_the_count_up_to_its_event():
    events = _chain(4)
    at = timezone.now().isoformat()
    checkpoint = Checkpoint({0: ChainState(last_id=events[2].pk, count=3, last_hash=events[2].hash)}, at)
    assert audit_verify([checkpoint]) == []
    rewritten = Checkpoint({0: ChainState(last_id=events[2].pk, count=3, last_hash="e" * 64)}, at)
    assert audit_verify([rewritten]) == [f"检查点（{at}）：#{events[2].pk} 的哈希与检查点不符（日志被改写或回滚）"]
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[0].pk])
    assert audit_verify([checkpoint]) == [
        f"#{events[1].pk}: 链断裂（前一条记录被删除或改动）",
        f"检查点（{at}）：截至 #{events[2].pk} 只有 2 条记录，检查点时有 3 条（记录被删除）",
        "链 0：链尾记录有 4 条，链中实有 3 条（有记录被删除）",
    ]


@pytest.mark.parametrize("edit", ["count", "last_id", "last_hash", "taken_at"])
def test_an_edited_checkpoint_file_is_refused(tmp_path, edit):
    events = _chain(3)
    path = audit_checkpoint(tmp_path)
    document = json.loads(path.read_text(encoding="utf-8"))
    if edit == "taken_at":
        document["taken_at"] = (dt.datetime.fromisoformat(document["taken_at"]) - dt.timedelta(days=1)).isoformat()
    else:
        document["state"]["chains"]["0"][edit] = {"count": 2, "last_id": events[1].pk, "last_hash": events[1].hash}[edit]
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(CheckpointError, match="签名不符"):
        audit_checkpoint_read(path)
    with pytest.raises(CommandError, match="签名不符"):
        call_command("audit", "verify", "--checkpoint", str(path))


def test_a_file_that_is_not_an_audit_checkpoint_is_refused(tmp_path):
    ledger = checkpoint_write("ledger", {"last_id": 1, "count": 1, "last_hash": "0" * 64}, tmp_path)
    with pytest.raises(CommandError, match="不是 audit"):
        call_command("audit", "verify", "--checkpoint", str(ledger))
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="无法读取"):
        call_command("audit", "verify", "--checkpoint", str(garbage))


def test_no_checkpoint_is_signed_for_a_forged_head(tmp_path):
    events = _chain(3)
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
        cursor.execute("UPDATE audit_auditchainhead SET last_id = %s, event_count = 2, last_hash = %s",
                       [events[1].pk, events[1].hash])
    with pytest.raises(CommandError, match="链尾校验失败"):
        call_command("audit", "checkpoint", "--out", str(tmp_path))
    assert not list(tmp_path.iterdir())


def test_a_nightly_task_writes_a_checkpoint_to_the_configured_folder(settings, tmp_path):
    settings.INTEGRITY_CHECKPOINT_DIR = tmp_path / "checkpoints"
    events = _chain(2)
    result = audit_checkpoint_task.delay().get()
    [path] = (tmp_path / "checkpoints").iterdir()
    assert result == {"path": str(path)}
    assert audit_checkpoint_read(path).heads == {0: ChainState(last_id=events[-1].pk, count=2, last_hash=events[-1].hash)}
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["audit-checkpoint-nightly"]["task"] == audit_checkpoint_task.name
    assert schedule["audit-checkpoint-nightly"]["schedule"] <= 24 * 3600
    assert "compliance-refresh-nightly" in schedule


# --- the migration that re-keys existing chains --------------------------------------------------


def _sha256_chained_rows(n: int) -> str:
    """Rows as a demo database holds them before the migration (plain SHA-256); the
    head as the migration's new columns leave it."""
    prev_hash, events = GENESIS, []
    for i in range(n):
        event = AuditEvent(at=timezone.now(), action="teacher.update", object_type="teacher", object_id=str(i),
                           ip="10.0.0.1", detail={"changed": {"名称": {"before": "甲", "after": "乙"}}}, prev_hash=prev_hash)
        event.hash = prev_hash = migration.sha256_event_digest(prev_hash, migration._fields(event))
        events.append(event)
    AuditEvent.objects.bulk_create(events)
    AuditChainHead.objects.create(pk=1, last_hash=prev_hash)
    return prev_hash


def test_the_rekeying_migration_leaves_a_clean_chain(monkeypatch):
    monkeypatch.setattr(migration, "BATCH", 3)  # several keyset pages
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
    _sha256_chained_rows(8)
    assert len(audit_verify()) == 8 + 2  # every row and the head fail the keyed check
    migration.rekey_chain(AuditEvent, AuditChainHead)
    chains_migration.sign_heads_with_their_chain(django_apps, None)  # the next migration, as it runs
    assert audit_verify() == []
    rows = _rows()
    assert [row.prev_hash for row in rows] == [GENESIS] + [row.hash for row in rows[:-1]]
    head = _head()
    assert (head.last_id, head.event_count, head.last_hash) == (rows[-1].pk, 8, rows[-1].hash)
    audit_record(action="logout")  # the chain goes on from the re-keyed head
    assert audit_verify() == []


def test_the_migration_backwards_restores_the_sha256_chain():
    with connection.cursor() as cursor:
        _bypass_triggers(cursor)
    old_last_hash = _sha256_chained_rows(4)
    migration.rekey_chain(AuditEvent, AuditChainHead)
    migration.unkey_chain(AuditEvent, AuditChainHead)
    rows = _rows()
    assert rows[-1].hash == _head().last_hash == old_last_hash
    assert all(row.hash == _sha256(row.prev_hash, _hashed_fields(row)) for row in rows)


def test_an_empty_database_gets_no_head_from_the_migration():
    migration.rekey_chain(AuditEvent, AuditChainHead)
    assert not AuditChainHead.objects.exists()
    assert audit_verify() == []
