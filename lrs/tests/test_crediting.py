"""From statements to hours: credited activities, matching actors to teachers, the checks that
hold a completion for an administrator, and the administrator's decision."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from access.errors import Forbidden, NotVisible
from access.scope import Scope, scope_for_user
from accounts.models import Role
from audit.models import AuditEvent
from credits.constants import SourceType
from credits.models import LedgerEntry
from credits.services import ledger_entry_record
from lrs.crediting import credit_decide
from lrs.keys import value_hash
from lrs.learners import learner_identity_add
from lrs.models import CreditedActivity, CreditState, Statement, StatementCredit
from lrs.tests.conftest import statement

COURSE = "https://courses.example.org/c/1"
MBOX = "mailto:teacher@example.org"
LAUNCHED = "http://adlnet.gov/expapi/verbs/launched"
COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
PASSED = "http://adlnet.gov/expapi/verbs/passed"


def at(minutes_ago: float) -> str:
    return (timezone.now() - dt.timedelta(minutes=minutes_ago)).isoformat()


def study(verb: str, minutes_ago: float, *, activity: str = COURSE, mbox: str = MBOX, **extra) -> dict:
    return statement(actor={"mbox": mbox}, verb={"id": verb}, object={"id": activity}, timestamp=at(minutes_ago),
                     **extra)


@pytest.fixture
def credited(province):
    def make(iri=COURSE, *, hours=2, prefix=False, division=None, active=True):
        division = division or province.province
        return CreditedActivity.objects.create(activity_iri=iri, is_prefix=prefix, activity_hash=value_hash(iri),
                                               title=f"课程 {iri}", hours=hours, division=division,
                                               division_path=division.path, active=active)

    return make


@pytest.fixture
def registered(province):
    learner_identity_add(scope=Scope.division(province.province), actor=None, teacher=province.teacher, kind="mbox",
                         value=MBOX)
    return province.teacher


@pytest.fixture
def send(xapi, django_capture_on_commit_callbacks):
    """POST statements and run what is scheduled after the commit (the crediting task)."""
    def post(*statements):
        with django_capture_on_commit_callbacks(execute=True):
            response = xapi.post("statements", list(statements))
        assert response.status_code == 200, response.content
        return response.json()

    return post


def credits():
    return list(StatementCredit.objects.dangerously_unscoped().order_by("pk"))


def course_entries(teacher):
    return list(LedgerEntry.objects.dangerously_unscoped().filter(teacher=teacher, source_type=SourceType.COURSE))


def test_a_teachers_completion_after_studying_earns_the_hours_once(credited, registered, send):
    credited(hours=2)
    send(study(LAUNCHED, 180))
    ids = send(study(COMPLETED, 1))
    [credit] = credits()
    assert credit.state == CreditState.CREDITED and credit.teacher == registered and credit.reason == ""
    [entry] = course_entries(registered)
    assert entry.hours == Decimal("2.0") and entry.category == "online" and entry.state == "approved"
    assert credit.ledger_entry == entry
    assert Statement.objects.dangerously_unscoped().get(statement_id=ids[0]).teacher == registered
    # Replaying the same statement changes nothing; completing again is held as a duplicate.
    send(study(PASSED, 0.5))
    assert [c.state for c in credits()] == [CreditState.CREDITED, CreditState.FLAGGED]
    assert credits()[1].reason.startswith("重复")
    assert len(course_entries(registered)) == 1


def test_a_replayed_statement_is_not_credited_twice(credited, registered, xapi, send):
    credited()
    send(study(LAUNCHED, 180))
    completion = study(COMPLETED, 1)
    ids = send(completion)
    send({**completion, "id": ids[0]})
    assert len(credits()) == 1 and len(course_entries(registered)) == 1


def test_the_mailbox_hash_matches_too_and_failed_attempts_earn_nothing(credited, registered, send):
    import hashlib

    credited()
    sha1 = hashlib.sha1(MBOX.encode()).hexdigest()  # noqa: S324
    send(statement(actor={"mbox_sha1sum": sha1}, verb={"id": LAUNCHED}, object={"id": COURSE}, timestamp=at(200)))
    send(study(PASSED, 1, result={"success": False}))
    assert credits() == []
    send(statement(actor={"mbox_sha1sum": sha1}, verb={"id": PASSED}, object={"id": COURSE}, timestamp=at(1),
                   result={"success": True, "score": {"scaled": 0.9}}))
    assert [c.state for c in credits()] == [CreditState.CREDITED]


def test_an_unmatched_actor_is_kept_and_credited_once_the_teacher_registers(credited, province, send,
                                                                              django_capture_on_commit_callbacks):
    credited()
    send(study(LAUNCHED, 180, mbox="mailto:new@example.org"), study(COMPLETED, 1, mbox="mailto:new@example.org"))
    [credit] = credits()
    assert credit.state == CreditState.UNMATCHED and credit.teacher is None
    assert course_entries(province.sibling_teacher) == []
    with django_capture_on_commit_callbacks(execute=True):
        learner_identity_add(scope=Scope.division(province.sibling), actor=None, teacher=province.sibling_teacher,
                             kind="mbox", value="New@Example.org")
    credit.refresh_from_db()
    assert credit.state == CreditState.CREDITED and credit.teacher == province.sibling_teacher
    assert credit.division_path == province.sibling_teacher.division_path
    assert len(course_entries(province.sibling_teacher)) == 1
    # The earlier statements are the teacher's now: their learning-records page shows them.
    assert Statement.objects.dangerously_unscoped().filter(teacher=province.sibling_teacher).count() == 2


def test_a_mailbox_matches_its_teacher_whatever_its_case(credited, province, registered, send,
                                                        django_capture_on_commit_callbacks):
    """Registered as teacher@example.org; a platform sends Teacher@Example.ORG."""
    credited()
    shouted = "mailto:Teacher@Example.ORG"
    send(study(LAUNCHED, 180, mbox=shouted), study(COMPLETED, 1, mbox=shouted))
    [credit] = credits()
    assert credit.state == CreditState.CREDITED and credit.teacher == registered
    assert Statement.objects.dangerously_unscoped().filter(teacher=registered).count() == 2
    # Stored before the registration, in capitals: claimed when the teacher registers it.
    late = "mailto:LATE@Example.org"
    send(study(LAUNCHED, 180, mbox=late, activity=COURSE + "/2"))
    with django_capture_on_commit_callbacks(execute=True):
        learner_identity_add(scope=Scope.division(province.province), actor=None, teacher=registered, kind="mbox",
                             value="late@example.org")
    assert Statement.objects.dangerously_unscoped().filter(teacher=registered).count() == 3


def test_own_platform_accounts_match_by_user_name(credited, province, make_user, send, settings):
    make_user("li-si", Role.TEACHER, teacher=province.sibling_teacher)
    credited()
    actor = {"account": {"homePage": settings.LRS_ACCOUNT_HOMEPAGE, "name": "li-si"}}
    send(statement(actor=actor, verb={"id": LAUNCHED}, object={"id": COURSE}, timestamp=at(300)),
         statement(actor=actor, verb={"id": COMPLETED}, object={"id": COURSE}, timestamp=at(2)))
    assert [(c.state, c.teacher) for c in credits()] == [(CreditState.CREDITED, province.sibling_teacher)]


@pytest.mark.parametrize(("earlier", "completion", "reason"), [
    (None, study(COMPLETED, 1), "完成之前没有"),
    (study(LAUNCHED, 10), study(COMPLETED, 1), "从首次学习到完成仅 9 分钟"),
    (study(LAUNCHED, 60 * 24 * 40), study(COMPLETED, 60 * 24 * 35), "时间戳早于接收时间 35 天"),
    (study(LAUNCHED, 180), study(COMPLETED, -60), "未来时间"),
    # Another activity's history does not count.
    (study(LAUNCHED, 180, activity="https://courses.example.org/c/2"), study(COMPLETED, 1), "完成之前没有"),
])
def test_suspicious_completions_are_held_with_a_reason(credited, registered, send, earlier, completion, reason):
    credited(hours=2)
    if earlier:
        send(earlier)
    send(completion)
    [credit] = credits()
    assert credit.state == CreditState.FLAGGED and reason in credit.reason
    assert course_entries(registered) == []


def test_a_completion_over_the_days_cap_is_held_with_the_ledgers_reason(credited, registered, send):
    ledger_entry_record(teacher=registered, category="centralised", hours=11, occurred_on=timezone.localdate(),
                        source_type=SourceType.SYNTH, source_id="full-day")
    credited(hours=2)
    send(study(LAUNCHED, 180), study(COMPLETED, 1))
    [credit] = credits()
    assert credit.state == CreditState.FLAGGED and "学时账本未接受" in credit.reason and "12" in credit.reason


def test_registrations_by_prefix_the_longest_wins_and_inactive_ones_earn_nothing(credited, registered, send):
    credited("https://courses.example.org/", hours=1, prefix=True)
    specific = credited("https://courses.example.org/c/", hours=3, prefix=True)
    credited("https://other.example.org/x", hours=5, active=False)
    send(study(LAUNCHED, 300), study(COMPLETED, 1),
         study(LAUNCHED, 300, activity="https://other.example.org/x"),
         study(COMPLETED, 1, activity="https://other.example.org/x"))
    [credit] = credits()
    assert credit.credited_activity == specific and credit.state == CreditState.CREDITED
    assert [e.hours for e in course_entries(registered)] == [Decimal("3.0")]


def test_each_activity_under_a_prefix_earns_once(credited, registered, send):
    credited("https://courses.example.org/c/", hours=2, prefix=True)
    send(study(LAUNCHED, 300), study(COMPLETED, 200),
         study(LAUNCHED, 300, activity="https://courses.example.org/c/2"),
         study(COMPLETED, 1, activity="https://courses.example.org/c/2"))
    assert [c.state for c in credits()] == [CreditState.CREDITED, CreditState.CREDITED]
    assert len(course_entries(registered)) == 2


def test_voided_completions_are_refused(credited, registered, send):
    credited()
    ids = send(study(COMPLETED, 1))  # held: nothing before it
    send(statement(verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
                   object={"objectType": "StatementRef", "id": ids[0]}))
    [credit] = credits()
    assert credit.state == CreditState.REFUSED and credit.reason == "语句已被作废"


def test_a_completion_voided_in_the_same_batch_is_not_credited(credited, registered, send):
    credited()
    completion = study(COMPLETED, 1) | {"id": "6f6c1d4e-3c52-4a3b-9bd4-4a0c3e0f8a11"}
    send(study(LAUNCHED, 300), completion, statement(verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
                                                      object={"objectType": "StatementRef", "id": completion["id"]}))
    assert credits() == []
    assert course_entries(registered) == []


def _held(credited, send):
    credited(hours=2)
    send(study(COMPLETED, 1))
    [credit] = credits()
    assert credit.state == CreditState.FLAGGED
    return credit


def test_the_teachers_county_decides_a_held_completion(credited, registered, send, users):
    credit = _held(credited, send)
    county = users["county_admin"]
    decided = credit_decide(scope=scope_for_user(county), actor=county, credit_id=credit.pk, approve=True)
    assert decided.state == CreditState.CREDITED and decided.decided_by == county
    [entry] = course_entries(registered)
    assert entry.created_by == county and decided.ledger_entry == entry
    assert AuditEvent.objects.dangerously_unscoped().filter(action="lrs.credit_decide", object_id=str(credit.pk)).exists()
    with pytest.raises(ValidationError):  # decided once
        credit_decide(scope=scope_for_user(county), actor=county, credit_id=credit.pk, approve=False, note="重复")


def test_other_counties_and_schools_cannot_decide(credited, registered, send, users):
    credit = _held(credited, send)
    with pytest.raises(NotVisible):
        credit_decide(scope=scope_for_user(users["sibling_admin"]), actor=users["sibling_admin"], credit_id=credit.pk,
                      approve=True)
    school = users["school_admin"]
    with pytest.raises((NotVisible, Forbidden)):
        credit_decide(scope=scope_for_user(school), actor=school, credit_id=credit.pk, approve=True)
    credit.refresh_from_db()
    assert credit.state == CreditState.FLAGGED and course_entries(registered) == []


def test_refusing_needs_a_reason_and_writes_no_hours(credited, registered, send, users):
    credit = _held(credited, send)
    county = users["county_admin"]
    with pytest.raises(ValidationError):
        credit_decide(scope=scope_for_user(county), actor=county, credit_id=credit.pk, approve=False)
    decided = credit_decide(scope=scope_for_user(county), actor=county, credit_id=credit.pk, approve=False,
                            note="学习时长不足")
    assert decided.state == CreditState.REFUSED and decided.reason == "学习时长不足"
    assert course_entries(registered) == []


def test_approving_a_duplicate_of_credited_hours_is_refused(credited, registered, send, users):
    credited(hours=2)
    send(study(LAUNCHED, 300), study(COMPLETED, 2))
    send(study(PASSED, 1))
    first, duplicate = credits()
    assert (first.state, duplicate.state) == (CreditState.CREDITED, CreditState.FLAGGED)
    county = users["county_admin"]
    with pytest.raises(ValidationError):
        credit_decide(scope=scope_for_user(county), actor=county, credit_id=duplicate.pk, approve=True)
    assert len(course_entries(registered)) == 1


def test_an_identity_belongs_to_one_teacher(registered, province):
    with pytest.raises(ValidationError):
        learner_identity_add(scope=Scope.division(province.province), actor=None, teacher=province.sibling_teacher,
                             kind="mbox", value=MBOX)


@pytest.mark.parametrize(("kind", "value", "home_page"), [
    ("mbox", "not-an-address", ""), ("account", "li", "ftp:/x"), ("account", "has space", "https://x.org"),
    ("openid", "x", ""),
])
def test_bad_identities_are_refused(province, kind, value, home_page):
    with pytest.raises(ValidationError):
        learner_identity_add(scope=Scope.division(province.province), actor=None, teacher=province.teacher, kind=kind,
                             value=value, home_page=home_page)


def test_statements_stored_before_mailboxes_were_compared_without_case_are_rehashed(registered, send):
    """Migration 0006 on a statement stored the old way (its actor hashed with its capitals)."""
    import importlib

    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    from lrs.keys import agent_key

    apps = MigrationLoader(connection).project_state(("lrs", "0006_mailbox_case_for_matching")).apps

    [stored_id] = send(study(LAUNCHED, 5, mbox="mailto:TEACHER@example.org"))
    row = Statement.objects.dangerously_unscoped().get(statement_id=stored_id)
    Statement.objects.dangerously_unscoped().filter(pk=row.pk).update(
        actor_hash=value_hash(agent_key(row.full["actor"])), teacher=None)
    importlib.import_module("lrs.migrations.0006_mailbox_case_for_matching")._rehash(apps, None)
    row.refresh_from_db()
    assert row.actor_hash == value_hash("mbox:mailto:teacher@example.org") and row.teacher == registered
