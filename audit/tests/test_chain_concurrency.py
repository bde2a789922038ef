"""Concurrent audited writes take different chains instead of queueing on one lock
(PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED over the heads).

In a file of its own: a transactional test flushes the database when it ends."""

import threading

import pytest
from django.db import connection, transaction

from audit.models import AuditChainHead
from audit.services import audit_record, audit_verify


@pytest.mark.pg_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_second_writer_appends_to_another_chain_while_the_first_holds_its_head(settings):
    settings.AUDIT_CHAINS = 4
    audit_record(action="logout")  # chain 0 exists
    first_holds, second_done = threading.Event(), threading.Event()
    chains: dict[str, int] = {}
    errors: list[BaseException] = []

    def first():
        try:
            with transaction.atomic():
                chains["first"] = audit_record(action="logout", detail={"who": "first"}).chain
                first_holds.set()
                # Still holding its head: the second writer must not wait for it.
                assert second_done.wait(timeout=30), "the second writer waited for the first one's head"
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
            first_holds.set()
        finally:
            connection.close()

    def second():
        try:
            first_holds.wait(timeout=30)
            with transaction.atomic():
                chains["second"] = audit_record(action="logout", detail={"who": "second"}).chain
            second_done.set()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert chains["first"] == 0 and chains["second"] == 1
    assert set(AuditChainHead.objects.values_list("chain", flat=True)) == {0, 1}
    assert audit_verify() == []
    # Unhindered, a later write takes the first chain again.
    assert audit_record(action="logout").chain == 0
