"""Every teacher's standing in a cycle, computed set-based in SQL.

One query gives, per active teacher: the pro-rated requirement, the counted
hours (approved, each category capped by its rule), pending hours, whether
the requirement and every category minimum are met, and whether the counted
hours keep pace with the time elapsed. It runs on PostgreSQL and SQLite and
agrees exactly with `selectors.teacher_cycle_summary` (a property test holds
them together): the arithmetic is done in whole tenths of an hour and whole
days, so no rounding can differ.

The compliance snapshot groups it by school; drill-down lists read it for one
school's teachers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from credits.constants import Category
from credits.models import Cycle, RuleSet
from people.constants import Status

ORDINAL_EPOCH = dt.date(1, 1, 1)
# Shares of the requirement done that split teachers into the distribution bands.
BAND_EDGES = (20, 40, 60, 80, 100)


def _tenths(value: Decimal | None) -> int | None:
    return None if value is None else int(value * 10)


def _day_number_sql(column: str) -> str:
    """The column's date as Python's date.toordinal(), in this database's dialect."""
    if connection.vendor == "postgresql":
        return f"({column} - DATE '0001-01-01' + 1)"
    return f"CAST(julianday({column}) - 1721425.5 + 1 AS INTEGER)"


@dataclass(frozen=True)
class StandingQuery:
    sql: str
    params: list


def standing_query(*, cycle: Cycle, rule_set: RuleSet, today: dt.date, where: str = "", where_params: tuple = ()) -> StandingQuery:
    """SQL selecting one row per active teacher hired by the cycle's end (optionally
    narrowed by `where`, a condition on the teacher table aliased `t`), with columns:
    teacher_id, school_id, division_path, name, hire_date, required10, counted10,
    pending10, complete (0/1), on_track (0/1), percent, and counted10 per category."""
    rules = {rule.category: rule for rule in rule_set.category_rules.all()}
    start, end = cycle.starts_on.toordinal(), cycle.ends_on.toordinal()
    until = min(today, cycle.ends_on).toordinal()
    total_days = end - start + 1
    required10 = _tenths(rule_set.required_hours)
    params: list = []

    approved_columns = ", ".join(
        f"SUM(CASE WHEN category = '{code}' THEN approved_hours ELSE 0 END) AS a_{code}" for code in Category.values
    )
    capped_columns = []
    for code in Category.values:
        cap = _tenths(rules[code].max_hours) if code in rules else None
        expression = f"CAST(ROUND(COALESCE(c.a_{code}, 0) * 10) AS BIGINT)"
        if cap is not None:
            expression = f"CASE WHEN {expression} > {int(cap)} THEN {int(cap)} ELSE {expression} END"
        capped_columns.append(f"{expression} AS c_{code}")
    minimum_checks = " AND ".join(
        f"c_{code} >= {int(_tenths(rules[code].min_hours) or 0)}"
        for code in Category.values if code in rules and rules[code].min_hours
    ) or "1 = 1"
    counted = " + ".join(f"c_{code}" for code in Category.values)
    hire_day = _day_number_sql("t.hire_date")
    # A narrowed query (one school) sums only its teachers' totals, not the whole cycle's.
    narrow_totals = f"AND teacher_id IN (SELECT t.id FROM people_teacher t WHERE {where})" if where else ""  # noqa: S608
    # Interpolated: integers computed here, category codes from the enum, and the
    # caller's fixed `where` text; every value from outside is a parameter.
    sql = f"""
WITH totals AS (
  SELECT teacher_id, {approved_columns}, SUM(pending_hours) AS pending
  FROM credits_cycletotal WHERE cycle_id = %s {narrow_totals} GROUP BY teacher_id
), capped AS (
  SELECT t.id AS teacher_id, t.school_id, t.division_path, t.name, t.hire_date,
         CASE WHEN {hire_day} > {start} THEN {hire_day} ELSE {start} END AS first_day,
         CAST(ROUND(COALESCE(c.pending, 0) * 10) AS BIGINT) AS pending10,
         {", ".join(capped_columns)}
  FROM people_teacher t LEFT JOIN totals c ON c.teacher_id = t.id
  WHERE t.status = %s AND t.hire_date <= %s {("AND " + where) if where else ""}
), spans AS (
  SELECT capped.*, {counted} AS counted10, {end} - first_day + 1 AS span,
         CASE WHEN {until} - first_day + 1 < 0 THEN 0 ELSE {until} - first_day + 1 END AS elapsed_raw,
         CASE WHEN first_day = {start} THEN {required10}
              ELSE (({required10} * ({end} - first_day + 1) + {total_days * 10} - 1) / {total_days * 10}) * 10 END AS required10
  FROM capped
)
SELECT teacher_id, school_id, division_path, name, hire_date, required10, counted10, pending10,
       CASE WHEN counted10 >= required10 AND {minimum_checks} THEN 1 ELSE 0 END AS complete,
       CASE WHEN counted10 * span >= required10 * (CASE WHEN elapsed_raw > span THEN span ELSE elapsed_raw END)
            THEN 1 ELSE 0 END AS on_track,
       CASE WHEN required10 = 0 OR counted10 >= required10 THEN 100 ELSE counted10 * 100 / required10 END AS percent,
       CASE WHEN first_day > {start} THEN 1 ELSE 0 END AS is_new,
       {", ".join(f"c_{code}" for code in Category.values)}
FROM spans"""  # noqa: S608
    params = [cycle.pk, *(where_params if where else ()), Status.ACTIVE, cycle.ends_on, *where_params]
    return StandingQuery(sql=sql, params=params)


@dataclass(frozen=True)
class TeacherStanding:
    teacher_id: int
    school_id: int
    name: str
    hire_date: dt.date
    required: Decimal
    counted: Decimal
    pending: Decimal
    complete: bool
    on_track: bool
    percent: int
    is_new: bool

    @property
    def owed(self) -> Decimal:
        return max(Decimal(0), self.required - self.counted)


def _hours(tenths) -> Decimal:
    return Decimal(int(tenths)) / 10


def teacher_standings(*, cycle: Cycle, rule_set: RuleSet, today: dt.date, where: str, where_params: tuple,
                      limit: int | None = None) -> list[TeacherStanding]:
    """Standings least done first (`where` is fixed SQL text; values go in `where_params`)."""
    query = standing_query(cycle=cycle, rule_set=rule_set, today=today, where=where, where_params=where_params)
    sql = f"SELECT * FROM ({query.sql}) standing ORDER BY percent, teacher_id"  # noqa: S608
    params = list(query.params)
    if limit is not None:
        sql += " LIMIT %s"
        params.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return [
        TeacherStanding(
            teacher_id=row["teacher_id"], school_id=row["school_id"], name=row["name"],
            hire_date=row["hire_date"] if isinstance(row["hire_date"], dt.date) else dt.date.fromisoformat(row["hire_date"]),
            required=_hours(row["required10"]), counted=_hours(row["counted10"]), pending=_hours(row["pending10"]),
            complete=bool(row["complete"]), on_track=bool(row["on_track"]), percent=int(row["percent"]),
            is_new=bool(row["is_new"]),
        )
        for row in rows
    ]
