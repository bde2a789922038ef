"""Rubrics (评分量规): the criteria a supervision visit, an outcome review or a stakeholder rating is
scored on, each with its maximum. A division's administrators (county and above) create one as a
draft, edit it while it is a draft, publish it (then it is frozen: records point at it), make the
next version of a published or retired one (a new draft under the same code) and retire it.
Every write asks the access policy, runs in one transaction with its audit row and, refused,
is a Chinese message that writes nothing."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from access.errors import Forbidden
from access.policy import Action, can, fetch, visible
from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record
from evaluation.constants import InstrumentState, RubricKind
from evaluation.models import Rubric
from evaluation.ownership import owning_division

CRITERIA_MAX = 30
CRITERION_MAX_POINTS = 1000
CODE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
RUBRIC_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


def criteria_problems(criteria: Any) -> tuple[list[str], list[dict]]:
    """The problems of a criteria list and its cleaned form: 1–30 criteria, each a unique code
    (letters, digits, - and _), a label and an integer maximum above 0."""
    problems: list[str] = []
    clean: list[dict] = []
    if not isinstance(criteria, list) or not criteria:
        return ["请至少填写一项评分细则（编号、名称、满分）"], []
    if len(criteria) > CRITERIA_MAX:
        return [f"评分细则不超过{CRITERIA_MAX}项"], []
    seen: set[str] = set()
    for number, item in enumerate(criteria, start=1):
        if not isinstance(item, dict):
            problems.append(f"第{number}项评分细则格式不正确")
            continue
        code = str(item.get("code") or "").strip()
        label = str(item.get("label") or "").strip()
        top = item.get("max")
        if not CODE.match(code):
            problems.append(f"第{number}项的编号应为1–20位字母、数字、- 或 _")
        elif code in seen:
            problems.append(f"评分细则编号「{code}」重复")
        seen.add(code)
        if not label:
            problems.append(f"第{number}项请填写名称")
        elif len(label) > 100:
            problems.append(f"第{number}项名称不超过100个字")
        if isinstance(top, str) and top.strip().isdigit():
            top = int(top.strip())
        if isinstance(top, bool) or not isinstance(top, int) or not 0 < top <= CRITERION_MAX_POINTS:
            problems.append(f"第{number}项满分应为1–{CRITERION_MAX_POINTS}的整数")
        else:
            clean.append({"code": code, "label": label, "max": top})
    return problems, clean


def _clean(kind: str | None, title: str, criteria: Any, problems: dict) -> list[dict]:
    if kind is not None and kind not in RubricKind.values:
        problems["kind"] = "请选择量规类型（专家过程视导、培训成果质量或相关利益群体评价）"
    title = (title or "").strip()
    if not title:
        problems["title"] = "请填写量规名称"
    elif len(title) > 200:
        problems["title"] = "量规名称不超过200个字"
    found, clean = criteria_problems(criteria)
    if found:
        problems["criteria"] = "；".join(found)
    return clean


def _audit(action: str, actor, row: Rubric, ip: str | None, **detail) -> None:
    audit_record(action=action, actor=actor if getattr(actor, "pk", None) else None, ip=ip,
                 scope_path=row.division_path, object_type="rubric", object_id=row.pk,
                 detail={"code": row.code, "version": row.version, "kind": row.kind, **detail})


def rubric_create(*, scope: Scope, actor, kind: str, code: str, title: str, criteria: Any,
                  division_id: int | None = None, ip: str | None = None) -> Rubric:
    """A new rubric (version 1, a draft) of the administrator's division or one below it they may
    write. A code already used is refused: its next version is made from the published one."""
    division = owning_division(scope, division_id, refusal="只有县级及以上管理员可以管理评分量规")
    row = Rubric(division=division, division_path=division.path,
                 created_by=actor if getattr(actor, "pk", None) else None)
    if not can(scope, Action.CHANGE, row):
        raise Forbidden("只能在本辖区（可写）新建评分量规")
    problems: dict[str, str] = {}
    code = (code or "").strip()
    if not RUBRIC_CODE.match(code):
        problems["code"] = "量规编号应为1–40位字母、数字、- _ 或 ."
    clean = _clean(kind, title, criteria, problems)
    if problems:
        raise ValidationError(problems)
    row.kind, row.code, row.title, row.criteria, row.version = kind, code, title.strip(), clean, 1
    with transaction.atomic():
        # Every code has its version 1 (versions are never deleted), so the (code, version) constraint
        # refuses a code used anywhere in the province, without reading another division's rubrics.
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            raise ValidationError({"code": f"量规编号「{code}」已被使用；修改已发布的量规请新建版本"}) from None
        _audit(Audit.RUBRIC_CREATE, actor, row, ip, title=row.title, criteria=len(clean))
    return row


def rubric_update(*, scope: Scope, actor, rubric_id: int, title: str | None = None, criteria: Any = None,
                  ip: str | None = None) -> Rubric:
    """Edit a draft's title and criteria; a published or retired rubric is frozen."""
    with transaction.atomic():
        row = fetch(scope, Rubric, rubric_id, Action.CHANGE, lock=True)
        if row.state != InstrumentState.DRAFT:
            raise ValidationError({"state": "已发布或已停用的量规不能修改；请新建版本"})
        problems: dict[str, str] = {}
        clean = _clean(None, row.title if title is None else title, row.criteria if criteria is None else criteria,
                       problems)
        if problems:
            raise ValidationError(problems)
        new_title = row.title if title is None else title.strip()
        changed = {}
        if new_title != row.title:
            changed["title"] = [row.title, new_title]
        if clean != row.criteria:
            changed["criteria"] = [row.criteria, clean]
        if changed:
            row.title, row.criteria = new_title, clean
            row.save(update_fields=["title", "criteria"])
            _audit(Audit.RUBRIC_UPDATE, actor, row, ip, changed=changed)
    return row


def rubric_publish(*, scope: Scope, actor, rubric_id: int, ip: str | None = None) -> Rubric:
    """A draft becomes the published (frozen) rubric records may use."""
    with transaction.atomic():
        row = fetch(scope, Rubric, rubric_id, Action.CHANGE, lock=True)
        if row.state != InstrumentState.DRAFT:
            raise ValidationError({"state": "只有草稿可以发布"})
        problems, _ = criteria_problems(row.criteria)
        if problems:
            raise ValidationError({"criteria": "；".join(problems)})
        row.state = InstrumentState.PUBLISHED
        row.save(update_fields=["state"])
        _audit(Audit.RUBRIC_PUBLISH, actor, row, ip, at=timezone.now().isoformat())
    return row


def rubric_retire(*, scope: Scope, actor, rubric_id: int, ip: str | None = None) -> Rubric:
    """A published rubric is no longer offered for new records (those made with it keep it)."""
    with transaction.atomic():
        row = fetch(scope, Rubric, rubric_id, Action.CHANGE, lock=True)
        if row.state != InstrumentState.PUBLISHED:
            raise ValidationError({"state": "只有已发布的量规可以停用"})
        row.state = InstrumentState.RETIRED
        row.save(update_fields=["state"])
        _audit(Audit.RUBRIC_RETIRE, actor, row, ip)
    return row


def rubric_new_version(*, scope: Scope, actor, rubric_id: int, ip: str | None = None) -> Rubric:
    """The next version of a published or retired rubric: a draft copy under the same code, one
    draft at a time."""
    with transaction.atomic():
        source = fetch(scope, Rubric, rubric_id, Action.CHANGE, lock=True)
        if source.state == InstrumentState.DRAFT:
            raise ValidationError({"state": "草稿可直接修改，无需新建版本"})
        # Every version of a code is made here, in the source's division: whoever may change one
        # may change them all, so the scoped query sees every version.
        versions = visible(scope, Rubric, Action.CHANGE).filter(code=source.code)
        if versions.filter(state=InstrumentState.DRAFT).exists():
            raise ValidationError({"state": f"量规「{source.code}」已有待发布的新版本草稿"})
        top = versions.aggregate(top=Max("version"))["top"] or 0
        row = Rubric(code=source.code, version=top + 1, kind=source.kind, title=source.title,
                     criteria=list(source.criteria), division=source.division, division_path=source.division_path,
                     created_by=actor if getattr(actor, "pk", None) else None)
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            raise ValidationError({"state": "该版本已存在，请刷新后重试"}) from None
        _audit(Audit.RUBRIC_VERSION, actor, row, ip, source=source.pk)
    return row
