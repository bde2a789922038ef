"""A batch answered before its after-work (PostgreSQL with LRS_INDEX_AFTER_COMMIT): stored and
acknowledged, its index rows, definitions, credits and day count written by the task the
commit schedules, or by the first reader that needs them. No reader may tell the difference."""

import datetime as dt
import threading
import time
import uuid

import pytest
from django.db import connection, connections

from lrs.indexing import pending_drain, statement_digests
from lrs.keys import value_hash
from lrs.models import (
    CreditedActivity,
    LrsActivity,
    LrsClientDay,
    Statement,
    StatementCredit,
    StatementIndex,
    StatementPending,
)
from lrs.tests import test_statements as plain
from lrs.tests.conftest import statement

postgresql_only = pytest.mark.skipif("connection.vendor != 'postgresql'",
                                     reason="only PostgreSQL answers a batch before its after-work")
COURSE = "https://courses.example.org/c/1"


@pytest.fixture
def after_commit(settings):
    settings.LRS_INDEX_AFTER_COMMIT = True


def waiting() -> int:
    return sum(len(batch.seqs) for batch in StatementPending.objects.all())


def index_of(ids: list[str]) -> set[tuple[str, int, int]]:
    seqs = dict(Statement.objects.dangerously_unscoped().filter(statement_id__in=ids).values_list("seq", "statement_id"))
    return {(str(seqs[seq]), kind, digest) for seq, kind, digest in StatementIndex.objects.dangerously_unscoped()
            .filter(statement_id__in=list(seqs)).values_list("statement_id", "kind", "value_hash")}


@postgresql_only
def test_a_batch_is_answered_stored_and_finished_by_the_task(xapi, after_commit, django_capture_on_commit_callbacks):
    batch = [statement(object={"id": f"{COURSE}/{n % 3}", "definition": {"name": {"zh-CN": f"课程{n % 3}"}}})
             for n in range(25)]  # from 20 statements: COPY
    with django_capture_on_commit_callbacks() as scheduled:
        ids = xapi.post("statements", batch).json()
        single = xapi.post("statements", statement()).json()  # one statement: the one-round-trip INSERT
    assert len(ids) == 25 and Statement.objects.dangerously_unscoped().count() == 26
    assert waiting() == 26 and not StatementIndex.objects.dangerously_unscoped().exists()
    assert not LrsActivity.objects.exists() and not LrsClientDay.objects.dangerously_unscoped().exists()
    for callback in scheduled:  # the worker's task, as the commits scheduled it
        callback()
    assert waiting() == 0
    # The same index rows the storing transaction would have written.
    expected = {(str(row.statement_id), kind, digest)
                for row in Statement.objects.dangerously_unscoped().filter(statement_id__in=ids + single)
                for kind, digest in statement_digests(row.full, {})}
    assert index_of(ids + single) == expected and len(expected) > 26 * 3
    assert LrsActivity.objects.get(activity_hash=value_hash(f"{COURSE}/2")).definition == {"name": {"zh-CN": "课程2"}}
    [day] = LrsClientDay.objects.dangerously_unscoped().all()
    assert day.statements == 26
    assert pending_drain(wait=False) == 0  # nothing left: a second task does nothing


@postgresql_only
def test_a_reader_finishes_waiting_batches_before_it_answers(xapi, after_commit):
    # No task ran (its commit never happens inside the test): each reader does the work itself.
    ids = xapi.post("statements", [statement(verb={"id": plain.ATTEMPTED}) for _ in range(3)]).json()
    assert waiting() == 3
    found = xapi.get("statements", {"verb": plain.ATTEMPTED}).json()["statements"]
    assert [s["id"] for s in found] == ids[::-1] and waiting() == 0
    xapi.post("statements", statement(object={"id": f"{COURSE}/new", "definition": {"name": {"zh-CN": "新课程"}}}))
    assert waiting() == 1
    activity = xapi.get("activities", {"activityId": f"{COURSE}/new"}).json()
    assert activity["definition"] == {"name": {"zh-CN": "新课程"}} and waiting() == 0


@postgresql_only
def test_a_statement_ref_to_a_waiting_statement_inherits_its_filters_and_voids_it(xapi, after_commit):
    target = xapi.post("statements", statement(verb={"id": plain.ATTEMPTED})).json()[0]
    assert waiting() == 1
    # A batch with a StatementRef finishes the waiting ones first, then does all its own work.
    voiding = xapi.post("statements", statement(verb={"id": plain.VOIDED},
                                                object={"objectType": "StatementRef", "id": target})).json()[0]
    assert waiting() == 0
    assert Statement.objects.dangerously_unscoped().get(statement_id=target).voided
    assert {kind for _, kind, _ in index_of([voiding])} >= {1, 4}  # its own verb and actor, and the target's
    listed = {s["id"] for s in xapi.get("statements", {"verb": plain.ATTEMPTED}).json()["statements"]}
    assert listed == {voiding}


@postgresql_only
def test_a_waiting_statement_whose_voiding_came_first_is_voided_before_anyone_reads_it(xapi, after_commit):
    late = str(uuid.uuid4())
    xapi.post("statements", statement(verb={"id": plain.VOIDED}, object={"objectType": "StatementRef", "id": late}))
    xapi.post("statements", {**statement(), "id": late})
    assert waiting() == 1 and not Statement.objects.dangerously_unscoped().get(statement_id=late).voided
    assert xapi.get("statements", {"statementId": late}).status_code == 404
    assert xapi.get("statements", {"voidedStatementId": late}).status_code == 200


@postgresql_only
def test_a_completion_is_credited_once_its_batch_is_finished(xapi, after_commit, province,
                                                             django_capture_on_commit_callbacks):
    CreditedActivity.objects.create(activity_iri=COURSE, activity_hash=value_hash(COURSE), title="课程", hours=2,
                                    division=province.province, division_path=province.province.path)
    with django_capture_on_commit_callbacks(execute=True):
        xapi.post("statements", statement(timestamp=(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat()))
    # Noted by the after-work in the task, then decided by the crediting task it scheduled.
    [credit] = StatementCredit.objects.dangerously_unscoped().all()
    assert credit.state == "unmatched" and waiting() == 0


@postgresql_only
def test_one_round_trip_stores_the_new_statements_in_order_and_replays_change_nothing(
        xapi, after_commit, django_capture_on_commit_callbacks):
    first = [{**statement(verb={"id": plain.ATTEMPTED}), "id": str(uuid.uuid4())} for _ in range(3)]
    xapi.post("statements", first)
    later = [{**statement(object={"id": f"{COURSE}/{n}"}), "id": str(uuid.uuid4()),
              "timestamp": f"2026-11-30T08:{n:02d}:00.5+08:00"} for n in range(30)]
    # The first three again (the same statements: accepted, unchanged) among thirty new ones.
    mixed = [*later[:10], first[1], *later[10:20], first[0], first[2], *later[20:]]
    with django_capture_on_commit_callbacks() as scheduled:
        response = xapi.post("statements", mixed)
    assert response.status_code == 200 and response.json() == [s["id"] for s in mixed]
    assert len(scheduled) == 1
    batches = list(StatementPending.objects.order_by("pk"))
    assert len(batches) == 2 and len(batches[1].seqs) == 30  # the new ones only
    seqs = dict(Statement.objects.dangerously_unscoped().values_list("statement_id", "seq"))
    assert [seqs[uuid.UUID(s["id"])] for s in later] == sorted(batches[1].seqs)  # numbered in the order they came
    stored = Statement.objects.dangerously_unscoped().get(statement_id=later[0]["id"])
    assert stored.client_id == xapi.client_row().pk and stored.full["object"]["id"] == f"{COURSE}/0"
    assert stored.timestamp == dt.datetime(2026, 11, 30, 0, 0, 0, 500000, tzinfo=dt.UTC)
    # All of them again: nothing stored, nothing to do after.
    with django_capture_on_commit_callbacks() as scheduled:
        assert xapi.post("statements", mixed).status_code == 200
    assert not scheduled and StatementPending.objects.count() == 2
    assert Statement.objects.dangerously_unscoped().count() == 33


@postgresql_only
def test_the_batch_write_is_planned_once_per_connection(xapi, after_commit):
    for _ in range(2):
        xapi.post("statements", [statement() for _ in range(3)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%%jsonb_to_recordset%%'")
        assert len(cursor.fetchall()) == 1


@postgresql_only
def test_a_held_id_with_a_different_statement_refuses_the_whole_batch(xapi, after_commit):
    held = {**statement(), "id": str(uuid.uuid4())}
    xapi.post("statements", held)
    batch = [statement() for _ in range(5)] + [{**held, "verb": {"id": plain.ATTEMPTED}}]
    response = xapi.post("statements", batch)
    assert response.status_code == 409 and held["id"] in response.json()["message"]
    assert Statement.objects.dangerously_unscoped().count() == 1 and waiting() == 1


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_id_another_request_is_storing_meanwhile_is_a_409(xapi, after_commit):
    import psycopg

    sid = str(uuid.uuid4())
    params = connection.settings_dict
    answers = []
    with psycopg.connect(dbname=params["NAME"], user=params["USER"], host=params["HOST"],
                         port=params["PORT"] or 5432) as other:
        # Another request holds the id, not yet committed: this one cannot see it, and waits on
        # the key's unique index until the other commits.
        other.execute("INSERT INTO lrs_statementkey (statement_id, seq) VALUES (%s, -1)", [sid])
        def post():
            try:
                answers.append(xapi.post("statements", [{**statement(), "id": sid}, statement()]))
            finally:
                connections.close_all()  # this thread's connection

        racing = threading.Thread(target=post)
        racing.start()
        time.sleep(0.5)
        other.commit()
        racing.join(10)
    assert answers[0].status_code == 409 and "并发" in answers[0].json()["message"]
    assert not Statement.objects.dangerously_unscoped().exists() and waiting() == 0


@postgresql_only
@pytest.mark.parametrize("check", [
    plain.test_put_stores_once_replays_change_nothing_and_a_different_statement_conflicts,
    plain.test_post_stores_a_batch_all_or_nothing_and_returns_the_ids_in_order,
    plain.test_the_lrs_completes_what_it_stores,
    plain.test_voiding_hides_the_statement_from_queries_but_not_from_voided_statement_id,
    plain.test_filters_find_actor_object_group_members_verbs_activities_registrations,
    plain.test_a_statement_targeting_another_matches_the_targets_filters,
    plain.test_more_pages_stay_put_while_new_statements_arrive,
    plain.test_a_large_batch_is_stored_and_indexed_like_small_ones,
    plain.test_canonical_format_gives_one_language_everywhere_and_ids_format_only_identifiers,
], ids=lambda check: check.__name__.removeprefix("test_"))
def test_the_statements_resource_behaves_the_same(check, xapi, after_commit):
    check(xapi)


def test_sqlite_does_everything_before_the_answer(xapi, after_commit):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite's path")
    ids = xapi.post("statements", statement()).json()
    assert waiting() == 0 and len(index_of(ids)) > 3
