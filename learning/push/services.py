"""Computing and storing the pushed lists: the nightly batch for every teacher, and one teacher
on demand when their list is stale (see `selectors.push_for`).

The batch reads as the province: it fits the learned model on every history once, refreshes
the peer table, then walks the teachers in id order in chunks — each chunk is a fixed number of
queries and one bulk upsert, so memory and time grow with the chunk, not the province.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from access.policy import visible
from access.scope import Scope
from credits.selectors import current_cycle
from learning.models import PeerPopularity, TeacherPush
from learning.push import collaborative, interactions
from learning.push.inputs import (
    PEER_HEAD,
    PEER_WINDOW_DAYS,
    bases_for,
    course_cards,
    course_of_activity,
    histories,
    peer_scores,
    peer_table,
    required_of_courses,
    teacher_needs,
)
from learning.push.interactions import Studied
from learning.push.ranking import OpenCourses, Pick, rank
from lrs.models import CreditState, StatementCredit
from org.models import Division
from people.constants import Status
from people.models import Teacher

log = logging.getLogger(__name__)
PUSH_SIZE = 10
CHUNK = 2000


def province_scope() -> Scope:
    return Scope.division(Division.objects.get(level="province"))


def peers_refresh(scope: Scope, *, now: dt.datetime | None = None) -> int:
    """Rebuild the peer table: per stage and subject, the PEER_HEAD courses most teachers of that
    group completed in the last year. One grouped query; the table is replaced in one transaction."""
    now = now or timezone.now()
    activities = course_of_activity(scope)
    counts: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    rows = (visible(scope, StatementCredit)
            .filter(state=CreditState.CREDITED, created_at__gte=now - dt.timedelta(days=PEER_WINDOW_DAYS),
                    teacher__isnull=False)
            .values_list("teacher__stage", "teacher__subjects__subject", "credited_activity_id")
            .annotate(learners=Count("teacher_id", distinct=True)).order_by())
    for stage, subject, activity_id, learners in rows:
        course_id = activities.get(activity_id)
        if subject and course_id is not None:
            counts[(stage, subject)][course_id] += learners
    fresh = [PeerPopularity(stage=stage, subject=subject, course_id=course_id, learners=learners)
             for (stage, subject), by_course in counts.items()
             for course_id, learners in sorted(by_course.items(), key=lambda kv: (-kv[1], kv[0]))[:PEER_HEAD]]
    with transaction.atomic():
        PeerPopularity.objects.all().delete()
        PeerPopularity.objects.bulk_create(fresh, batch_size=5000)
    return len(fresh)


def _items(picks: list[Pick]) -> list[dict]:
    return [{"course": p.course_id, "score": p.score, "reason": p.reason, "signal": p.signal} for p in picks]


def push_compute(scope: Scope, teachers: list[Teacher], *, now: dt.datetime, model: collaborative.Model | None,
                 open_by_home: dict[str, OpenCourses] | None = None,
                 peers: dict[tuple[str, str], dict[int, int]] | None = None,
                 studied: dict[int, list[Studied]] | None = None) -> dict[int, list[Pick]]:
    """Each teacher's list, from inputs read in bulk (a fixed number of queries for the whole list).
    `scope` reads the teachers' own rows (their history, hours, subjects); facts about courses
    (which course an activity is, its required content) are read province-wide, so a list does not
    depend on who asked for it."""
    open_by_home = open_by_home if open_by_home is not None else {}
    courses_scope = province_scope()
    activities = course_of_activity(courses_scope)
    if studied is None:
        studied = histories(scope, [t.pk for t in teachers], activities=activities)
    needs = teacher_needs(scope, teachers, studied=studied, required_of=required_of_courses(courses_scope),
                          today=timezone.localdate(now))
    for teacher in teachers:
        if teacher.division_path not in open_by_home:
            open_by_home[teacher.division_path] = OpenCourses(course_cards(teacher.division_path), now)
    similars: dict[int, dict] = {}
    if model is not None:
        found = model.similar_many([[s.course_id for s in studied.get(t.pk, [])] for t in teachers],
                                   [open_by_home[t.division_path].ids for t in teachers])
        similars = {t.pk: f for t, f in zip(teachers, found, strict=True)}
    lists = {}
    for teacher in teachers:
        courses = open_by_home[teacher.division_path]
        need = needs[teacher.pk]
        similar = similars.get(teacher.pk, {})
        peer = peer_scores(need.stage, need.subjects, table=peers)
        lists[teacher.pk] = rank(need, courses.pool(need, similar, peer), similar=similar, peers=peer, now=now,
                                 k=PUSH_SIZE)
    return lists


def push_store(scope: Scope, teacher: Teacher, *, model: collaborative.Model | None = None,
               now: dt.datetime | None = None) -> TeacherPush:
    """Compute one teacher's list now and store it (the on-demand path)."""
    now = now or timezone.now()
    cycle = current_cycle(timezone.localdate(now))
    basis = bases_for(scope, [teacher], cycle.pk if cycle else None)[teacher.pk]
    if model is None:
        model = collaborative.current()
    picks = push_compute(scope, [teacher], now=now, model=model)[teacher.pk]
    row = TeacherPush(teacher_id=teacher.pk, items=_items(picks), basis=basis, computed_at=now)
    TeacherPush.objects.bulk_create([row], update_conflicts=True, unique_fields=["teacher"],
                                    update_fields=["items", "basis", "computed_at"])
    return row


def push_refresh_all(*, now: dt.datetime | None = None, chunk: int = CHUNK) -> dict[str, int]:
    """The nightly batch: fit, refresh the peer table, then every active teacher's list."""
    now = now or timezone.now()
    scope = province_scope()
    everything = interactions.load(scope, course_of_activity(scope))
    model = collaborative.fit_and_save(scope, everything)
    by_teacher = interactions.ByTeacher(everything)
    del everything
    peers_written = peers_refresh(scope, now=now)
    peers = peer_table()
    cycle = current_cycle(timezone.localdate(now))
    open_by_home: dict[str, OpenCourses] = {}
    written = 0
    after = 0
    teachers_seen = visible(scope, Teacher).filter(status=Status.ACTIVE).order_by("id")
    while True:
        teachers = list(teachers_seen.filter(pk__gt=after).only("id", "stage", "hire_date", "division_path")[:chunk])
        if not teachers:
            break
        after = teachers[-1].pk
        lists = push_compute(scope, teachers, now=now, model=model, open_by_home=open_by_home, peers=peers,
                             studied=by_teacher.histories([t.pk for t in teachers]))
        bases = bases_for(scope, teachers, cycle.pk if cycle else None)
        rows = [TeacherPush(teacher_id=t.pk, items=_items(lists[t.pk]), basis=bases[t.pk], computed_at=now)
                for t in teachers]
        TeacherPush.objects.bulk_create(rows, update_conflicts=True, unique_fields=["teacher"],
                                        update_fields=["items", "basis", "computed_at"], batch_size=1000)
        written += len(rows)
    log.info("push refreshed: %s teachers, %s peer rows", written, peers_written)
    return {"teachers": written, "peer_rows": peers_written, "courses_in_model": model.size if model else 0}
