"""Computing and storing the pushed lists: the nightly batch for every teacher, and one teacher
on demand when their list is stale (see `selectors.push_for`).

Both score against a `Library`: the published courses as arrays with the learned links and the
peer table (`engine.Catalogue`), and the course facts the needs are read with. The batch builds
it once; web processes keep one and rebuild it when the library, the peer table or the model
changed. The batch reads as the province: it reads every history once, fits the model, refreshes
the peer table, then walks the teachers in id order in chunks — a fixed number of queries and one
bulk write per chunk, so memory and time grow with the chunk, not the province.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from access.policy import visible
from access.scope import Scope
from core.batchgc import fewer_collections
from core.dbtuning import roomy_transaction, without_jit
from credits.selectors import current_cycle
from evaluation.instrument_selectors import weak_topics
from learning.constants import CourseState, StudyState
from learning.models import Course, CourseEnrolment, PeerPopularity, TeacherPush
from learning.push import collaborative, engine, interactions
from learning.push.inputs import (
    PEER_HEAD,
    PEER_WINDOW_DAYS,
    bases_for,
    course_cards,
    course_of_activity,
    course_owner_paths,
    credited_counts,
    histories,
    open_course_ids,
    open_owners,
    peer_table,
    required_of_courses,
    teacher_needs,
)
from learning.push.interactions import History
from learning.push.ranking import Pick, rank
from lrs.models import CreditState, StatementCredit
from org.models import Division
from people.constants import Status
from people.models import Teacher

log = logging.getLogger(__name__)
PUSH_SIZE = 10
CHUNK = 1000  # teachers read and written together (a fixed number of queries each)
SCORE_SLICE = 250  # of those, scored together: CHUNK × courses floats would outgrow the CPU's caches
RANGE = 20_000  # teachers per batch task
ORM_STORE_BELOW = 50  # fewer lists than this are upserted in one statement, not COPY'd through a temporary table


def province_scope() -> Scope:
    return Scope.division(Division.objects.get(level="province"))


def peers_refresh(scope: Scope, *, now: dt.datetime | None = None) -> int:
    """Rebuild the peer table: per stage and subject, the PEER_HEAD courses most teachers of that
    group completed or took up in the last year. Three grouped queries; the table is replaced in one
    transaction."""
    now = now or timezone.now()
    activities = course_of_activity(scope)
    counts: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    credited = (visible(scope, StatementCredit)
                .filter(state=CreditState.CREDITED, created_at__gte=now - dt.timedelta(days=PEER_WINDOW_DAYS),
                        teacher__isnull=False)
                .values_list("teacher__stage", "teacher__subjects__subject", "credited_activity_id"))
    # A teacher has at most one credited row for an activity matched by its exact IRI (the ledger's
    # once-per-activity constraint), so those rows are counted plainly, which PostgreSQL aggregates
    # in parallel; only prefix activities (a row per module) need the distinct count and its sort.
    exact = credited.filter(credited_activity__is_prefix=False).annotate(learners=Count("teacher_id")).order_by()
    prefixed = (credited.filter(credited_activity__is_prefix=True)
                .annotate(learners=Count("teacher_id", distinct=True)).order_by())
    with roomy_transaction("64MB"):  # ~600,000 groups at the province's scale: hashed in memory
        rows = [*exact, *prefixed]
    for stage, subject, activity_id, learners in rows:
        course_id = activities.get(activity_id)
        if subject and course_id is not None:
            counts[(stage, subject)][course_id] += learners
    # Courses taken up on the player and not yet finished (a finished one is a credited completion above).
    taken = (visible(scope, CourseEnrolment)
             .filter(enrolled_at__gte=now - dt.timedelta(days=PEER_WINDOW_DAYS)).exclude(state=StudyState.COMPLETED)
             .values_list("teacher__stage", "teacher__subjects__subject", "course_id")
             .annotate(learners=Count("teacher_id", distinct=True)).order_by())
    for stage, subject, course_id, learners in taken:
        if subject:
            counts[(stage, subject)][course_id] += learners
    fresh = [PeerPopularity(stage=stage, subject=subject, course_id=course_id, learners=learners)
             for (stage, subject), by_course in counts.items()
             for course_id, learners in sorted(by_course.items(), key=lambda kv: (-kv[1], kv[0]))[:PEER_HEAD]]
    with transaction.atomic():
        PeerPopularity.objects.all().delete()
        PeerPopularity.objects.bulk_create(fresh, batch_size=5000)
    return len(fresh)


@dataclass
class Library:
    """What every list is scored against (see the module's docstring)."""

    catalogue: engine.Catalogue
    activities: dict[int, int]  # credited activity -> course
    required_of: dict[int, frozenset[str]]
    built_on: dt.date
    owner_paths: frozenset[str] = frozenset()  # the divisions that own a published course
    open_by_key: dict[str, frozenset[int]] = field(default_factory=dict)
    key_by_home: dict[str, str] = field(default_factory=dict)

    def open_key(self, home: str) -> str:
        """A published course is open or not by its owning division: homes to which the policy
        opens the same owners' courses (every county where only the province publishes) share one
        read and one mask."""
        if home not in self.key_by_home:
            self.key_by_home[home] = "|".join(sorted(open_owners(home, self.owner_paths)))
        return self.key_by_home[home]

    def open_ids(self, home: str) -> frozenset[int]:
        key = self.open_key(home)
        if key not in self.open_by_key:
            self.open_by_key[key] = open_course_ids(home)
        return self.open_by_key[key]


def library_build(*, now: dt.datetime, model: collaborative.Model | None) -> Library:
    scope = province_scope()
    cards = course_cards(scope)
    titles = {card.id: card.title for card in cards} | (model.titles if model else {})
    catalogue = engine.Catalogue.build(cards, now=now, model_ids=model.course_ids if model else None,
                                       model_links=model.neighbours if model else None, titles=titles,
                                       peer_counts=peer_table(), model_trend=model.trend if model else None,
                                       trend_weight=model.trend_weight if model else 0.0,
                                       half_life=model.half_life if model else None)
    return Library(catalogue=catalogue, activities=course_of_activity(scope), required_of=required_of_courses(scope),
                   built_on=timezone.localdate(now), owner_paths=course_owner_paths(scope))


_current: dict[str, tuple[tuple, Library, float]] = {}
_lock = threading.Lock()
LIBRARY_CHECK_SECONDS = 30  # how long a process trusts its library before asking whether it changed


def library_current(*, now: dt.datetime) -> Library:
    """This process's library, rebuilt when the published courses, the peer table or the saved
    model changed (two aggregate queries and a file stamp find out, at most every
    LIBRARY_CHECK_SECONDS: a course published a moment ago may wait that long), or the day turned."""
    path, written, today = str(collaborative.model_path()), collaborative.stamp(), timezone.localdate(now)
    held = _current.get("library")
    if held is not None and time.monotonic() - held[2] < LIBRARY_CHECK_SECONDS and held[0][-3:] == (path, written, today):
        return held[1]
    scope = province_scope()
    courses = visible(scope, Course).filter(state=CourseState.PUBLISHED).aggregate(n=Count("id"), last=Max("updated_at"))
    peers = PeerPopularity.objects.aggregate(n=Count("id"), last=Max("id"))
    key = (courses["n"], courses["last"], peers["n"], peers["last"], path, written, today)
    with _lock:
        held = _current.get("library")
        library = held[1] if held is not None and held[0] == key else library_build(now=now, model=collaborative.current())
        _current["library"] = (key, library, time.monotonic())
        return library


def library_forget() -> None:
    """Drop this process's library (tests that change courses within the trust window)."""
    _current.clear()


def push_compute(scope: Scope, teachers: list[Teacher], *, now: dt.datetime, library: Library,
                 studied: dict[int, History] | None = None, weak: dict[int, str] | None = None
                 ) -> dict[int, list[Pick]]:
    """Each teacher's list. `scope` reads the teachers' own rows (their history, hours, subjects);
    facts about courses come from the library, read province-wide, so a list does not depend on
    who asked for it."""
    if studied is None:
        studied = histories(scope, [t.pk for t in teachers], activities=library.activities)
    needs = teacher_needs(scope, teachers, studied=studied, required_of=library.required_of,
                          today=timezone.localdate(now), weak=weak)
    nothing = History.of([])
    scoring = [engine.Teacher(
        stage=needs[t.pk].stage, subjects=needs[t.pk].subjects, home=library.open_key(t.division_path),
        open_ids=library.open_ids(t.division_path), history=studied.get(t.pk, nothing).courses,
        history_times=studied.get(t.pk, nothing).times,
        filled=needs[t.pk].filled, missing_required=needs[t.pk].missing_required,
        weak_topic=needs[t.pk].weak_topic) for t in teachers]
    scored = [found for start in range(0, len(scoring), SCORE_SLICE)
              for found in engine.score(library.catalogue, scoring[start:start + SCORE_SLICE])]
    return {t.pk: rank(needs[t.pk], found.pool, similar=found.similar, peers=found.peers, scores=found.scores, now=now,
                       k=PUSH_SIZE) for t, found in zip(teachers, scored, strict=True)}


def _items(picks: list[Pick]) -> list[dict]:
    return [{"course": p.course_id, "score": p.score, "reason": p.reason, "signal": p.signal} for p in picks]


def push_store(scope: Scope, teacher: Teacher, *, now: dt.datetime | None = None, basis: str | None = None,
               weak: dict[int, str] | None = None) -> TeacherPush:
    """Compute one teacher's list now and store it (the on-demand path). `basis`: the teacher's
    fingerprint when the caller has just read it (`selectors.push_for`), so it is not read twice;
    `weak`, likewise, the teacher's `weak_topics`."""
    now = now or timezone.now()
    weak = weak_topics(scope, [teacher.pk]) if weak is None else weak  # read once: the list and its basis need it
    if basis is None:
        cycle = current_cycle(timezone.localdate(now))
        basis = bases_for(scope, [teacher], cycle.pk if cycle else None, weak=weak)[teacher.pk]
    picks = push_compute(scope, [teacher], now=now, library=library_current(now=now), weak=weak)[teacher.pk]
    row = TeacherPush(teacher_id=teacher.pk, items=_items(picks), basis=basis, computed_at=now)
    _store([(teacher.pk, row.items, basis)], now=now)
    return row


def push_refresh_all(*, now: dt.datetime | None = None, teachers_per_task: int = RANGE, refit: bool = False
                     ) -> dict[str, int]:
    """The nightly batch: every history once to fit the model, the peer table, then the teachers
    in id ranges, each range a task of its own (`learning.tasks.push_refresh_range_task`), so the
    workers share them out; inline where Celery runs eagerly."""
    from learning.tasks import push_refresh_range_task

    now = now or timezone.now()
    scope = province_scope()
    model = collaborative.current()
    written = collaborative.stamp()
    # Links between courses change slowly: the model is refitted every LEARNING_PUSH_REFIT_DAYS
    # (or when there is none yet); every night scores every teacher with the current one.
    if model is None or written is None or time.time() - written > settings.LEARNING_PUSH_REFIT_DAYS * 86400 or refit:
        # Only the teachers the model is fitted on are read (a quarter of the province's histories at L).
        every = np.fromiter(visible(scope, Teacher).order_by().values_list("id", flat=True).iterator(chunk_size=50000),
                            dtype=np.int64)
        sample = collaborative.fit_sample(every)
        model = collaborative.fit_and_save(scope, interactions.load(
            scope, course_of_activity(scope), teachers_among=sample if len(sample) < len(every) else None))
    peers_written = peers_refresh(scope, now=now)
    ranges = teacher_ranges(scope, teachers_per_task)
    for low, high, _ in ranges:
        push_refresh_range_task.delay(low, high, now.isoformat())
    log.info("push: model of %s courses, %s peer rows, %s ranges queued", model.size if model else 0, peers_written,
             len(ranges))
    return {"teachers": sum(count for _, _, count in ranges), "ranges": len(ranges), "peer_rows": peers_written,
            "courses_in_model": model.size if model else 0}


def teacher_ranges(scope: Scope, size: int) -> list[tuple[int, int, int]]:
    """(first id, last id, active teachers) of consecutive ranges of about `size` active teachers."""
    ids = visible(scope, Teacher).filter(status=Status.ACTIVE).order_by("id").values_list("id", flat=True)
    found, batch = [], []
    for pk in ids.iterator(chunk_size=50000):
        batch.append(pk)
        if len(batch) == size:
            found.append((batch[0], batch[-1], len(batch)))
            batch = []
    if batch:
        found.append((batch[0], batch[-1], len(batch)))
    return found


def push_refresh_range(low: int, high: int, *, now: dt.datetime, chunk: int = CHUNK) -> int:
    """Every active teacher's list with an id from `low` to `high`: their histories in one read,
    then chunks of a fixed number of queries and one bulk write each."""
    # The collector need not scan the library and the histories; the range's grouped queries run
    # faster than PostgreSQL compiles them.
    with fewer_collections(), without_jit():
        return _refresh_range(low, high, now=now, chunk=chunk)


def _refresh_range(low: int, high: int, *, now: dt.datetime, chunk: int) -> int:
    scope = province_scope()
    library = library_current(now=now)
    by_teacher = interactions.ByTeacher(interactions.load(scope, library.activities, teachers_between=(low, high)))
    # The fingerprints' counts for the whole range at once, read with the histories: a list and the
    # fingerprint stored with it describe the same moment.
    done = credited_counts(scope, between=(low, high))
    cycle = current_cycle(timezone.localdate(now))
    active = visible(scope, Teacher).filter(status=Status.ACTIVE, pk__gte=low, pk__lte=high).order_by("id")
    written, after = 0, low - 1
    while True:
        teachers = list(active.filter(pk__gt=after).only("id", "stage", "hire_date", "division_path")[:chunk])
        if not teachers:
            return written
        after = teachers[-1].pk
        ids = [t.pk for t in teachers]
        weak = weak_topics(scope, ids)  # read once: both the lists and their fingerprints need it
        lists = push_compute(scope, teachers, now=now, library=library, studied=by_teacher.histories(ids), weak=weak)
        bases = bases_for(scope, teachers, cycle.pk if cycle else None, weak=weak, done=done)
        _store([(pk, _items(lists[pk]), bases[pk]) for pk in ids], now=now)
        written += len(ids)


def _store(rows: list[tuple[int, list[dict], str]], *, now: dt.datetime) -> None:
    """Upsert a chunk's lists: on PostgreSQL one COPY into a temporary table and one INSERT … ON
    CONFLICT (the ORM's multi-row insert spends most of its time quoting JSON); a few lists (one
    teacher on demand) and other databases by the ORM's one upsert."""
    if connection.vendor != "postgresql" or len(rows) < ORM_STORE_BELOW:
        TeacherPush.objects.bulk_create(
            [TeacherPush(teacher_id=pk, items=items, basis=basis, computed_at=now) for pk, items, basis in rows],
            update_conflicts=True, unique_fields=["teacher"], update_fields=["items", "basis", "computed_at"],
            batch_size=1000)
        return
    table = TeacherPush._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS push_chunk (teacher_id bigint, items jsonb, basis text) "
                       "ON COMMIT DELETE ROWS")
        cursor.execute("TRUNCATE push_chunk")  # an outer transaction may still hold the last chunk
        with cursor.cursor.copy("COPY push_chunk (teacher_id, items, basis) FROM STDIN") as copy:
            for pk, items, basis in rows:
                copy.write_row((pk, orjson.dumps(items).decode(), basis))
        cursor.execute(
            f"INSERT INTO {table} (teacher_id, items, basis, computed_at) "  # noqa: S608 - the model's own table
            "SELECT teacher_id, items, basis, %s FROM push_chunk "
            "ON CONFLICT (teacher_id) DO UPDATE SET items = EXCLUDED.items, basis = EXCLUDED.basis, "
            "computed_at = EXCLUDED.computed_at", [now])
