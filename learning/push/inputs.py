"""What the push reads, in bulk and through the access policy.

The batch reads as the province (it computes every teacher's list); one teacher on demand
reads the same functions with that teacher's ids. Courses open to a teacher are the ones the
teacher's own scope sees (`visible(Scope.for_teacher(...), Course)`): they depend only on the
teacher's division, so a batch asks once per division.

A teacher's study history is every course they completed through the LRS (a credited
completion of the course's activity, from the platform's player or any provider) and every
course they enrolled in on the platform's player.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Count, Max, Sum

from access.policy import Action, can, visible
from access.scope import Scope
from credits.constants import Category
from credits.models import CycleTotal
from credits.selectors import current_cycle, required_hours, rule_set_in_force
from evaluation.instrument_selectors import weak_topics
from learning.constants import CourseState, RequiredContent
from learning.models import Course, CourseEnrolment, PeerPopularity
from learning.push.interactions import History
from learning.push.ranking import CourseCard, TeacherNeeds
from lrs.models import CreditState, StatementCredit
from people.models import Teacher, TeacherSubject

PEER_WINDOW_DAYS = 365
PEER_HEAD = 200  # courses kept per stage and subject


def home_viewer(home_path: str) -> Scope:
    """A teacher of the division at `home_path`, as the course rule sees them."""
    return Scope(role="teacher", home_path=home_path, label="本人")


def open_course_ids(home_path: str) -> frozenset[int]:
    """The published courses open to a teacher of the division at `home_path` (the teacher's own view)."""
    return frozenset(visible(home_viewer(home_path), Course).filter(state=CourseState.PUBLISHED)
                     .values_list("id", flat=True))


def open_owners(home_path: str, owner_paths: frozenset[str]) -> frozenset[str]:
    """Of the divisions owning published courses, those whose courses the policy opens to a
    teacher at `home_path` (asked of the rule, one row per owner: no query)."""
    viewer = home_viewer(home_path)
    return frozenset(path for path in owner_paths
                     if can(viewer, Action.VIEW, Course(division_path=path, state=CourseState.PUBLISHED)))


def course_owner_paths(scope: Scope) -> frozenset[str]:
    """The divisions owning a published course `scope` sees (a handful: the province, the cities
    and counties that publish their own)."""
    return frozenset(visible(scope, Course).filter(state=CourseState.PUBLISHED).order_by()
                     .values_list("division_path", flat=True).distinct())


def course_cards(scope: Scope) -> list[CourseCard]:
    """The published courses `scope` sees (the province: all of them)."""
    rows = visible(scope, Course).filter(state=CourseState.PUBLISHED).values_list(
        "id", "title", "stages", "subjects", "topics", "required_content", "category", "provider_id", "is_featured",
        "published_at").order_by("id")
    return [CourseCard(id=pk, title=title, stages=frozenset(stages or ()), subjects=frozenset(subjects or ()),
                       topics=tuple(topics or ()), required=frozenset(required or ()), category=category,
                       provider_id=provider_id, featured=featured, published_at=published_at)
            for pk, title, stages, subjects, topics, required, category, provider_id, featured, published_at in rows]


def course_of_activity(scope: Scope) -> dict[int, int]:
    """credited activity id -> the course it belongs to (a merged duplicate's -> the course it went into)."""
    rows = visible(scope, Course).filter(credited_activity__isnull=False).values_list(
        "credited_activity_id", "id", "merged_into_id")
    return {activity: merged or pk for activity, pk, merged in rows}


def required_of_courses(scope: Scope) -> dict[int, frozenset[str]]:
    rows = visible(scope, Course).exclude(required_content=[]).values_list("id", "required_content")
    return {pk: frozenset(codes or ()) for pk, codes in rows}


def histories(scope: Scope, teacher_ids: Iterable[int], *, activities: dict[int, int]) -> dict[int, History]:
    """A few teachers' histories, read from the database (one teacher on demand)."""
    found: dict[int, list[tuple[int, float]]] = defaultdict(list)
    credits = visible(scope, StatementCredit).filter(teacher_id__in=list(teacher_ids), state=CreditState.CREDITED)
    for teacher_id, activity_id, at in credits.values_list("teacher_id", "credited_activity_id", "created_at"):
        course_id = activities.get(activity_id)
        if course_id is not None:
            found[teacher_id].append((course_id, at.timestamp()))
    taken = visible(scope, CourseEnrolment).filter(teacher_id__in=list(teacher_ids))
    for teacher_id, course_id, at in taken.values_list("teacher_id", "course_id", "enrolled_at"):
        found[teacher_id].append((course_id, at.timestamp()))
    return {teacher_id: History.of(pairs) for teacher_id, pairs in found.items()}


def credited_counts(scope: Scope, *, ids: list[int] | None = None, between: tuple[int, int] | None = None
                    ) -> dict[int, tuple[int, int]]:
    """(credited completions, the latest one's id) of the teachers with these ids, or with ids from
    `between[0]` to `between[1]` (a batch's range: one scan in id order instead of a lookup per teacher)."""
    rows = visible(scope, StatementCredit).filter(state=CreditState.CREDITED)
    if ids is not None:
        rows = rows.filter(teacher_id__in=ids)
    if between is not None:
        rows = rows.filter(teacher_id__gte=between[0], teacher_id__lte=between[1])
    return {teacher_id: (n, last) for teacher_id, n, last in (
        rows.values("teacher_id").annotate(n=Count("id"), last=Max("id")).values_list("teacher_id", "n", "last"))}


def bases_for(scope: Scope, teachers: list[Teacher], cycle_id: int | None, *, weak: dict[int, str] | None = None,
              done: dict[int, tuple[int, int]] | None = None) -> dict[int, str]:
    """A fingerprint of what each teacher's list depends on (their completions, the courses they took
    up on the player, their hours this cycle, the weakest capability of their latest 训后 assessment),
    in four grouped queries (fewer when the caller read `weak` or `done`, `credited_counts` of a range
    holding these teachers): a list whose fingerprint changed is stale."""
    ids = [teacher.pk for teacher in teachers]
    done = credited_counts(scope, ids=ids) if done is None else done
    hours = dict(visible(scope, CycleTotal).filter(teacher_id__in=ids, cycle_id=cycle_id)
                 .values("teacher_id").annotate(h=Sum("approved_hours")).values_list("teacher_id", "h"))
    taken = {teacher_id: (n, last) for teacher_id, n, last in (
        visible(scope, CourseEnrolment).filter(teacher_id__in=ids)
        .values("teacher_id").annotate(n=Count("id"), last=Max("id")).values_list("teacher_id", "n", "last"))}
    weak = weak_topics(scope, ids) if weak is None else weak
    bases = {}
    for teacher_id in ids:
        n, last = done.get(teacher_id, (0, None))
        text = f"{n}:{last}:{taken.get(teacher_id, (0, None))}:{cycle_id}:{hours.get(teacher_id)}:{weak.get(teacher_id)}"
        bases[teacher_id] = hashlib.sha256(text.encode()).hexdigest()[:32]
    return bases


def teacher_needs(scope: Scope, teachers: list[Teacher], *, studied: dict[int, History],
                  required_of: dict[int, frozenset[str]], today: dt.date, weak: dict[int, str] | None = None
                  ) -> dict[int, TeacherNeeds]:
    """Each teacher's needs this cycle, in a fixed number of queries for the whole list (`weak`:
    `weak_topics` of these teachers, when the caller read it for their fingerprints too)."""
    ids = [teacher.pk for teacher in teachers]
    subjects: dict[int, set[str]] = defaultdict(set)
    for teacher_id, subject in visible(scope, TeacherSubject).filter(teacher_id__in=ids).values_list("teacher_id", "subject"):
        subjects[teacher_id].add(subject)
    weak = weak_topics(scope, ids) if weak is None else weak
    cycle = current_cycle(today)
    rules = {}
    rule_set = None
    totals: dict[int, dict[str, Decimal]] = defaultdict(dict)
    if cycle is not None:
        rule_set = rule_set_in_force(cycle)
        rules = {rule.category: rule for rule in rule_set.category_rules.all()}
        for teacher_id, category, approved in visible(scope, CycleTotal).filter(
                teacher_id__in=ids, cycle=cycle).values_list("teacher_id", "category", "approved_hours"):
            totals[teacher_id][category] = approved
    needs = {}
    nothing = History.of([])
    every_required = frozenset(RequiredContent.values)
    since = dt.datetime.combine(cycle.starts_on, dt.time.min, tzinfo=dt.UTC).timestamp() if cycle else 0.0
    # Teachers with the same hours and the same requirement owe the same: most of a chunk shares a few cases.
    owed: dict[tuple, tuple[dict[str, Decimal], Decimal, frozenset[str]]] = {}
    for teacher in teachers:
        history = studied.get(teacher.pk, nothing)
        short: dict[str, Decimal] = {}
        owed_total = Decimal(0)
        filled: frozenset[str] = frozenset()
        missing: frozenset[str] = frozenset()
        if cycle is not None and rule_set is not None:
            this_cycle = history.courses[history.times >= since].tolist() if required_of else []
            covered = set().union(*(required_of.get(c, frozenset()) for c in this_cycle))
            missing = every_required - covered
            approved = totals.get(teacher.pk, {})
            required = required_hours(rule_set=rule_set, cycle=cycle, hire_date=teacher.hire_date)
            case = (tuple(sorted(approved.items())), required)
            if case not in owed:
                found_short, found_total, found_filled = _owed(approved, rules, required)
                owed[case] = (found_short, found_total, frozenset(found_filled))
            short, owed_total, filled = owed[case]
            short = dict(short)  # each list's own copy: `short` is a plain dict
        needs[teacher.pk] = TeacherNeeds(
            teacher_id=teacher.pk, stage=teacher.stage, subjects=frozenset(subjects.get(teacher.pk, ())),
            short=short, owed_total=owed_total, filled=filled, missing_required=missing,
            seen=frozenset(history.courses.tolist()), weak_topic=weak.get(teacher.pk, ""))
    return needs


def _owed(approved: dict[str, Decimal], rules: dict, required: Decimal) -> tuple[dict[str, Decimal], Decimal, set[str]]:
    """What each category lacks of its minimum, what the cycle lacks overall, and the categories at
    their cap — counted as the ledger counts them (a category's hours above its cap do not count)."""
    counted: dict[str, Decimal] = {}
    short: dict[str, Decimal] = {}
    filled: set[str] = set()
    for category in Category.values:
        rule = rules.get(category)
        hours = approved.get(category, Decimal(0))
        cap = rule.max_hours if rule is not None else None
        counted[category] = min(hours, cap) if cap is not None else hours
        if cap is not None and hours >= cap:
            filled.add(category)
        lacking = (rule.min_hours or Decimal(0)) - counted[category] if rule is not None else Decimal(0)
        if lacking > 0:
            short[category] = lacking
    return short, max(Decimal(0), required - sum(counted.values(), Decimal(0))), filled


def peer_table(groups: list[tuple[str, str]] | None = None) -> dict[tuple[str, str], dict[int, int]]:
    rows = PeerPopularity.objects.all()
    if groups is not None:
        rows = rows.filter(stage__in={g[0] for g in groups}, subject__in={g[1] for g in groups})
    table: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for stage, subject, course_id, learners in rows.values_list("stage", "subject", "course_id", "learners"):
        if groups is None or (stage, subject) in groups:
            table[(stage, subject)][course_id] = learners
    return table
