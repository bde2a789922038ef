"""Storing statements: validate, complete, check scope and duplicates, void, index — one
transaction per request, all or nothing.

A statement arriving with an id the LRS already holds changes nothing: the same statement
(ignoring what the LRS itself set) is accepted as a replay, a different one is a 409.
Voiding follows the specification: a statement is voided when the LRS holds a voiding
statement targeting it, whichever arrived first, unless it is itself a voiding statement.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

import orjson
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from access.policy import Action, can, visible
from access.scope import Scope
from lrs.attachments import attachments_check, attachments_store
from lrs.crediting import credits_note, credits_void
from lrs.http import XAPI_VERSION, XAPI_VERSION_2, XapiError
from lrs.keys import agent_key, learner_key, value_hash
from lrs.learners import teachers_for_agents
from lrs.models import IndexKind, LrsActivity, LrsClient, Statement, StatementIndex, StatementKey
from lrs.traffic import client_day_count
from lrs.validation import StatementInvalid, parse_timestamp, statements_equal, validate_statement

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"
# Index kinds copied from a statement to the statements that target it by StatementRef: a
# filter matching the target matches them too (the specification's StatementRef rule).
INHERITED = (IndexKind.VERB, IndexKind.ACTIVITY, IndexKind.RELATED_ACTIVITY, IndexKind.AGENT,
             IndexKind.RELATED_AGENT, IndexKind.REGISTRATION)
# The targets of voiding statements (not a filter: how a statement arriving late finds it is voided).
VOIDS = 7


def authority_of(client: LrsClient) -> dict[str, Any]:
    """The LRS stamps every statement with the client that sent it, whatever it claimed."""
    return {"objectType": "Agent", "name": client.name,
            "account": {"homePage": settings.LRS_AUTHORITY_HOMEPAGE, "name": client.key}}


def _agents(agent: Any) -> Iterable[str]:
    """The keys an actor or object stands for: itself if identified, and its members."""
    if not isinstance(agent, dict):
        return
    key = agent_key(agent)
    if key:
        yield key
    if agent.get("objectType") == "Group":
        for member in agent.get("member") or []:
            member_key = agent_key(member)
            if member_key:
                yield member_key


def _context_agents(context: dict) -> Iterable[str]:
    """Instructor, team and (xAPI 2.0) each contextAgents agent and contextGroups group."""
    yield from _agents(context.get("instructor"))
    yield from _agents(context.get("team"))
    for entry in context.get("contextAgents") or []:
        if isinstance(entry, dict):
            yield from _agents(entry.get("agent"))
    for entry in context.get("contextGroups") or []:
        if isinstance(entry, dict):
            yield from _agents(entry.get("group"))


def _context_activities(context: Any) -> Iterable[str]:
    if not isinstance(context, dict):
        return
    for activities in (context.get("contextActivities") or {}).values():
        for activity in activities if isinstance(activities, list) else [activities]:
            if isinstance(activity, dict) and isinstance(activity.get("id"), str):
                yield activity["id"]


def _object_activity(statement: dict) -> str | None:
    target = statement.get("object") or {}
    if target.get("objectType", "Activity") == "Activity" and isinstance(target.get("id"), str):
        return target["id"]
    return None


def _object_agents(statement: dict) -> Iterable[str]:
    target = statement.get("object") or {}
    if target.get("objectType") in ("Agent", "Group"):
        yield from _agents(target)


def index_values(statement: dict) -> set[tuple[int, str]]:
    """Every (kind, value) a filter can find the statement by (StatementRef targets aside)."""
    values: set[tuple[int, str]] = {(IndexKind.VERB, statement["verb"]["id"])}
    direct_agents = {*_agents(statement.get("actor")), *_object_agents(statement)}
    values |= {(IndexKind.AGENT, key) for key in direct_agents}
    related = set(direct_agents)
    related |= set(_agents(statement.get("authority")))
    context = statement.get("context") or {}
    related |= set(_context_agents(context))
    activities: set[str] = set()
    activity = _object_activity(statement)
    if activity:
        values.add((IndexKind.ACTIVITY, activity))
        activities.add(activity)
    activities |= set(_context_activities(context))
    target = statement.get("object") or {}
    if target.get("objectType") == "SubStatement":
        related |= {*_agents(target.get("actor")), *_object_agents(target)}
        sub_context = target.get("context") or {}
        related |= set(_context_agents(sub_context))
        sub_activity = _object_activity(target)
        if sub_activity:
            activities.add(sub_activity)
        activities |= set(_context_activities(sub_context))
    values |= {(IndexKind.RELATED_AGENT, key) for key in related}
    values |= {(IndexKind.RELATED_ACTIVITY, activity) for activity in activities}
    registration = context.get("registration")
    if isinstance(registration, str):
        values.add((IndexKind.REGISTRATION, registration.lower()))
    return values


def _statement_ref(statement: dict) -> str | None:
    target = statement.get("object") or {}
    if target.get("objectType") == "StatementRef" and isinstance(target.get("id"), str):
        return target["id"].lower()
    return None


def _covered(scope: Scope, statement: dict) -> bool:
    """A client writes only about activities under its prefixes ("*": anything)."""
    if "*" in scope.client_prefixes:
        return True
    activities = [_object_activity(statement), *_context_activities(statement.get("context"))]
    target = statement.get("object") or {}
    if target.get("objectType") == "SubStatement":
        activities.append(_object_activity(target))
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
    with transaction.atomic():
        # Ids by their own table (one probe each, whatever the partitions); the statements only
        # for replays.
        held_seqs = list(StatementKey.objects.filter(statement_id__in=ids).values_list("seq", flat=True))
        existing = {str(row.statement_id): row for row in Statement.objects.dangerously_unscoped()
                    .filter(seq__in=held_seqs).only("statement_id", "full")} if held_seqs else {}
        new = [statement for statement in statements if statement["id"].lower() not in existing]
        for statement in statements:
            held = existing.get(statement["id"].lower())
            if held is not None and not statements_equal(held.full, statement):
                raise XapiError(409, f"语句 {statement['id']} 已存在且内容不同")
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
            target = _statement_ref(statement)
            if target is None:
                raise XapiError(400, "作废语句的对象必须是 StatementRef")
            voiding_targets[statement["id"].lower()] = target
    targets = {ref for statement in statements if (ref := _statement_ref(statement))}
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
    rows: list[Statement] = []
    index_rows: list[set[tuple[int, int]]] = []
    activities: dict[str, dict] = {}
    actor_keys = {key for statement in statements if (key := learner_key(statement["actor"]))}
    teachers = teachers_for_agents(actor_keys)
    for statement in statements:
        full = _complete(statement, client=client, stored=stored, version=version)
        actor = learner_key(full["actor"])
        actor_hash = value_hash(actor) if actor else None
        row = Statement(statement_id=full["id"], stored=stored, timestamp=parse_timestamp(full["timestamp"]),
                        client=client, verb_id=full["verb"]["id"], is_voiding=full["verb"]["id"] == VOIDED_VERB,
                        full=full, has_attachments=statement_has_attachments(full), actor_hash=actor_hash,
                        teacher_id=teachers.get(actor_hash) if actor_hash is not None else None)
        rows.append(row)
        digests = {(kind, value_hash(value)) for kind, value in index_values(full)}
        ref = _statement_ref(full)
        if ref is not None:
            digests |= inherited.get(ref, set())
            if row.is_voiding:
                digests.add((VOIDS, value_hash(ref)))
        index_rows.append(digests)
        stated = full.get("object") or {}
        if stated.get("objectType", "Activity") == "Activity" and isinstance(stated.get("definition"), dict):
            # Several statements of one batch about an activity: their definitions merge in order.
            activities[stated["id"]] = definition_merged(activities.get(stated["id"]), stated["definition"])
    try:
        if connection.vendor == "postgresql" and len(rows) >= COPY_FROM:
            _copy_rows(rows, index_rows)
        elif connection.vendor == "postgresql":
            _insert_rows(rows, index_rows)
        else:
            Statement.objects.bulk_create(rows)
            StatementKey.objects.bulk_create([StatementKey(statement_id=row.statement_id, seq=row.seq) for row in rows])
            StatementIndex.objects.bulk_create(
                [StatementIndex(statement_id=row.seq, stored=stored, kind=kind, value_hash=digest)
                 for row, digests in zip(rows, index_rows, strict=True) for kind, digest in digests], batch_size=5000)
    except (IntegrityError, psycopg_integrity_error()):
        raise XapiError(409, "语句 id 已存在（并发提交）") from None
    _apply_voiding(voiding_targets, rows)
    if activities:
        activity_definitions_merge(activities)
    credits_note([row for row in rows if not row.voided])
    client_day_count(client, statements=len(rows))


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
        with raw.copy("COPY lrs_statementindex (statement_id, stored, kind, value_hash) FROM STDIN") as copy:
            # Numbers and one timestamp only: the text format written directly (a row at a time
            # through write_row costs more than the database's side of it).
            stored = rows[0].stored.isoformat() if rows else ""
            copy.write("".join(f"{row.seq}\t{stored}\t{kind}\t{digest}\n"
                               for row, digests in zip(rows, index_rows, strict=True) for kind, digest in digests))


def _apply_voiding(voiding_targets: dict[str, str], rows: list[Statement]) -> None:
    """Mark voided: targets of the new voiding statements (unless voiding themselves), and new
    statements that an earlier voiding statement already targets."""
    if voiding_targets:
        targets = (Statement.objects.dangerously_unscoped()
                   .filter(statement_id__in=set(voiding_targets.values()), is_voiding=False))
        targets.update(voided=True)
        credits_void(list(targets.values_list("seq", flat=True)))
        for row in rows:  # targets in this very batch: not credited at all
            row.voided = row.voided or (not row.is_voiding and str(row.statement_id) in voiding_targets.values())
    fresh = [row for row in rows if not row.is_voiding]
    if fresh:
        hashes = {value_hash(str(row.statement_id)): row for row in fresh}
        already = set(StatementIndex.objects.dangerously_unscoped()
                      .filter(kind=VOIDS, value_hash__in=list(hashes)).values_list("value_hash", flat=True))
        late = [hashes[digest].seq for digest in already]
        if late:
            Statement.objects.dangerously_unscoped().filter(seq__in=late).update(voided=True)
            for row in rows:
                row.voided = row.voided or row.seq in late


def statement_has_attachments(full: dict) -> bool:
    target = full.get("object") or {}
    return bool(full.get("attachments") or (target.get("objectType") == "SubStatement" and target.get("attachments")))


def definition_merged(old: dict | None, new: dict) -> dict:
    """The newer definition's properties win; language maps merge by language."""
    merged = dict(old or {})
    for name, value in new.items():
        if name in ("name", "description") and isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = {**merged[name], **value}
        else:
            merged[name] = value
    return merged


# definition_merged in SQL: top-level properties of the newer win, name and description merge
# by language when both are language maps.
_MERGED_SQL = """a.definition || n.definition
    || CASE WHEN jsonb_typeof(a.definition->'name') = 'object' AND jsonb_typeof(n.definition->'name') = 'object'
            THEN jsonb_build_object('name', (a.definition->'name') || (n.definition->'name')) ELSE '{}' END
    || CASE WHEN jsonb_typeof(a.definition->'description') = 'object'
                 AND jsonb_typeof(n.definition->'description') = 'object'
            THEN jsonb_build_object('description', (a.definition->'description') || (n.definition->'description'))
            ELSE '{}' END"""
_UPSERT_SQL = f"""
INSERT INTO lrs_lrsactivity AS a (activity_id, activity_hash, definition, updated)
SELECT activity_id, activity_hash, definition::jsonb, now()
FROM unnest(%s::text[], %s::bigint[], %s::text[]) AS t(activity_id, activity_hash, definition)
ORDER BY activity_hash
ON CONFLICT (activity_hash) DO UPDATE SET definition = {_MERGED_SQL.replace("n.", "EXCLUDED.")}, updated = now()
WHERE a.definition IS DISTINCT FROM ({_MERGED_SQL.replace("n.", "EXCLUDED.")})"""  # noqa: S608 - fixed SQL text


def activity_definitions_merge(definitions: dict[str, dict]) -> None:
    """Keep the LRS's canonical definition of each activity: the newest definition's
    properties win, language maps merge by language."""
    if connection.vendor == "postgresql":
        # One statement, and nothing read back into Python: most batches change nothing. In
        # activity order, so two batches about the same activities cannot deadlock.
        ids = list(definitions)
        with connection.cursor() as cursor:
            cursor.execute(_UPSERT_SQL, [ids, [value_hash(i) for i in ids],
                                         [orjson.dumps(definitions[i]).decode() for i in ids]])
        return
    existing = {a.activity_hash: a for a in LrsActivity.objects.filter(activity_hash__in=[value_hash(i) for i in definitions])}
    changed, created = [], []
    for activity_id, definition in definitions.items():
        digest = value_hash(activity_id)
        row = existing.get(digest)
        if row is None:
            created.append(LrsActivity(activity_id=activity_id, activity_hash=digest, definition=definition))
            continue
        merged = definition_merged(row.definition, definition)
        if merged != row.definition:
            row.definition = merged
            changed.append(row)
    LrsActivity.objects.bulk_create(created, ignore_conflicts=True)
    if changed:
        LrsActivity.objects.bulk_update(changed, ["definition"])


def statement_visible(scope: Scope, statement_id: str) -> Statement | None:
    return visible(scope, Statement).filter(statement_id=statement_id).first()
