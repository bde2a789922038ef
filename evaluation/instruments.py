"""Writes for instruments and the assessments taken with them.

- Instruments (an assessment, or the questionnaire of an anonymous rating): a division's
  administrators make one with its items, edit it while it is a draft, publish it (then it is
  frozen: answers refer to it), make the next version under the same code (a draft copy), and
  retire it. `instrument_create` and `instrument_publish` are generic: the ratings part makes its
  questionnaires with them too.
- Attachments: those who run a project attach a published assessment at 训前 / 训中 / 训后 with the
  dates it is open; an attachment with answers is no longer changed.
- Responses: an enrolled (or completed) trainee answers every item within the scale while the
  window is open (Beijing date), once; the answers and the mean per dimension (reverse items
  turned) are written in one transaction.

Every write asks the access policy, and a refusal is a Chinese message that writes nothing."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from access.errors import Forbidden
from access.policy import Action, can, fetch, require, visible
from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record
from catalog.constants import EnrolmentState
from catalog.models import Enrolment, Project
from evaluation.constants import DIMENSION_LABELS, Dimension, InstrumentKind, InstrumentState, Point
from evaluation.models import (
    AssessmentResponse,
    DimensionScore,
    Instrument,
    InstrumentItem,
    ProjectInstrument,
)
from evaluation.ownership import owning_division

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
TITLE_MAX = 200
DESCRIPTION_MAX = 2000
ITEM_TEXT_MAX = 500
ITEMS_MAX = 100
# The trainees who take a project's assessments.
TAKERS = (EnrolmentState.ENROLLED, EnrolmentState.COMPLETED)
# How far before a project its 训前 assessment may open, and after it its 训后 may close.
PRE_LEAD_DAYS = 90
POST_TAIL_DAYS = 90


@dataclass(frozen=True)
class ItemData:
    text: str
    dimension: str
    reverse: bool = False


def _actor(actor) -> Any:
    return actor if getattr(actor, "pk", None) else None


# --- instruments -------------------------------------------------------------------------------

def _int(value, field: str, label: str, problems: dict) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        problems[field] = f"{label}应为整数"
        return 0


def items_clean(items: Iterable[Any], problems: dict) -> list[ItemData]:
    """The items as given (dicts or ItemData), checked: text, a known dimension, at most ITEMS_MAX."""
    clean: list[ItemData] = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, ItemData):
            text, dimension, reverse = item.text, item.dimension, item.reverse
        else:
            text, dimension, reverse = item.get("text"), item.get("dimension"), item.get("reverse", False)
        text = str(text or "").strip()
        dimension = str(dimension or "")
        if not text:
            problems.setdefault("items", f"第{number}题：请填写题目")
        elif len(text) > ITEM_TEXT_MAX:
            problems.setdefault("items", f"第{number}题：题目不超过{ITEM_TEXT_MAX}个字")
        elif dimension not in Dimension.values:
            problems.setdefault("items", f"第{number}题：请选择维度")
        clean.append(ItemData(text=text, dimension=dimension, reverse=bool(reverse)))
    if len(clean) > ITEMS_MAX:
        problems["items"] = f"题目不超过{ITEMS_MAX}道"
    return clean


def _content_problems(*, title: str, description: str, scale_min, scale_max, items, problems: dict) -> tuple:
    title = str(title or "").strip()
    description = str(description or "").strip()
    if not title:
        problems["title"] = "请填写名称"
    elif len(title) > TITLE_MAX:
        problems["title"] = f"名称不超过{TITLE_MAX}个字"
    if len(description) > DESCRIPTION_MAX:
        problems["description"] = f"说明不超过{DESCRIPTION_MAX}个字"
    low = _int(scale_min, "scale_min", "量表最小值", problems)
    high = _int(scale_max, "scale_max", "量表最大值", problems)
    if "scale_min" not in problems and "scale_max" not in problems and not (0 <= low < high <= 10):
        problems["scale_max"] = "量表应满足 0 ≤ 最小值 < 最大值 ≤ 10（如 1–5 的李克特量表）"
    clean_items = items_clean(items, problems)
    return title, description, low, high, clean_items


def _write_items(instrument: Instrument, items: list[ItemData]) -> None:
    instrument.items.all().delete()
    InstrumentItem.objects.bulk_create([
        InstrumentItem(instrument=instrument, number=number, text=item.text, dimension=item.dimension,
                       reverse=item.reverse) for number, item in enumerate(items, start=1)])


def may_add(scope: Scope) -> bool:
    """Whether the viewer may make instruments for their own division (the button on the list)."""
    return scope.path is not None and can(scope, Action.CHANGE, Instrument(division_path=scope.path))


def instrument_create(*, scope: Scope, actor, kind: str, code: str, title: str, description: str = "",
                      scale_min: int | str = 1, scale_max: int | str = 5, items: Iterable[Any] = (),
                      division_id: int | None = None, ip: str | None = None) -> Instrument:
    """A draft instrument of the administrator's division (or one below it they may write), with
    its items. Its code is new: a later version of an existing code is `instrument_new_version`."""
    division = owning_division(scope, division_id, refusal="只有县级及以上管理员可以管理测评工具")
    row = Instrument(division=division, division_path=division.path, created_by=_actor(actor))
    if not can(scope, Action.CHANGE, row):
        raise Forbidden("只能为本辖区（可写）的单位建立测评工具")
    problems: dict[str, str] = {}
    code = str(code or "").strip()
    if not CODE_PATTERN.match(code):
        problems["code"] = "编号由字母、数字、- 或 _ 组成，不超过40个字符"
    if kind not in InstrumentKind.values:
        problems["kind"] = "请选择类型（能力测评或匿名评价问卷）"
    title, description, low, high, clean_items = _content_problems(
        title=title, description=description, scale_min=scale_min, scale_max=scale_max, items=items,
        problems=problems)
    if "code" not in problems and Instrument.objects.dangerously_unscoped().filter(code=code).exists():
        # Codes are global (versions share one): the answer names no owner.
        problems["code"] = "该编号已被使用；修改已发布的工具请新建版本"
    if problems:
        raise ValidationError(problems)
    row.code, row.kind, row.title, row.description = code, kind, title, description
    row.scale_min, row.scale_max = low, high
    with transaction.atomic():
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            raise ValidationError({"code": "该编号已被使用；修改已发布的工具请新建版本"}) from None
        _write_items(row, clean_items)
        audit_record(action=Audit.INSTRUMENT_SAVE, actor=actor, ip=ip, scope_path=row.division_path,
                     object_type="instrument", object_id=row.pk,
                     detail={"code": code, "version": row.version, "kind": kind, "items": len(clean_items)})
    return row


def _draft_for_change(scope: Scope, instrument_id: int) -> Instrument:
    row = fetch(scope, Instrument, instrument_id, Action.CHANGE, lock=True)
    if row.state != InstrumentState.DRAFT:
        raise ValidationError({"state": "只有草稿可以修改；已发布的工具请新建版本"})
    return row


def instrument_update(*, scope: Scope, actor, instrument_id: int, title: str, description: str = "",
                      scale_min: int | str = 1, scale_max: int | str = 5, items: Iterable[Any] = (),
                      ip: str | None = None) -> Instrument:
    """Rewrite a draft: its name, description, scale and items (the whole list, renumbered)."""
    with transaction.atomic():
        row = _draft_for_change(scope, instrument_id)
        problems: dict[str, str] = {}
        title, description, low, high, clean_items = _content_problems(
            title=title, description=description, scale_min=scale_min, scale_max=scale_max, items=items,
            problems=problems)
        if problems:
            raise ValidationError(problems)
        row.title, row.description, row.scale_min, row.scale_max = title, description, low, high
        row.save(update_fields=["title", "description", "scale_min", "scale_max"])
        _write_items(row, clean_items)
        audit_record(action=Audit.INSTRUMENT_SAVE, actor=actor, ip=ip, scope_path=row.division_path,
                     object_type="instrument", object_id=row.pk,
                     detail={"code": row.code, "version": row.version, "items": len(clean_items)})
    return row


def instrument_publish(*, scope: Scope, actor, instrument_id: int, ip: str | None = None) -> Instrument:
    """Publish a draft with at least one item; from then on it is frozen."""
    with transaction.atomic():
        row = _draft_for_change(scope, instrument_id)
        count = row.items.count()
        if count == 0:
            raise ValidationError({"items": "至少要有一道题目才能发布"})
        row.state, row.published_at = InstrumentState.PUBLISHED, timezone.now()
        row.save(update_fields=["state", "published_at"])
        audit_record(action=Audit.INSTRUMENT_PUBLISH, actor=actor, ip=ip, scope_path=row.division_path,
                     object_type="instrument", object_id=row.pk,
                     detail={"code": row.code, "version": row.version, "items": count})
    return row


def instrument_new_version(*, scope: Scope, actor, instrument_id: int, ip: str | None = None) -> Instrument:
    """A draft copy (items included) of a published or retired instrument, as the next version under
    the same code. Only one draft of a code at a time; projects keep the version they attached."""
    with transaction.atomic():
        source = fetch(scope, Instrument, instrument_id, Action.CHANGE, lock=True)
        if source.state == InstrumentState.DRAFT:
            raise ValidationError({"state": "草稿可以直接修改，无需新建版本"})
        versions = Instrument.objects.dangerously_unscoped().select_for_update().filter(code=source.code)
        if versions.filter(state=InstrumentState.DRAFT).exists():
            raise ValidationError({"state": "该编号已有草稿版本，请先完成或发布它"})
        latest = max(versions.values_list("version", flat=True))
        copy = Instrument.objects.create(
            code=source.code, version=latest + 1, kind=source.kind, title=source.title,
            description=source.description, scale_min=source.scale_min, scale_max=source.scale_max,
            division=source.division, division_path=source.division_path, created_by=_actor(actor))
        _write_items(copy, [ItemData(text=i.text, dimension=i.dimension, reverse=i.reverse)
                            for i in source.items.order_by("number")])
        audit_record(action=Audit.INSTRUMENT_VERSION, actor=actor, ip=ip, scope_path=copy.division_path,
                     object_type="instrument", object_id=copy.pk,
                     detail={"code": copy.code, "version": copy.version, "from": source.pk})
    return copy


def instrument_retire(*, scope: Scope, actor, instrument_id: int, ip: str | None = None) -> Instrument:
    """A published instrument is no longer attached to new projects (those attached keep it)."""
    with transaction.atomic():
        row = fetch(scope, Instrument, instrument_id, Action.CHANGE, lock=True)
        if row.state != InstrumentState.PUBLISHED:
            raise ValidationError({"state": "只有已发布的工具可以停用"})
        row.state = InstrumentState.RETIRED
        row.save(update_fields=["state"])
        audit_record(action=Audit.INSTRUMENT_RETIRE, actor=actor, ip=ip, scope_path=row.division_path,
                     object_type="instrument", object_id=row.pk, detail={"code": row.code, "version": row.version})
    return row


# --- attachments ---------------------------------------------------------------------------------

def _date(value, field: str, label: str, problems: dict) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or ""))
    except ValueError:
        problems[field] = f"{label}格式应为 YYYY-MM-DD"
        return None


def window_problems(project: Project, point: str, opens_on: dt.date | None, closes_on: dt.date | None,
                    problems: dict) -> None:
    """Dates that fit the point: 训前 closes by the first day (opening at most PRE_LEAD_DAYS before);
    训中 lies within the project; 训后 opens on the last day or later (closing within POST_TAIL_DAYS)."""
    if opens_on is None or closes_on is None:
        return
    if closes_on < opens_on:
        problems["closes_on"] = "截止日期不能早于开放日期"
        return
    starts, ends = project.starts_on, project.ends_on
    if point == Point.PRE:
        if closes_on > starts:
            problems["closes_on"] = f"训前测评应在项目开始（{starts:%Y-%m-%d}）前截止"
        elif opens_on < starts - dt.timedelta(days=PRE_LEAD_DAYS):
            problems["opens_on"] = f"训前测评最早在项目开始前{PRE_LEAD_DAYS}天开放"
    elif point == Point.MID:
        if opens_on < starts or closes_on > ends:
            problems["opens_on"] = f"训中测评应在项目期间（{starts:%Y-%m-%d} 至 {ends:%Y-%m-%d}）开放和截止"
    elif point == Point.POST:
        if opens_on < ends:
            problems["opens_on"] = f"训后测评最早在项目最后一天（{ends:%Y-%m-%d}）开放"
        elif closes_on > ends + dt.timedelta(days=POST_TAIL_DAYS):
            problems["closes_on"] = f"训后测评应在项目结束后{POST_TAIL_DAYS}天内截止"


def attachment_create(*, scope: Scope, actor, project_id: int, instrument_id: int, point: str,
                      opens_on: dt.date | str, closes_on: dt.date | str, ip: str | None = None) -> ProjectInstrument:
    """Attach a published assessment to a project at one point (one per point)."""
    problems: dict[str, str] = {}
    with transaction.atomic():
        project = fetch(scope, Project, project_id, Action.RUN, lock=True)
        instrument = visible(scope, Instrument).filter(pk=instrument_id).first() if instrument_id else None
        if instrument is None:
            problems["instrument"] = "请选择可用的测评工具"
        elif instrument.kind != InstrumentKind.ASSESSMENT:
            problems["instrument"] = "只能安排能力测评（匿名评价问卷在评价窗口中使用）"
        elif instrument.state != InstrumentState.PUBLISHED:
            problems["instrument"] = "只能安排已发布的测评工具"
        if point not in Point.values:
            problems["point"] = "请选择测评时点（训前、训中或训后）"
        opens = _date(opens_on, "opens_on", "开放日期", problems)
        closes = _date(closes_on, "closes_on", "截止日期", problems)
        window_problems(project, point, opens, closes, problems)
        if "point" not in problems and project.instruments.filter(point=point).exists():
            problems["point"] = f"该项目已安排{Point(point).label}测评"
        if problems or instrument is None or opens is None or closes is None:
            raise ValidationError(problems)
        row = ProjectInstrument(project=project, instrument=instrument, point=point, opens_on=opens, closes_on=closes,
                                created_by=_actor(actor))
        if not can(scope, Action.CHANGE, row):
            raise Forbidden("无权为该项目安排测评")
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            raise ValidationError({"point": f"该项目已安排{Point(point).label}测评"}) from None
        audit_record(action=Audit.ASSESSMENT_ATTACH, actor=actor, ip=ip, scope_path=project.division_path,
                     object_type="project_instrument", object_id=row.pk,
                     detail={"project": project.pk, "instrument": instrument.pk, "point": point,
                             "opens_on": opens.isoformat(), "closes_on": closes.isoformat()})
    return row


def _unanswered_for_change(scope: Scope, attachment_id: int) -> ProjectInstrument:
    row = fetch(scope, ProjectInstrument, attachment_id, Action.CHANGE, select_related=("project",), lock=True)
    if row.responses.exists():
        raise ValidationError({"__all__": "已有学员作答，该测评安排不能再修改或取消"})
    return row


def attachment_update(*, scope: Scope, actor, attachment_id: int, opens_on: dt.date | str, closes_on: dt.date | str,
                      ip: str | None = None) -> ProjectInstrument:
    """Move an attachment's dates, while nobody has answered."""
    with transaction.atomic():
        row = _unanswered_for_change(scope, attachment_id)
        problems: dict[str, str] = {}
        opens = _date(opens_on, "opens_on", "开放日期", problems)
        closes = _date(closes_on, "closes_on", "截止日期", problems)
        window_problems(row.project, row.point, opens, closes, problems)
        if problems or opens is None or closes is None:
            raise ValidationError(problems)
        before = [row.opens_on.isoformat(), row.closes_on.isoformat()]
        row.opens_on, row.closes_on = opens, closes
        row.save(update_fields=["opens_on", "closes_on"])
        audit_record(action=Audit.ASSESSMENT_ATTACH, actor=actor, ip=ip, scope_path=row.project.division_path,
                     object_type="project_instrument", object_id=row.pk,
                     detail={"changed": {"dates": [before, [opens.isoformat(), closes.isoformat()]]}})
    return row


def attachment_delete(*, scope: Scope, actor, attachment_id: int, ip: str | None = None) -> None:
    """Take an attachment off, while nobody has answered."""
    with transaction.atomic():
        row = _unanswered_for_change(scope, attachment_id)
        detail = {"project": row.project_id, "instrument": row.instrument_id, "point": row.point}
        path, pk = row.project.division_path, row.pk
        row.delete()
        audit_record(action=Audit.ASSESSMENT_DETACH, actor=actor, ip=ip, scope_path=path,
                     object_type="project_instrument", object_id=pk, detail=detail)


# --- responses ---------------------------------------------------------------------------------

def dimension_means(items: Iterable[InstrumentItem], answers: dict[int, int], *, scale_min: int,
                    scale_max: int) -> dict[str, float]:
    """The mean answer per dimension, a reverse-keyed item counting scale_max + scale_min - answer."""
    sums: dict[str, list[float]] = defaultdict(list)
    for item in items:
        answer = answers[item.number]
        sums[item.dimension].append(scale_max + scale_min - answer if item.reverse else answer)
    return {dimension: sum(values) / len(values) for dimension, values in sums.items()}


def _answers_clean(raw: Any, items: list[InstrumentItem], scale_min: int, scale_max: int) -> dict[int, int]:
    if not isinstance(raw, dict):
        raise ValidationError({"answers": "作答格式有误"})
    numbers = {item.number for item in items}
    given: dict[int, int] = {}
    for key, value in raw.items():
        try:
            number = int(str(key))
        except ValueError:
            raise ValidationError({"answers": f"没有题号为 {str(key)[:10]} 的题目"}) from None
        if number not in numbers:
            raise ValidationError({"answers": f"没有题号为 {number} 的题目"})
        if isinstance(value, bool) or value in (None, ""):
            continue
        try:
            answer = int(str(value).strip())
        except ValueError:
            raise ValidationError({"answers": f"第{number}题的答案应为 {scale_min}–{scale_max} 的整数"}) from None
        if not scale_min <= answer <= scale_max:
            raise ValidationError({"answers": f"第{number}题的答案应在 {scale_min}–{scale_max} 之间"})
        given[number] = answer
    missing = sorted(numbers - set(given))
    if missing:
        shown = "、".join(str(n) for n in missing[:10]) + ("等" if len(missing) > 10 else "")
        raise ValidationError({"answers": f"还有 {len(missing)} 道题未作答：第{shown}题"})
    return given


def enrolment_for(scope: Scope, attachment: ProjectInstrument) -> Enrolment | None:
    """The viewer's admitted (or completed) enrolment in the attachment's project, if any."""
    if scope.teacher_id is None:
        return None
    return (visible(scope, Enrolment).filter(project_id=attachment.project_id, teacher_id=scope.teacher_id,
                                             state__in=TAKERS).first())


def response_submit(*, scope: Scope, actor, attachment_id: int, answers: Any,
                    today: dt.date | None = None) -> AssessmentResponse:
    """The signed-in trainee's answers to an attached assessment: every item, within the scale,
    while it is open, once. Response and dimension scores in one transaction."""
    if scope.teacher_id is None:
        raise Forbidden("只有参训教师本人可以作答")
    today = today or timezone.localdate()
    attachment = fetch(scope, ProjectInstrument, attachment_id, select_related=("instrument", "project"))
    if enrolment_for(scope, attachment) is None:
        raise Forbidden("只有该项目已录取或已结业的学员可以参加测评")
    if today < attachment.opens_on:
        raise ValidationError({"__all__": f"该测评 {attachment.opens_on:%Y-%m-%d} 开放，尚未开始"})
    if today > attachment.closes_on:
        raise ValidationError({"__all__": f"该测评已于 {attachment.closes_on:%Y-%m-%d} 截止"})
    instrument = attachment.instrument
    items = list(instrument.items.order_by("number"))
    given = _answers_clean(answers, items, instrument.scale_min, instrument.scale_max)
    means = dimension_means(items, given, scale_min=instrument.scale_min, scale_max=instrument.scale_max)
    response = AssessmentResponse(attachment=attachment, teacher_id=scope.teacher_id,
                                  answers={str(number): value for number, value in sorted(given.items())})
    require(scope, Action.CHANGE, response)
    try:
        with transaction.atomic():
            response.save(force_insert=True)
            DimensionScore.objects.bulk_create([
                DimensionScore(response=response, project_id=attachment.project_id, teacher_id=scope.teacher_id,
                               point=attachment.point, dimension=dimension, score=score)
                for dimension, score in sorted(means.items())])
    except IntegrityError:
        raise ValidationError({"__all__": "您已提交过该测评，每人只能作答一次"}) from None
    return response


def dimension_label(code: str) -> str:
    return DIMENSION_LABELS.get(code, code)
