"""Statements partitioned by month of `stored` (PostgreSQL), and statement ids unique across
partitions through their own table (both databases)."""

import datetime as dt
import uuid

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from lrs.models import Statement, StatementIndex, StatementKey
from lrs.partitions import DEFAULT, partition_name, statement_partitions_ensure
from lrs.tasks import statement_partitions_task
from lrs.tests.conftest import statement

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="partitions exist on PostgreSQL only")


def _partition_of(statement_id: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM lrs_statement WHERE statement_id = %s", [statement_id])
        return cursor.fetchone()[0]


def _partitions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = 'lrs_statement'::regclass")
        return {name for (name,) in cursor.fetchall()}


def test_an_id_claimed_by_another_request_meanwhile_is_a_409_and_nothing_is_stored(xapi):
    """Another request's transaction took the id after this one looked: the database's key,
    not the look-up, decides."""
    claimed = str(uuid.uuid4())
    StatementKey.objects.create(statement_id=claimed, seq=10**12)
    response = xapi.post("statements", [statement(), statement(id=claimed)])
    assert response.status_code == 409 and response.json()["message"]
    assert not Statement.objects.dangerously_unscoped().exists()
    assert not StatementIndex.objects.dangerously_unscoped().exists()
    assert StatementKey.objects.count() == 1


def test_each_stored_statement_holds_its_id_once(xapi):
    ids = xapi.post("statements", [statement(), statement()]).json()
    assert xapi.post("statements", [statement(id=ids[0])]).status_code == 200  # a replay: nothing new
    assert sorted(str(key) for key in StatementKey.objects.values_list("statement_id", flat=True)) == sorted(ids)


@postgresql_only
def test_the_statement_table_is_partitioned_by_month_with_months_made_ahead(xapi):
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = 'lrs_statement'")
        assert cursor.fetchone()[0] == "p"
    today = timezone.now().date()
    this_month = dt.datetime(today.year, today.month, 1, tzinfo=dt.UTC)
    assert {DEFAULT, partition_name(this_month)} <= _partitions()
    [stored_id] = xapi.post("statements", statement()).json()
    assert _partition_of(stored_id) == partition_name(this_month)


@postgresql_only
def test_the_scheduled_task_makes_the_coming_months_once(settings):
    before = _partitions()
    made = statement_partitions_ensure(today=dt.date(2031, 11, 20), ahead=2)
    assert made[-3:] == ["lrs_statement_p203111", "lrs_statement_p203112", "lrs_statement_p203201"]
    assert _partitions() == before | set(made)
    assert statement_partitions_ensure(today=dt.date(2031, 11, 20), ahead=2) == []
    # The migration made this month and the next ones; a month may have turned since (a run
    # across midnight at a month's end), so the task may add one, and then nothing more.
    statement_partitions_task()
    assert statement_partitions_task() == []
    today = timezone.now().date()
    assert partition_name(dt.datetime(today.year, today.month, 1, tzinfo=dt.UTC)) in _partitions()


@postgresql_only
def test_statements_outside_every_month_wait_in_the_default_partition_and_move_when_theirs_is_made(xapi):
    with time_machine.travel(dt.datetime(2031, 5, 10, 8, 0, tzinfo=dt.UTC), tick=False):
        [late] = xapi.post("statements", statement()).json()
    [now] = xapi.post("statements", statement()).json()
    assert _partition_of(late) == DEFAULT
    found = xapi.get("statements", {"verb": statement()["verb"]["id"], "ascending": "true"}).json()["statements"]
    assert [s["id"] for s in found] == [late, now]  # stored order; both partitions are read
    assert statement_partitions_ensure(today=dt.date(2031, 5, 1), ahead=0)[-1] == "lrs_statement_p203105"
    assert _partition_of(late) == "lrs_statement_p203105"
    found = xapi.get("statements", {"verb": statement()["verb"]["id"], "ascending": "true"}).json()["statements"]
    assert [s["id"] for s in found] == [late, now]
    assert xapi.get("statements", {"statementId": late}).json()["id"] == late
    until = xapi.get("statements", {"verb": statement()["verb"]["id"], "since": "2031-05-01T00:00:00Z"}).json()
    assert [s["id"] for s in until["statements"]] == [late]
