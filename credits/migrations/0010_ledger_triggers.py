"""Database triggers of the sealed ledger (as 0003, now over the new columns):

- an entry's substance — recorded_state, created_by and the checksum included — never
  changes, and no entry is deleted; only the cache of its decisions (state, decided_*,
  school_checked_*) moves;
- decisions are append-only: no UPDATE, no DELETE.

PostgreSQL: row triggers. SQLite (development): UPDATE of the protected columns and any
UPDATE of a decision are refused; DELETE is left to Django's test flush (as in 0003) and
caught by `credits verify` through the seals.
"""

from django.db import migrations

PROTECTED = ("teacher_id", "cycle_id", "category", "hours", "occurred_on", "source_type", "source_id", "source_key",
             "reverses_id", "recorded_state", "created_by_id", "checksum", "created_at")
_new = ", ".join(f"NEW.{column}" for column in PROTECTED)
_old = ", ".join(f"OLD.{column}" for column in PROTECTED)

PG_UP = f"""
CREATE OR REPLACE FUNCTION credits_ledger_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'credits_ledgerentry is append-only (DELETE refused)';
  END IF;
  IF ({_new}) IS DISTINCT FROM ({_old}) THEN
    RAISE EXCEPTION 'credits_ledgerentry is append-only (only its decision cache may change)';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER credits_ledger_append_only BEFORE UPDATE OR DELETE ON credits_ledgerentry
  FOR EACH ROW EXECUTE FUNCTION credits_ledger_append_only();
CREATE OR REPLACE FUNCTION credits_decision_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'credits_ledgerdecision is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER credits_decision_append_only BEFORE UPDATE OR DELETE ON credits_ledgerdecision
  FOR EACH ROW EXECUTE FUNCTION credits_decision_append_only();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS credits_decision_append_only ON credits_ledgerdecision;
DROP FUNCTION IF EXISTS credits_decision_append_only();
DROP TRIGGER IF EXISTS credits_ledger_append_only ON credits_ledgerentry;
DROP FUNCTION IF EXISTS credits_ledger_append_only();
"""
SQLITE_UP = (
    f"CREATE TRIGGER credits_ledger_append_only BEFORE UPDATE OF {', '.join(PROTECTED)} ON credits_ledgerentry "
    "BEGIN SELECT RAISE(ABORT, 'credits_ledgerentry is append-only (only its decision cache may change)'); END;",
    "CREATE TRIGGER credits_decision_append_only BEFORE UPDATE ON credits_ledgerdecision "
    "BEGIN SELECT RAISE(ABORT, 'credits_ledgerdecision is append-only (UPDATE refused)'); END;",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS credits_decision_append_only;",
    "DROP TRIGGER IF EXISTS credits_ledger_append_only;",
)


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_UP, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DOWN, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("credits", "0009_seal_existing_ledger")]
    operations = [migrations.RunPython(forwards, backwards)]
