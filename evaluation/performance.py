"""Project performance score, annual ranking and bottom-ranked elimination (§二(五)).

Writes: the province's weights (a new version on every change), a year's ranking (sources →
scores → flags → elimination cases), an appeal, the province's decision, and the daily
confirmation of cases whose appeal period has passed. Every write asks the access policy, runs in
one transaction and is audited; a refusal is a Chinese message and writes nothing.

The ranking's arithmetic (`rank_group`, pure) within one level × category:

1. each source is standardised over the projects that have it: z = (x − mean) / sd, with the
   population standard deviation; a source with one project, or all equal, gives z = 0;
2. a missing source is left out and the weights are re-spread over the sources present
   (w_s / Σ present w); a project with fewer than two sources is not ranked at all;
3. the composite is Σ w'_s · z_s (rounded to 6 places so float noise makes no ties or breaks);
4. the rank is by composite, highest first, ties sharing the better rank (1, 2, 2, 4);
5. `normalised` is the composite standardised once more within the group (a z);
6. when the group has at least `min_group` ranked projects, the bottom ceil(share × n) places
   are flagged: a project is flagged when its rank is above n − k, so a tie across the line is
   given the benefit of the doubt (it is not flagged).

Appeal: within APPEAL_DAYS days of the ranking (Beijing dates), by the implementing institution's
staff or the organiser's administrators, with a reason; decided (confirmed or overturned) by a
province administrator who did not appeal. A flagged case not appealed in time is confirmed by
`cases_confirm_due` (the daily task). A confirmed case sanctions the institution
(evaluation.sanctions) and keeps the project's continuation out of the next year's plan
(catalog.plans). A year is recomputed freely until one of its cases has been appealed or
decided; then recomputing is refused (the appeal or decision would lose its object)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation

from celery import shared_task
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from access.errors import Forbidden
from access.policy import Action, can, fetch, visible
from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record
from catalog.constants import ProjectState
from catalog.models import Project
from evaluation.constants import CaseState, Source
from evaluation.models import EliminationCase, ProjectScore, ScoreWeights
from evaluation.sources import source_scores
from notifications import evaluation_events

SOURCES = tuple(Source.values)
# How long after the ranking a flagged case may be appealed (calendar days, Beijing dates).
APPEAL_DAYS = 15
WEIGHT_FIELDS = ("supervision", "rating", "outcome", "stakeholder")


def may_set_weights(scope: Scope) -> bool:
    """Whoever may change the weights (the policy: the province) also computes the ranking under them."""
    return can(scope, Action.CHANGE, ScoreWeights())


@dataclass
class Ranked:
    project_id: int
    sources: dict[str, float | None]
    z: dict[str, float]
    composite: float
    normalised: float
    rank: int
    group_size: int
    flagged: bool


def _standardise(values: dict[int, float]) -> dict[int, float]:
    if not values:
        return {}
    mean = sum(values.values()) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values.values()) / len(values))
    if sd < 1e-12:
        return dict.fromkeys(values, 0.0)
    return {pk: (v - mean) / sd for pk, v in values.items()}


def bottom_count(share: Decimal, n: int) -> int:
    """ceil(share × n), in decimals (0.1 × 30 is exactly 3)."""
    return int((Decimal(share) * n).to_integral_value(rounding=ROUND_CEILING))


def rank_group(sources: dict[int, dict[str, float | None]], weights: dict[str, Decimal], *, share: Decimal,
               min_group: int) -> list[Ranked]:
    """The ranked projects of one group (projects with fewer than two sources are left out)."""
    eligible = {pk: s for pk, s in sources.items() if sum(s.get(name) is not None for name in SOURCES) >= 2}
    z_by_source = {name: _standardise({pk: float(s[name]) for pk, s in eligible.items()  # type: ignore[arg-type]
                                       if s.get(name) is not None})
                   for name in SOURCES}
    composite: dict[int, float] = {}
    zs: dict[int, dict[str, float]] = {}
    for pk, s in eligible.items():
        present = [name for name in SOURCES if s.get(name) is not None]
        total_weight = sum(float(weights[name]) for name in present)
        zs[pk] = {name: z_by_source[name][pk] for name in present}
        if total_weight <= 0:
            composite[pk] = 0.0
            continue
        composite[pk] = round(sum(float(weights[name]) / total_weight * zs[pk][name] for name in present), 6)
    n = len(eligible)
    normalised = _standardise(composite)
    order = sorted(eligible, key=lambda pk: (-composite[pk], pk))
    k = bottom_count(share, n) if n >= min_group else 0
    ranked: list[Ranked] = []
    for position, pk in enumerate(order, start=1):
        rank = position
        if position > 1 and composite[pk] == composite[order[position - 2]]:
            rank = ranked[-1].rank
        ranked.append(Ranked(project_id=pk, sources=eligible[pk], z=zs[pk], composite=composite[pk],
                             normalised=round(normalised[pk], 6), rank=rank, group_size=n, flagged=rank > n - k))
    return ranked


# --- weights ----------------------------------------------------------------------------------

def _weight(value, label: str, problems: dict, field: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        problems[field] = f"{label}应为0到1之间的小数"
        return Decimal(0)
    if not number.is_finite() or number < 0 or number > 1:
        problems[field] = f"{label}应为0到1之间的小数"
    elif number != number.quantize(Decimal("0.001")):
        problems[field] = f"{label}最多保留三位小数"
    return number


def weights_set(*, scope: Scope, actor, year: int, supervision, rating, outcome, stakeholder, bottom_share,
                min_group: int = 5, note: str = "", ip: str | None = None) -> ScoreWeights:
    """A new version of the year's weights (the earlier versions, and the scores computed under
    them, stay as they were). The four weights must sum to exactly 1."""
    if not may_set_weights(scope):
        raise Forbidden("只有省级管理员可以设置绩效评价权重")
    problems: dict[str, str] = {}
    labels = {f: str(getattr(ScoreWeights._meta.get_field(f), "verbose_name", f))
              for f in (*WEIGHT_FIELDS, "bottom_share")}
    given = {"supervision": supervision, "rating": rating, "outcome": outcome, "stakeholder": stakeholder}
    values = {f: _weight(given[f], labels[f], problems, f) for f in WEIGHT_FIELDS}
    share = _weight(bottom_share, labels["bottom_share"], problems, "bottom_share")
    if not problems:
        total = sum(values.values(), Decimal(0))
        if total != 1:
            problems["__all__"] = f"四项来源的权重之和必须等于1（当前为{total.normalize():f}）"
    if "bottom_share" not in problems and not Decimal(0) < share <= Decimal("0.5"):
        problems["bottom_share"] = "末位淘汰比例应大于0且不超过0.5"
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        problems["year"] = "年度应为2000到2100之间的整数"
    if not isinstance(min_group, int) or isinstance(min_group, bool) or not 2 <= min_group <= 1000:
        problems["min_group"] = "最少排名项目数应为2到1000之间的整数"
    note = (note or "").strip()
    if len(note) > 2000:
        problems["note"] = "说明不超过2000字"
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        earlier = list(visible(scope, ScoreWeights).select_for_update().filter(year=year).values_list("version",
                                                                                                      flat=True))
        row = ScoreWeights.objects.create(year=year, version=max(earlier, default=0) + 1, bottom_share=share,
                                          min_group=min_group, note=note, created_by=actor, **values)
        audit_record(action=Audit.EVALUATION_WEIGHTS, actor=actor, ip=ip, scope_path=scope.path or "",
                     object_type="evaluation.weights", object_id=row.pk,
                     detail={"year": year, "version": row.version, "bottom_share": str(share), "min_group": min_group,
                             **{f: str(v) for f, v in values.items()}})
    return row


def weights_in_force(scope: Scope, year: int) -> ScoreWeights | None:
    """The latest version of the year's weights."""
    return visible(scope, ScoreWeights).filter(year=year).order_by("-version").first()


# --- the ranking ------------------------------------------------------------------------------

def ranked_projects(scope: Scope, year: int):
    """The projects a year's ranking covers: those that ended in the year and were published."""
    return visible(scope, Project).filter(ends_on__year=year).exclude(state=ProjectState.DRAFT)


def ranking_compute(*, scope: Scope, actor, year: int, ip: str | None = None,
                    today: dt.date | None = None) -> dict:
    """Compute (or recompute) a year's scores, ranks and flags, and open an elimination case for
    every flagged project. Refused once a case of the year has been appealed or decided."""
    if not may_set_weights(scope):
        raise Forbidden("只有省级管理员可以计算年度绩效排名")
    today = today or timezone.localdate()
    with transaction.atomic():
        weights = visible(scope, ScoreWeights).select_for_update().filter(year=year).order_by("-version").first()
        if weights is None:
            raise ValidationError({"year": f"{year}年度尚未设置绩效评价权重，请先设置权重"})
        cases = visible(scope, EliminationCase).filter(score__year=year)
        if cases.exclude(state=CaseState.FLAGGED).exists():
            raise ValidationError({"year": f"{year}年度已有末位淘汰案件进入申诉或已作出处理，不能重新计算排名"})
        projects = ranked_projects(scope, year)
        sources = source_scores(scope, projects, today)
        facts = {row["pk"]: row for row in projects.values("pk", "level", "category", "division_path",
                                                           "organiser_school_id", "institution_id")}
        groups: dict[tuple[str, str], dict[int, dict]] = {}
        for pk, row in facts.items():
            groups.setdefault((row["level"], row["category"]), {})[pk] = sources[pk]
        weight_of = {f: getattr(weights, f) for f in WEIGHT_FIELDS}
        rows = []
        for (level, category), members in sorted(groups.items()):
            for r in rank_group(members, weight_of, share=weights.bottom_share, min_group=weights.min_group):
                fact = facts[r.project_id]
                rows.append(ProjectScore(
                    project_id=r.project_id, weights=weights, year=year, level=level, category=category,
                    division_path=fact["division_path"], organiser_school_id=fact["organiser_school_id"],
                    institution_id=fact["institution_id"], composite=r.composite, normalised=r.normalised,
                    rank=r.rank, group_size=r.group_size, flagged=r.flagged,
                    **{name: r.sources.get(name) for name in SOURCES}))
        cases.delete()
        visible(scope, ProjectScore).filter(year=year).delete()
        ProjectScore.objects.bulk_create(rows, batch_size=500)
        flagged = list(visible(scope, ProjectScore).filter(year=year, flagged=True).values_list("pk", flat=True))
        EliminationCase.objects.bulk_create([EliminationCase(score_id=pk) for pk in flagged], batch_size=500)
        evaluation_events.cases_flagged(
            visible(scope, EliminationCase).filter(score__year=year).select_related("score__project"),
            appeal_until=today + dt.timedelta(days=APPEAL_DAYS))
        summary = {"year": year, "weights_version": weights.version, "projects": len(facts), "ranked": len(rows),
                   "groups": len(groups), "flagged": len(flagged),
                   "appeal_until": str(today + dt.timedelta(days=APPEAL_DAYS))}
        audit_record(action=Audit.EVALUATION_RANK, actor=actor, ip=ip, scope_path=scope.path or "",
                     object_type="evaluation.ranking", object_id=year, detail=summary)
    return summary


# --- cases ------------------------------------------------------------------------------------

def appeal_deadline(case: EliminationCase) -> dt.date:
    """The last day an appeal is taken (Beijing date of the ranking + APPEAL_DAYS)."""
    return timezone.localdate(case.created_at) + dt.timedelta(days=APPEAL_DAYS)


def _text(value: str, field: str, label: str) -> str:
    value = (value or "").strip()
    if len(value) < 4:
        raise ValidationError({field: f"请填写{label}（至少4个字）"})
    if len(value) > 2000:
        raise ValidationError({field: f"{label}不超过2000字"})
    return value


def case_appeal(*, scope: Scope, actor, case_id: int, reason: str, ip: str | None = None,
                today: dt.date | None = None) -> EliminationCase:
    """The implementing institution's staff or the organiser's administrators appeal a flagged case,
    with a reason, within the appeal period."""
    today = today or timezone.localdate()
    with transaction.atomic():
        case = fetch(scope, EliminationCase, case_id, Action.CHANGE, lock=True)
        if case.state != CaseState.FLAGGED:
            raise ValidationError({"state": f"当前状态（{case.get_state_display()}）不能申诉"})
        reason = _text(reason, "appeal_text", "申诉理由")
        deadline = appeal_deadline(case)
        if today > deadline:
            raise ValidationError({"state": f"申诉期已过（截至{deadline}）"})
        case.state, case.appeal_text, case.appealed_by, case.appealed_at = (CaseState.APPEALED, reason, actor,
                                                                             timezone.now())
        case.save(update_fields=["state", "appeal_text", "appealed_by", "appealed_at"])
        audit_record(action=Audit.EVALUATION_APPEAL, actor=actor, ip=ip, scope_path=scope.path or "",
                     object_type="evaluation.case", object_id=case.pk, detail={"reason": reason[:200]})
        evaluation_events.case_appealed(case)
    return case


DECISIONS = {"confirm": CaseState.CONFIRMED, "overturn": CaseState.OVERTURNED}


def case_decide(*, scope: Scope, actor, case_id: int, decision: str, note: str, ip: str | None = None,
                today: dt.date | None = None) -> EliminationCase:
    """A province administrator who did not appeal confirms or overturns an appealed case. A
    confirmed case sanctions the implementing institution (evaluation.sanctions)."""
    from evaluation.sanctions import sanction_confirmed

    today = today or timezone.localdate()
    with transaction.atomic():
        case = fetch(scope, EliminationCase, case_id, lock=True)
        if case.appealed_by_id is not None and case.appealed_by_id == getattr(actor, "pk", None):
            raise Forbidden("申诉人不能处理本人提交的申诉（四眼原则）")
        case = fetch(scope, EliminationCase, case_id, Action.DECIDE, select_related=("score",))
        if decision not in DECISIONS:
            raise ValidationError({"decision": "请选择维持淘汰或撤销淘汰"})
        if case.state != CaseState.APPEALED:
            raise ValidationError({"state": f"当前状态（{case.get_state_display()}）不能处理，只有申诉中的案件可以处理"})
        note = _text(note, "decision_note", "处理意见")
        case.state, case.decided_by, case.decided_at, case.decision_note = (DECISIONS[decision], actor,
                                                                             timezone.now(), note)
        if case.state == CaseState.CONFIRMED:
            case.sanction = sanction_confirmed(case, today=today)
        case.save(update_fields=["state", "decided_by", "decided_at", "decision_note", "sanction"])
        audit_record(action=Audit.EVALUATION_DECIDE, actor=actor, ip=ip, scope_path=scope.path or "",
                     object_type="evaluation.case", object_id=case.pk,
                     detail={"decision": decision, "sanction": case.sanction, "note": note[:200]})
        evaluation_events.case_decided(case)
    return case


def cases_confirm_due(*, today: dt.date | None = None) -> int:
    """The daily task: flagged cases whose appeal period has passed are confirmed (by the system)
    and sanctioned. Returns how many."""
    from evaluation.sanctions import sanction_confirmed

    today = today or timezone.localdate()
    cutoff = timezone.make_aware(dt.datetime.combine(today - dt.timedelta(days=APPEAL_DAYS), dt.time.min))
    # The system's sweep over every flagged case, whoever would see it.
    due = list(EliminationCase.objects.dangerously_unscoped().filter(state=CaseState.FLAGGED, created_at__lt=cutoff)
               .order_by("pk").values_list("pk", flat=True))
    confirmed = 0
    for pk in due:
        with transaction.atomic():
            case = (EliminationCase.objects.dangerously_unscoped().select_for_update(of=("self",))
                    .select_related("score").filter(pk=pk, state=CaseState.FLAGGED).first())
            if case is None or today <= appeal_deadline(case):
                continue
            case.state, case.decided_at = CaseState.CONFIRMED, timezone.now()
            case.decision_note = f"申诉期（至{appeal_deadline(case)}）已过且未申诉，系统确认淘汰"
            case.sanction = sanction_confirmed(case, today=today)
            case.save(update_fields=["state", "decided_at", "decision_note", "sanction"])
            audit_record(action=Audit.EVALUATION_CONFIRM_DUE, scope_path=case.score.division_path,
                         object_type="evaluation.case", object_id=case.pk, detail={"sanction": case.sanction})
            evaluation_events.case_decided(case)
            confirmed += 1
    return confirmed


# --- tasks (Celery; the lead's evaluation/tasks.py imports them, the beat runs the daily one) ------

@shared_task
def ranking_compute_task(year: int) -> dict:
    """A year's ranking computed as the province (the operator's account is not needed)."""
    from org.models import Division

    return ranking_compute(scope=Scope.division(Division.objects.get(level="province")), actor=None, year=year)


@shared_task
def cases_confirm_due_task() -> int:
    """Daily: flagged cases past their appeal period are confirmed and sanctioned."""
    return cases_confirm_due()
