"""Writes of training funding: a division's payroll and committed ratio, a school's public and
training budgets, a division's direct budget entries and the spend on its projects.

Every write asks the access policy (`funding` section), checks its input into Chinese messages
(ValidationError by field: the page re-renders the form, the API answers 422), writes in one
transaction with its audit row, and leans on the database's constraints as the last word.

A year's figure is entered once. Entering it again is refused (该年度已填报) unless the caller says
it is a correction and gives a reason: then the row is updated and the audit row keeps the value
before and after, so a figure can be put right without anything silently overwritten."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from access.errors import NotVisible
from access.policy import Action, can, fetch, require, visible
from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record
from catalog.models import Project
from credits.claims import evidence_problem
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


def _reason(correction: bool, reason: str) -> str:
    reason = (reason or "").strip()
    if correction and not REASON_MIN <= len(reason) <= REASON_MAX:
        raise ValidationError({"reason": f"更正须说明原因（{REASON_MIN}—{REASON_MAX}个字）"})
    return reason


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


def _division_row(scope: Scope, division: Division, year: int) -> DivisionFunding:
    """The division's row for the year, locked, or a new unsaved one; the caller may change it."""
    require(scope, Action.CHANGE, DivisionFunding(division=division, division_path=division.path, year=year))
    row = (visible(scope, DivisionFunding, Action.CHANGE).select_for_update()
           .filter(division=division, year=year).first())
    return row or DivisionFunding(division=division, division_path=division.path, year=year)


def _save_new_or_refuse(row, duplicate: str) -> None:
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:  # another request wrote the same year first
        raise ValidationError({"year": duplicate}) from None


# --- a division's payroll and ratio ------------------------------------------------------------------

def _division_figure_set(*, scope: Scope, actor, division: Division, year: int, field: str, value: Decimal,
                         label: str, action: str, correction: bool, reason: str, ip: str | None) -> DivisionFunding:
    reason = _reason(correction, reason)
    duplicate = f"{division.name}{year}年的{label}已填报；如需更正，请选择“更正”并说明原因"
    with transaction.atomic():
        row = _division_row(scope, division, year)
        before = getattr(row, field)
        if before is not None and not correction:
            raise ValidationError({"year": duplicate})
        if before is None and correction:
            raise ValidationError({"year": f"{division.name}{year}年尚未填报{label}，无需更正"})
        setattr(row, field, value)
        row.updated_by = actor
        if row.pk is None:
            _save_new_or_refuse(row, duplicate)
        else:
            row.save(update_fields=[field, "updated_by", "updated_at"])
        detail: dict[str, Any] = {"division": division.code, "year": year, field: str(value)}
        if correction:
            detail |= {"before": str(before), "reason": reason}
        audit_record(action=Audit.FUNDING_CORRECT if correction else action, actor=actor, ip=ip,
                     scope_path=division.path, object_type="division_funding", object_id=row.pk, detail=detail)
    return row


def payroll_set(*, scope: Scope, actor, division: Division, year, payroll, correction: bool = False,
                reason: str = "", ip: str | None = None) -> DivisionFunding:
    """A division's teacher payroll total (教师工资总额) for a year."""
    year = parse_year(year)
    amount = parse_money(payroll, field="payroll", label="教师工资总额", maximum=PAYROLL_MAX, positive=True)
    return _division_figure_set(scope=scope, actor=actor, division=division, year=year, field="payroll",
                                value=amount, label="教师工资总额", action=Audit.FUNDING_PAYROLL,
                                correction=correction, reason=reason, ip=ip)


def ratio_commit(*, scope: Scope, actor, division: Division, year, ratio_percent, correction: bool = False,
                 reason: str = "", ip: str | None = None) -> DivisionFunding:
    """The share of the payroll (1.5 %–2.5 %) a city or county commits to teacher training for a year."""
    year = parse_year(year)
    ratio = parse_ratio(ratio_percent)
    return _division_figure_set(scope=scope, actor=actor, division=division, year=year, field="ratio_percent",
                                value=ratio, label="培训经费比例", action=Audit.FUNDING_RATIO,
                                correction=correction, reason=reason, ip=ip)


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

def budget_add(*, scope: Scope, actor, division: Division, year, amount, purpose: str,
               ip: str | None = None) -> TrainingBudget:
    """One direct teacher-training budget entry of a division (amount, purpose, year)."""
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key, parse in (("year", lambda: parse_year(year)),
                       ("amount", lambda: parse_money(amount, field="amount", label="预算金额",
                                                      maximum=BUDGET_ENTRY_MAX, positive=True))):
        try:
            values[key] = parse()
        except ValidationError as error:
            problems |= {k: v[0] for k, v in error.message_dict.items()}
    purpose = (purpose or "").strip()
    if not 2 <= len(purpose) <= PURPOSE_MAX:
        problems["purpose"] = f"请填写用途（2—{PURPOSE_MAX}个字）"
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        row = TrainingBudget(division=division, division_path=division.path, year=values["year"],
                             amount=values["amount"], purpose=purpose, created_by=actor)
        require(scope, Action.CHANGE, row)
        row.save()
        audit_record(action=Audit.FUNDING_BUDGET, actor=actor, ip=ip, scope_path=division.path,
                     object_type="training_budget", object_id=row.pk,
                     detail={"division": division.code, "year": row.year, "amount": str(row.amount),
                             "purpose": purpose[:100]})
    return row


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
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key, parse in (("amount", lambda: parse_money(amount, field="amount", label="支出金额", maximum=SPEND_MAX,
                                                      positive=True)),
                       ("spent_on", lambda: parse_spent_on(spent_on, today))):
        try:
            values[key] = parse()
        except ValidationError as error:
            problems |= {k: v[0] for k, v in error.message_dict.items()}
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        problems["note"] = f"说明不超过{NOTE_MAX}个字"
    if (problem := evidence_problem(evidence)) is not None:
        problems["evidence"] = problem.replace("证明材料", "支出凭证")
    if problems:
        raise ValidationError(problems)
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
