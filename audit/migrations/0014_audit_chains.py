"""The audit log becomes AUDIT_CHAINS chains, each with its own head.

Existing events and the head move to chain 0 by the new columns' default, without
touching a row (no event's hashed fields change, so every hash still checks out). The
head's MAC now names its chain:

    head.mac = HMAC(key "audit.head", "chain|last_id|event_count|last_hash")

so the one existing head gets its MAC again, with its forward-only trigger out of the way
for that one update; the trigger comes back refusing a change of chain as well. SQLite
rebuilds a table to add a column and drops its triggers with it: they are created again.

The head's MAC format is copied here on purpose, frozen as of this migration.
"""

from django.db import migrations, models

from people.identity import keyed_digest

PG_HEAD_DROP = "DROP TRIGGER IF EXISTS audit_chain_head_forward_only ON audit_auditchainhead;"
PG_HEAD_CREATE = """
CREATE OR REPLACE FUNCTION audit_chain_head_forward_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'audit_auditchainhead may not be deleted';
  END IF;
  IF NEW.id <> OLD.id OR NEW.chain <> OLD.chain OR NEW.last_id < OLD.last_id
     OR NEW.event_count <= OLD.event_count THEN
    RAISE EXCEPTION 'audit_auditchainhead only moves forward (chain %, last_id % -> %, event_count % -> %)',
      OLD.chain, OLD.last_id, NEW.last_id, OLD.event_count, NEW.event_count;
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE OR DELETE ON audit_auditchainhead
  FOR EACH ROW EXECUTE FUNCTION audit_chain_head_forward_only();
"""
# Going back: the function as 0013 left it (it does not know the chain column).
PG_HEAD_CREATE_0013 = """
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
SQLITE_DROP = """
DROP TRIGGER IF EXISTS audit_chain_head_forward_only;
DROP TRIGGER IF EXISTS audit_event_no_update;
"""
SQLITE_CREATE = """
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
BEGIN SELECT RAISE(ABORT, 'audit_auditevent is append-only (UPDATE refused)'); END;
CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE ON audit_auditchainhead
WHEN NEW.id <> OLD.id OR NEW.chain <> OLD.chain OR NEW.last_id < OLD.last_id OR NEW.event_count <= OLD.event_count
BEGIN SELECT RAISE(ABORT, 'audit_auditchainhead only moves forward'); END;
"""
SQLITE_CREATE_0013 = """
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
BEGIN SELECT RAISE(ABORT, 'audit_auditevent is append-only (UPDATE refused)'); END;
CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE ON audit_auditchainhead
WHEN NEW.id <> OLD.id OR NEW.last_id < OLD.last_id OR NEW.event_count <= OLD.event_count
BEGIN SELECT RAISE(ABORT, 'audit_auditchainhead only moves forward'); END;
"""


def chain_head_mac(chain: int, last_id: int, count: int, last_hash: str) -> str:
    return keyed_digest("audit.head", f"{chain}|{last_id}|{count}|{last_hash}")


def single_head_mac(last_id: int, count: int, last_hash: str) -> str:
    """The MAC as 0013 wrote it (for going back)."""
    return keyed_digest("audit.head", f"{last_id}|{count}|{last_hash}")


def _sql(schema_editor, by_vendor: dict[str, str]) -> None:
    sql = by_vendor.get(schema_editor.connection.vendor)
    if not sql:
        return
    if schema_editor.connection.vendor == "sqlite":  # one statement at a time
        for statement in sql.split(";\n"):
            if statement.strip():
                schema_editor.execute(statement.strip().rstrip(";") + ";", params=None)
    else:
        schema_editor.execute(sql, params=None)


def drop_triggers(apps, schema_editor):
    _sql(schema_editor, {"postgresql": PG_HEAD_DROP, "sqlite": SQLITE_DROP})


def create_triggers(apps, schema_editor):
    _sql(schema_editor, {"postgresql": PG_HEAD_DROP + PG_HEAD_CREATE, "sqlite": SQLITE_DROP + SQLITE_CREATE})


def create_triggers_0013(apps, schema_editor):
    _sql(schema_editor, {"postgresql": PG_HEAD_DROP + PG_HEAD_CREATE_0013,
                         "sqlite": SQLITE_DROP + SQLITE_CREATE_0013})


def sign_heads_with_their_chain(apps, schema_editor):
    for head in apps.get_model("audit", "AuditChainHead")._base_manager.all():
        head.mac = chain_head_mac(head.chain, head.last_id, head.event_count, head.last_hash)
        head.save(update_fields=["mac"])


def sign_heads_without_chain(apps, schema_editor):
    heads = apps.get_model("audit", "AuditChainHead")._base_manager
    if heads.exclude(chain=0).exists():
        raise RuntimeError("audit events in chains other than 0 cannot go back to a single chain")
    for head in heads.all():
        head.mac = single_head_mac(head.last_id, head.event_count, head.last_hash)
        head.save(update_fields=["mac"])


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0013_keyed_chain'),
    ]

    operations = [
        # Reversed in the opposite order: each step's inverse is the step listed with it.
        migrations.RunPython(drop_triggers, create_triggers_0013),
        migrations.AddField(
            model_name='auditevent',
            name='chain',
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='auditchainhead',
            name='chain',
            field=models.PositiveSmallIntegerField(default=0, unique=True),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['chain', 'id'], name='audit_chain_idx'),
        ),
        migrations.RunPython(sign_heads_with_their_chain, sign_heads_without_chain),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
