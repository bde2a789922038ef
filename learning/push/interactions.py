"""Every teacher's study history as three arrays, for fitting the model and scoring in bulk.

A pair (teacher, course) with the time it was studied: each credited completion of a course's
activity through the LRS (from the platform's player or any provider), and each course taken up
on the player. At the province's scale that is ~100 M rows, so on PostgreSQL they
are read with one binary COPY of the scoped query and parsed by numpy, never as Python objects;
SQLite (small installations, tests) reads the same query row by row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import F, IntegerField, Max, Min, QuerySet
from django.db.models.functions import Cast

from access.policy import visible
from access.scope import Scope
from learning.models import CourseEnrolment
from lrs.models import CreditState, StatementCredit

_HEADER = 19  # "PGCOPY\n\377\r\n\0" + flags (4) + header extension length (4)
_BUCKET = 20_000  # teacher ids per COPY row


@dataclass(frozen=True)
class History:
    """One teacher's studied courses, oldest first, each once (at its first time)."""

    courses: np.ndarray  # course ids (int64)
    times: np.ndarray  # epoch seconds (float64)

    @classmethod
    def of(cls, pairs: list[tuple[int, float]]) -> History:
        first: dict[int, float] = {}
        for course, at in pairs:
            if course not in first or at < first[course]:
                first[course] = at
        ordered = sorted(first.items(), key=lambda kv: (kv[1], kv[0]))
        return cls(courses=np.asarray([c for c, _ in ordered], dtype=np.int64),
                   times=np.asarray([t for _, t in ordered], dtype=np.float64))


@dataclass(frozen=True)
class Interactions:
    teachers: np.ndarray  # teacher ids (int64)
    courses: np.ndarray  # course ids (int64)
    times: np.ndarray  # epoch seconds (float64)

    def __len__(self) -> int:
        return len(self.teachers)


def _completions(scope: Scope) -> QuerySet:
    """Credited completions: (teacher, credited activity, when)."""
    return (visible(scope, StatementCredit).filter(state=CreditState.CREDITED, teacher__isnull=False)
            .annotate(t=Cast(F("teacher_id"), IntegerField()), a=Cast(F("credited_activity_id"), IntegerField()),
                      at=F("created_at"))
            .values_list("t", "a", "at"))


def _enrolments(scope: Scope) -> QuerySet:
    """Courses taken up on the platform's player: (teacher, course, when enrolled)."""
    return (visible(scope, CourseEnrolment)
            .annotate(t=Cast(F("teacher_id"), IntegerField()), a=Cast(F("course_id"), IntegerField()),
                      at=F("enrolled_at"))
            .values_list("t", "a", "at"))


def load(scope: Scope, course_of_activity: dict[int, int], *, teachers_between: tuple[int, int] | None = None,
         teachers_among: np.ndarray | None = None) -> Interactions:
    """The history (of the teachers with ids in `teachers_between`, both ends included, or of the
    sorted ids `teachers_among` only): credited completions mapped from their activities to
    courses (activities that are no course of the library are left out), and the courses taken
    up on the player."""
    rows, taken = _completions(scope), _enrolments(scope)
    if teachers_between is not None:
        rows = rows.filter(teacher_id__gte=teachers_between[0], teacher_id__lte=teachers_between[1])
        taken = taken.filter(teacher_id__gte=teachers_between[0], teacher_id__lte=teachers_between[1])
    # `teachers_among`: read only these (at the province's scale the rest is most of ~100 M rows).
    teachers, activities, times = _read(rows, among=teachers_among)
    lookup = np.full(max(course_of_activity, default=0) + 1, -1, dtype=np.int64)
    for activity, course in course_of_activity.items():
        lookup[activity] = course
    known = activities < len(lookup)
    courses = np.full(len(activities), -1, dtype=np.int64)
    courses[known] = lookup[activities[known]]
    keep = courses >= 0
    enrolled_by, enrolled_in, enrolled_at = _read(taken, among=teachers_among)
    return Interactions(teachers=np.concatenate([teachers[keep], enrolled_by]),
                        courses=np.concatenate([courses[keep], enrolled_in]),
                        times=np.concatenate([times[keep], enrolled_at]))


def _read(rows: QuerySet, among: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if connection.vendor == "postgresql":
        return _copy(rows, among)
    # SQLite (small installations): every row, the unwanted dropped here (an IN list of every
    # wanted id would pass SQLite's limit on parameters).
    found = [(t, a, at.timestamp()) for t, a, at in rows.iterator(chunk_size=20000)]
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    data = np.asarray(found, dtype=np.float64)
    if among is not None:
        data = data[np.isin(data[:, 0].astype(np.int64), among)]
    return data[:, 0].astype(np.int64), data[:, 1].astype(np.int64), data[:, 2]


def _copy(rows: QuerySet, among: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows in ranges of teacher ids, each range one COPY row of three int4 arrays: a handful
    of messages instead of one per interaction (psycopg handles each message in Python). With
    `among` (sorted ids), each range reads only those of its teachers."""
    bounds = rows.aggregate(low=Min("t"), high=Max("t"))
    if bounds["low"] is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for start in range(bounds["low"], bounds["high"] + 1, _BUCKET):
        bucket = rows.filter(teacher_id__gte=start, teacher_id__lt=start + _BUCKET)
        if among is not None:
            wanted = among[np.searchsorted(among, start):np.searchsorted(among, start + _BUCKET)]
            if not len(wanted):
                continue
            bucket = bucket.filter(teacher_id__in=wanted.tolist())
        sql, params = bucket.query.sql_with_params()
        # The ORM's SQL (its params apart) inside an aggregate.
        outer = f"SELECT array_agg(q.t), array_agg(q.a), array_agg(floor(extract(epoch FROM q.at))::int4) FROM ({sql}) AS q"  # noqa: S608, E501
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY ({outer}) TO STDOUT (FORMAT binary)",
                                                                params) as copy:
            data = b"".join(bytes(block) for block in copy)
        parts.append(_arrays(data))
    return tuple(np.concatenate([part[n] for part in parts]) for n in range(3))  # type: ignore[return-value]


def _arrays(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three int4 arrays from one row of COPY's binary format (a NULL when the range was empty)."""
    offset = _HEADER + 2  # the header, then the row's field count
    found = []
    for _ in range(3):
        length = int.from_bytes(data[offset:offset + 4], "big", signed=True)
        offset += 4
        if length < 0:  # array_agg over no rows
            found.append(np.zeros(0, dtype=np.int64))
            continue
        ndim = int.from_bytes(data[offset:offset + 4], "big")
        count = int.from_bytes(data[offset + 12:offset + 16], "big") if ndim else 0
        start = offset + 12 + 8 * ndim  # ndim, has-null, element type, then (size, lower bound) per dimension
        # Each element: its length (4) and the int4 value.
        values = np.frombuffer(data, dtype=np.dtype([("l", ">i4"), ("v", ">i4")]), count=count, offset=start)
        found.append(values["v"].astype(np.int64))
        offset += length
    return found[0], found[1], found[2].astype(np.float64)


class ByTeacher:
    """The interactions, each (teacher, course) once at its first time, sorted by teacher and time:
    a chunk of teachers' histories is two binary searches and a split, no Python per interaction."""

    def __init__(self, found: Interactions):
        order = np.lexsort((found.times, found.courses, found.teachers))
        teachers, courses, times = found.teachers[order], found.courses[order], found.times[order]
        first = np.ones(len(teachers), dtype=bool)
        first[1:] = (teachers[1:] != teachers[:-1]) | (courses[1:] != courses[:-1])
        teachers, courses, times = teachers[first], courses[first], times[first]
        order = np.lexsort((courses, times, teachers))
        self.teachers, self.courses, self.times = teachers[order], courses[order], times[order]

    def histories(self, teacher_ids: list[int]) -> dict[int, History]:
        if not teacher_ids or not len(self.teachers):
            return {}
        low = int(np.searchsorted(self.teachers, min(teacher_ids), side="left"))
        high = int(np.searchsorted(self.teachers, max(teacher_ids), side="right"))
        teachers = self.teachers[low:high]
        if not len(teachers):
            return {}
        starts = np.flatnonzero(np.r_[True, teachers[1:] != teachers[:-1]])
        ends = np.r_[starts[1:], len(teachers)]
        wanted = set(teacher_ids)
        courses, times = self.courses[low:high], self.times[low:high]
        return {int(teachers[a]): History(courses=courses[a:b], times=times[a:b])
                for a, b in zip(starts.tolist(), ends.tolist(), strict=True) if int(teachers[a]) in wanted}
