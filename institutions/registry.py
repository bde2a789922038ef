"""The registry of training institutions as a viewer may read it (each institution with the
accreditation that speaks for it now), the accreditations expiring soon, and their Excel exports,
each export rate-limited and audited."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone

from access.policy import visible
from access.scope import Scope
from accounts.throttle import export_throttle
from audit.services import audit_record
from catalog.constants import Level, Mode, ProjectCategory
from core.excel import COUNT, exporter_name, write_table
from institutions.constants import AccreditationState as S
from institutions.machine import IN_FORCE
from institutions.models import Accreditation
from org.models import Institution

EXPIRING_DAYS = 90
EXPIRING_DAYS_MAX = 366
LABELS = {**dict(Level.choices), **dict(ProjectCategory.choices), **dict(Mode.choices)}


@dataclass
class Entry:
    institution: Institution
    accreditation: Accreditation | None  # in force if any, else the latest

    @property
    def in_force(self) -> bool:
        return self.accreditation is not None and self.accreditation.state in IN_FORCE


def registry(scope: Scope, *, q: str = "", kind: str = "", in_force: bool | None = None,
             division_path: str = "") -> list[Entry]:
    """The institutions the viewer sees, each with its accreditation in force (or its latest): two
    queries whatever the number. `division_path`: a subtree already checked to be in scope."""
    found = visible(scope, Institution).select_related("division").order_by("division__path", "code")
    if division_path:
        found = found.filter(division__path__startswith=division_path)
    if q:
        found = found.filter(name__icontains=q[:50])
    if kind:
        found = found.filter(kind=kind[:30])
    institutions = list(found[:5000])
    rows = (visible(scope, Accreditation).filter(institution__in=[i.pk for i in institutions])
            .select_related("accrediting_division").order_by("institution_id", "-pk"))
    speaking: dict[int, Accreditation] = {}
    for row in rows:
        current = speaking.get(row.institution_id)
        if current is None or (row.state in IN_FORCE and current.state not in IN_FORCE):
            speaking[row.institution_id] = row
    entries = [Entry(i, speaking.get(i.pk)) for i in institutions]
    if in_force is not None:
        entries = [e for e in entries if e.in_force == in_force]
    return entries


def expiring(scope: Scope, *, days: int = EXPIRING_DAYS, today: dt.date | None = None):
    """Accreditations in force whose term ends within `days` (soonest first)."""
    today = today or timezone.localdate()
    return (visible(scope, Accreditation).filter(state__in=sorted(IN_FORCE), valid_until__gte=today,
                                                 valid_until__lte=today + dt.timedelta(days=days))
            .select_related("institution", "accrediting_division").order_by("valid_until", "pk"))


def _labels(codes) -> str:
    return "、".join(LABELS.get(code, code) for code in codes or [])


REGISTRY_HEADER = ["机构代码", "机构名称", "类型", "所在区划", "准入状态", "层级", "项目类别", "培训方式", "有效期自",
                   "有效期至", "认定单位"]
EXPIRING_HEADER = ["机构代码", "机构名称", "准入编号", "状态", "层级", "项目类别", "培训方式", "有效期至", "剩余天数",
                   "认定单位"]


def export(*, scope: Scope, actor, kind: str, days: int = EXPIRING_DAYS, ip: str | None = None):
    """The registry ("registry") or the accreditations expiring within `days` ("expiring") as an
    xlsx file: (file handle at its start, file name, rows). Rate-limited per account; audited."""
    if kind not in ("registry", "expiring"):
        raise ValidationError({"kind": "导出类型应为 registry（机构名录）或 expiring（即将到期）"})
    if not isinstance(days, int) or not 1 <= days <= EXPIRING_DAYS_MAX:
        raise ValidationError({"days": f"天数应为 1 到 {EXPIRING_DAYS_MAX} 的整数"})
    export_throttle(actor)
    today = timezone.localdate()
    handle = tempfile.TemporaryFile()
    if kind == "registry":
        rows = ([e.institution.code, e.institution.name, e.institution.get_kind_display(), e.institution.division.name,
                 *(_accreditation_cells(e.accreditation) if e.accreditation else ["未申请", "", "", "", "", "", ""])]
                for e in registry(scope))
        count = write_table(handle, sheet="机构名录", title=f"{scope.label}培训机构名录", jurisdiction=scope.label,
                            exported_by=exporter_name(actor), exported_on=today, header=REGISTRY_HEADER, rows=rows)
        name = f"培训机构名录-{today:%Y%m%d}.xlsx"
    else:
        rows = ([a.institution.code, a.institution.name, a.pk, a.get_state_display(), _labels(a.levels),
                 _labels(a.categories), _labels(a.modes), str(a.valid_until), (a.valid_until - today).days,
                 a.accrediting_division.name] for a in expiring(scope, days=days, today=today))
        count = write_table(handle, sheet="即将到期", title=f"{scope.label}培训机构准入 {days} 天内到期名单",
                            jurisdiction=scope.label, exported_by=exporter_name(actor), exported_on=today,
                            header=EXPIRING_HEADER, formats={"剩余天数": COUNT}, rows=rows)
        name = f"准入即将到期-{days}天-{today:%Y%m%d}.xlsx"
    audit_record(action="institutions.export", actor=actor, ip=ip, scope_path=scope.path or "",
                 object_type="institution_registry", object_id=kind, detail={"kind": kind, "days": days, "rows": count})
    handle.seek(0)
    return handle, name, count


def _accreditation_cells(row: Accreditation) -> list:
    return [S(row.state).label, _labels(row.levels), _labels(row.categories), _labels(row.modes),
            str(row.valid_from or ""), str(row.valid_until or ""), row.accrediting_division.name]
