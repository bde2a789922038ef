"""Training bases (培训基地): designating and editing them, and counting 跟岗 seats against their
capacity per school term.

A 跟岗 project picks a base; every term the project's dates touch (spring: February to July;
autumn: August to January) it holds its seats there. Whether a base has room is decided under a
lock on the base row (`select_for_update`), in the transaction that books the project, so two
organisers booking the last seats of a term queue and the second is refused."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from access.errors import Forbidden
from access.policy import Action, can, fetch
from access.scope import Scope
from audit.services import audit_record
from catalog.constants import Mode
from institutions.constants import BASE_SEATS_MAX, INSTITUTION_BASES, BaseKind
from institutions.models import TrainingBase
from org.constants import STAGE_LABELS
from org.models import Division, Institution, School
from people.constants import SUBJECT_LABELS

SPRING, AUTUMN = "spring", "autumn"


# --- school terms -------------------------------------------------------------------------

def term_of(day: dt.date) -> tuple[int, str]:
    """The school term of a day: (the school year's calendar year, spring | autumn)."""
    if 2 <= day.month <= 7:
        return day.year, SPRING
    return (day.year, AUTUMN) if day.month >= 8 else (day.year - 1, AUTUMN)


def term_bounds(term: tuple[int, str]) -> tuple[dt.date, dt.date]:
    year, half = term
    if half == SPRING:
        return dt.date(year, 2, 1), dt.date(year, 7, 31)
    return dt.date(year, 8, 1), dt.date(year + 1, 1, 31)


def term_label(term: tuple[int, str]) -> str:
    year, half = term
    return f"{year}年{'春季' if half == SPRING else '秋季'}学期"


def terms_between(start: dt.date, end: dt.date) -> list[tuple[int, str]]:
    terms, day = [], start
    while day <= end:
        term = term_of(day)
        terms.append(term)
        day = term_bounds(term)[1] + dt.timedelta(days=1)
    return terms


# --- capacity -----------------------------------------------------------------------------

def seats_used(base: TrainingBase, terms: list[tuple[int, str]], *, excluding: int | None = None) -> dict:
    """{term: seats held there by the base's projects} for these terms (one query)."""
    if not terms:
        return {}
    first, last = term_bounds(terms[0])[0], term_bounds(terms[-1])[1]
    booked = base.projects.filter(starts_on__lte=last, ends_on__gte=first)
    if excluding is not None:
        booked = booked.exclude(pk=excluding)
    used = dict.fromkeys(terms, 0)
    for starts_on, ends_on, seats in booked.values_list("starts_on", "ends_on", "seats"):
        for term in terms_between(starts_on, ends_on):
            if term in used:
                used[term] += seats
    return used


def booking_problems(project, base: TrainingBase | None) -> dict[str, str]:
    """Why `project` (its values as they would be saved) may not hold its seats at `base`: a base
    only for 跟岗, an inactive base, stages it does not take, or a term without room. The caller
    holds the lock on the base row."""
    if base is None:
        return {}
    if project.mode != Mode.SHADOWING:
        return {"base": "只有跟岗研修项目选择培训基地"}
    if not base.active:
        return {"base": f"培训基地「{base.name}」已停用"}
    stages = set((project.audience or {}).get("stages") or [])
    if stages and base.stages and not stages & set(base.stages):
        return {"base": f"培训基地「{base.name}」不接收该学段（接收：{'、'.join(STAGE_LABELS.get(s, s) for s in base.stages)}）"}
    terms = terms_between(project.starts_on, project.ends_on)
    for term, used in seats_used(base, terms, excluding=project.pk).items():
        if used + project.seats > base.seats_per_term:
            return {"base": f"培训基地「{base.name}」{term_label(term)}跟岗名额不足：共{base.seats_per_term}人，"
                            f"已安排{used}人，本项目需{project.seats}人"}
    return {}


def base_locked(base_id: int) -> TrainingBase:
    """The base row, locked for the caller's transaction (whoever books, the base is the province's)."""
    return TrainingBase.objects.dangerously_unscoped().select_for_update().get(pk=base_id)


# --- writes -------------------------------------------------------------------------------

FIELDS = ("name", "kind", "institution", "school", "stages", "subjects", "seats_per_term", "designated_on", "active",
          "note")


def _problems(values: dict) -> dict[str, str]:
    problems: dict[str, str] = {}
    name = str(values.get("name") or "").strip()
    if not name or len(name) > 100:
        problems["name"] = "基地名称不能为空且不超过100字"
    if values.get("kind") not in BaseKind.values:
        problems["kind"] = "请选择基地类型"
    elif values["kind"] in INSTITUTION_BASES and not isinstance(values.get("institution"), Institution):
        problems["institution"] = "高校或培训机构基地须选择所属机构"
    elif values["kind"] not in INSTITUTION_BASES and not isinstance(values.get("school"), School):
        problems["school"] = "中小学、幼儿园基地须选择学校"
    for field, known in (("stages", STAGE_LABELS), ("subjects", SUBJECT_LABELS)):
        chosen = values.get(field) or []
        if not isinstance(chosen, list) or set(chosen) - set(known):
            problems[field] = f"未知的{'学段' if field == 'stages' else '学科'}"
    seats = values.get("seats_per_term")
    if not isinstance(seats, int) or isinstance(seats, bool) or not 0 <= seats <= BASE_SEATS_MAX:
        problems["seats_per_term"] = f"每学期跟岗名额应为 0 到 {BASE_SEATS_MAX} 的整数"
    if not isinstance(values.get("designated_on"), dt.date):
        problems["designated_on"] = "请填写认定日期"
    if len(str(values.get("note") or "")) > 2000:
        problems["note"] = "基地简介不超过2000字"
    return problems


def _clean(values: dict) -> dict:
    kind = values.get("kind")
    return {**values, "name": str(values.get("name") or "").strip(), "stages": sorted(set(values.get("stages") or [])),
            "subjects": sorted(set(values.get("subjects") or [])),
            "institution": values.get("institution") if kind in INSTITUTION_BASES else None,
            "school": values.get("school") if kind not in INSTITUTION_BASES else None}


def base_create(*, scope: Scope, actor, division: Division, ip: str | None = None, **values) -> TrainingBase:
    """Designate a base of `division` (its administrators, or those above with write jurisdiction)."""
    values = {name: values.get(name) for name in FIELDS} | {"active": values.get("active", True),
                                                              "note": values.get("note") or ""}
    problems = _problems(values)
    base = TrainingBase(division=division, division_path=division.path, created_by=actor if getattr(actor, "pk", None)
                        else None, **{k: v for k, v in _clean(values).items() if k in FIELDS})
    if not can(scope, Action.CHANGE, base):
        raise Forbidden("只能认定本辖区的培训基地")
    if problems:
        raise ValidationError(problems)
    try:
        with transaction.atomic():
            base.save(force_insert=True)
            audit_record(action="training_base.create", actor=actor, ip=ip, scope_path=base.division_path,
                         object_type="training_base", object_id=base.pk, detail={"name": base.name})
    except IntegrityError:
        raise ValidationError({"name": "本单位已有同名培训基地"}) from None
    return base


def base_update(*, scope: Scope, actor, base_id: int, changes: dict, ip: str | None = None) -> TrainingBase:
    """Edit a base; seats per term never drop below what a term already holds."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValidationError({"__all__": f"不可修改的字段：{'、'.join(sorted(unknown))}"})
    with transaction.atomic():
        base = fetch(scope, TrainingBase, base_id, Action.CHANGE, lock=True)
        values = {**{name: getattr(base, name) for name in FIELDS}, **changes}
        problems = _problems(values)
        clean = _clean(values)
        if "seats_per_term" not in problems and clean["seats_per_term"] < base.seats_per_term:
            held = base.projects.filter(ends_on__gte=timezone.localdate() - dt.timedelta(days=366))
            spans = list(held.values_list("starts_on", "ends_on"))
            terms = sorted({t for start, end in spans for t in terms_between(start, end)})
            full = {t: n for t, n in seats_used(base, terms).items() if n > clean["seats_per_term"]}
            if full:
                term, used = min(full.items())
                problems["seats_per_term"] = f"{term_label(term)}已安排{used}人，名额不能少于此数"
        if problems:
            raise ValidationError(problems)
        changed = {name: [str(getattr(base, name)), str(clean[name])] for name in FIELDS
                   if clean[name] != getattr(base, name)}
        for name in FIELDS:
            setattr(base, name, clean[name])
        try:
            with transaction.atomic():
                base.save()
        except IntegrityError:
            raise ValidationError({"name": "本单位已有同名培训基地"}) from None
        if changed:
            audit_record(action="training_base.update", actor=actor, ip=ip, scope_path=base.division_path,
                         object_type="training_base", object_id=base.pk, detail=changed)
    return base

