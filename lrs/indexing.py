"""The after-work of storing statements: the index rows every filter finds a statement by,
a voiding statement that arrived before its target, the canonical activity definitions,
completions to credit and the client's day count.

On PostgreSQL with `LRS_INDEX_AFTER_COMMIT` a batch of plain statements (no StatementRef)
is answered once the statements and their ids are committed; this work follows in the
`statements_index_task` the commit schedules, in its own transaction. Until then the batch
waits in `StatementPending`, and anything that reads what the work writes takes the waiting
batches first (`pending_drain(wait=True)`): statement queries, the activities and agents
resources, a batch that targets statements by StatementRef. So no reader ever sees a stored
statement half done, and a lost task only delays the work until the next reader or the sweep.
Otherwise (SQLite, eager tasks, a batch with StatementRefs) the same work runs in the storing
transaction, before the answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from lrs.crediting import credits_note, credits_void
from lrs.keys import agent_key, value_hash
from lrs.models import (
    IndexKind,
    LrsActivity,
    Statement,
    StatementIndex,
    StatementPending,
)
from lrs.traffic import client_day_count

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"
# Index kinds copied from a statement to the statements that target it by StatementRef: a
# filter matching the target matches them too (the specification's StatementRef rule).
INHERITED = (IndexKind.VERB, IndexKind.ACTIVITY, IndexKind.RELATED_ACTIVITY, IndexKind.AGENT,
             IndexKind.RELATED_AGENT, IndexKind.REGISTRATION)
# The targets of voiding statements (not a filter: how a statement arriving late finds it is voided).
VOIDS = 7


def statement_digests(full: dict, inherited: dict[str, set[tuple[int, int]]]) -> set[tuple[int, int]]:
    """The (kind, value hash) index rows of one stored statement; `inherited`: what each
    StatementRef target of the batch is found by."""
    digests = {(kind, value_hash(value)) for kind, value in index_values(full)}
    ref = statement_ref(full)
    if ref is not None:
        digests |= inherited.get(ref, set())
        if full["verb"]["id"] == VOIDED_VERB:
            digests.add((VOIDS, value_hash(ref)))
    return digests


def index_rows_copy(cursor: Any, rows: list[Statement], index_rows: list[set[tuple[int, int]]]) -> None:
    """PostgreSQL: index rows by COPY. Numbers and one timestamp per statement only: the text
    format written directly (a row at a time through write_row costs more than the database's
    side of it). `cursor`: psycopg's own (Django's wrapper has no COPY)."""
    lines = "".join(f"{row.seq}\t{stored}\t{kind}\t{digest}\n"
                    for row, digests in zip(rows, index_rows, strict=True)
                    for stored in (row.stored.isoformat(),)  # once a statement, not once a row
                    for kind, digest in digests)
    if lines:
        with cursor.copy("COPY lrs_statementindex (statement_id, stored, kind, value_hash) FROM STDIN") as copy:
            copy.write(lines)


def after_store(rows: list[Statement], index_rows: list[set[tuple[int, int]]] | None,
                voiding_targets: dict[str, str]) -> None:
    """Everything after the statements themselves, in the caller's transaction. `index_rows`
    None: write them here (the storing transaction wrote them itself otherwise)."""
    if index_rows is not None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                index_rows_copy(cursor.cursor, rows, index_rows)
        else:
            StatementIndex.objects.dangerously_unscoped().bulk_create(
                [StatementIndex(statement_id=row.seq, stored=row.stored, kind=kind, value_hash=digest)
                 for row, digests in zip(rows, index_rows, strict=True) for kind, digest in digests],
                batch_size=5000)
    _apply_voiding(voiding_targets, rows)
    activities: dict[str, dict] = {}
    for row in rows:
        stated = row.full.get("object") or {}
        if stated.get("objectType", "Activity") == "Activity" and isinstance(stated.get("definition"), dict):
            # Several statements about an activity: their definitions merge in order.
            activities[stated["id"]] = definition_merged(activities.get(stated["id"]), stated["definition"])
    if activities:
        activity_definitions_merge(activities)
    credits_note([row for row in rows if not row.voided])
    # Per client and day of storing, in client order (two transactions never wait on each other's rows).
    counts = Counter((row.client_id, timezone.localdate(row.stored)) for row in rows)
    for (client_id, day), count in sorted(counts.items()):
        client_day_count(client_id, statements=count, day=day)


# --- batches answered before their after-work -----------------------------------------------

def pending_scheduled() -> None:
    """After the commit of a batch left waiting (lrs.statements writes its StatementPending row):
    the worker's task that does its after-work."""
    from lrs.tasks import statements_index_task

    statements_index_task.delay()


def pending_drain(*, wait: bool, batches: int = 20) -> int:
    """Do the after-work of the batches waiting when called; how many statements. The worker
    (`wait` False) takes those no one else holds. A reader (`wait` True) takes them all,
    waiting for one a worker is doing, so that it then sees every one. Batches stored
    meanwhile are the next call's (each has its own task): a worker never loops on a stream of
    them while other tasks, such as crediting, wait."""
    # One query whatever happens meanwhile (a worker may take the last batch between two).
    last = StatementPending.objects.aggregate(last=Max("pk"))["last"]
    if last is None:
        return 0
    done = 0
    while True:
        with transaction.atomic():
            waiting = (StatementPending.objects.filter(pk__lte=last).order_by("pk")
                       .select_for_update(skip_locked=not wait))
            taken = list(waiting[:batches])
            if not taken:
                return done
            rows = _pending_statements(taken)
            after_store(rows, [statement_digests(row.full, {}) for row in rows], {})
            StatementPending.objects.filter(pk__in=[batch.pk for batch in taken]).delete()
        done += len(rows)


def _pending_statements(batches: list[StatementPending]) -> list[Statement]:
    seqs = [seq for batch in batches for seq in batch.seqs]
    rows = list(Statement.objects.dangerously_unscoped()
                .filter(stored__in={batch.stored for batch in batches}, seq__in=seqs)  # partitions pruned
                .only("seq", "statement_id", "stored", "client_id", "voided", "is_voiding", "teacher_id", "full"))
    rows.sort(key=lambda row: row.seq)  # definitions merge in the order the statements came
    return rows


# --- what a statement is found by ---------------------------------------------------------------

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


def context_activities(context: Any) -> Iterable[str]:
    if not isinstance(context, dict):
        return
    for activities in (context.get("contextActivities") or {}).values():
        for activity in activities if isinstance(activities, list) else [activities]:
            if isinstance(activity, dict) and isinstance(activity.get("id"), str):
                yield activity["id"]


def object_activity(statement: dict) -> str | None:
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
    activity = object_activity(statement)
    if activity:
        values.add((IndexKind.ACTIVITY, activity))
        activities.add(activity)
    activities |= set(context_activities(context))
    target = statement.get("object") or {}
    if target.get("objectType") == "SubStatement":
        related |= {*_agents(target.get("actor")), *_object_agents(target)}
        sub_context = target.get("context") or {}
        related |= set(_context_agents(sub_context))
        sub_activity = object_activity(target)
        if sub_activity:
            activities.add(sub_activity)
        activities |= set(context_activities(sub_context))
    values |= {(IndexKind.RELATED_AGENT, key) for key in related}
    values |= {(IndexKind.RELATED_ACTIVITY, activity) for activity in activities}
    registration = context.get("registration")
    if isinstance(registration, str):
        values.add((IndexKind.REGISTRATION, registration.lower()))
    return values


def statement_ref(statement: dict) -> str | None:
    target = statement.get("object") or {}
    if target.get("objectType") == "StatementRef" and isinstance(target.get("id"), str):
        return target["id"].lower()
    return None


# --- voiding and activity definitions ------------------------------------------------------

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
        # Raw SQL: the ORM's hundred-value IN cost more than the query on every batch.
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT value_hash FROM {StatementIndex._meta.db_table} "  # noqa: S608
                           f"WHERE kind = %s AND value_hash IN ({', '.join(['%s'] * len(hashes))})", [VOIDS, *hashes])
            already = {digest for (digest,) in cursor.fetchall()}
        late = [hashes[digest].seq for digest in already]
        if late:
            Statement.objects.dangerously_unscoped().filter(seq__in=late).update(voided=True)
            for row in rows:
                row.voided = row.voided or row.seq in late


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
SELECT t.value->>0, (t.value->>1)::bigint, t.value->2, now()
FROM jsonb_array_elements(%s::jsonb) AS t
ORDER BY 2
ON CONFLICT (activity_hash) DO UPDATE SET definition = {_MERGED_SQL.replace("n.", "EXCLUDED.")}, updated = now()
WHERE a.definition IS DISTINCT FROM ({_MERGED_SQL.replace("n.", "EXCLUDED.")})"""  # noqa: S608 - fixed SQL text


def activity_definitions_merge(definitions: dict[str, dict]) -> None:
    """Keep the LRS's canonical definition of each activity: the newest definition's
    properties win, language maps merge by language."""
    if connection.vendor == "postgresql":
        # One statement, and nothing read back into Python: most batches change nothing. In
        # activity order, so two batches about the same activities cannot deadlock. The rows
        # travel as one JSON document: psycopg quotes a text array element by element in Python
        # (a batch's hundred definitions cost more to quote than to upsert).
        rows = [[activity_id, value_hash(activity_id), definition] for activity_id, definition in definitions.items()]
        with connection.cursor() as cursor:
            cursor.execute(_UPSERT_SQL, [orjson.dumps(rows).decode()])
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
