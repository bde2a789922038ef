"""The 准入 gate: a project may be published, take enrolments and run sessions only while its
implementing institution holds an accreditation in force that covers the project's level,
category and mode: on the rest of the project's dates to publish it or take an enrolment, today
to run a session. A school's own
projects and school-based research (校本研修) are exempt: the policy gives those to schools.

The gate is a rule of the province, not a viewer's read: a county publishing a project that a
provincial university implements cannot see the university's accreditation, yet the gate must.
So it reads accreditations unscoped and returns only a Chinese reason, never the rows.

`refusal` judges one project; `held_by` + `judge` many with one query (catalog.selectors
`blocked_reasons`, for a plan or a list page)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from catalog.constants import Level, Mode, ProjectCategory
from institutions.constants import AccreditationState as S
from institutions.machine import IN_FORCE
from institutions.models import Accreditation

NO_INSTITUTION = "未指定实施机构：除校本研修外，项目须由取得准入资格的培训机构实施"
# Why an institution without an accreditation in force cannot implement, by its latest row's state.
NOT_IN_FORCE: dict[str, str] = {
    S.SUSPENDED: "实施机构的准入资格已暂停",
    S.REVOKED: "实施机构的准入资格已撤销",
    S.EXPIRED: "实施机构的准入资格已过期",
    S.SUBMITTED: "实施机构的准入申请尚在审核中",
    S.RETURNED: "实施机构的准入申请已退回修改",
    S.REFUSED: "实施机构的准入申请未通过",
    S.DRAFT: "实施机构尚未提交准入申请",
}
NEVER_APPLIED = "实施机构尚未取得准入资格"


@dataclass(frozen=True)
class Held:
    """One accreditation row of an institution, as the gate reads it."""

    state: str
    levels: frozenset[str]
    categories: frozenset[str]
    modes: frozenset[str]
    valid_from: dt.date | None
    valid_until: dt.date | None


def is_exempt(project) -> bool:
    return project.level == Level.SCHOOL or project.category == ProjectCategory.SCHOOL_BASED


def held_by(institution_ids: Iterable[int | None]) -> dict[int, list[Held]]:
    """Every accreditation row of these institutions, newest first (one query)."""
    ids = {pk for pk in institution_ids if pk is not None}
    held: dict[int, list[Held]] = defaultdict(list)
    if not ids:
        return held
    rows = (Accreditation.objects.dangerously_unscoped().filter(institution_id__in=ids).order_by("-pk")
            .values_list("institution_id", "state", "levels", "categories", "modes", "valid_from", "valid_until"))
    for institution_id, state, levels, categories, modes, valid_from, valid_until in rows:
        held[institution_id].append(Held(state, frozenset(levels or ()), frozenset(categories or ()),
                                         frozenset(modes or ()), valid_from, valid_until))
    return held


def _window(project, today: dt.date, ahead: bool) -> tuple[dt.date, dt.date]:
    """The days the accreditation must cover: what is left of the project (`ahead`: publishing it,
    enrolling in it), or today (running a session)."""
    if not ahead:
        return today, today
    return min(max(project.starts_on, today), project.ends_on), project.ends_on


def _gaps(row: Held, project, start: dt.date, end: dt.date) -> list[str]:
    gaps = []
    if project.level not in row.levels:
        gaps.append(f"准入范围不含{Level(project.level).label}项目")
    if project.category not in row.categories:
        gaps.append(f"准入范围不含“{ProjectCategory(project.category).label}”类别")
    if project.mode not in row.modes:
        gaps.append(f"准入范围不含“{Mode(project.mode).label}”方式")
    if row.valid_from is None or row.valid_until is None or not row.valid_from <= start <= end <= row.valid_until:
        gaps.append(f"准入有效期（{row.valid_from}至{row.valid_until}）不覆盖"
                    + (f"项目日期（{start}至{end}）" if start != end else f"{start}"))
    return gaps


def judge(project, rows: list[Held], *, today: dt.date, ahead: bool) -> str:
    """Why the project may not go ahead under these accreditation rows ("" when it may)."""
    if is_exempt(project):
        return ""
    if project.institution_id is None:
        return NO_INSTITUTION
    in_force = [row for row in rows if row.state in IN_FORCE]
    if not in_force:
        return NOT_IN_FORCE.get(rows[0].state, NEVER_APPLIED) if rows else NEVER_APPLIED
    start, end = _window(project, today, ahead)
    nearest = min((_gaps(row, project, start, end) for row in in_force), key=len)
    return "实施机构" + "；".join(nearest) if nearest else ""


def refusal(project, *, today: dt.date, ahead: bool = False) -> str:
    """Why this project may not be published or take enrolments (`ahead`), or run a session
    today; "" when it may."""
    if is_exempt(project) or project.institution_id is None:
        return judge(project, [], today=today, ahead=ahead)
    return judge(project, held_by([project.institution_id])[project.institution_id], today=today,
                 ahead=ahead)
