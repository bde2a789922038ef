"""A batch job's roomier work_mem lasts for its own transaction only."""

import pytest
from django.db import connection

from core.dbtuning import roomy_transaction, without_jit


def _work_mem() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW work_mem")
        return cursor.fetchone()[0]


@pytest.mark.pg_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the block is the outermost transaction
def test_the_setting_holds_inside_the_transaction_and_ends_with_it():
    before = _work_mem()
    with roomy_transaction("64MB"):
        assert _work_mem() == "64MB"
    assert _work_mem() == before != "64MB"


@pytest.mark.django_db
def test_the_work_inside_is_one_transaction():
    from org.models import Division

    with pytest.raises(RuntimeError), roomy_transaction("64MB"):
        Division.objects.create(code="419999", name="测试省", level="province")
        raise RuntimeError
    assert not Division.objects.filter(code="419999").exists()


def _jit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        return cursor.fetchone()[0]


@pytest.mark.pg_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # outside any transaction: the session's setting
def test_jit_is_off_inside_the_block_and_as_before_after_it_even_when_the_block_fails():
    with connection.cursor() as cursor:
        cursor.execute("SET jit = on")
    with without_jit():
        assert _jit() == "off"
    assert _jit() == "on"
    with pytest.raises(RuntimeError), without_jit():
        raise RuntimeError
    assert _jit() == "on"
    with connection.cursor() as cursor:
        cursor.execute("RESET jit")
