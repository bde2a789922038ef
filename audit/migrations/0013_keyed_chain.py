"""The audit chain becomes keyed, and its head states last id, count and a MAC.

    hash(event) = HMAC(key "audit.event", prev_hash + "|" + canonical JSON of its fields)
    head.mac    = HMAC(key "audit.head",  "last_id|event_count|last_hash")

Developers' demo databases hold SHA-256-chained rows: they are re-keyed here in id order.
The append-only triggers refuse UPDATE, so they are dropped for the rewrite and created
again after it, in this same transaction. The head gets a trigger of its own: it may only
move forward (last id not smaller, count larger) and, on PostgreSQL, never be deleted.
SQLite (development only) refuses the backward UPDATE but leaves DELETE to Django's test
flush, as for the events; `audit verify` reports a missing head.

The chain format is copied here on purpose, frozen as of this migration: a later change of
audit.services needs a migration of its own.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import migrations, models

# The key is kept outside the database, and people.identity is the one place that loads
# it: a keyed chain cannot be computed without importing it.
from people.identity import keyed_digest

GENESIS = "0" * 64
BATCH = 2000

PG_EVENT_DROP = "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;"
# The function audit_event_append_only() from 0002 stays; only its trigger is recreated.
PG_EVENT_CREATE = """
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
  FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
"""
PG_HEAD_UP = """
CREATE OR REPLACE FUNCTION audit_chain_head_forward_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'audit_auditchainhead may not be deleted';
  END IF;
  IF NEW.id <> OLD.id OR NEW.last_id < OLD.last_id OR NEW.event_count <= OLD.event_count THEN
    RAISE EXCEPTION 'audit_auditchainhead only moves forward (last_id % -> %, event_count % -> %)',
      OLD.last_id, NEW.last_id, OLD.event_count, NEW.event_count;
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE OR DELETE ON audit_auditchainhead
  FOR EACH ROW EXECUTE FUNCTION audit_chain_head_forward_only();
"""
PG_HEAD_DOWN = """
DROP TRIGGER IF EXISTS audit_chain_head_forward_only ON audit_auditchainhead;
DROP FUNCTION IF EXISTS audit_chain_head_forward_only();
"""
SQLITE_EVENT_DROP = "DROP TRIGGER IF EXISTS audit_event_no_update;"
SQLITE_EVENT_CREATE = """
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
BEGIN SELECT RAISE(ABORT, 'audit_auditevent is append-only (UPDATE refused)'); END;
"""
SQLITE_HEAD_UP = """
CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE ON audit_auditchainhead
WHEN NEW.id <> OLD.id OR NEW.last_id < OLD.last_id OR NEW.event_count <= OLD.event_count
BEGIN SELECT RAISE(ABORT, 'audit_auditchainhead only moves forward'); END;
"""
SQLITE_HEAD_DOWN = "DROP TRIGGER IF EXISTS audit_chain_head_forward_only;"

SQL = {
    "postgresql": {"event_drop": PG_EVENT_DROP, "event_create": PG_EVENT_CREATE,
                   "head_up": PG_HEAD_UP, "head_down": PG_HEAD_DOWN},
    "sqlite": {"event_drop": SQLITE_EVENT_DROP, "event_create": SQLITE_EVENT_CREATE,
               "head_up": SQLITE_HEAD_UP, "head_down": SQLITE_HEAD_DOWN},
}


def _fields(event) -> dict[str, Any]:
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


def _canonical(fields: dict[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))


def keyed_event_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    return keyed_digest("audit.event", f"{prev_hash}|{_canonical(fields)}")


def sha256_event_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    """The chain before this migration (for going back)."""
    return hashlib.sha256(f"{prev_hash}|{_canonical(fields)}".encode()).hexdigest()


def keyed_head_mac(last_id: int, count: int, last_hash: str) -> str:
    return keyed_digest("audit.head", f"{last_id}|{count}|{last_hash}")


def rechain(event_model, digest: Callable[[str, dict[str, Any]], str]) -> tuple[int, int, str]:
    """Rewrite every row's prev_hash and hash in id order, a batch at a time (keyset pages:
    rows are updated while the table is read). Returns (last id, count, last hash).
    `_base_manager`: a plain manager on the historical and on the live model alike."""
    rows = event_model._base_manager
    prev_hash, count, last_id = GENESIS, 0, 0
    while batch := list(rows.filter(id__gt=last_id).order_by("id")[:BATCH]):
        for event in batch:
            event.prev_hash = prev_hash
            event.hash = prev_hash = digest(prev_hash, _fields(event))
        rows.bulk_update(batch, ["prev_hash", "hash"], batch_size=500)
        count, last_id = count + len(batch), batch[-1].pk
    return last_id, count, prev_hash


def rekey_chain(event_model, head_model) -> None:
    """Re-key the rows and the head (the triggers must be out of the way)."""
    last_id, count, last_hash = rechain(event_model, keyed_event_digest)
    heads = head_model._base_manager
    if count or heads.filter(pk=1).exists():
        heads.update_or_create(pk=1, defaults={
            "last_id": last_id, "event_count": count, "last_hash": last_hash,
            "mac": keyed_head_mac(last_id, count, last_hash),
        })


def unkey_chain(event_model, head_model) -> None:
    _, _, last_hash = rechain(event_model, sha256_event_digest)
    head_model._base_manager.filter(pk=1).update(last_hash=last_hash)


def _run(schema_editor, name: str) -> None:
    sql = SQL.get(schema_editor.connection.vendor, {}).get(name)
    if sql:
        schema_editor.execute(sql, params=None)


def forwards(apps, schema_editor):
    _run(schema_editor, "event_drop")
    rekey_chain(apps.get_model("audit", "AuditEvent"), apps.get_model("audit", "AuditChainHead"))
    _run(schema_editor, "event_create")
    _run(schema_editor, "head_up")


def backwards(apps, schema_editor):
    _run(schema_editor, "head_down")
    _run(schema_editor, "event_drop")
    unkey_chain(apps.get_model("audit", "AuditEvent"), apps.get_model("audit", "AuditChainHead"))
    _run(schema_editor, "event_create")


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0012_action_without_choices'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditchainhead',
            name='event_count',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='auditchainhead',
            name='last_id',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='auditchainhead',
            name='mac',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(forwards, backwards),
    ]
