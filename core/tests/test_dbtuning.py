"""A batch job's roomier work_mem lasts for its own transaction only."""

import pytest
from django.db import connection

from core.dbtuning import roomy_transaction


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
