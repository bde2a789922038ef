"""The ledger's substance cannot be updated, nor rows deleted.

Only state/decided_by/decided_at may change. PostgreSQL: a row trigger
compares OLD and NEW. SQLite (development): UPDATE OF the protected columns is
refused; DELETE is left to Django's test flush and caught by `credits verify`.
"""

from django.db import migrations

PROTECTED = ("teacher_id", "cycle_id", "category", "hours", "occurred_on", "source_type", "source_id", "source_key",
             "reverses_id", "checksum", "created_at")

PG_UP = """
CREATE OR REPLACE FUNCTION credits_ledger_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'credits_ledgerentry is append-only (DELETE refused)';
  END IF;
  IF (NEW.teacher_id, NEW.cycle_id, NEW.category, NEW.hours, NEW.occurred_on, NEW.source_type, NEW.source_id,
      NEW.source_key, NEW.reverses_id, NEW.checksum, NEW.created_at)
     IS DISTINCT FROM
     (OLD.teacher_id, OLD.cycle_id, OLD.category, OLD.hours, OLD.occurred_on, OLD.source_type, OLD.source_id,
      OLD.source_key, OLD.reverses_id, OLD.checksum, OLD.created_at) THEN
    RAISE EXCEPTION 'credits_ledgerentry is append-only (only its decision may change)';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER credits_ledger_append_only BEFORE UPDATE OR DELETE ON credits_ledgerentry
  FOR EACH ROW EXECUTE FUNCTION credits_ledger_append_only();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS credits_ledger_append_only ON credits_ledgerentry;
DROP FUNCTION IF EXISTS credits_ledger_append_only();
"""
SQLITE_UP = (
    f"CREATE TRIGGER credits_ledger_append_only BEFORE UPDATE OF {', '.join(PROTECTED)} ON credits_ledgerentry "
    "BEGIN SELECT RAISE(ABORT, 'credits_ledgerentry is append-only (only its decision may change)'); END;"
)
SQLITE_DOWN = "DROP TRIGGER IF EXISTS credits_ledger_append_only;"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_UP, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_UP)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DOWN, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DOWN)


class Migration(migrations.Migration):
    dependencies = [("credits", "0002_cycles_and_rules")]
    operations = [migrations.RunPython(forwards, backwards)]
