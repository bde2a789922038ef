"""Fill a benchmark LRS database with N statements quickly, by SQL inside PostgreSQL, so the
load run can measure ingest and queries at a large store (10 M) without hours of POSTs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yanxiu_lrs_bench \\
        .venv/bin/python bench/lrs_fill.py --count 10000000 [--months 10] [--chunk 250000]

The statements have load_xapi.py's shape (500 teachers, 40 courses × 12 modules, five verbs,
a registration each, a parent course) and are written as the LRS writes them: the full
statement with id, stored, authority and version, its key row and the same index rows
lrs.statements.index_values gives such a statement (value hashes computed in SQL exactly as
lrs.keys.value_hash does). `stored` rises with the sequence number across the last
`--months` months, so the monthly partitions fill as they would. Writes by the harness's
first client; refuses databases whose name does not start with `yanxiu_lrs_`. Prints one
JSON line per chunk and a summary.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from lrs.keys import agent_key, value_hash  # noqa: E402
from lrs.models import LrsClient  # noqa: E402
from lrs.partitions import statement_partitions_ensure  # noqa: E402
from lrs.statements import authority_of  # noqa: E402

VERBS = ["http://adlnet.gov/expapi/verbs/experienced", "http://adlnet.gov/expapi/verbs/completed",
         "http://adlnet.gov/expapi/verbs/attempted", "http://adlnet.gov/expapi/verbs/answered",
         "http://adlnet.gov/expapi/verbs/launched"]

HASH_FUNCTION = """CREATE OR REPLACE FUNCTION pg_temp.vh(value text) RETURNS bigint LANGUAGE sql IMMUTABLE AS
$$ SELECT ('x' || left(encode(sha256(convert_to(value, 'UTF8')), 'hex'), 16))::bit(64)::bigint $$"""

CHUNK_SQL = """
WITH g AS (
  SELECT gen_random_uuid() AS id, gen_random_uuid()::text AS reg, floor(random() * 500)::int AS t,
         floor(random() * 40)::int AS c, floor(random() * 12)::int AS m,
         (%(verbs)s::text[])[1 + floor(random() * 5)::int] AS verb,
         %(start)s::timestamptz + (%(first)s + i) * %(step)s * interval '1 microsecond' AS stored
  FROM generate_series(1, %(n)s) AS i
), rows AS (
  SELECT g.*, to_char(stored AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS stamp,
         'mailto:teacher' || t || '@example.org' AS mbox,
         'http://example.org/courses/' || c || '/modules/' || m AS activity,
         'http://example.org/courses/' || c AS parent
  FROM g
), s AS (
  INSERT INTO lrs_statement (statement_id, stored, timestamp, client_id, verb_id, voided, is_voiding, actor_hash,
                             teacher_id, "full", has_attachments)
  SELECT id, stored, stored, %(client)s, verb, false, false, (%(actor_hashes)s::bigint[])[1 + t], NULL,
         jsonb_build_object(
           'id', id,
           'actor', jsonb_build_object('objectType', 'Agent', 'name', 'Teacher ' || t, 'mbox', mbox),
           'verb', jsonb_build_object('id', verb, 'display', jsonb_build_object('en-US', split_part(verb, '/', 6))),
           'object', jsonb_build_object('objectType', 'Activity', 'id', activity, 'definition', jsonb_build_object(
               'name', jsonb_build_object('en-US', 'Course ' || c || ' module ' || m),
               'type', 'http://adlnet.gov/expapi/activities/module')),
           'context', jsonb_build_object('registration', reg, 'platform', 'load_xapi', 'language', 'en-US',
               'contextActivities', jsonb_build_object('parent', jsonb_build_array(
                   jsonb_build_object('objectType', 'Activity', 'id', parent)))),
           'timestamp', stamp, 'stored', stamp, 'authority', %(authority)s::jsonb, 'version', '1.0.0'),
         false
  FROM rows
  RETURNING seq, statement_id, stored
), k AS (
  INSERT INTO lrs_statementkey (statement_id, seq) SELECT statement_id, seq FROM s
)
-- The hashes of the small vocabularies come from Python (lrs.keys.value_hash) as arrays; only
-- the registrations are hashed here.
INSERT INTO lrs_statementindex (statement_id, stored, kind, value_hash)
SELECT s.seq, s.stored, x.kind, x.digest
FROM s JOIN rows r ON r.id = s.statement_id, LATERAL (VALUES
  (1, (%(verb_hashes)s::bigint[])[array_position(%(verbs)s::text[], r.verb)]),
  (2, (%(activity_hashes)s::bigint[])[1 + r.c * 12 + r.m]),
  (3, (%(activity_hashes)s::bigint[])[1 + r.c * 12 + r.m]),
  (3, (%(parent_hashes)s::bigint[])[1 + r.c]),
  (4, (%(actor_hashes)s::bigint[])[1 + r.t]),
  (5, (%(actor_hashes)s::bigint[])[1 + r.t]),
  (5, %(authority_hash)s::bigint),
  (6, pg_temp.vh(r.reg))
) AS x(kind, digest)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--months", type=int, default=10)
    parser.add_argument("--chunk", type=int, default=250_000)
    parser.add_argument("--rebuild-indexes", action="store_true",
                        help="drop the secondary indexes of the statement and index tables first and "
                             "build them again at the end (much faster for millions)")
    args = parser.parse_args()
    name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql" or not str(name).startswith("yanxiu_lrs_"):
        sys.exit(f"refusing: {connection.vendor} database {name!r} (a PostgreSQL yanxiu_lrs_* database only)")
    client = LrsClient.objects.dangerously_unscoped().order_by("pk").first()
    if client is None:
        sys.exit("no LRS client in this database: start it with bench/lrs_harness.py first")
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=30 * args.months)
    statement_partitions_ensure(since=start.date())
    authority = authority_of(client)
    step = (now - dt.timedelta(minutes=5) - start) / dt.timedelta(microseconds=1) / args.count
    hashes = {
        "verb_hashes": [value_hash(verb) for verb in VERBS],
        "activity_hashes": [value_hash(f"http://example.org/courses/{c}/modules/{m}") for c in range(40) for m in range(12)],
        "parent_hashes": [value_hash(f"http://example.org/courses/{c}") for c in range(40)],
        "actor_hashes": [value_hash(f"mbox:mailto:teacher{t}@example.org") for t in range(500)],
    }
    began, done = time.monotonic(), 0
    with connection.cursor() as cursor:
        cursor.execute(HASH_FUNCTION)
        rebuilt = []
        if args.rebuild_indexes:
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
                           "('lrs_statement', 'lrs_statementindex') AND indexdef NOT LIKE 'CREATE UNIQUE%%'")
            rebuilt = cursor.fetchall()
            for index_name, _ in rebuilt:
                cursor.execute(f'DROP INDEX "{index_name}"')
        while done < args.count:
            n = min(args.chunk, args.count - done)
            chunk_began = time.monotonic()
            cursor.execute(CHUNK_SQL, {"verbs": VERBS, "start": start, "first": done, "step": step, "n": n,
                                       "client": client.pk, "authority": json.dumps(authority), **hashes,
                                       "authority_hash": value_hash(agent_key(authority) or "")})
            done += n
            print(json.dumps({"stored": done, "chunk_seconds": round(time.monotonic() - chunk_began, 1)}), flush=True)
        if rebuilt:
            cursor.execute("SET maintenance_work_mem = '1GB'")
            for index_name, definition in rebuilt:
                index_began = time.monotonic()
                cursor.execute(definition.replace(" ON ONLY ", " ON "))  # a partitioned table's: on every partition
                print(json.dumps({"index": index_name, "seconds": round(time.monotonic() - index_began, 1)}), flush=True)
        cursor.execute("VACUUM ANALYZE lrs_statement")
        cursor.execute("VACUUM ANALYZE lrs_statementindex")
        cursor.execute("VACUUM ANALYZE lrs_statementkey")
    print(json.dumps({"statements": done, "seconds": round(time.monotonic() - began, 1), "months": args.months}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
