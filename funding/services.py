"""Writes of training funding: a division's payroll and committed ratio, a school's public and
training budgets, a division's direct budget entries and the spend on its projects.

Every write asks the access policy (`funding` section), checks its input into Chinese messages
(ValidationError by field: the page re-renders the form, the API answers 422), writes in one
transaction with its audit row, and leans on the database's constraints as the last word.

A year's figure is entered once. Entering it again is refused (该年度已填报) unless the caller says
it is a correction and gives a reason: then the row is updated and the audit row keeps the value
before and after, so a figure can be put right without anything silently overwritten.

Direct budget entries and spend entries are corrected the same way (a reason, the values before and
after in the audit row, who and when on the row) and deleted with a reason: the row stays, marked
deleted, and the policy leaves it out of every list and sum. Evidence can be attached to a spend
entry afterwards (imported spend has none).

A division that has not reported: the level above (the province; a city for its counties, not its
省直管县) may enter its payroll, ratio and direct budgets on its behalf (`on_behalf=True`, the
policy's `enter_for`), with a reason; the row is marked as entered by the level above (who, when,
why) until the division writes it itself. A figure the division reported itself is never
overwritten from above."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from access.errors import Forbidden, NotVisible
from access.policy import Action, can, fetch, require, visible
from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record
from catalog.models import Project
from core import uploads
from funding.models import (
    BUDGET_ENTRY_MAX,
    PAYROLL_MAX,
    RATIO_MAX,
    RATIO_MIN,
    SCHOOL_BUDGET_MAX,
    SPEND_MAX,
    YEAR_MAX,
    YEAR_MIN,
    DivisionFunding,
    ProjectSpend,
    SchoolFunding,
    TrainingBudget,
)
from org.models import Division, School

REASON_MIN, REASON_MAX = 2, 200
PURPOSE_MAX = 200
NOTE_MAX = 200


def yuan(amount: Decimal | int | float) -> str:
    """¥1,234,567.00"""
    return f"¥{Decimal(amount):,.2f}"


# --- parsing (shared by the pages, the API and the imports) ----------------------------------------

def parse_year(value: Any, field: str = "year") -> int:
    text = str(value if value is not None else "").strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    try:
        year = int(text)
    except ValueError:
        raise ValidationError({field: "年度应为四位年份（如 2026）"}) from None
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise ValidationError({field: f"年度应在 {YEAR_MIN}—{YEAR_MAX} 之间"})
    return year


def parse_money(value: Any, *, field: str, label: str, maximum: Decimal, positive: bool = False) -> Decimal:
    """A sum of money in yuan: a number, not negative (or above zero), at most two decimals and
    at most `maximum` (an absurd figure is most often a slip of units or zeros)."""
    text = str(value if value is not None else "").strip().replace(",", "").replace("，", "").lstrip("¥￥")
    if not text:
        raise ValidationError({field: f"请填写{label}"})
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValidationError({field: f"{label}应为数字（单位：元）"}) from None
    if not amount.is_finite():
        raise ValidationError({field: f"{label}应为数字（单位：元）"})
    if amount < 0:
        raise ValidationError({field: f"{label}不能为负数"})
    if positive and amount == 0:
        raise ValidationError({field: f"{label}应大于0"})
    if amount > maximum:
        raise ValidationError({field: f"{label}超过合理上限 {yuan(maximum)}，请核对单位是否为元"})
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({field: f"{label}最多保留两位小数（分）"})
    return amount.quantize(Decimal("0.01"))


def parse_ratio(value: Any, field: str = "ratio_percent") -> Decimal:
    text = str(value if value is not None else "").strip().rstrip("%％")
    if not text:
        raise ValidationError({field: "请填写培训经费比例（%）"})
    try:
        ratio = Decimal(text)
    except InvalidOperation:
        raise ValidationError({field: "培训经费比例应为数字，如 1.5 表示 1.5%"}) from None
    if not ratio.is_finite() or not RATIO_MIN <= ratio <= RATIO_MAX:
        raise ValidationError({field: f"培训经费比例应在 {RATIO_MIN}%—{RATIO_MAX}% 之间（不低于当地教师工资总额的1.5%—2.5%）"})
    if ratio != ratio.quantize(Decimal("0.01")):
        raise ValidationError({field: "培训经费比例最多保留两位小数"})
    return ratio.quantize(Decimal("0.01"))


def _reason(required: bool, reason: str, what: str = "更正") -> str:
    reason = (reason or "").strip()
    if required and not REASON_MIN <= len(reason) <= REASON_MAX:
        raise ValidationError({"reason": f"{what}须说明原因（{REASON_MIN}—{REASON_MAX}个字）"})
    return reason


def evidence_problem(upload) -> str | None:
    return uploads.evidence_problem(upload, label="支出凭证")


def _problems(*checks) -> tuple[dict[str, Any], dict[str, str]]:
    """Run (key, parse) checks, collecting every field's message rather than the first one."""
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for key, parse in checks:
        try:
            values[key] = parse()
        except ValidationError as error:
            problems |= {k: v[0] for k, v in error.message_dict.items()}
    return values, problems


# --- who is written for ---------------------------------------------------------------------------

def division_for(scope: Scope, code: str) -> Division:
    """A city or county (or the province) inside the viewer's jurisdiction, by its code; else 404."""
    code = (code or "").strip()[:6]
    if scope.path is None or scope.school_id is not None or not code:
        raise NotVisible("区划不存在或不在您的管辖范围内")
    division = visible(scope, Division).filter(code=code).first()
    if division is None:
        raise NotVisible("区划不存在或不在您的管辖范围内")
    return division


def school_for(scope: Scope, code: str) -> School:
    school = visible(scope, School).filter(code=(code or "").strip()[:10]).first()
    if school is None:
        raise NotVisible("学校不存在或不在您的管辖范围内")
    return school


def _division_row(scope: Scope, division: Division, year: int, *, on_behalf: bool = False) -> DivisionFunding:
    """The division's row for the year, locked, or a new unsaved one; the caller may change it (as
    the division itself, or on its behalf as the level above)."""
    action = Action.ENTER_FOR if on_behalf else Action.CHANGE
    require(scope, action, DivisionFunding(division=division, division_path=division.path, year=year))
    row = (visible(scope, DivisionFunding, action).select_for_update()
           .filter(division=division, year=year).first())
    return row or DivisionFunding(division=division, division_path=division.path, year=year)


ABOVE_FIELDS = ["entered_above_by", "entered_above_at", "entered_above_reason"]


def _mark(row, actor, *, on_behalf: bool, reason: str) -> None:
    """Entered by the level above (who, when, why), or cleared: the division wrote it itself."""
    if on_behalf:
        row.entered_above_by, row.entered_above_at, row.entered_above_reason = actor, timezone.now(), reason
    else:
        row.entered_above_by, row.entered_above_at, row.entered_above_reason = None, None, ""


def _save_new_or_refuse(row, duplicate: str) -> None:
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:  # another request wrote the same year first
        raise ValidationError({"year": duplicate}) from None


# --- a division's payroll and ratio ------------------------------------------------------------------

def _division_figure_set(*, scope: Scope, actor, division: Division, year: int, field: str, value: Decimal,
                         label: str, action: str, correction: bool, reason: str, on_behalf: bool,
                         ip: str | None) -> DivisionFunding:
    reason = _reason(correction or on_behalf, reason, "上级代填" if on_behalf and not correction else "更正")
    duplicate = f"{division.name}{year}年的{label}已填报；如需更正，请选择“更正”并说明原因"
    with transaction.atomic():
        row = _division_row(scope, division, year, on_behalf=on_behalf)
        before = getattr(row, field)
        if on_behalf and before is not None and not row.is_entered_above:
            raise ValidationError({"year": f"{division.name}{year}年的{label}已由该单位自行填报，上级不能代填或更正；"
                                           "如有错误请由该单位更正"})
        if before is not None and not correction:
            raise ValidationError({"year": duplicate})
        if before is None and correction:
            raise ValidationError({"year": f"{division.name}{year}年尚未填报{label}，无需更正"})
        setattr(row, field, value)
        row.updated_by = actor
        _mark(row, actor, on_behalf=on_behalf, reason=reason)
        if row.pk is None:
            _save_new_or_refuse(row, duplicate)
        else:
            row.save(update_fields=[field, "updated_by", "updated_at", *ABOVE_FIELDS])
        detail: dict[str, Any] = {"division": division.code, "year": year, field: str(value)}
        if correction:
            detail |= {"before": str(before), "reason": reason}
        if on_behalf:
            detail |= {"on_behalf": True, "reason": reason, "entered_by": scope.label}
        audit_record(action=(Audit.FUNDING_CORRECT if correction else Audit.FUNDING_ENTER_FOR if on_behalf
                             else action), actor=actor, ip=ip,
                     scope_path=division.path, object_type="division_funding", object_id=row.pk, detail=detail)
    return row


def payroll_set(*, scope: Scope, actor, division: Division, year, payroll, correction: bool = False,
                reason: str = "", on_behalf: bool = False, ip: str | None = None) -> DivisionFunding:
    """A division's teacher payroll total (教师工资总额) for a year."""
    year = parse_year(year)
    amount = parse_money(payroll, field="payroll", label="教师工资总额", maximum=PAYROLL_MAX, positive=True)
    return _division_figure_set(scope=scope, actor=actor, division=division, year=year, field="payroll",
                                value=amount, label="教师工资总额", action=Audit.FUNDING_PAYROLL,
                                correction=correction, reason=reason, on_behalf=on_behalf, ip=ip)


def ratio_commit(*, scope: Scope, actor, division: Division, year, ratio_percent, correction: bool = False,
                 reason: str = "", on_behalf: bool = False, ip: str | None = None) -> DivisionFunding:
    """The share of the payroll (1.5 %–2.5 %) a city or county commits to teacher training for a year."""
    year = parse_year(year)
    ratio = parse_ratio(ratio_percent)
    return _division_figure_set(scope=scope, actor=actor, division=division, year=year, field="ratio_percent",
                                value=ratio, label="培训经费比例", action=Audit.FUNDING_RATIO,
                                correction=correction, reason=reason, on_behalf=on_behalf, ip=ip)


# --- a school's budgets ------------------------------------------------------------------------------

def check_school_amounts(public_budget, training_budget) -> tuple[Decimal, Decimal]:
    problems: dict[str, str] = {}
    public = training = None
    try:
        public = parse_money(public_budget, field="public_budget", label="年度公用经费预算总额",
                             maximum=SCHOOL_BUDGET_MAX, positive=True)
    except ValidationError as error:
        problems |= {k: v[0] for k, v in error.message_dict.items()}
    try:
        training = parse_money(training_budget, field="training_budget", label="教师培训经费预算",
                               maximum=SCHOOL_BUDGET_MAX)
    except ValidationError as error:
        problems |= {k: v[0] for k, v in error.message_dict.items()}
    if public is not None and training is not None and training > public:
        problems["training_budget"] = "教师培训经费预算不能超过学校年度公用经费预算总额"
    if problems:
        raise ValidationError(problems)
    assert public is not None and training is not None
    return public, training


def school_funding_set(*, scope: Scope, actor, school: School, year, public_budget, training_budget,
                       correction: bool = False, reason: str = "", ip: str | None = None) -> SchoolFunding:
    """A school's public operating budget and teacher-training budget for a year."""
    year = parse_year(year)
    public, training = check_school_amounts(public_budget, training_budget)
    reason = _reason(correction, reason)
    duplicate = f"{school.name}{year}年的经费已填报；如需更正，请选择“更正”并说明原因"
    with transaction.atomic():
        require(scope, Action.CHANGE, SchoolFunding(school=school, division_path=school.division_path, year=year))
        row = (visible(scope, SchoolFunding, Action.CHANGE).select_for_update()
               .filter(school=school, year=year).first())
        if row is not None and not correction:
            raise ValidationError({"year": duplicate})
        if row is None and correction:
            raise ValidationError({"year": f"{school.name}{year}年尚未填报，无需更正"})
        before = (str(row.public_budget), str(row.training_budget)) if row else None
        if row is None:
            row = SchoolFunding(school=school, division_path=school.division_path, year=year,
                                public_budget=public, training_budget=training, updated_by=actor)
            _save_new_or_refuse(row, duplicate)
        else:
            row.public_budget, row.training_budget, row.updated_by = public, training, actor
            row.save(update_fields=["public_budget", "training_budget", "updated_by", "updated_at"])
        detail: dict[str, Any] = {"school": school.code, "year": year, "public_budget": str(public),
                                  "training_budget": str(training)}
        if correction:
            detail |= {"before": list(before or ()), "reason": reason}
        audit_record(action=Audit.FUNDING_CORRECT if correction else Audit.FUNDING_SCHOOL, actor=actor, ip=ip,
                     scope_path=school.division_path, object_type="school_funding", object_id=row.pk, detail=detail)
    return row


# --- direct budgets and project spend ------------------------------------------------------------------

def _budget_values(year, amount, purpose) -> dict[str, Any]:
    """A budget entry's year, amount and purpose, checked: every field's message at once."""
    values, problems = _problems(
        ("year", lambda: parse_year(year)),
        ("amount", lambda: parse_money(amount, field="amount", label="预算金额", maximum=BUDGET_ENTRY_MAX,
                                       positive=True)))
    values["purpose"] = (purpose or "").strip()
    if not 2 <= len(values["purpose"]) <= PURPOSE_MAX:
        problems["purpose"] = f"请填写用途（2—{PURPOSE_MAX}个字）"
    if problems:
        raise ValidationError(problems)
    return values


def _reported_budgets(scope: Scope, division: Division, year: int) -> bool:
    """Whether the division entered direct budgets of the year itself (not from above)."""
    return visible(scope, TrainingBudget).filter(division=division, year=year, entered_above_at__isnull=True).exists()


def budget_add(*, scope: Scope, actor, division: Division, year, amount, purpose: str, on_behalf: bool = False,
               reason: str = "", ip: str | None = None) -> TrainingBudget:
    """One direct teacher-training budget entry of a division (amount, purpose, year); with
    `on_behalf`, entered by the level above for a division that has not reported the year's budgets."""
    values = _budget_values(year, amount, purpose)
    reason = _reason(on_behalf, reason, "上级代填")
    with transaction.atomic():
        row = TrainingBudget(division=division, division_path=division.path, year=values["year"],
                             amount=values["amount"], purpose=values["purpose"], created_by=actor)
        _mark(row, actor, on_behalf=on_behalf, reason=reason)
        require(scope, Action.ENTER_FOR if on_behalf else Action.CHANGE, row)
        if on_behalf and _reported_budgets(scope, division, row.year):
            raise ValidationError({"year": f"{division.name}{row.year}年已自行填报培训经费预算，上级不能代填"})
        row.save()
        detail = {"division": division.code, "year": row.year, "amount": str(row.amount),
                  "purpose": row.purpose[:100]}
        if on_behalf:
            detail |= {"on_behalf": True, "reason": reason, "entered_by": scope.label}
        audit_record(action=Audit.FUNDING_ENTER_FOR if on_behalf else Audit.FUNDING_BUDGET, actor=actor, ip=ip,
                     scope_path=division.path, object_type="training_budget", object_id=row.pk, detail=detail)
    return row


def _entry_to_change(scope: Scope, model, pk: int):
    """A live budget or spend entry, locked, that the caller may correct or delete: the division's
    own; a budget entry entered from above also by the level above. Returns (row, as the level above)."""
    row = fetch(scope, model, pk, lock=True)
    if not can(scope, Action.CHANGE, row):
        raise Forbidden("只有本单位（或代填该记录的上级）可以更正或删除该记录")
    # Spend is never entered from above: only a budget entry can be changed by the level above.
    return row, model is TrainingBudget and can(scope, Action.ENTER_FOR, row)


def _unchanged(before: dict, after: dict) -> None:
    if before == after:
        raise ValidationError("更正后的内容与原记录相同，无需更正")


def budget_correct(*, scope: Scope, actor, budget_id: int, year=None, amount=None, purpose: str | None = None,
                   reason: str, ip: str | None = None) -> TrainingBudget:
    """Put a direct budget entry right (fields not given stay as they are), with a reason."""
    reason = _reason(True, reason)
    with transaction.atomic():
        row, above = _entry_to_change(scope, TrainingBudget, budget_id)
        values = _budget_values(row.year if year in (None, "") else year, row.amount if amount in (None, "") else amount,
                                row.purpose if purpose is None else purpose)
        before = {"year": row.year, "amount": str(row.amount), "purpose": row.purpose}
        after = {"year": values["year"], "amount": str(values["amount"]), "purpose": values["purpose"]}
        _unchanged(before, after)
        if above and values["year"] != row.year and _reported_budgets(scope, row.division, values["year"]):
            raise ValidationError({"year": f"该单位{values['year']}年已自行填报培训经费预算，上级不能代填"})
        row.year, row.amount, row.purpose = values["year"], values["amount"], values["purpose"]
        row.corrected_by, row.corrected_at, row.correction_reason = actor, timezone.now(), reason
        row.save(update_fields=["year", "amount", "purpose", "corrected_by", "corrected_at", "correction_reason"])
        audit_record(action=Audit.FUNDING_ENTRY_CORRECT, actor=actor, ip=ip, scope_path=row.division_path,
                     object_type="training_budget", object_id=row.pk,
                     detail={"before": before, "after": after, "reason": reason, "by_level_above": above})
    return row


def _entry_delete(*, scope: Scope, actor, model, entry_id: int, reason: str, ip: str | None, object_type: str,
                  detail) -> Any:
    """Withdraw a budget or spend entry, with a reason: kept (with any evidence), marked deleted, out of
    every list and sum (the access policy shows live entries only). `detail(row)`: what the audit keeps."""
    reason = _reason(True, reason, "删除")
    with transaction.atomic():
        row, above = _entry_to_change(scope, model, entry_id)
        row.deleted_by, row.deleted_at, row.delete_reason = actor, timezone.now(), reason
        row.save(update_fields=["deleted_by", "deleted_at", "delete_reason"])
        audit_record(action=Audit.FUNDING_ENTRY_DELETE, actor=actor, ip=ip, scope_path=row.division_path,
                     object_type=object_type, object_id=row.pk,
                     detail={**detail(row), "reason": reason, "by_level_above": above})
    return row


def budget_delete(*, scope: Scope, actor, budget_id: int, reason: str, ip: str | None = None) -> TrainingBudget:
    return _entry_delete(scope=scope, actor=actor, model=TrainingBudget, entry_id=budget_id, reason=reason, ip=ip,
                         object_type="training_budget",
                         detail=lambda row: {"year": row.year, "amount": str(row.amount), "purpose": row.purpose[:100]})


def parse_spent_on(value: Any, today: dt.date, field: str = "spent_on") -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value or "").strip()[:10])
        except ValueError:
            raise ValidationError({field: "支出日期应为 YYYY-MM-DD"}) from None
    if value > today:
        raise ValidationError({field: "支出日期不能晚于今天"})
    if value.year < YEAR_MIN:
        raise ValidationError({field: f"支出日期不能早于 {YEAR_MIN} 年"})
    return value


def spend_project_visible(scope: Scope, project_id: int) -> Project:
    """A project whose money the viewer may read: published projects are public, their money is not."""
    project = fetch(scope, Project, project_id, select_related=("organiser",))
    if not can(scope, Action.VIEW, ProjectSpend(project=project, division_path=project.division_path)):
        raise NotVisible("项目不存在或不在您的管辖范围内")
    return project


def spendable_project(scope: Scope, project_id: int) -> Project:
    """A project the viewer's own division organises (not a school's), on which it records spend."""
    project = fetch(scope, Project, project_id, select_related=("organiser",))
    if project.organiser_school_id is not None:
        raise ValidationError({"project": "学校主办的项目不在区划培训经费中记录支出"})
    require(scope, Action.CHANGE, ProjectSpend(project=project, division_path=project.division_path))
    return project


def spend_add(*, scope: Scope, actor, project_id: int, amount, spent_on, note: str = "", evidence=None,
              today: dt.date, ip: str | None = None) -> ProjectSpend:
    """Money spent on a project the caller's division organises, with its evidence (PDF, JPG or PNG)."""
    project = spendable_project(scope, project_id)
    try:
        values = _spend_values(amount, spent_on, note, today)
        problems: dict[str, str] = {}
    except ValidationError as error:
        values, problems = {}, {k: v[0] for k, v in error.message_dict.items()}
    if (problem := evidence_problem(evidence)) is not None:
        problems["evidence"] = problem
    if problems:
        raise ValidationError(problems)
    note = values["note"]
    with transaction.atomic():
        row = ProjectSpend(project=project, division_path=project.division_path, amount=values["amount"],
                           spent_on=values["spent_on"], note=note, created_by=actor,
                           evidence_name=str(evidence.name)[-200:])
        row.evidence.save(evidence.name, evidence, save=False)
        row.save()
        audit_record(action=Audit.FUNDING_SPEND, actor=actor, ip=ip, scope_path=project.division_path,
                     object_type="project", object_id=project.pk,
                     detail={"spend": row.pk, "amount": str(row.amount), "spent_on": row.spent_on.isoformat(),
                             "evidence": row.evidence_name})
    return row


def _spend_values(amount, spent_on, note, today: dt.date) -> dict[str, Any]:
    values, problems = _problems(
        ("amount", lambda: parse_money(amount, field="amount", label="支出金额", maximum=SPEND_MAX, positive=True)),
        ("spent_on", lambda: parse_spent_on(spent_on, today)))
    values["note"] = (note or "").strip()
    if len(values["note"]) > NOTE_MAX:
        problems["note"] = f"说明不超过{NOTE_MAX}个字"
    if problems:
        raise ValidationError(problems)
    return values


def spend_correct(*, scope: Scope, actor, spend_id: int, amount=None, spent_on=None, note: str | None = None,
                  reason: str, today: dt.date, ip: str | None = None) -> ProjectSpend:
    """Put a spend entry right (fields not given stay as they are), with a reason."""
    reason = _reason(True, reason)
    with transaction.atomic():
        row, _ = _entry_to_change(scope, ProjectSpend, spend_id)
        values = _spend_values(row.amount if amount in (None, "") else amount,
                               row.spent_on if spent_on in (None, "") else spent_on,
                               row.note if note is None else note, today)
        before = {"amount": str(row.amount), "spent_on": row.spent_on.isoformat(), "note": row.note}
        after = {"amount": str(values["amount"]), "spent_on": values["spent_on"].isoformat(), "note": values["note"]}
        _unchanged(before, after)
        row.amount, row.spent_on, row.note = values["amount"], values["spent_on"], values["note"]
        row.corrected_by, row.corrected_at, row.correction_reason = actor, timezone.now(), reason
        row.save(update_fields=["amount", "spent_on", "note", "corrected_by", "corrected_at", "correction_reason"])
        audit_record(action=Audit.FUNDING_ENTRY_CORRECT, actor=actor, ip=ip, scope_path=row.division_path,
                     object_type="project_spend", object_id=row.pk,
                     detail={"project": row.project_id, "before": before, "after": after, "reason": reason})
    return row


def spend_delete(*, scope: Scope, actor, spend_id: int, reason: str, ip: str | None = None) -> ProjectSpend:
    return _entry_delete(scope=scope, actor=actor, model=ProjectSpend, entry_id=spend_id, reason=reason, ip=ip,
                         object_type="project_spend",
                         detail=lambda row: {"project": row.project_id, "amount": str(row.amount),
                                             "spent_on": row.spent_on.isoformat(), "evidence": row.evidence_name})


def spend_evidence_attach(*, scope: Scope, actor, spend_id: int, evidence, reason: str = "",
                          ip: str | None = None) -> ProjectSpend:
    """Attach the evidence of a spend entry afterwards (imported spend has none). Replacing evidence
    already there needs a reason; the earlier file is kept in storage and named in the audit row."""
    if (problem := evidence_problem(evidence)) is not None:
        raise ValidationError({"evidence": problem})
    reason = _reason(bool((reason or "").strip()), reason, "更换凭证")
    with transaction.atomic():
        row, _ = _entry_to_change(scope, ProjectSpend, spend_id)
        before = row.evidence_name if row.evidence else ""
        if before and not reason:
            raise ValidationError({"reason": f"该笔支出已有凭证；更换凭证须说明原因（{REASON_MIN}—{REASON_MAX}个字）"})
        row.evidence_name = str(evidence.name)[-200:]
        row.evidence.save(evidence.name, evidence, save=False)
        row.save(update_fields=["evidence", "evidence_name"])
        audit_record(action=Audit.FUNDING_EVIDENCE, actor=actor, ip=ip, scope_path=row.division_path,
                     object_type="project_spend", object_id=row.pk,
                     detail={"project": row.project_id, "evidence": row.evidence_name, "before": before,
                             **({"reason": reason} if reason else {})})
    return row
