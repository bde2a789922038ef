"""An anonymous rating cannot be linked to its rater, even with the whole database and the logs.

Raters rate in a known order, each with answers only they gave (so the test knows which response is
whose). Then everything an observer could read is searched for the link: the response table's
fields, its id order, its row order as the database returns it, on PostgreSQL the physical order
(ctid) and the transaction id on each row (xmin), the participations, the audit rows and every log
line written meanwhile (request lines, SQL with the debug cursor on). None of the orders correlates
with the rating order (Spearman), all of a window's responses carry one transaction id, and no log
line or audit row carries both the rater and the answers."""

import json
import logging

import pytest
from django.db import connection, models
from scipy.stats import spearmanr

from accounts.models import Role
from audit.models import AuditEvent
from evaluation import ratings
from evaluation.models import RatingParticipation, RatingResponse
from evaluation.tests import rating_fixtures
from evaluation.tests.rating_fixtures import OPENS, at, trainees

pytestmark = pytest.mark.django_db
rating_world = rating_fixtures.rating_world
RATERS = 40
# A random order correlates this strongly with the rating order only once in a thousand runs.
SIGNIFICANT = 0.001


def _signature(n: int) -> dict:
    """Answers only rater n gives: n in base 5, four digits, on the 1–5 scale (n < 625)."""
    return {str(item): 1 + (n // 5 ** (item - 1)) % 5 for item in range(1, 5)}


def _rank_of(rows) -> list[int]:
    """For each rater in rating order, the position of their response in `rows` (answers)."""
    position = {tuple(sorted(answers.items())): index for index, answers in enumerate(rows)}
    return [position[tuple(sorted(_signature(n).items()))] for n in range(RATERS)]


def _uncorrelated(positions: list[int]) -> bool:
    rho, p_value = spearmanr(range(RATERS), positions)
    return p_value > SIGNIFICANT


# --- the models hold nothing that could link -------------------------------------------------


def test_a_response_is_a_random_id_the_window_and_the_answers():
    fields = {field.name: field for field in RatingResponse._meta.get_fields() if field.concrete}
    assert set(fields) == {"id", "window", "answers"}
    assert isinstance(fields["id"], models.UUIDField) and fields["id"].default.__name__ == "uuid4"
    assert fields["window"].related_model._meta.label == "evaluation.RatingWindow"
    for field in RatingResponse._meta.get_fields():
        assert not isinstance(field, models.DateField | models.TimeField | models.GenericIPAddressField)
        related = getattr(field, "related_model", None)
        assert related is None or related._meta.app_label not in ("accounts", "people")


def test_a_participation_holds_no_answers_and_no_time():
    fields = {field.name for field in RatingParticipation._meta.get_fields() if field.concrete}
    assert fields == {"id", "window", "teacher"}


# --- the stored rows -----------------------------------------------------------------------------


@pytest.fixture
def rated(rating_world, province):
    """RATERS trainees rate the window one after another, in a known order."""
    w = rating_world
    raters = w.teachers + trainees(w.project, province.school, RATERS - len(w.teachers))
    with at(OPENS):
        for n, teacher in enumerate(raters):
            rating_fixtures.rate(teacher, w.project, _signature(n))
    return w, raters


def test_no_order_of_the_responses_follows_the_rating_order(rated):
    w, _ = rated
    rows = RatingResponse.objects.dangerously_unscoped().filter(window=w.window)
    by_id = [r.answers for r in rows.order_by("id")]
    as_stored = [r.answers for r in rows.order_by()]  # no ORDER BY: how the database hands them out
    assert len(by_id) == RATERS
    assert _uncorrelated(_rank_of(by_id)), "response ids follow the rating order"
    assert _uncorrelated(_rank_of(as_stored)), "stored order follows the rating order"


def test_the_check_would_see_responses_in_rating_order():
    """The same measure on the order a naive writer would leave finds the link."""
    assert not _uncorrelated(list(range(RATERS)))
    assert not _uncorrelated([n + (1 if n % 2 else -1) for n in range(1, RATERS + 1)])


@pytest.mark.pg_only
def test_neither_physical_order_nor_transaction_ids_follow_the_rating_order(rated):
    w, raters = rated
    with connection.cursor() as cursor:
        cursor.execute("SELECT answers, xmin::text FROM evaluation_ratingresponse WHERE window_id = %s ORDER BY ctid",
                       [w.window.pk])
        physical = cursor.fetchall()
        cursor.execute("SELECT teacher_id, xmin::text FROM evaluation_ratingparticipation WHERE window_id = %s "
                       "ORDER BY id", [w.window.pk])
        participations = cursor.fetchall()
    answers = [json.loads(row[0]) if isinstance(row[0], str) else row[0] for row in physical]
    assert _uncorrelated(_rank_of(answers)), "physical order follows the rating order"
    response_xmins = {row[1] for row in physical}
    assert len(response_xmins) == 1  # one transaction id on every response of the window
    # ... that of the last rater's transaction, which rewrote them all: it names no one response.
    assert response_xmins == {participations[-1][1]}
    assert len({row[1] for row in participations}) == RATERS
    assert [row[0] for row in participations] == [t.pk for t in raters]


# --- logs and audit ------------------------------------------------------------------------------


def test_no_log_line_or_audit_row_carries_both_the_rater_and_the_answers(rating_world, client_for, make_user,
                                                                         caplog):
    w = rating_world
    user = make_user("trainee-log", Role.TEACHER, teacher=w.teachers[0])
    answers = {"1": 5, "2": 1, "3": 4, "4": 2}
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")  # every SQL statement too
    connection.force_debug_cursor = True
    try:
        with at(OPENS):
            response = client_for(user).post(f"/api/v1/projects/{w.project.pk}/ratings", {"answers": answers},
                                             content_type="application/json")
    finally:
        connection.force_debug_cursor = False
    assert response.status_code == 201
    stored = RatingResponse.objects.dangerously_unscoped().get(window=w.window)
    rater_marks = (user.username, f"teacher_id\": {w.teachers[0].pk}", "evaluation_ratingparticipation")
    answer_marks = ("answers", "evaluation_ratingresponse", str(stored.pk), stored.pk.hex)
    seen_rater = seen_answers = 0
    for record in caplog.records:
        text = record.getMessage() + " " + repr({k: v for k, v in record.__dict__.items()
                                                  if k not in ("msg", "args", "message")})
        has_rater = getattr(record, "user_id", None) == user.pk or any(mark in text for mark in rater_marks)
        has_answers = any(mark in text for mark in answer_marks)
        seen_rater += has_rater
        seen_answers += has_answers
        assert not (has_rater and has_answers), text
    assert seen_rater and seen_answers  # the request line names the rater; an SQL line the answers
    events = AuditEvent.objects.dangerously_unscoped().filter(action="evaluation.rating_submit")
    assert [(e.actor_id, e.detail or {}) for e in events] == [(user.pk, {})]
    text = repr([e.__dict__ for e in AuditEvent.objects.dangerously_unscoped().all()])
    assert str(stored.pk) not in text and stored.pk.hex not in text and "answers" not in text


def test_the_trainee_learns_no_response_id(rating_world):
    """The service returns nothing and the API says only that it was recorded."""
    w = rating_world
    with at(OPENS):
        result = ratings.rating_submit(scope=rating_fixtures.as_trainee(w.teachers[0]), actor=None,
                                       project_id=w.project.pk, answers=_signature(1))
    assert result is None
