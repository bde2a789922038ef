"""/api/v1/ operations for funding: compliance of a jurisdiction, the gaps list, the years of one
division, figures (read and write), direct budget entries, plan vs spend per project, spend entry
and the imports. Each route resolves the caller's scope and calls one selector or service; the
services ask the access policy; bad input is 422 with `errors` per field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from ninja import File, Form, Router, Schema, UploadedFile

from access.scope import Scope, scope_for_user
from accounts.models import ADMIN_ROLES
from core.requests import client_ip, year_param
from funding import imports, selectors, services
from people.roster.files import RosterFileError

router = Router(tags=["培训经费"])


def _scope(user) -> Scope:
    if user.role not in ADMIN_ROLES:
        raise PermissionDenied("只有管理员可以查看培训经费")
    return scope_for_user(user)


def _division(scope: Scope, user, code: str):
    division = selectors.overview_division(scope=scope, user=user, code=code)
    if division is None:
        raise Http404("区划不存在或不在本辖区")
    return division


def _year(year: int | None) -> int:
    return year_param(year, timezone.localdate().year)


class SchoolSummaryOut(Schema):
    schools: int
    with_data: int
    met: int
    short: int
    no_data: int
    shortfall: Decimal


class FundingDivisionOut(Schema):
    code: str
    name: str
    level: str
    is_direct_county: bool
    year: int
    payroll: Decimal | None
    ratio_percent: Decimal | None
    ratio_committed: bool
    direct_budget: Decimal
    project_budget: Decimal
    budget: Decimal
    required: Decimal | None
    spend: Decimal
    state: str
    state_label: str
    shortfall: Decimal
    schools: SchoolSummaryOut | None = None


class FundingSchoolOut(Schema):
    code: str
    name: str
    year: int
    public_budget: Decimal | None
    training_budget: Decimal | None
    required: Decimal | None
    state: str
    state_label: str
    shortfall: Decimal


class FundingComplianceOut(Schema):
    division: FundingDivisionOut
    children: list[FundingDivisionOut]
    schools: list[FundingSchoolOut]


class GapSchoolOut(Schema):
    code: str
    name: str
    public_budget: Decimal
    training_budget: Decimal
    required: Decimal
    shortfall: Decimal


class GapsOut(Schema):
    year: int
    divisions: list[FundingDivisionOut]
    divisions_no_data: int
    schools: list[GapSchoolOut]
    schools_total: int
    schools_no_data: int


class YearOut(Schema):
    year: int
    budget: Decimal
    required: Decimal | None


class YearsOut(Schema):
    unit: str
    name: str
    years: list[YearOut]


class DivisionFigureIn(Schema):
    year: int | str
    payroll: Decimal | str | None = None
    ratio_percent: Decimal | str | None = None
    correction: bool = False
    on_behalf: bool = False  # the level above enters a division that has not reported (reason required)
    reason: str = ""


class DivisionFigureOut(Schema):
    division: str
    division_name: str
    year: int
    payroll: Decimal | None
    ratio_percent: Decimal | None
    entered_above: bool = False
    entered_above_by: str = ""
    entered_above_at: dt.datetime | None = None
    entered_above_reason: str = ""


class SchoolFigureIn(Schema):
    year: int | str
    public_budget: Decimal | str
    training_budget: Decimal | str
    correction: bool = False
    reason: str = ""


class SchoolFigureOut(Schema):
    school: str
    year: int
    public_budget: Decimal
    training_budget: Decimal


class BudgetIn(Schema):
    division: str
    year: int | str
    amount: Decimal | str
    purpose: str
    on_behalf: bool = False  # the level above enters a division that has not reported (reason required)
    reason: str = ""


class BudgetPatchIn(Schema):
    year: int | str | None = None
    amount: Decimal | str | None = None
    purpose: str | None = None
    reason: str = ""


class BudgetOut(Schema):
    id: int
    division: str
    year: int
    amount: Decimal
    purpose: str
    entered_above: bool = False
    entered_above_reason: str = ""
    corrected_at: dt.datetime | None = None
    correction_reason: str = ""


class FundingProjectOut(Schema):
    id: int
    code: str
    title: str
    starts_on: dt.date
    budget: Decimal
    spent: Decimal
    remaining: Decimal


class SpendOut(Schema):
    id: int
    project_id: int
    amount: Decimal
    spent_on: dt.date
    note: str
    evidence_name: str
    has_evidence: bool = True
    corrected_at: dt.datetime | None = None
    correction_reason: str = ""


class SpendPatchIn(Schema):
    amount: Decimal | str | None = None
    spent_on: dt.date | str | None = None
    note: str | None = None
    reason: str = ""


class FundingImportOut(Schema):
    kind: str
    written: bool
    already: bool
    rows: int
    created: int
    corrected: int
    rejections: list[dict]


def _figure_out(division, row) -> DivisionFigureOut:
    return DivisionFigureOut(division=division.code, division_name=division.name, year=row.year, payroll=row.payroll,
                             ratio_percent=row.ratio_percent, entered_above=row.is_entered_above,
                             entered_above_by=row.entered_above_by.username if row.entered_above_by else "",
                             entered_above_at=row.entered_above_at, entered_above_reason=row.entered_above_reason)


def _budget_out(row, code: str) -> BudgetOut:
    return BudgetOut(id=row.pk, division=code, year=row.year, amount=row.amount, purpose=row.purpose,
                     entered_above=row.is_entered_above, entered_above_reason=row.entered_above_reason,
                     corrected_at=row.corrected_at, correction_reason=row.correction_reason)


def _spend_out(row) -> SpendOut:
    return SpendOut(id=row.pk, project_id=row.project_id, amount=row.amount, spent_on=row.spent_on, note=row.note,
                    evidence_name=row.evidence_name, has_evidence=bool(row.evidence), corrected_at=row.corrected_at,
                    correction_reason=row.correction_reason)


def _division_out(row: selectors.DivisionRow) -> FundingDivisionOut:
    summary = row.schools
    return FundingDivisionOut(
        code=row.code, name=row.name, level=row.level, is_direct_county=row.is_direct_county, year=row.year,
        payroll=row.payroll, ratio_percent=row.ratio_percent, ratio_committed=row.ratio_committed,
        direct_budget=row.direct_budget, project_budget=row.project_budget, budget=row.budget, required=row.required,
        spend=row.spend, state=row.state, state_label=row.state_label, shortfall=row.shortfall,
        schools=None if summary is None else SchoolSummaryOut(
            schools=summary.schools, with_data=summary.with_data, met=summary.met, short=summary.short,
            no_data=summary.no_data, shortfall=summary.shortfall))


def _school_out(row: selectors.SchoolRow) -> FundingSchoolOut:
    return FundingSchoolOut(code=row.code, name=row.name, year=row.year, public_budget=row.public_budget,
                     training_budget=row.training_budget, required=row.required, state=row.state,
                     state_label=row.state_label, shortfall=row.shortfall)


@router.get("/funding/compliance", response=FundingComplianceOut, summary="培训经费达标情况（本辖区，?division= 下钻）")
def compliance(request, year: int | None = None, division: str = ""):
    scope = _scope(request.auth)
    found = _division(scope, request.auth, division)
    result = selectors.overview(scope=scope, division=found, year=_year(year))
    return FundingComplianceOut(division=_division_out(result.own), children=[_division_out(row) for row in result.children],
                         schools=[_school_out(row) for row in result.schools])


@router.get("/funding/gaps", response=GapsOut, summary="培训经费缺口清单（未达标的区划与学校，按缺口从大到小）")
def gaps(request, year: int | None = None, division: str = "", limit: int = 200):
    scope = _scope(request.auth)
    if scope.school_id is not None:
        raise PermissionDenied("学校管理员请查看本校经费")
    found = _division(scope, request.auth, division)
    result = selectors.gaps(scope=scope, division=found, year=_year(year))
    schools = list(result.schools[:max(1, min(limit, 1000))])
    return GapsOut(year=result.year, divisions=[_division_out(row) for row in result.divisions],
                   divisions_no_data=result.divisions_no_data,
                   schools=[GapSchoolOut(code=row.school.code, name=row.school.name, public_budget=row.public_budget,
                                         training_budget=row.training_budget, required=selectors._money(row.need),
                                         shortfall=selectors._money(row.gap)) for row in schools],
                   schools_total=result.schools.count(), schools_no_data=result.schools_no_data)


@router.get("/funding/years", response=YearsOut, summary="历年培训经费预算与按比例应安排（一个区划或本校）")
def years(request, division: str = ""):
    scope = _scope(request.auth)
    this_year = timezone.localdate().year
    span = list(range(this_year - selectors.YEARS_CHARTED + 1, this_year + 1))
    if scope.school_id is not None:
        if division:
            raise Http404("区划不存在或不在本辖区")
        school = request.auth.school
        points = selectors.school_years(scope=scope, school_id=scope.school_id, years=span)
        unit, name = school.code, school.name
    else:
        found = _division(scope, request.auth, division)
        points = selectors.division_years(scope=scope, division=found, years=span)
        unit, name = found.code, found.name
    return YearsOut(unit=unit, name=name,
                    years=[YearOut(year=p.year, budget=p.budget, required=p.required) for p in points])


@router.get("/funding/divisions/{code}/figures", response=list[DivisionFigureOut], summary="区划历年教师工资总额与比例")
def division_figures(request, code: str):
    scope = _scope(request.auth)
    division = services.division_for(scope, code)
    return [_figure_out(division, row) for row in selectors.division_figures(scope=scope, division=division)]


@router.post("/funding/divisions/{code}/figures", response={201: DivisionFigureOut},
             summary="填报（或更正）本单位某年度的教师工资总额和/或培训经费比例；on_behalf：上级为未填报的下级代填（须说明原因）")
def division_figures_set(request, code: str, payload: DivisionFigureIn):
    scope = _scope(request.auth)
    division = services.division_for(scope, code)
    if payload.payroll is None and payload.ratio_percent is None:
        raise ValidationError({"payroll": "教师工资总额与培训经费比例至少填写一项"})
    with transaction.atomic():  # both figures or neither
        row = None
        common = {"scope": scope, "actor": request.auth, "division": division, "year": payload.year,
                  "correction": payload.correction, "reason": payload.reason, "on_behalf": payload.on_behalf,
                  "ip": client_ip(request)}
        if payload.payroll is not None:
            row = services.payroll_set(payroll=payload.payroll, **common)
        if payload.ratio_percent is not None:
            row = services.ratio_commit(ratio_percent=payload.ratio_percent, **common)
    assert row is not None
    return 201, _figure_out(division, row)


@router.get("/funding/schools/{code}/figures", response=list[SchoolFigureOut], summary="学校历年公用经费与培训经费")
def school_figures(request, code: str):
    scope = _scope(request.auth)
    school = services.school_for(scope, code)
    return [SchoolFigureOut(school=school.code, year=row.year, public_budget=row.public_budget,
                            training_budget=row.training_budget)
            for row in selectors.school_figures(scope=scope, school=school)]


@router.post("/funding/schools/{code}/figures", response={201: SchoolFigureOut},
             summary="填报（或更正）学校某年度的公用经费预算总额与培训经费预算")
def school_figures_set(request, code: str, payload: SchoolFigureIn):
    scope = _scope(request.auth)
    school = services.school_for(scope, code)
    row = services.school_funding_set(scope=scope, actor=request.auth, school=school, year=payload.year,
                                      public_budget=payload.public_budget, training_budget=payload.training_budget,
                                      correction=payload.correction, reason=payload.reason, ip=client_ip(request))
    return 201, SchoolFigureOut(school=school.code, year=row.year, public_budget=row.public_budget,
                                training_budget=row.training_budget)


@router.get("/funding/budgets", response=list[BudgetOut], summary="区划直接安排的培训经费预算（某年度）")
def budgets(request, division: str = "", year: int | None = None):
    scope = _scope(request.auth)
    found = _division(scope, request.auth, division)
    return [_budget_out(row, found.code)
            for row in selectors.budget_entries(scope=scope, division=found, year=_year(year))]


@router.post("/funding/budgets", response={201: BudgetOut},
             summary="录入本单位的培训经费预算（金额、用途、年度）；on_behalf：上级为未填报的下级代填（须说明原因）")
def budget_add(request, payload: BudgetIn):
    scope = _scope(request.auth)
    division = services.division_for(scope, payload.division)
    row = services.budget_add(scope=scope, actor=request.auth, division=division, year=payload.year,
                              amount=payload.amount, purpose=payload.purpose, on_behalf=payload.on_behalf,
                              reason=payload.reason, ip=client_ip(request))
    return 201, _budget_out(row, division.code)


@router.patch("/funding/budgets/{int:budget_id}", response=BudgetOut,
              summary="更正一笔培训经费预算（年度、金额、用途，未给出的不变；reason 必填，记入审计日志）")
def budget_correct(request, budget_id: int, payload: BudgetPatchIn):
    scope = _scope(request.auth)
    row = services.budget_correct(scope=scope, actor=request.auth, budget_id=budget_id, year=payload.year,
                                  amount=payload.amount, purpose=payload.purpose, reason=payload.reason,
                                  ip=client_ip(request))
    return _budget_out(row, row.division.code)


@router.delete("/funding/budgets/{int:budget_id}", response={204: None},
               summary="删除一笔培训经费预算（?reason= 必填；记录保留并标记删除，不再计入培训经费）")
def budget_delete(request, budget_id: int, reason: str = ""):
    scope = _scope(request.auth)
    services.budget_delete(scope=scope, actor=request.auth, budget_id=budget_id, reason=reason, ip=client_ip(request))
    return 204, None


@router.get("/funding/projects", response=list[FundingProjectOut], summary="本区划主办项目的预算与实际支出（某年度开始的项目）")
def projects(request, division: str = "", year: int | None = None):
    scope = _scope(request.auth)
    found = _division(scope, request.auth, division)
    return [FundingProjectOut(id=row.pk, code=row.code, title=row.title, starts_on=row.starts_on, budget=row.budget,
                       spent=selectors._money(row.spent), remaining=selectors._money(row.budget - row.spent))
            for row in selectors.project_plan_spend(scope=scope, division=found, year=_year(year))[:1000]]


@router.get("/funding/projects/{int:project_id}/spend", response=list[SpendOut], summary="项目的经费支出明细")
def spend_list(request, project_id: int):
    scope = _scope(request.auth)
    project = services.spend_project_visible(scope, project_id)
    return [_spend_out(row) for row in selectors.project_spends(scope=scope, project=project)]


@router.post("/funding/projects/{int:project_id}/spend", response={201: SpendOut},
             summary="录入项目的一笔实际支出（multipart：amount、spent_on、note、evidence 凭证文件）")
def spend_add(request, project_id: int, evidence: File[UploadedFile], amount: Form[str], spent_on: Form[str],
              note: Form[str] = ""):
    scope = _scope(request.auth)
    row = services.spend_add(scope=scope, actor=request.auth, project_id=project_id, amount=amount,
                             spent_on=spent_on, note=note, evidence=evidence, today=timezone.localdate(),
                             ip=client_ip(request))
    return 201, _spend_out(row)


@router.patch("/funding/spend/{int:spend_id}", response=SpendOut,
              summary="更正一笔项目支出（金额、支出日期、说明，未给出的不变；reason 必填，记入审计日志）")
def spend_correct(request, spend_id: int, payload: SpendPatchIn):
    scope = _scope(request.auth)
    row = services.spend_correct(scope=scope, actor=request.auth, spend_id=spend_id, amount=payload.amount,
                                 spent_on=payload.spent_on, note=payload.note, reason=payload.reason,
                                 today=timezone.localdate(), ip=client_ip(request))
    return _spend_out(row)


@router.delete("/funding/spend/{int:spend_id}", response={204: None},
               summary="删除一笔项目支出（?reason= 必填；记录与凭证保留并标记删除，不再计入实际支出）")
def spend_delete(request, spend_id: int, reason: str = ""):
    scope = _scope(request.auth)
    services.spend_delete(scope=scope, actor=request.auth, spend_id=spend_id, reason=reason, ip=client_ip(request))
    return 204, None


@router.post("/funding/spend/{int:spend_id}/evidence", response=SpendOut,
             summary="补传（或更换）一笔项目支出的凭证（multipart：evidence 文件；更换已有凭证须给出 reason）")
def spend_evidence(request, spend_id: int, evidence: File[UploadedFile], reason: Form[str] = ""):
    scope = _scope(request.auth)
    row = services.spend_evidence_attach(scope=scope, actor=request.auth, spend_id=spend_id, evidence=evidence,
                                         reason=reason, ip=client_ip(request))
    return _spend_out(row)


@router.post("/funding/imports/{kind}", response=FundingImportOut,
             summary="导入培训经费数据（kind：division、school、spend；整份文件全部通过才写入，同一文件不重复导入；"
                     "有行未通过时 written 为 false 并列出各行原因）")
def funding_import(request, kind: str, file: File[UploadedFile]):
    scope = _scope(request.auth)
    if kind not in imports.COLUMNS:
        raise Http404("未知的导入类型")
    try:
        result = imports.funding_import(scope=scope, actor=request.auth, kind=kind, handle=file.file,  # type: ignore[arg-type]
                                        name=file.name or "", today=timezone.localdate(), ip=client_ip(request))
    except RosterFileError as error:
        raise ValidationError({"file": str(error)}) from None
    return FundingImportOut(kind=kind, written=result.written, already=result.already, rows=result.rows,
                            created=result.created, corrected=result.corrected,
                            rejections=result.rejections[:imports.REJECTIONS_SHOWN])
