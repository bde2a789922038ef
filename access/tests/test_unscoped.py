"""The escape hatches are few, named and counted.

- Every model of the project's apps either is reference data on a short list below or
  has the fail-closed manager as its default manager and a policy in access.policy:
  a new app's model that belongs to a jurisdiction cannot be added without one.
- `dangerously_unscoped()`, Django's raw managers and raw SQL appear only in the places
  listed here, each with its reason; a new use anywhere else fails this test, so it has
  to be argued for in review.
"""

import re
from collections import Counter
from pathlib import Path

from django.apps import apps
from django.conf import settings

from access.managers import ScopedManager, UnscopedQueryError
from access.policy import policies

ROOT = Path(settings.BASE_DIR)
PROJECT_APPS = {"access", "accounts", "audit", "org", "people", "credits", "catalog", "core", "synth", "lrs",
                "learning", "guidance", "notifications", "institutions", "trainers",
                "evaluation", "quotas", "funding"}

# Models that belong to no jurisdiction: public reference data, rules, system bookkeeping.
REFERENCE_MODELS = {
    "org.Division",  # the official divisions and codes (its policy still says who administers one)
    "credits.Cycle", "credits.RuleSet", "credits.CategoryRule",  # the province's rules, read by all
    "credits.OrganiserAlias",  # organiser names → institutions, one province-wide mapping
    "credits.ComplianceRefresh",  # when each cycle's snapshot was computed
    "audit.AuditChainHead",  # the chain's head row
    "accounts.User",  # accounts: Django's auth needs its manager; users are reached through their binding
    "lrs.StatementKey",  # which statement ids the LRS holds: the writer's bookkeeping, never listed
    "lrs.StatementPending",  # stored batches whose index rows are still to write: a work queue, never listed
    "learning.PeerPopularity",  # how many teachers of a stage and subject took a course: counts, no person
    "lrs.LrsActivity",  # the LRS's canonical activity definitions: public to every client (the Activities resource)
    "guidance.HoursRule",  # the province's rule for guidance hours, read by all
    "institutions.CriteriaSet", "institutions.Criterion",  # the province's versioned accreditation criteria
}

HATCH = re.compile(r"dangerously_unscoped\(|_default_manager|_base_manager|connection\.cursor\(|bound_cursor\(|\.raw\("
                   r"|\.extra\(")

# file -> how many hatches it may hold, and why.
ALLOWED = {
    "access/managers.py": 3,  # where the hatch is defined
    "access/policy.py": 1,  # reference models without the scoped manager (divisions) filter by their rule
    "accounts/services.py": 2,  # a bearer token is looked up before any scope exists; a reset revokes the account's tokens
    "audit/services.py": 1,  # `audit verify` walks the whole chain
    "catalog/plans.py": 2,  # (and: a confirmed elimination of any organiser keeps its continuation out of next year's plan)
    # sets work_mem / jit for the caller's transaction or block: no table read; and defines
    # bound_cursor (raw SQL with bound parameters, counted where it is used)
    "core/dbtuning.py": 4,
    "core/dbrouting.py": 1,  # the replica's health probe (recovery state, replay lag): no table read  # overlaps are found across every organiser's projects
    # A full project's waiting list is joined under FOR SHARE (the ORM locks only FOR UPDATE),
    # on the project row its caller already fetched through its scope.
    "catalog/services.py": 1,
    "credits/certificates.py": 2,  # the public check of a signed certificate: the signature is the key
    "credits/compliance.py": 3,  # the nightly snapshot is rebuilt for every school, in SQL
    # The ledger writer's own bookkeeping for a teacher its caller was allowed to write for: the teacher
    # lock, the idempotency key, the day cap, the totals, the seal (and its first-write check), a
    # correction's floor; reconcile over the whole ledger.
    "credits/services.py": 17,  # the ledger writer's lock, idempotency key, day cap and seal; reconcile, the province re-seal
    "credits/verification.py": 9,  # `credits verify` and checkpoints cover the whole ledger (an operator's command)
    "credits/standing.py": 1,  # per-teacher standing in one SQL query, for a school already authorised
    "people/roster/importer.py": 2,  # ID numbers are unique province-wide; command-line batches have no account
    "people/selectors.py": 2,  # subject/honour subqueries, intersected with teachers already in scope
    "people/keys/columns.py": 1,  # key rotation re-encrypts and reindexes every row (an operator's command)
    "people/services.py": 1,  # ID numbers are unique province-wide
    "lrs/clients.py": 1,
    "lrs/partitions.py": 3,  # the statement table's partitions: DDL, no rows read  # client credentials are looked up before any scope exists
    # the statement index walked for a filtered page (each statement is then looked up through the
    # client's scope) and probed for the query's further filters
    "lrs/statement_query.py": 3,
    # statement ids are unique across the LRS (held statements read back to compare a replay);
    # StatementRef targets; a batch's rows by COPY; a few statements inserted in one; a plain
    # batch written in one statement
    "lrs/statements.py": 6,
    # the after-work of a stored batch: its statements read back, its index rows, voiding that
    # arrived first, activity definitions merged in one SQL statement
    "lrs/indexing.py": 7,
    # Crediting is the system's own step after a client's statement was accepted: it reads the
    # registrations, the learner's earlier statements and credits, and settles each credit.
    "lrs/crediting.py": 11,
    "lrs/learners.py": 3,  # identities match a client's actors; claiming after an authorised registration
    "lrs/traffic.py": 1,
    # attachment content by the hashes of statements the client was already allowed to read
    "lrs/attachments.py": 1,  # the sending client's own day counters
    # (provider, course code) is unique province-wide: an import finds a key another division holds
    "learning/catalogue.py": 1,
    # the push reads every teacher's history (a scoped query) by binary COPY in id ranges: ~100 M rows at scale
    "learning/push/interactions.py": 1,
    "learning/push/services.py": 1,  # the batch writes a chunk of lists by COPY (its own rows, after computing them)
    # the search index: its own column / FTS5 table written for courses a service just wrote, `reindex`
    # over every course (an operator's command), and the ranked query, run only within the caller's
    # scoped queryset (its compiled SQL is the query's IN list)
    "learning/search.py": 4,
    # routing is the platform's step for a teacher already allowed to ask: the school's pairing, the
    # fallback teams of the divisions above, the chosen team, its row lock and its members' open questions
    "guidance/routing.py": 5,
    "guidance/bank.py": 1,  # `questions reindex` re-encodes every stored question (an operator's command)
    "guidance/escalation.py": 1,  # the quarter-hourly sweep of overdue questions over every division
    "guidance/hours.py": 1,  # the guidance hours a teacher earned this cycle, read to apply the rule's cap
    # coverage: the pairings of schools in scope, whichever division's team holds them; the counts of teams
    # already in scope (members, schools, open questions) as correlated subqueries
    "guidance/selectors.py": 2,
    "guidance/teams.py": 1,  # pairing: a school already paired with another team (named in the refusal)
    "institutions/gate.py": 1,  # the 准入 gate reads the implementer's accreditations whoever publishes
    "institutions/services.py": 3,  # (and: an elimination's sanction reaches the institution's accreditations, the system)
    "institutions/selectors.py": 1,  # seats a page of bases holds this term, whoever organises the projects
    "institutions/bases.py": 1,  # the base row locked to book it: the registry is the province's  # the daily expiry sweeps every division's accreditations (the system)
    # notify's own bookkeeping for accounts its caller chose: which of them were already told, and
    # the recount of their unread messages
    "notifications/services.py": 2,
    "notifications/reminders.py": 1,  # the daily sweep of tomorrow's sessions over every organiser
    "notifications/evaluation_events.py": 3,  # the daily rating reminder: windows, who has rated, enrolments
    # the daily digest: every account's digest rows (read, then marked sent), and each account's own
    # unread titles for its summary
    "notifications/digest.py": 3,
    "synth/management/commands/synth.py": 1,
    "synth/management/commands/demo_logins.py": 1,  # whether the demo LRS client exists  # the synthetic province generator (refused in prod)
    "synth/services.py": 10,
    "synth/courses.py": 3,  # the demo course library: is it there, the seeded counters, the duplicate to merge
    "synth/learning.py": 5,  # demo learning records, through the LRS's own services
    "synth/training.py": 13,  # ... and the loader's seals of the teachers it wrote for
    "synth/writer.py": 3,
    "synth/guidance.py": 3,  # the demo county's schools, and the members of the teams it just built
    "synth/accreditations.py": 6,  # the institutions and projects it accredits, and the drafts it blocks
    # The synthetic evaluation: is it there, the finished projects and trainees, the outcome counties'
    # teachers and subjects, the honoured teachers named experts, the trainees' schools.
    "synth/evaluation.py": 7,
    "synth/bases.py": 5,  # the bases it designates and the 跟岗 projects it books there
    # demo funding: is it there, the teachers per county and school, the schools, the projects' budgets and spend
    "synth/funding.py": 7,
    # evaluation: matched untrained peers' main subject (a subquery over teachers already in scope)
    "evaluation/comparison.py": 1,
    # an instrument code is unique province-wide (checked and locked across owners for a new version)
    "evaluation/instruments.py": 2,
    # the daily confirmation of unappealed eliminations past the appeal period (the system)
    "evaluation/performance.py": 2,
    "evaluation/sanctions.py": 2,  # an institution's confirmed years, whoever organised the projects
    "evaluation/sources.py": 1,  # the rating source: one aggregate SQL over projects already in scope
    # the close task: closed windows' bases and trainer ratings; the province-wide tree it reads from
    "evaluation/ratings.py": 2,
    # (and the questions of the windows' questionnaires, reached through windows already chosen)
    "evaluation/rating_results.py": 3,
    # quotas: the high-end task's progress table is the system's own: written set-based from the
    # completed enrolments (INSERT … SELECT), checked and rebuilt against them over every jurisdiction
    # (an operator's command, or a service that already authorised its caller)
    "quotas/progress.py": 5,
    # selection of nominees: correlated subqueries over enrolments, honours and subjects of teachers the
    # outer query already limited to the scope; the province's default rule set made on first use
    "quotas/selection.py": 2,
}


def _app_sources():
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.split("/")[0] not in PROJECT_APPS or "/tests/" in relative or "/migrations/" in relative:
            continue
        yield relative, path.read_text(encoding="utf-8")


def hatches(sources) -> Counter:
    found: Counter = Counter()
    for relative, text in sources:
        found[relative] += len(HATCH.findall(text))
    return +found  # drop zeros


def test_escape_hatches_are_only_where_they_are_allowed():
    assert dict(hatches(_app_sources())) == ALLOWED


def test_the_hatch_count_catches_a_new_use():
    sources = [("catalog/views.py", "Project.objects.dangerously_unscoped().filter(pk=1)\ncursor = connection.cursor()\n"
                                    "with bound_cursor() as raw:\n")]
    assert hatches(sources) == Counter({"catalog/views.py": 3})


def test_every_model_of_a_jurisdiction_is_scoped_and_has_a_policy():
    registered = policies()
    problems = []
    for model in apps.get_models():
        label = model._meta.label
        if model._meta.app_label not in PROJECT_APPS or label in REFERENCE_MODELS:
            continue
        if not isinstance(model._default_manager, ScopedManager):
            problems.append(f"{label}: default manager is not the scoped one")
        if model not in registered:
            problems.append(f"{label}: no rules in access.policy")
    assert problems == []


def test_a_related_manager_serves_rows_reached_from_a_row_already_held(province):
    """The one way around the scope that needs no hatch: children of a row fetched through the policy."""
    import pytest

    teacher = province.teacher
    with pytest.raises(UnscopedQueryError):
        list(type(teacher).objects.filter(pk=teacher.pk))
    assert list(teacher.subjects.all())  # TeacherSubject is scoped; reached from its teacher
