"""Seal the ledger that is already there (developers' demo databases; there is no production
data yet), and close the 2021–2025 cycle.

For every entry: the state it was recorded with and its decisions are read back from the
decision columns as the earlier code left them (a decided claim was recorded pending, then
school-checked and decided; a revoked entry was approved, then revoked; a compensating entry
was approved by whoever revoked), the decisions become MAC-chained rows, the decision columns
are set to what the chain gives, external and integration keys move to their per-teacher and
per-account namespaces, and the checksum is recomputed over the new substance. Then each
teacher gets a seal counting their rows.

A row whose checksum did not match under the earlier formula keeps its old checksum, so
`credits verify` still reports it: sealing must not bless an edit made before it.

This migration imports the keyed MAC functions (credits.integrity, over
people.identity.keyed_digest) instead of freezing a copy: the MAC key lives outside the
database, so no SQL can compute the MACs, and a frozen copy that drifted from the one
`credits verify` uses would seal every row invalid. The earlier checksum formula is frozen
here, as it was.
"""

import datetime as dt
import hmac
from decimal import Decimal

from django.db import migrations

from credits.integrity import decision_mac, derive, ledger_checksum, seal_mac
from people.identity import keyed_digest

# The cycle the province closed; from this day nothing is recorded in it but corrections.
CLOSED_CYCLES = {"2021-2025": dt.date(2026, 1, 1)}
BATCH = 5000
FIELDS = ("id", "teacher_id", "cycle_id", "category", "hours", "occurred_on", "source_type", "source_id", "source_key",
          "reverses_id", "checksum", "state", "created_at", "created_by_id", "decided_by_id", "decided_at",
          "school_checked_by_id", "school_checked_at", "note")


def load(apps, schema_editor):
    """Close the finished cycle (also called by the test suite after a flush)."""
    Cycle = apps.get_model("credits", "Cycle")
    for code, closed_on in CLOSED_CYCLES.items():
        Cycle.objects.filter(code=code, closed_on__isnull=True).update(closed_on=closed_on)


def _old_checksum(e: dict) -> str:
    message = "|".join([
        str(e["teacher_id"]), str(e["cycle_id"]), e["category"], f"{Decimal(e['hours']).quantize(Decimal('0.1'))}",
        e["occurred_on"].isoformat(), e["source_type"], e["source_id"], e["source_key"], str(e["reverses_id"] or ""),
    ])
    return keyed_digest("credits.ledger_entry", message)


def _history(e: dict) -> tuple[str, list[tuple]]:
    """(recorded state, [(stage, state, actor_id, at, note)]) as the earlier columns tell it."""
    checked = ([("school", "checked", e["school_checked_by_id"], e["school_checked_at"], "")]
               if e["school_checked_at"] is not None else [])
    at = e["decided_at"] or e["created_at"]
    state = e["state"]
    if state == "pending":
        return "pending", checked
    if state == "approved":
        if e["decided_at"] is None:
            return ("pending", checked) if checked else ("approved", [])
        if e["source_type"] == "correction":
            return "approved", [("correction", "approved", e["decided_by_id"], at, e["note"][:500])]
        return "pending", [*checked, ("county", "approved", e["decided_by_id"], at, "")]
    if state == "rejected":
        stage = "county" if checked or e["source_type"] != "claim" else "school"
        return "pending", [*checked, (stage, "rejected", e["decided_by_id"], at, "")]
    revoke = ("revoke", "revoked", e["decided_by_id"], at, "")
    if e["source_type"] == "claim":  # approved by someone the earlier columns no longer name
        return "pending", [*checked, ("county", "approved", None, at, "迁移前的认定，认定人未留存"), revoke]
    return "approved", [revoke]


def _key(e: dict) -> str:
    if e["source_type"] == "integration":
        return f"integration:u{e['created_by_id'] or 0}:{e['source_id']}"
    if e["source_type"] == "external":
        return f"external:t{e['teacher_id']}:{e['source_id']}"
    return e["source_key"]


def forwards(apps, schema_editor):
    load(apps, schema_editor)
    LedgerEntry = apps.get_model("credits", "LedgerEntry")
    LedgerDecision = apps.get_model("credits", "LedgerDecision")
    LedgerSeal = apps.get_model("credits", "LedgerSeal")
    counts: dict[int, list[int]] = {}
    updates: list[tuple] = []
    decisions: list = []
    connection = schema_editor.connection

    def moment(value):  # a datetime as the backend stores it (naive UTC text on SQLite)
        return connection.ops.adapt_datetimefield_value(value)

    def flush():
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE credits_ledgerentry SET recorded_state = %s, source_key = %s, checksum = %s, state = %s, "
                "school_checked_by_id = %s, school_checked_at = %s, decided_by_id = %s, decided_at = %s WHERE id = %s",
                updates)
        LedgerDecision.objects.bulk_create(decisions, batch_size=1000)
        updates.clear()
        decisions.clear()

    for row in LedgerEntry.objects.order_by("id").values_list(*FIELDS).iterator(chunk_size=BATCH):
        e = dict(zip(FIELDS, row, strict=True))
        recorded, history = _history(e)
        key = _key(e)
        checksum = e["checksum"]
        if hmac.compare_digest(checksum, _old_checksum(e)):
            checksum = ledger_checksum(
                teacher_id=e["teacher_id"], cycle_id=e["cycle_id"], category=e["category"], hours=e["hours"],
                occurred_on=e["occurred_on"], source_type=e["source_type"], source_id=e["source_id"], source_key=key,
                reverses_id=e["reverses_id"], recorded_state=recorded, created_by_id=e["created_by_id"])
        previous = ""
        for seq, (stage, state, actor_id, at, note) in enumerate(history, start=1):
            previous = decision_mac(entry_checksum=checksum, previous_mac=previous, entry_id=e["id"], seq=seq, stage=stage,
                                    state=state, actor_id=actor_id, at=at, note=note)
            decisions.append(LedgerDecision(entry_id=e["id"], seq=seq, stage=stage, state=state, actor_id=actor_id, at=at,
                                            note=note, mac=previous))
        derived = derive(recorded, [(stage, state, actor_id, at) for stage, state, actor_id, at, _ in history])
        updates.append((recorded, key, checksum, derived.state, derived.school_checked_by_id,
                        moment(derived.school_checked_at), derived.decided_by_id, moment(derived.decided_at), e["id"]))
        count = counts.setdefault(e["teacher_id"], [0, 0])
        count[0] += 1
        count[1] += len(history)
        if len(updates) >= BATCH:
            flush()
    flush()
    LedgerSeal.objects.bulk_create(
        (LedgerSeal(teacher_id=teacher_id, entries=entries, decisions=decided,
                    mac=seal_mac(teacher_id=teacher_id, entries=entries, decisions=decided))
         for teacher_id, (entries, decided) in sorted(counts.items())),
        batch_size=1000)


def backwards(apps, schema_editor):
    # The earlier schema cannot hold decisions or seals; the columns go with 0008's reversal.
    apps.get_model("credits", "LedgerDecision").objects.all().delete()
    apps.get_model("credits", "LedgerSeal").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("credits", "0008_ledger_decisions_and_seals")]
    operations = [migrations.RunPython(forwards, backwards)]
