"""Fill an L database's hours ledger in SQL, for the issue 3 benchmarks.

`yanxiu synth --scale L` with histories streams ~60 M rows from Python, which
takes hours on 2 cores; this builds the same shape inside PostgreSQL in
minutes: for every active teacher and each cycle, sessions up to a target
share of the (pro-rated) requirement (most on track, ~15-20 % behind, recent
entries partly pending), categories weighted as in synth/ledger.py. Each row
carries the real keyed checksum (pgcrypto HMAC under the same derived key, over the
same message as credits.integrity.ledger_checksum, recorded state included), each
teacher gets a seal counting their entries (HMAC under the seal's derived key), so
`yanxiu credits verify` accepts the data, and totals are summed per chunk so
`yanxiu credits reconcile` finds no drift. No decisions: entries are written in the
state they keep.

Load path, as pg_restore does it: foreign-key and user triggers off
(session_replication_role = replica), secondary indexes dropped and rebuilt.

    .venv/bin/python bench/bench_synth.py --scale L --database yanxiu_bench_synth   # teachers, no ledger
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yanxiu_bench_synth \
        .venv/bin/python bench/bench_ledger_fill.py
Prints one JSON object.
"""

import argparse
import json
import time

from _django import setup

# Mirrors synth/ledger.py SESSIONS: (category, cumulative weight %, half-hours low, high).
CATEGORY_SQL = """CASE WHEN r1 < 0.35 THEN 'centralised' WHEN r1 < 0.70 THEN 'online'
  WHEN r1 < 0.90 THEN 'school_based' WHEN r1 < 0.97 THEN 'guidance' ELSE 'other' END"""
HALF_HOURS_SQL = """CASE WHEN r1 < 0.35 THEN 12 + floor(r2 * 13) WHEN r1 < 0.70 THEN 4 + floor(r2 * 13)
  WHEN r1 < 0.90 THEN 8 + floor(r2 * 9) WHEN r1 < 0.97 THEN 4 + floor(r2 * 5) ELSE 8 + floor(r2 * 9) END"""

CHUNK_SQL = f"""
CREATE TEMP TABLE fill_chunk ON COMMIT DROP AS
WITH plan AS (
  SELECT t.id AS teacher_id, c.id AS cycle_id,
         GREATEST(c.starts_on, t.hire_date) AS first_day, LEAST(c.ends_on, %(today)s::date) AS last_day,
         c.ends_on, c.starts_on,
         CEIL(%(required)s * (c.ends_on - GREATEST(c.starts_on, t.hire_date) + 1)::numeric
              / (c.ends_on - c.starts_on + 1)) AS required,
         random() AS luck
  FROM people_teacher t CROSS JOIN credits_cycle c
  WHERE t.id BETWEEN %(low)s AND %(high)s AND t.status = 'active'
    AND GREATEST(c.starts_on, t.hire_date) <= LEAST(c.ends_on, %(today)s::date)
), sized AS (
  SELECT plan.*, (last_day - first_day + 1) AS days,
         CEIL(required * (last_day - first_day + 1)::numeric / (ends_on - first_day + 1)
              * CASE WHEN luck < (CASE WHEN last_day = ends_on THEN 0.15 ELSE 0.2 END) THEN 0.45 + luck * 2.5
                     ELSE 1.0 + random() * (CASE WHEN last_day = ends_on THEN 0.15 ELSE 0.6 END) END
              / 6.6) AS sessions
  FROM plan
), session_rows AS (
  SELECT s.teacher_id, s.cycle_id, s.last_day, s.ends_on, s.first_day + floor(random() * s.days)::int AS occurred_on,
         n, random() AS r1, random() AS r2, random() AS r3
  FROM sized s CROSS JOIN LATERAL generate_series(1, s.sessions::int) AS n
)
SELECT teacher_id, cycle_id, {CATEGORY_SQL} AS category, ({HALF_HOURS_SQL}) / 2.0 AS hours, occurred_on,
       teacher_id || '-' || cycle_id || '-' || n AS source_id,
       CASE WHEN last_day <> ends_on AND %(today)s::date - occurred_on < 30 AND r3 < 0.3 THEN 'pending' ELSE 'approved' END AS state
FROM session_rows
"""

INSERT_SQL = """
INSERT INTO credits_ledgerentry (teacher_id, cycle_id, category, hours, occurred_on, source_type, source_id, source_key,
                                 note, evidence, recorded_state, state, created_at, checksum)
SELECT teacher_id, cycle_id, category, hours, occurred_on, 'synth', source_id, 'synth:' || source_id, '', '', state, state,
       now(),
       encode(hmac(convert_to(concat_ws('|', teacher_id, cycle_id, category, to_char(hours, 'FM99990.0'),
                                        to_char(occurred_on, 'YYYY-MM-DD'), 'synth', source_id, 'synth:' || source_id, '',
                                        state, ''),
                              'UTF8'), %(key)s, 'sha256'), 'hex')
FROM fill_chunk;
INSERT INTO credits_ledgerseal (teacher_id, entries, decisions, mac)
SELECT teacher_id, COUNT(*), 0,
       encode(hmac(convert_to(concat_ws('|', teacher_id, COUNT(*), 0), 'UTF8'), %(seal_key)s, 'sha256'), 'hex')
FROM fill_chunk GROUP BY teacher_id;
INSERT INTO credits_cycletotal (teacher_id, cycle_id, category, approved_hours, pending_hours)
SELECT teacher_id, cycle_id, category, SUM(CASE WHEN state = 'approved' THEN hours ELSE 0 END),
       SUM(CASE WHEN state = 'pending' THEN hours ELSE 0 END)
FROM fill_chunk GROUP BY teacher_id, cycle_id, category;
"""


def _remove_existing(cursor, transaction) -> None:
    """`synth --no-ledger` still credits what its training completes (a few hundred entries at
    L): remove them, with the seals and totals they made, so the fill starts from an empty ledger.
    The append-only triggers are off for this one transaction of a bench database."""
    with transaction.atomic():
        cursor.execute("UPDATE catalog_enrolment SET ledger_entry_id = NULL WHERE ledger_entry_id IS NOT NULL")
        cursor.execute("DELETE FROM lrs_statementcredit WHERE ledger_entry_id IS NOT NULL")
        cursor.execute("SET LOCAL session_replication_role = replica")  # user triggers off, this transaction only
        cursor.execute("DELETE FROM credits_ledgerdecision")
        cursor.execute("DELETE FROM credits_ledgerentry")
        cursor.execute("DELETE FROM credits_ledgerseal")
        cursor.execute("DELETE FROM credits_cycletotal")
        print("removed the synthetic training's ledger entries", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunk", type=int, default=40_000, help="teachers per transaction")
    parser.add_argument("--replace-existing", action="store_true",
                        help="first remove the few entries the synthetic training wrote (completed projects, "
                             "credited statements) and what points at them")
    args = parser.parse_args()
    setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from credits.integrity import ENTRY_PURPOSE, SEAL_PURPOSE
    from credits.models import Cycle
    from credits.selectors import rule_set_in_force
    from people.identity import _purpose_key

    assert connection.vendor == "postgresql", "PostgreSQL only"
    started = time.monotonic()
    cursor = connection.cursor()
    cursor.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
    if args.replace_existing:
        _remove_existing(cursor, transaction)
    cursor.execute("SELECT count(*) FROM credits_ledgerentry")
    if cursor.fetchone()[0]:
        raise SystemExit("credits_ledgerentry is not empty: fill a database synthesised with --no-ledger")
    required = {cycle.pk: rule_set_in_force(cycle).required_hours for cycle in Cycle.objects.all()}
    assert len(set(required.values())) == 1, "one requirement for every cycle is assumed"
    cursor.execute("""SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'credits_ledgerentry'
                      AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'credits_ledgerentry'::regclass)""")
    indexes = cursor.fetchall()
    cursor.execute("""SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                      WHERE conrelid = 'credits_ledgerentry'::regclass AND contype = 'u'""")
    uniques = cursor.fetchall()
    for name, _ in uniques:
        cursor.execute(f'ALTER TABLE credits_ledgerentry DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute("SET session_replication_role = replica")
    cursor.execute("SELECT min(id), max(id) FROM people_teacher")
    low, high = cursor.fetchone()
    params = {"today": timezone.localdate(), "required": next(iter(required.values())),
              "key": _purpose_key(ENTRY_PURPOSE), "seal_key": _purpose_key(SEAL_PURPOSE)}
    for first in range(low, high + 1, args.chunk):
        with transaction.atomic():
            cursor.execute(CHUNK_SQL, {**params, "low": first, "high": first + args.chunk - 1})
            cursor.execute(INSERT_SQL, params)
    load_seconds = time.monotonic() - started
    cursor.execute("SET session_replication_role = origin")
    for name, definition in uniques:
        cursor.execute(f'ALTER TABLE credits_ledgerentry ADD CONSTRAINT "{name}" {definition}')
    for _, definition in indexes:
        cursor.execute(definition)
    cursor.execute("VACUUM ANALYZE credits_ledgerentry, credits_cycletotal")
    cursor.execute("SELECT count(*), pg_size_pretty(pg_total_relation_size('credits_ledgerentry')) FROM credits_ledgerentry")
    entries, size = cursor.fetchone()
    print(json.dumps({"entries": entries, "table_size": size, "load_seconds": round(load_seconds, 1),
                      "total_seconds": round(time.monotonic() - started, 1)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
