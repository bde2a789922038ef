"""Bookings racing for one trainer's day (PostgreSQL, real threads and connections): the row lock
and the database's one-booking-a-day constraint leave one booking and Chinese refusals, no other
error. In a file of its own: a transactional test flushes the database, and pytest-django runs
such files after the others."""

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from trainers.models import TrainerBooking
from trainers.tests.conftest import project, session
from trainers.tests.test_bookings import book


@pytest.mark.pg_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bookings_racing_for_one_trainers_day_end_in_one(pool, province):
    """Six administrators book the same trainer for six sessions on one day at the same instant
    (real threads and connections): one booking, five Chinese refusals, no other error."""
    u = pool.users
    day = dt.date(2027, 3, 15)
    sessions = [session(project(f"R-{n}", province.province), 1, day) for n in range(6)]
    trainer = pool.trainers["hn"]
    barrier = threading.Barrier(6)
    made, refused, errors = [], [], []

    def run(target):
        try:
            barrier.wait()
            made.append(book(u["province_admin"], trainer, target))
        except ValidationError as refusal:
            refused.append(str(refusal))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(target,)) for target in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(made) == 1 and len(refused) == 5
    assert all("2027-03-15 已有安排" in text for text in refused)
    assert TrainerBooking.objects.dangerously_unscoped().filter(trainer=trainer, held_on=day).count() == 1
