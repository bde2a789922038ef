"""Ratings racing (PostgreSQL, real threads and connections): one trainee submitting twice at the
same instant gets one vote and a Chinese refusal; many trainees of one window rating at once are all
counted, one response each. In a file of its own: a transactional test flushes the database, and
pytest-django runs such files after the others."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from evaluation.models import RatingParticipation, RatingResponse
from evaluation.tests import rating_fixtures
from evaluation.tests.rating_fixtures import OPENS, answers_of, at, rate

rating_world = rating_fixtures.rating_world


def _race(calls):
    barrier = threading.Barrier(len(calls))
    done, refused, errors = [], [], []

    def run(call):
        try:
            with at(OPENS):
                barrier.wait()
                call()
            done.append(1)
        except ValidationError as refusal:
            refused.append(str(refusal))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done, refused, errors


@pytest.mark.pg_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_trainee_submitting_twice_at_once_gets_one_vote(rating_world):
    w = rating_world
    teacher = w.teachers[0]
    done, refused, errors = _race([lambda: rate(teacher, w.project, answers_of(5)),
                                   lambda: rate(teacher, w.project, answers_of(1))])
    assert errors == [] and len(done) == 1 and len(refused) == 1
    assert "您已评价过该项目，每人只能评价一次" in refused[0]
    assert RatingParticipation.objects.dangerously_unscoped().filter(window=w.window).count() == 1
    assert RatingResponse.objects.dangerously_unscoped().filter(window=w.window).count() == 1


@pytest.mark.pg_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_many_trainees_rating_at_once_are_all_counted(rating_world):
    w = rating_world
    raters = w.teachers[:8]
    done, refused, errors = _race([lambda t=t: rate(t, w.project, answers_of(3)) for t in raters])
    assert errors == [] and refused == [] and len(done) == 8
    assert RatingParticipation.objects.dangerously_unscoped().filter(window=w.window).count() == 8
    assert RatingResponse.objects.dangerously_unscoped().filter(window=w.window).count() == 8
