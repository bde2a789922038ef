"""Compliance snapshot: every school's roll-up for a cycle, recomputed set-based.

The snapshot is what the province, city and county roll-ups read, so those
pages sum tens of thousands of school rows, never 1.2 M teachers. It is
rebuilt in one transaction (delete + INSERT … SELECT), on a schedule, after
bulk writes, and on demand from the compliance page; the pages say when it
was computed. A school's own teacher list is always computed live.
"""

from __future__ import annotations

import datetime as dt
import time

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from audit.actions import Action
from audit.services import audit_record
from core.dbtuning import roomy_transaction
from core.excel import COUNT, HOURS, TOTAL_LABEL, exporter_name, write_table
from credits.constants import CATEGORY_LABELS, Category
from credits.models import ComplianceRefresh, Cycle, SchoolCompliance
from credits.selectors import rule_set_in_force
from credits.standing import BAND_EDGES, standing_query

REFRESH_LOCK_SECONDS = 15 * 60


def _band_columns() -> str:
    edges = (0, *BAND_EDGES)
    columns = [
        f"SUM(CASE WHEN percent >= {low} AND percent < {high} THEN 1 ELSE 0 END)"
        for low, high in zip(edges, edges[1:], strict=False)
    ]
    columns.append(f"SUM(CASE WHEN percent >= {BAND_EDGES[-1]} THEN 1 ELSE 0 END)")
    return ", ".join(columns)


def compliance_refresh(*, cycle: Cycle, today: dt.date | None = None) -> ComplianceRefresh:
    """Recompute the cycle's school snapshot from the cycle totals."""
    today = today or timezone.localdate()
    rule_set = rule_set_in_force(cycle)
    query = standing_query(cycle=cycle, rule_set=rule_set, today=today)
    categories = ", ".join(f"{code}_hours" for code in Category.values)
    category_sums = ", ".join(f"SUM(c_{code}) / 10.0" for code in Category.values)
    insert = f"""
INSERT INTO credits_schoolcompliance (
  cycle_id, school_id, division_path, teachers, complete, on_track, new_teachers,
  required_hours, counted_hours, pending_hours, owed_hours, {categories},
  band_0, band_1, band_2, band_3, band_4, band_5)
SELECT %s, school_id, MIN(division_path), COUNT(*), SUM(complete), SUM(on_track), SUM(is_new),
       SUM(required10) / 10.0, SUM(counted10) / 10.0, SUM(pending10) / 10.0,
       SUM(CASE WHEN required10 > counted10 THEN required10 - counted10 ELSE 0 END) / 10.0,
       {category_sums}, {_band_columns()}
FROM ({query.sql}) standing GROUP BY school_id"""  # noqa: S608 - fixed column names; values are parameters
    started = time.monotonic()
    with roomy_transaction("128MB"):  # groups every teacher's totals at once
        # A system job over every school: the snapshot is rebuilt whole, so unscoped on purpose.
        SchoolCompliance.objects.dangerously_unscoped().filter(cycle=cycle).delete()
        with connection.cursor() as cursor:
            cursor.execute(insert, [cycle.pk, *query.params])
        teachers = sum(SchoolCompliance.objects.dangerously_unscoped().filter(cycle=cycle).values_list("teachers", flat=True))
        refresh, _ = ComplianceRefresh.objects.update_or_create(cycle=cycle, defaults={
            "as_of": today, "rule_version": rule_set.version, "teachers": teachers,
            "computed_at": timezone.now(), "seconds": round(time.monotonic() - started, 3),
        })
    return refresh


def compliance_refresh_all(*, today: dt.date | None = None) -> list[ComplianceRefresh]:
    return [compliance_refresh(cycle=cycle, today=today) for cycle in Cycle.objects.all()]


def compliance_refresh_request(cycle: Cycle) -> bool:
    """Queue a refresh unless one was queued recently; True if queued.
    (Eager Celery, the embedded default, runs it before returning.)"""
    from credits.tasks import compliance_refresh_task

    if not cache.add(f"credits:compliance-refresh:{cycle.pk}", 1, REFRESH_LOCK_SECONDS):
        return False
    compliance_refresh_task.delay(cycle.pk)
    return True


def compliance_refresh_done(cycle_id: int) -> None:
    cache.delete(f"credits:compliance-refresh:{cycle_id}")


ROLLUP_HEADER = ["名称", "代码", "在岗教师", "已达标", "达标率%", "进度正常", "进度正常率%", "进度落后", "周期内新入职",
                 "要求学时", "已认定学时", "待审核学时", "尚差学时", *CATEGORY_LABELS.values()]
STANDING_HEADER = ["编号", "姓名", "入职日期", "要求学时", "已认定学时", "完成%", "待审核学时", "尚差学时", "进度", "是否达标"]


def compliance_export(*, actor, scope_path: str, title: str, cycle: Cycle, total, children=None, standings=None,
                      destination, ip: str | None = None) -> int:
    """Write a roll-up table (children) or a school's teacher list (standings) as .xlsx; logged."""
    if standings is not None:
        header = STANDING_HEADER
        rows = ([s.teacher_id, s.name, s.hire_date.isoformat(), s.required, s.counted, s.percent, s.pending, s.owed,
                 "正常" if s.on_track else "落后", "是" if s.complete else "否"] for s in standings)
    else:
        header = ROLLUP_HEADER
        rows = ([r.name, r.code, r.teachers, r.complete, r.complete_rate, r.on_track, r.on_track_rate, r.behind,
                 r.new_teachers, r.required_hours, r.counted_hours, r.pending_hours, r.owed_hours,
                 *(hours for _, hours in r.categories)] for r in [*(children or []), total])
        rows = ([TOTAL_LABEL, *row[1:]] if index == len(children or []) else row for index, row in enumerate(rows))
    formats = {label: COUNT for label in ("在岗教师", "已达标", "进度正常", "进度落后", "周期内新入职")}
    formats |= {label: HOURS for label in ("要求学时", "已认定学时", "待审核学时", "尚差学时", "达标率%", "进度正常率%", "完成%",
                                           *CATEGORY_LABELS.values())}
    what = "教师学时达标名单" if standings is not None else "教师培训学时达标统计"
    count = write_table(destination, sheet="学时达标", title=f"{title} {cycle.code} 周期{what}", jurisdiction=title,
                        exported_by=exporter_name(actor), header=header, formats=formats, rows=rows)
    audit_record(action=Action.COMPLIANCE_EXPORT, actor=actor, ip=ip, scope_path=scope_path, object_type="compliance",
                 object_id=total.code, detail={"title": title, "cycle": cycle.code, "rows": count,
                                               "teachers": standings is not None})
    return count
