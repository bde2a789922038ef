"""Storing statements: validate, complete, check scope and duplicates, void, index — one
transaction per request, all or nothing.

A statement arriving with an id the LRS already holds changes nothing: the same statement
(ignoring what the LRS itself set) is accepted as a replay, a different one is a 409.
Voiding follows the specification: a statement is voided when the LRS holds a voiding
statement targeting it, whichever arrived first, unless it is itself a voiding statement.
What follows the statements themselves (index rows, definitions, crediting) is lrs.indexing:
in the same transaction, or for a plain batch on PostgreSQL just after it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import orjson
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from access.policy import Action, can, visible
from access.scope import Scope
from core.dbtuning import bound_cursor
from lrs.attachments import attachments_check, attachments_store
from lrs.http import XAPI_VERSION, XAPI_VERSION_2, XapiError
from lrs.indexing import (
    INHERITED,
    VOIDED_VERB,
    after_store,
    context_activities,
    index_rows_copy,
    object_activity,
    pending_drain,
    pending_scheduled,
    statement_digests,
    statement_ref,
)
from lrs.keys import learner_key, value_hash
from lrs.learners import teachers_for_agents
from lrs.models import LrsClient, Statement, StatementIndex, StatementKey
from lrs.validation import StatementInvalid, parse_timestamp, statements_equal, validate_statement


def authority_of(client: LrsClient) -> dict[str, Any]:
    """The LRS stamps every statement with the client that sent it, whatever it claimed."""
    return {"objectType": "Agent", "name": client.name,
            "account": {"homePage": settings.LRS_AUTHORITY_HOMEPAGE, "name": client.key}}


def _covered(scope: Scope, statement: dict) -> bool:
    """A client writes only about activities under its prefixes ("*": anything)."""
    if "*" in scope.client_prefixes:
        return True
    activities = [object_activity(statement), *context_activities(statement.get("context"))]
    target = statement.get("object") or {}
    if target.get("objectType") == "SubStatement":
        activities.append(object_activity(target))
    named = [activity for activity in activities if activity]
    return bool(named) and all(any(a.startswith(prefix) for prefix in scope.client_prefixes) for a in named)


def _complete(statement: dict, *, client: LrsClient, stored: dt.datetime, version: str = XAPI_VERSION) -> dict:
    """The statement as the LRS stores it: its id, stored, authority, version, timestamp set.
    A statement without a version gets 1.0.0 from a 1.0 request, 2.0.0 from a 2.0 one."""
    full = dict(statement)
    full["id"] = str(full["id"]).lower()
    stored_text = stored.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    full["stored"] = stored_text
    full["authority"] = authority_of(client)
    full.setdefault("version", XAPI_VERSION_2 if version == XAPI_VERSION_2 else "1.0.0")
    full.setdefault("timestamp", stored_text)
    return full


def statements_store(*, scope: Scope, client: LrsClient, statements: list[Any], statement_id: str | None = None,
                     attachments: dict[str, Any] | None = None, version: str = XAPI_VERSION) -> list[str]:
    """Store a batch (or the one statement of a PUT with `statement_id`): ids in order. All or
    nothing; replays of statements already held change nothing."""
    if not statements:
        raise XapiError(400, "没有语句")
    if len(statements) > settings.LRS_MAX_BATCH:
        raise XapiError(413, f"一次最多提交 {settings.LRS_MAX_BATCH} 条语句")
    for position, statement in enumerate(statements):
        try:
            statements[position] = validate_statement(statement, version=version)
        except StatementInvalid as error:
            where = f"第 {position + 1} 条语句：" if len(statements) > 1 else ""
            raise XapiError(400, f"{where}{error}") from None
    if statement_id is not None:
        given = statements[0].get("id")
        if given is not None and str(given).lower() != statement_id.lower():
            raise XapiError(400, "语句中的 id 与 statementId 参数不一致")
        statements[0] = {**statements[0], "id": statement_id.lower()}
    for statement in statements:
        statement.setdefault("id", str(uuid.uuid4()))
    ids = [str(statement["id"]).lower() for statement in statements]
    if len(set(ids)) != len(ids):
        raise XapiError(400, "同一批语句中有重复的 id")
    for statement in statements:
        if not _covered(scope, statement):
            raise XapiError(403, "该接入方不能提交此活动的学习记录（活动不在其登记的 IRI 前缀之内）")
    # A JSON body too: its attachments must then all be fileUrl ones, signatures included.
    attachments_check(statements, attachments)
    stored = timezone.now()
    if _answered_before_after_work(statements):
        with transaction.atomic():
            if _store_waiting(client=client, statements=statements, stored=stored, version=version) and attachments:
                attachments_store(attachments)
        return ids
    with transaction.atomic():
        # Ids by their own table (one probe each, whatever the partitions); the statements only
        # for replays.
        held_seqs = list(StatementKey.objects.filter(statement_id__in=ids).values_list("seq", flat=True))
        replayed = _replays(held_seqs, statements)
        new = [statement for statement in statements if statement["id"].lower() not in replayed]
        if new:
            _insert(scope=scope, client=client, statements=new, stored=stored, version=version)
            if attachments:
                attachments_store(attachments)
    return ids


def _insert(*, scope: Scope, client: LrsClient, statements: list[dict], stored: dt.datetime,
            version: str = XAPI_VERSION) -> None:
    voiding_targets = {}
    for statement in statements:
        if statement["verb"]["id"] == VOIDED_VERB:
            target = statement_ref(statement)
            if target is None:
                raise XapiError(400, "作废语句的对象必须是 StatementRef")
            voiding_targets[statement["id"].lower()] = target
    targets = {ref for statement in statements if (ref := statement_ref(statement))}
    if targets:
        pending_drain(wait=True)
    # What the targets are found by, so the statements targeting them are found the same way.
    inherited: dict[str, set[tuple[int, int]]] = {}
    if targets:
        target_rows = {str(s.statement_id): s for s in Statement.objects.dangerously_unscoped()
                       .filter(statement_id__in=targets).only("seq", "statement_id", "is_voiding", "client_id")}
        by_seq = {row.seq: str(row.statement_id) for row in target_rows.values()}
        for seq, kind, digest in (StatementIndex.objects.dangerously_unscoped()
                                  .filter(statement_id__in=list(by_seq), kind__in=INHERITED)
                                  .values_list("statement_id", "kind", "value_hash")):
            inherited.setdefault(by_seq[seq], set()).add((kind, digest))
        for target in voiding_targets.values():
            row = target_rows.get(target)
            if row is not None and not can(scope, Action.CHANGE, row):
                raise XapiError(403, "只能作废本接入方可读取的语句")
    rows = [Statement(client=client, stored=stored, **columns)
            for columns in _statement_columns(statements, client=client, stored=stored, version=version)]
    index_rows = [statement_digests(row.full, inherited) for row in rows]
    try:
        if connection.vendor == "postgresql" and len(rows) >= COPY_FROM:
            _copy_rows(rows, index_rows)
        elif connection.vendor == "postgresql":
            _insert_rows(rows, index_rows)
        else:
            Statement.objects.bulk_create(rows)
            StatementKey.objects.bulk_create([StatementKey(statement_id=row.statement_id, seq=row.seq) for row in rows])
    except (IntegrityError, psycopg_integrity_error()):
        raise XapiError(409, CONCURRENT) from None
    # The index rows went in with the statements on PostgreSQL; SQLite writes them here.
    after_store(rows, None if connection.vendor == "postgresql" else index_rows, voiding_targets)


CONCURRENT = "语句 id 已存在（并发提交）"


def _statement_columns(statements: list[dict], *, client: LrsClient, stored: dt.datetime,
                       version: str) -> list[dict[str, Any]]:
    """Each statement as the LRS stores it: the completed statement and the columns it is
    found by, its actor matched to a teacher (one lookup for the batch)."""
    actor_keys = {key for statement in statements if (key := learner_key(statement["actor"]))}
    teachers = teachers_for_agents(actor_keys)
    columns = []
    for statement in statements:
        full = _complete(statement, client=client, stored=stored, version=version)
        actor = learner_key(full["actor"])
        actor_hash = value_hash(actor) if actor else None
        columns.append({
            "statement_id": full["id"], "timestamp": parse_timestamp(full["timestamp"]),
            "verb_id": full["verb"]["id"], "is_voiding": full["verb"]["id"] == VOIDED_VERB, "full": full,
            "has_attachments": statement_has_attachments(full), "actor_hash": actor_hash,
            "teacher_id": teachers.get(actor_hash) if actor_hash is not None else None})
    return columns


# --- answered once stored (PostgreSQL) ------------------------------------------------------------

def _answered_before_after_work(statements: list[dict]) -> bool:
    """A plain batch on PostgreSQL is answered once stored; the rest of its work follows
    (lrs.indexing). A batch with StatementRefs reads what earlier batches are found by, so
    those are finished first and it does all its work before the answer."""
    return (settings.LRS_INDEX_AFTER_COMMIT and connection.vendor == "postgresql"
            and not any(statement_ref(statement) for statement in statements))


# The whole write of a batch answered before its after-work, in one round trip: which ids are
# already held, the new statements, their keys and the batch's pending row. The statements
# travel as one JSON document the server unpacks, sent apart from the query text (bound_cursor).
# The answer: the held statements' numbers, to compare them with what came.
# Held ids are looked up by a scalar subquery, one index probe each: the planner cannot turn that
# into a scan of the key table, whatever it guesses of the document. Reading the held statements
# here as well would raise the query's estimated cost with every partition until PostgreSQL
# compiled it (JIT, ~20 ms) on every request.
_STORE_WAITING_SQL = """
WITH j AS MATERIALIZED (
  SELECT r.*, (SELECT k.seq FROM lrs_statementkey k WHERE k.statement_id = r.statement_id) AS held_seq
  FROM jsonb_to_recordset(%(rows)s::jsonb)
    AS r(position int, statement_id uuid, timestamp timestamptz, verb_id text, is_voiding boolean, teacher_id bigint,
         "full" jsonb, has_attachments boolean, actor_hash bigint)
), s AS (
  INSERT INTO lrs_statement (statement_id, stored, timestamp, client_id, verb_id, voided, is_voiding, teacher_id,
                             "full", has_attachments, actor_hash)
  SELECT statement_id, %(stored)s, timestamp, %(client)s, verb_id, false, is_voiding, teacher_id, "full",
         has_attachments, actor_hash
  FROM j WHERE held_seq IS NULL
  ORDER BY position  -- sequence numbers in the order the statements came
  RETURNING seq, statement_id
), k AS (
  INSERT INTO lrs_statementkey (statement_id, seq) SELECT statement_id, seq FROM s
), p AS (
  INSERT INTO lrs_statementpending (stored, seqs, client_id)
  SELECT %(stored)s, jsonb_agg(seq ORDER BY seq), %(client)s FROM s HAVING count(*) > 0
)
SELECT held_seq FROM j WHERE held_seq IS NOT NULL"""


def _store_waiting(*, client: LrsClient, statements: list[dict], stored: dt.datetime, version: str) -> bool:
    """PostgreSQL, in the caller's transaction: store the statements not already held, and the
    pending row their after-work is done from (scheduled for just after commit). A held id
    with a different statement is a 409. Whether anything new was stored."""
    columns = _statement_columns(statements, client=client, stored=stored, version=version)
    document = orjson.dumps([{**row, "position": position} for position, row in enumerate(columns)])
    try:
        with bound_cursor() as cursor:
            # Prepared once per connection: planning an insert into a partitioned table through
            # four CTEs took longer than running it.
            cursor.execute(_STORE_WAITING_SQL, {"rows": document.decode(), "stored": stored, "client": client.pk},
                           prepare=True)
            held_seqs = [seq for (seq,) in cursor.fetchall()]
    except IntegrityError:
        raise XapiError(409, CONCURRENT) from None
    if len(_replays(held_seqs, statements)) == len(statements):
        return False
    transaction.on_commit(pending_scheduled)
    return True


def _replays(held_seqs: list[int], statements: list[dict]) -> set[str]:
    """The ids among `statements` the LRS already holds (their sequence numbers `held_seqs`),
    each checked to be the same statement again; a different one is a 409. Replays are rare, so
    the held statements are read only when there are some."""
    if not held_seqs:
        return set()
    held = {str(statement_id): full for statement_id, full in Statement.objects.dangerously_unscoped()
            .filter(seq__in=held_seqs).values_list("statement_id", "full")}
    if len(held) != len(held_seqs):  # a key without its statement: another request's, not yet committed
        raise XapiError(409, CONCURRENT)
    for statement in statements:
        full = held.get(statement["id"].lower())
        if full is not None and not statements_equal(full, statement):
            raise XapiError(409, f"语句 {statement['id']} 已存在且内容不同")
    return set(held)


STATEMENT_COLUMNS = ("seq", "statement_id", "stored", "timestamp", "client_id", "verb_id", "voided", "is_voiding",
                     "teacher_id", "full", "has_attachments", "actor_hash")
# COPY costs a few round trips of its own: worth it for a batch, not for one statement.
COPY_FROM = 20
COPY_COLUMNS = ", ".join(f'"{name}"' for name in STATEMENT_COLUMNS)  # "full" is a reserved word


def psycopg_integrity_error() -> type[Exception]:
    """What a unique violation inside COPY raises (psycopg's own, not Django's wrapper)."""
    try:
        import psycopg

        return psycopg.IntegrityError
    except ImportError:  # SQLite-only installs
        return IntegrityError


# A few statements (a single POST above all): statements, keys and index rows in one round trip.
# The data-modifying CTEs all run; the query answers which seq each statement got.
_INSERT_SQL = """
WITH s AS (
  INSERT INTO lrs_statement (statement_id, stored, timestamp, client_id, verb_id, voided, is_voiding, teacher_id,
                             "full", has_attachments, actor_hash)
  SELECT statement_id, %(stored)s, timestamp, %(client)s, verb_id, false, is_voiding, teacher_id, "full"::jsonb,
         has_attachments, actor_hash
  FROM unnest(%(ids)s::uuid[], %(timestamps)s::timestamptz[], %(verbs)s::text[], %(voiding)s::boolean[],
              %(teachers)s::bigint[], %(fulls)s::text[], %(attached)s::boolean[], %(actors)s::bigint[])
       AS t(statement_id, timestamp, verb_id, is_voiding, teacher_id, "full", has_attachments, actor_hash)
  RETURNING seq, statement_id
), k AS (
  INSERT INTO lrs_statementkey (statement_id, seq) SELECT statement_id, seq FROM s
), i AS (
  INSERT INTO lrs_statementindex (statement_id, stored, kind, value_hash)
  SELECT s.seq, %(stored)s, x.kind, x.value_hash
  FROM unnest(%(index_ids)s::uuid[], %(kinds)s::smallint[], %(hashes)s::bigint[]) AS x(statement_id, kind, value_hash)
  JOIN s ON s.statement_id = x.statement_id
)
SELECT statement_id, seq FROM s"""


def _insert_rows(rows: list[Statement], index_rows: list[set[tuple[int, int]]]) -> None:
    """PostgreSQL, a few statements: one INSERT … RETURNING for all three tables (three ORM
    inserts cost three round trips and most of a single POST's time in Python)."""
    pairs = [(row.statement_id, kind, digest) for row, digests in zip(rows, index_rows, strict=True)
             for kind, digest in digests]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, {
            "stored": rows[0].stored, "client": rows[0].client_id,
            "ids": [row.statement_id for row in rows], "timestamps": [row.timestamp for row in rows],
            "verbs": [row.verb_id for row in rows], "voiding": [row.is_voiding for row in rows],
            "teachers": [row.teacher_id for row in rows], "fulls": [orjson.dumps(row.full).decode() for row in rows],
            "attached": [row.has_attachments for row in rows], "actors": [row.actor_hash for row in rows],
            "index_ids": [pair[0] for pair in pairs], "kinds": [pair[1] for pair in pairs],
            "hashes": [pair[2] for pair in pairs]})
        seqs = {str(statement_id): seq for statement_id, seq in cursor.fetchall()}
    for row in rows:
        row.seq = seqs[str(row.statement_id)]


def _copy_rows(rows: list[Statement], index_rows: list[set[tuple[int, int]]]) -> None:
    """PostgreSQL: the batch's statements and index rows by COPY, several times faster than
    INSERT for a batch (no per-value quoting in Python). Sequence numbers are taken first so
    the index rows can name their statements."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('lrs_statement', 'seq')) FROM generate_series(1, %s)",
                       [len(rows)])
        for row, (seq,) in zip(rows, cursor.fetchall(), strict=True):
            row.seq = seq
        raw = cursor.cursor  # psycopg's cursor: Django's wrapper has no COPY
        with raw.copy(f"COPY lrs_statement ({COPY_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((row.seq, row.statement_id, row.stored, row.timestamp, row.client_id, row.verb_id,
                                row.voided, row.is_voiding, row.teacher_id,
                                orjson.dumps(row.full).decode(),
                                row.has_attachments, row.actor_hash))
        with raw.copy("COPY lrs_statementkey (statement_id, seq) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((row.statement_id, row.seq))
        index_rows_copy(raw, rows, index_rows)


def statement_has_attachments(full: dict) -> bool:
    target = full.get("object") or {}
    return bool(full.get("attachments") or (target.get("objectType") == "SubStatement" and target.get("attachments")))


def statement_visible(scope: Scope, statement_id: str) -> Statement | None:
    return visible(scope, Statement).filter(statement_id=statement_id).first()
