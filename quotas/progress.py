"""Writes and checks of the high-end task's progress table (`HighEndCompletion`).

One row per teacher, task level and cycle: the teacher completed a high-end project of that level
whose end date lies inside the cycle. The rows are written by the system, never through a route:

- `completions_record(enrolment_ids)`: when completion is judged (`catalog.attendance.
  project_complete`, inside each teacher's transaction), for those enrolments that now count.
  Set-based and idempotent: a teacher already counted for the level and cycle, or an enrolment
  already recorded, adds nothing, so judging again (or calling it twice) changes nothing.
- `completions_backfill()`: the same for every completed enrolment in one INSERT … SELECT (the
  data migration, the synthetic data, the benchmarks' builders, a cycle added after the fact).
- `completions_rebuild(teacher_ids=None)`: drops the rows whose enrolment no longer counts (no
  longer completed, its project no longer high-end, of another level, or moved out of the cycle
  by a change of its end date) and adds what is missing; `project_completions_resync(project)`
  does it for one project's teachers after the project's dates or high-end flag change.
- `completions_verify()`: compares the table with the enrolments (missing rows, rows that no
  longer count, teachers who moved since).

Which division a teacher counts for: the division (and school) the teacher belonged to when the
completion was recorded, so moving later does not take the completion along. Rows made by the
backfill take the teacher's division at the time of the backfill (the enrolments keep no history
of it). When a teacher completes several projects of one level in a cycle, the first recorded
counts (the backfill takes the earliest completion)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F, Q

from catalog.constants import EnrolmentState
from catalog.models import Enrolment, Project
from quotas.progress_models import HighEndCompletion
from quotas.target_models import TaskLevel

LEVELS = tuple(TaskLevel.values)
BATCH = 500

# The rows a set of completed enrolments gives: per teacher, level and cycle the earliest completion
# (then the lowest enrolment id); conflicts (already counted, or the enrolment already recorded) are
# skipped. Portable SQL (PostgreSQL and SQLite): a window, and ON CONFLICT DO NOTHING.
_INSERT = """
INSERT INTO quotas_highendcompletion (teacher_id, level, cycle_id, division_path, school_id, enrolment_id,
                                      project_id, completed_at)
SELECT teacher_id, level, cycle_id, division_path, school_id, enrolment_id, project_id, completed_at FROM (
    SELECT e.teacher_id, p.level, c.id AS cycle_id, t.division_path, t.school_id, e.id AS enrolment_id,
           p.id AS project_id, e.completed_at,
           ROW_NUMBER() OVER (PARTITION BY e.teacher_id, p.level, c.id
                              ORDER BY e.completed_at IS NULL, e.completed_at, e.id) AS n
    FROM catalog_enrolment e
    JOIN catalog_project p ON p.id = e.project_id
    JOIN people_teacher t ON t.id = e.teacher_id
    JOIN credits_cycle c ON p.ends_on >= c.starts_on AND p.ends_on <= c.ends_on
    WHERE e.state = %s AND p.is_high_end = %s AND p.level IN (%s, %s, %s) {where}
) AS q
WHERE n = 1
ON CONFLICT DO NOTHING
"""

# Qualifying (teacher, level, cycle) groups that have no row.
_MISSING = """
SELECT COUNT(*) FROM (
    SELECT DISTINCT e.teacher_id, p.level, c.id
    FROM catalog_enrolment e
    JOIN catalog_project p ON p.id = e.project_id
    JOIN credits_cycle c ON p.ends_on >= c.starts_on AND p.ends_on <= c.ends_on
    WHERE e.state = %s AND p.is_high_end = %s AND p.level IN (%s, %s, %s)
      AND NOT EXISTS (SELECT 1 FROM quotas_highendcompletion h
                      WHERE h.teacher_id = e.teacher_id AND h.level = p.level AND h.cycle_id = c.id)
) AS q
"""


def _params() -> list:
    return [EnrolmentState.COMPLETED.value, True, *LEVELS]


def _insert(column: str | None = None, ids: Iterable[int] = ()) -> int:
    """Run the INSERT for every completed enrolment, or those whose `column` is in `ids` (batched)."""
    written = 0
    with connection.cursor() as cursor:
        if column is None:
            cursor.execute(_INSERT.format(where=""), _params())
            return max(cursor.rowcount, 0)
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), BATCH):
            batch = wanted[start : start + BATCH]
            marks = ", ".join(["%s"] * len(batch))
            cursor.execute(
                _INSERT.format(where=f"AND e.{column} IN ({marks})"), [*_params(), *batch]
            )
            written += max(cursor.rowcount, 0)
    return written


def completions_record(enrolment_ids: Iterable[int]) -> int:
    """Record these enrolments where they count (completed, high-end, of a task level, ending in a
    cycle) and the teacher is not yet counted for that level and cycle. Returns the rows added."""
    return _insert("id", enrolment_ids)


def completions_backfill() -> int:
    """Every completed enrolment that counts and is not yet in the table, in one statement."""
    return _insert()


def _stale(teacher_ids: list[int] | None = None):
    """Rows whose enrolment no longer counts for the row's level and cycle."""
    # The system's own table, over every jurisdiction (an operator's command or a service that
    # already authorised its caller).
    rows = HighEndCompletion.objects.dangerously_unscoped().exclude(
        Q(
            enrolment__state=EnrolmentState.COMPLETED,
            enrolment__project__is_high_end=True,
            enrolment__project__level=F("level"),
            enrolment__project__ends_on__gte=F("cycle__starts_on"),
            enrolment__project__ends_on__lte=F("cycle__ends_on"),
            enrolment__teacher_id=F("teacher_id"),
        )
    )
    if teacher_ids is not None:
        rows = rows.filter(teacher_id__in=teacher_ids)
    return rows


def completions_rebuild(teacher_ids: Iterable[int] | None = None) -> dict[str, int]:
    """Drop the rows that no longer count and add the missing ones (for these teachers, or all).
    A teacher's other completion of the level in the cycle, if any, then counts instead."""
    wanted = None if teacher_ids is None else sorted(set(teacher_ids))
    with transaction.atomic():
        removed = 0
        if wanted is None:
            removed, _ = _stale().delete()
            added = completions_backfill()
        else:
            for start in range(0, len(wanted), BATCH):
                deleted, _ = _stale(wanted[start : start + BATCH]).delete()
                removed += deleted
            added = _insert("teacher_id", wanted)
    return {"removed": removed, "added": added}


def project_completions_resync(project: Project) -> dict[str, int]:
    """After a project's end date, level or high-end flag changed: recount its completers."""
    teachers = (
        Enrolment.objects.dangerously_unscoped()
        .filter(project_id=project.pk, state=EnrolmentState.COMPLETED)
        .values_list("teacher_id", flat=True)
    )
    return completions_rebuild(list(teachers))


@dataclass(frozen=True)
class VerifyReport:
    rows: int
    missing: int  # (teacher, level, cycle) with a counting completion but no row
    stale: int  # rows whose completion no longer counts
    moved: int  # rows of teachers now in another division (they count where they completed)

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.stale == 0


def completions_verify() -> VerifyReport:
    """Check the table against the enrolments (four counting queries)."""
    with connection.cursor() as cursor:
        cursor.execute(_MISSING, _params())
        missing = cursor.fetchone()[0]
    every = HighEndCompletion.objects.dangerously_unscoped()
    return VerifyReport(
        rows=every.count(),
        missing=missing,
        stale=_stale().count(),
        moved=every.exclude(division_path=F("teacher__division_path")).count(),
    )
