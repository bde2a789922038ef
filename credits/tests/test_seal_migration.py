"""The migration that sealed the ledger already there (developers' demo databases): rows as the
earlier code wrote them come out valid — recorded state and decisions read back from their
columns, keys moved to their namespaces, checksums re-sealed, a seal per teacher — while a row
already edited behind the application's back is not blessed."""

import datetime as dt
import types
from decimal import Decimal
from importlib import import_module

from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from credits.models import Cycle, LedgerEntry
from credits.tests.tamper import as_attacker, seal_of
from credits.verification import ledger_verify
from people.identity import keyed_digest

sealing = import_module("credits.migrations.0009_seal_existing_ledger")


def _earlier_checksum(teacher_id, cycle_id, category, hours, day, source_type, source_id, source_key, reverses_id=None):
    """The checksum as the code before the seals computed it."""
    message = "|".join([str(teacher_id), str(cycle_id), category, f"{Decimal(hours).quantize(Decimal('0.1'))}",
                        day.isoformat(), source_type, source_id, source_key, str(reverses_id or "")])
    return keyed_digest("credits.ledger_entry", message)


def test_existing_rows_are_sealed_valid_and_an_earlier_edit_stays_visible(province, users):
    teacher, cycle = province.teacher, Cycle.objects.get(code="2026-2030")
    county, school = users["county_admin"], users["school_admin"]
    now = timezone.now()

    def old_row(n, source_type, source_id, source_key=None, *, hours="2", state="approved", signed_hours=None, **columns):
        day = dt.date(2026, 3, 1) + dt.timedelta(days=n)
        source_key = source_key or f"{source_type}:{source_id}"
        checksum = _earlier_checksum(teacher.pk, cycle.pk, "online", signed_hours or hours, day, source_type, source_id,
                                     source_key,
                                     columns.get("reverses").pk if columns.get("reverses") else None)
        return LedgerEntry.objects.create(teacher=teacher, cycle=cycle, category="online", hours=Decimal(hours),
                                          occurred_on=day, source_type=source_type, source_id=source_id,
                                          source_key=source_key, state=state, recorded_state="", checksum=checksum,
                                          **columns)

    plain = old_row(0, "project", "1:1:1")
    claim = old_row(1, "claim", "c-1", state="approved", school_checked_by=school, school_checked_at=now,
                    decided_by=county, decided_at=now)
    refused = old_row(2, "claim", "c-2", state="rejected", decided_by=school, decided_at=now)
    integration = old_row(3, "integration", "API-1", created_by=county)
    external = old_row(4, "external", "national:C-1")
    revoked = old_row(5, "project", "1:1:2", state="revoked", decided_by=county, decided_at=now)
    compensating = old_row(6, "correction", f"revoke:{revoked.pk}", hours="-2", reverses=revoked, decided_by=county,
                           decided_at=now)
    edited = old_row(7, "project", "1:1:3", hours="9", signed_hours="2")  # edited in SQL before the seals

    apps = MigrationLoader(connection).project_state(("credits", "0008_ledger_decisions_and_seals")).apps
    with as_attacker():  # the migration runs before 0010 puts the triggers back
        sealing.forwards(apps, types.SimpleNamespace(connection=connection))

    assert [(p.kind, p.entry_id) for p in ledger_verify()] == [("checksum", edited.pk)]
    rows = {e.pk: e for e in LedgerEntry.objects.dangerously_unscoped().all()}

    def history(entry):
        return [(d.stage, d.state) for d in rows[entry.pk].decisions.all()]

    assert (rows[plain.pk].recorded_state, history(plain)) == ("approved", [])
    assert (rows[claim.pk].recorded_state, history(claim)) == ("pending", [("school", "checked"), ("county", "approved")])
    assert (rows[refused.pk].recorded_state, history(refused)) == ("pending", [("school", "rejected")])
    assert (rows[revoked.pk].recorded_state, history(revoked)) == ("approved", [("revoke", "revoked")])
    assert history(compensating) == [("correction", "approved")]
    assert rows[integration.pk].source_key == f"integration:u{county.pk}:API-1"
    assert rows[external.pk].source_key == f"external:t{teacher.pk}:national:C-1"
    assert seal_of(teacher.pk)[:2] == (8, 5)
