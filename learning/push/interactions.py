"""Every teacher's study history as three arrays, for fitting the model and scoring in bulk.

A pair (teacher, course) with the time it was studied: each credited completion of a course's
activity through the LRS. At the province's scale that is ~100 M rows, so on PostgreSQL they
are read with one binary COPY of the scoped query and parsed by numpy, never as Python objects;
SQLite (small installations, tests) reads the same query row by row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import F, IntegerField, QuerySet
from django.db.models.functions import Cast

from access.policy import visible
from access.scope import Scope
from lrs.models import CreditState, StatementCredit

# One tuple of COPY's binary format for (int4, int4, int4): a field count, then length + value each.
_TUPLE = np.dtype([("fields", ">i2"), ("l1", ">i4"), ("a", ">i4"), ("l2", ">i4"), ("b", ">i4"), ("l3", ">i4"),
                   ("c", ">i4")])
_HEADER = 19  # "PGCOPY\n\377\r\n\0" + flags (4) + header extension length (4)
_PARSE_BYTES = 64 * 1024 * 1024  # parse as the stream arrives, so the raw bytes never pile up


@dataclass(frozen=True)
class Studied:
    course_id: int
    at: dt.datetime


@dataclass(frozen=True)
class Interactions:
    teachers: np.ndarray  # teacher ids (int64)
    courses: np.ndarray  # course ids (int64)
    times: np.ndarray  # epoch seconds (float64)

    def __len__(self) -> int:
        return len(self.teachers)


def _completions(scope: Scope) -> QuerySet:
    return (visible(scope, StatementCredit).filter(state=CreditState.CREDITED, teacher__isnull=False)
            .annotate(t=Cast(F("teacher_id"), IntegerField()), a=Cast(F("credited_activity_id"), IntegerField()))
            .values_list("t", "a", "created_at"))


def load(scope: Scope, course_of_activity: dict[int, int]) -> Interactions:
    """The history, mapped from credited activities to courses (completions of activities that are
    no course of the library are left out)."""
    teachers, activities, times = _read(_completions(scope))
    lookup = np.full(max(course_of_activity, default=0) + 1, -1, dtype=np.int64)
    for activity, course in course_of_activity.items():
        lookup[activity] = course
    known = activities < len(lookup)
    courses = np.full(len(activities), -1, dtype=np.int64)
    courses[known] = lookup[activities[known]]
    keep = courses >= 0
    return Interactions(teachers=teachers[keep], courses=courses[keep], times=times[keep])


def _read(rows: QuerySet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if connection.vendor == "postgresql":
        return _copy(rows)
    found = [(t, a, at.timestamp()) for t, a, at in rows.iterator(chunk_size=20000)]
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    data = np.asarray(found, dtype=np.float64)
    return data[:, 0].astype(np.int64), data[:, 1].astype(np.int64), data[:, 2]


def _copy(rows: QuerySet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sql, params = rows.query.sql_with_params()
    # The queryset's SQL with its third column as whole epoch seconds, truncated (an int4 until 2038).
    outer = f"SELECT q.t, q.a, floor(extract(epoch FROM q.created_at))::int4 FROM ({sql}) AS q"  # noqa: S608 - the ORM's SQL, params apart
    parts: list[np.ndarray] = []
    pending = bytearray()
    started = False
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY ({outer}) TO STDOUT (FORMAT binary)", params) as copy:
        for block in copy:
            pending += block
            if not started and len(pending) >= _HEADER:
                del pending[:_HEADER]
                started = True
            if started and len(pending) >= _PARSE_BYTES:
                whole = len(pending) // _TUPLE.itemsize * _TUPLE.itemsize
                parts.append(np.frombuffer(bytes(pending[:whole]), dtype=_TUPLE).copy())
                del pending[:whole]
    tail = len(pending) - 2  # the trailer is one int16 (-1)
    if started and tail > 0:
        parts.append(np.frombuffer(bytes(pending[:tail]), dtype=_TUPLE).copy())
    parsed = np.concatenate(parts) if parts else np.zeros(0, dtype=_TUPLE)
    return parsed["a"].astype(np.int64), parsed["b"].astype(np.int64), parsed["c"].astype(np.float64)


class ByTeacher:
    """The interactions sorted by teacher, so a chunk of teachers' histories is two binary searches."""

    def __init__(self, found: Interactions):
        order = np.lexsort((found.times, found.teachers))
        self.teachers = found.teachers[order]
        self.courses = found.courses[order]
        self.times = found.times[order]

    def histories(self, teacher_ids: list[int]) -> dict[int, list[Studied]]:
        """teacher id -> the courses studied, oldest first, each once (its first time)."""
        if not teacher_ids or not len(self.teachers):
            return {}
        low = int(np.searchsorted(self.teachers, min(teacher_ids), side="left"))
        high = int(np.searchsorted(self.teachers, max(teacher_ids), side="right"))
        wanted = set(teacher_ids)
        found: dict[int, list[Studied]] = {}
        seen: set[tuple[int, int]] = set()
        for teacher, course, at in zip(self.teachers[low:high].tolist(), self.courses[low:high].tolist(),
                                       self.times[low:high].tolist(), strict=True):
            if teacher in wanted and (teacher, course) not in seen:
                seen.add((teacher, course))
                found.setdefault(teacher, []).append(Studied(course, dt.datetime.fromtimestamp(at, dt.UTC)))
        return found
