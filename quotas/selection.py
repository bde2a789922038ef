"""Fair selection of nominees for a high-end project inside a division (services).

Priority rules are data: a division's versioned rule set (`PriorityRuleSet`, the province's
default; a city or county may publish its own, which applies to the projects it organises; the
nearest one up the tree otherwise). A division administrator builds the ranked list of the
teachers of their jurisdiction whom the project's audience admits: eligibility and every rule's
points are computed in SQL over the teacher table (annotate / Exists / Subquery, a handful of
queries whatever the county's size), then the top N (the seats the division gives the project)
and a reserve are stored with their rank, points and a Chinese explanation. The administrator
may drop a pick (the best reserve moves up) or add a teacher (the lowest-ranked pick moves back to
the head of the reserve), each with a written reason; submitting nominates the selected teachers
through `catalog.nominations.project_nominate` and stores each outcome on its pick.

Ties are broken, in order, by: the longer time since the teacher's last completed high-end
training (never trained: since their hire date), then a seeded hash of the teacher's id
((id × 2654435761 + seed) mod 4294967311, the seed from the project's and the division's codes),
then the id — never by the id alone, so the oldest records are not favoured.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, Value, When
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone

from access.errors import Forbidden, NotVisible
from access.policy import TEACHER_CHANGE, Action, can, fetch, visible
from access.rules import ancestor_paths
from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record
from catalog.constants import NEW_TEACHER_YEARS, Level, ProjectState
from catalog.models import Enrolment, Project
from catalog.nominations import ON_THE_LIST, project_nominate
from catalog.services import audience_division_paths, project_serving_scope
from org.models import Division
from people.constants import HONOUR_LEVEL_LABELS, HONOUR_TITLE_LABELS
from people.id_lookup import id_search_number
from people.models import Teacher, TeacherHonour, TeacherSubject
from quotas import selection_selectors as seat_reads
from quotas.selection_models import (
    ListState,
    NominationList,
    NominationOverride,
    NominationPick,
    OverrideKind,
    PickRole,
    PriorityRule,
    PriorityRuleSet,
    RuleKind,
)

MAX_POINTS = 1000
MAX_PER_YEAR = 100
MAX_WITHIN_YEARS = 50
MAX_YEARS_COUNTED = 40  # the years rule looks back at most this far (its CASE has one branch a year)
MAX_SEATS = 1000
MAX_REASON = 500
HASH_MULTIPLIER = 2654435761
HASH_MODULUS = 4294967311  # a prime above 2³²: id ↦ (id·A + seed) mod M is one-to-one for ids below M
DEFAULT_RULES: list[dict[str, Any]] = [
    {"kind": RuleKind.NEVER_TRAINED, "points": 40, "params": {"within_years": None}},
    {"kind": RuleKind.RURAL, "points": 20, "params": {}},
    {"kind": RuleKind.HONOUR_PIPELINE, "points": 15, "params": {}},
    {"kind": RuleKind.YEARS_SINCE, "points": 2, "params": {"cap": 20}},
]
# The 骨干 → 名师 pipeline: the honours (title, level) that put a teacher next in line for a
# high-end project of a level — one rung below it. A county 骨干 is next in line for a city 名师
# programme; a city 骨干 or 学科带头人 for the province's; for a county's own programme, the
# county's 乡村首席教师 (the rural entry to the pipeline).
NEXT_IN_LINE: dict[str, tuple[tuple[str, str], ...]] = {
    Level.COUNTY: (("chief_teacher", "county"),),
    Level.CITY: (("backbone", "county"), ("subject_leader", "county"), ("master_teacher", "county")),
    Level.PROVINCE: (("backbone", "city"), ("subject_leader", "city"), ("master_teacher", "city")),
}
LEVEL_LABELS: dict[str, str] = dict(Level.choices)  # 省级, 市级, 县级, 校级
PARAMS = {
    RuleKind.NEVER_TRAINED: {"within_years"},
    RuleKind.RURAL: set(),
    RuleKind.HONOUR_PIPELINE: set(),
    RuleKind.YEARS_SINCE: {"cap"},
}


def _unscoped(model: type[models.Model]) -> models.QuerySet:
    """Correlated subqueries (OuterRef to the teacher row) over a teacher's enrolments, honours and
    subjects: they only ever reach rows of teachers the outer query already limited to the scope."""
    return model.objects.dangerously_unscoped()  # type: ignore[attr-defined]


def may_build(scope: Scope) -> bool:
    """A county, city or province administrator acting for their own division."""
    return scope.is_division and can(scope, Action.CHANGE, NominationList(division_path=scope.path or ""))


def _years_ago(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


# --- rule sets ------------------------------------------------------------------------------


def _int(value, *, what: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what}应为整数")
    if isinstance(value, str):
        value = value.strip()
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{what}应为整数") from None
    if isinstance(value, float) and value != number:
        raise ValueError(f"{what}应为整数")
    return number


def rules_clean(raw) -> list[dict[str, Any]]:
    """The rules of a new version, checked: kinds known and each once, points whole numbers from 0
    to 1000 (the years rule: 0–100 a year), parameters only those of the kind and in range.
    Raises ValidationError with a Chinese message per rule."""
    errors: dict[str, str] = {}
    if not isinstance(raw, list) or not raw:
        raise ValidationError({"rules": "至少需要一条规则"})
    clean, seen = [], set()
    for number, item in enumerate(raw, start=1):
        key = f"rule_{number}"
        if not isinstance(item, dict):
            errors[key] = f"第{number}条规则格式不正确"
            continue
        kind = item.get("kind")
        if kind not in RuleKind.values:
            errors[key] = f"第{number}条规则：未知的规则类型“{kind}”"
            continue
        if kind in seen:
            errors[key] = f"第{number}条规则：同一规则类型只能出现一次"
            continue
        seen.add(kind)
        params = item.get("params") or {}
        if not isinstance(params, dict):
            errors[key] = f"第{number}条规则：参数格式不正确"
            continue
        unknown = sorted(set(params) - PARAMS[RuleKind(kind)])
        if unknown:
            errors[key] = f"第{number}条规则：参数“{'、'.join(unknown)}”不适用于该规则"
            continue
        try:
            points = _int(item.get("points"), what="分值")
            if points < 0:
                raise ValueError("分值不能为负数")
            limit = MAX_PER_YEAR if kind == RuleKind.YEARS_SINCE else MAX_POINTS
            if points > limit:
                raise ValueError(f"分值不能超过{limit}" + ("（每年）" if kind == RuleKind.YEARS_SINCE else ""))
            clean_params: dict[str, Any] = {}
            if kind == RuleKind.NEVER_TRAINED:
                within = params.get("within_years")
                if within not in (None, ""):
                    within = _int(within, what="年限")
                    if not 1 <= within <= MAX_WITHIN_YEARS:
                        raise ValueError(f"年限应为1–{MAX_WITHIN_YEARS}年（留空表示从未参加）")
                    clean_params["within_years"] = within
                else:
                    clean_params["within_years"] = None
            elif kind == RuleKind.YEARS_SINCE:
                cap = _int(params.get("cap"), what="封顶分值")
                if not 1 <= cap <= MAX_POINTS:
                    raise ValueError(f"封顶分值应为1–{MAX_POINTS}")
                clean_params["cap"] = cap
        except ValueError as error:
            errors[key] = f"第{number}条规则（{RuleKind(kind).label}）：{error}"
            continue
        clean.append({"kind": kind, "points": points, "params": clean_params})
    if errors:
        raise ValidationError(errors)
    return clean


def _division_of(scope: Scope) -> Division:
    division = Division.objects.filter(path=scope.path).first() if scope.path else None
    if division is None:
        raise PermissionDenied("账户未绑定区划")
    return division


def rule_set_publish(*, scope: Scope, actor, rules, note: str = "", ip: str | None = None) -> PriorityRuleSet:
    """A new version of the caller's division's rule set (the old versions stay as they were)."""
    if not scope.is_division:
        raise Forbidden("只有县级及以上管理员可以发布推荐优先规则")
    if not can(scope, Action.CHANGE, PriorityRuleSet(division_path=scope.path or "")):
        raise Forbidden("只有县级及以上管理员可以发布推荐优先规则")
    clean = rules_clean(rules)
    note = (note or "").strip()
    if len(note) > 500:
        raise ValidationError({"note": "说明不能超过500字"})
    division = _division_of(scope)
    try:
        with transaction.atomic():
            latest = (visible(scope, PriorityRuleSet).filter(division=division)
                      .aggregate(v=models.Max("version"))["v"]) or 0
            row = PriorityRuleSet.objects.create(division=division, division_path=division.path, version=latest + 1,
                                                 note=note, created_by=actor)
            PriorityRule.objects.bulk_create([PriorityRule(rule_set=row, position=n, **rule)
                                              for n, rule in enumerate(clean, start=1)])
            audit_record(action=Audit.SELECTION_RULES_PUBLISH, actor=actor, ip=ip, scope_path=division.path,
                         object_type="priority_rule_set", object_id=row.pk,
                         detail={"version": row.version, "rules": clean})
    except IntegrityError:
        raise ValidationError({"rules": "同时有人发布了新版本，请刷新后重试"}) from None
    return row


def rule_set_in_force(scope: Scope, division_path: str) -> PriorityRuleSet | None:
    """The latest version of the nearest rule set at or above `division_path` that the viewer sees."""
    rows = list(visible(scope, PriorityRuleSet).filter(division_path__in=ancestor_paths(division_path))
                .order_by("-division_path", "-version")[:1])
    return rows[0] if rows else None


def _province_default(division_path: str, actor, ip: str | None) -> PriorityRuleSet:
    """The province's first version, from DEFAULT_RULES, when nobody has published one yet."""
    province = Division.objects.get(path=ancestor_paths(division_path)[0])
    row, created = PriorityRuleSet.objects.dangerously_unscoped().get_or_create(
        division=province, version=1, defaults={"division_path": province.path, "note": "系统默认规则"})
    if created:
        PriorityRule.objects.bulk_create([PriorityRule(rule_set=row, position=n, **rule)
                                          for n, rule in enumerate(DEFAULT_RULES, start=1)])
        audit_record(action=Audit.SELECTION_RULES_PUBLISH, actor=None, ip=ip, scope_path=province.path,
                     object_type="priority_rule_set", object_id=row.pk,
                     detail={"version": 1, "default": True, "rules": DEFAULT_RULES})
    return row


# --- ranking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedRow:
    teacher_id: int
    name: str
    school: str
    points: int
    explanation: str
    since: dt.date


def list_seed(project: Project, division_path: str) -> int:
    digest = hashlib.sha256(f"{project.organiser_id}:{project.code}|{division_path}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % HASH_MODULUS


def eligible_teachers(scope: Scope, project: Project, *, today: dt.date) -> models.QuerySet:
    """The teachers of the viewer's jurisdiction (those they may nominate) whom the project's
    audience admits and who are not already on its list — one queryset, no per-teacher check.
    Mirrors catalog.services.audience_refusals key by key."""
    rule = project.audience or {}
    rows = (visible(scope, Teacher, Action.NOMINATE).filter(TEACHER_CHANGE.q(project_serving_scope(project)))
            .filter(status="active"))
    if rule.get("stages"):
        rows = rows.filter(stage__in=rule["stages"])
    if rule.get("titles"):
        rows = rows.filter(title__in=rule["titles"])
    if rule.get("subjects"):
        rows = rows.filter(Exists(_unscoped(TeacherSubject).filter(teacher=OuterRef("pk"),
                                                                   subject__in=rule["subjects"])))
    if rule.get("honours"):
        rows = rows.filter(Exists(_unscoped(TeacherHonour).filter(teacher=OuterRef("pk"), title__in=rule["honours"])
                                  .exclude(expires_on__lt=today)))
    if rule.get("divisions"):
        paths = list(audience_division_paths([rule]).values())
        if not paths:
            return rows.none()
        where = Q()
        for path in paths:
            where |= Q(division_path__startswith=path)
        rows = rows.filter(where)
    if rule.get("new_teachers"):
        rows = rows.filter(hire_date__gte=_years_ago(today, NEW_TEACHER_YEARS))
    on_list = _unscoped(Enrolment).filter(project_id=project.pk, teacher=OuterRef("pk"), state__in=ON_THE_LIST)
    return rows.filter(~Exists(on_list))


def ranked_teachers(scope: Scope, project: Project, rules: list[PriorityRule], *, today: dt.date,
                    seed: int) -> models.QuerySet:
    """The eligible teachers with each rule's points (p_<kind>), the total and the tie-break keys
    as SQL annotations, in rank order."""
    by_kind = {rule.kind: rule for rule in rules}
    # Every per-teacher fact is a conditional aggregate over two LEFT JOINs (enrolments, honours),
    # grouped by teacher: no correlated subquery, which PostgreSQL would run once per row for each
    # of the dozen places (years rule, order) that refer to it. The joins multiply rows, which
    # neither MAX nor "COUNT > 0" minds.
    done = Q(enrolments__state="completed", enrolments__project__is_high_end=True)
    rows = eligible_teachers(scope, project, today=today).annotate(
        last_high_end=models.Max("enrolments__project__ends_on", filter=done),
    ).annotate(since=Coalesce(F("last_high_end"), F("hire_date")))
    zero = Value(0, output_field=IntegerField())
    parts = []
    never = by_kind.get(RuleKind.NEVER_TRAINED)
    if never is not None:
        trained = done & Q(enrolments__project__level=project.level)
        if never.params.get("within_years"):
            trained &= Q(enrolments__project__ends_on__gte=_years_ago(today, never.params["within_years"]))
        rows = rows.annotate(trained_at_level=models.Count("enrolments", filter=trained), p_never=Case(
            When(trained_at_level=0, then=Value(never.points)), default=zero, output_field=IntegerField()))
        parts.append(F("p_never"))
    rural = by_kind.get(RuleKind.RURAL)
    if rural is not None:
        rows = rows.annotate(p_rural=Case(When(school__is_rural=True, then=Value(rural.points)), default=zero,
                                          output_field=IntegerField()))
        parts.append(F("p_rural"))
    honour = by_kind.get(RuleKind.HONOUR_PIPELINE)
    pipeline = NEXT_IN_LINE.get(project.level, ())
    if honour is not None and pipeline:
        match = Q()
        for title, level in pipeline:
            match |= Q(honours__title=title, honours__level=level)
        current = Q(honours__expires_on__isnull=True) | Q(honours__expires_on__gte=today)
        rows = rows.annotate(honour_key=models.Max(Concat("honours__level", Value(":"), "honours__title"),
                                                   filter=match & current), p_honour=Case(
            When(honour_key__isnull=False, then=Value(honour.points)), default=zero, output_field=IntegerField()))
        parts.append(F("p_honour"))
    years = by_kind.get(RuleKind.YEARS_SINCE)
    if years is not None and years.points > 0:
        cap = years.params["cap"]
        top = min(MAX_YEARS_COUNTED, math.ceil(cap / years.points))
        rows = rows.annotate(p_years=Case(
            *[When(since__lte=_years_ago(today, k), then=Value(min(cap, k * years.points)))
              for k in range(top, 0, -1)], default=zero, output_field=IntegerField()))
        parts.append(F("p_years"))
    total: Any = zero
    for part in parts:
        total = total + part
    tie = models.ExpressionWrapper((F("id") * HASH_MULTIPLIER + seed) % HASH_MODULUS,
                                   output_field=models.BigIntegerField())
    return rows.annotate(total=models.ExpressionWrapper(total, output_field=IntegerField()), tie=tie).order_by(
        "-total", "since", "tie", "id")


def _explain(values: dict, rules: list[PriorityRule], project: Project, today: dt.date) -> str:
    level = LEVEL_LABELS.get(project.level, "")
    parts = []
    for rule in rules:
        if rule.kind == RuleKind.NEVER_TRAINED and values.get("p_never"):
            within = rule.params.get("within_years")
            text = f"近{within}年未参加{level}高端培训" if within else f"从未参加{level}高端培训"
            parts.append(f"{text} +{values['p_never']}")
        elif rule.kind == RuleKind.RURAL and values.get("p_rural"):
            parts.append(f"乡村学校 +{values['p_rural']}")
        elif rule.kind == RuleKind.HONOUR_PIPELINE and values.get("p_honour"):
            honour_level, _, title = (values.get("honour_key") or ":").partition(":")
            label = HONOUR_LEVEL_LABELS.get(honour_level, "") + HONOUR_TITLE_LABELS.get(title, title)
            parts.append(f"{label} +{values['p_honour']}")
        elif rule.kind == RuleKind.YEARS_SINCE and values.get("p_years"):
            count = _years_between(values["since"], today)
            text = (f"距上次高端培训{count}年" if values.get("last_high_end") else f"入职{count}年未参加高端培训")
            parts.append(f"{text} +{values['p_years']}")
    parts.append(f"合计{values['total']}")
    return "；".join(parts) if len(parts) > 1 else f"无加分项；合计{values['total']}"


def _years_between(since: dt.date, today: dt.date) -> int:
    """Whole years from `since` to `today`, counted as the SQL CASE counts them."""
    years = 0
    while years < MAX_YEARS_COUNTED and since <= _years_ago(today, years + 1):
        years += 1
    return years


FIELDS = ("pk", "name", "school__name", "total", "since", "last_high_end")


def _fields(rows: models.QuerySet) -> list[str]:
    names = set(rows.query.annotations)
    return [*FIELDS, *[n for n in ("p_never", "p_rural", "p_honour", "honour_key", "p_years") if n in names]]


def ranking_compute(*, scope: Scope, project: Project, rules: list[PriorityRule], limit: int, today: dt.date,
                    seed: int) -> tuple[int, list[RankedRow]]:
    """How many are eligible, and the first `limit` ranked rows with their explanations (two queries)."""
    rows = ranked_teachers(scope, project, rules, today=today, seed=seed)
    count = rows.count()
    ranked = [RankedRow(teacher_id=v["pk"], name=v["name"], school=v["school__name"], points=v["total"],
                        explanation=_explain(v, rules, project, today), since=v["since"])
              for v in rows.values(*_fields(rows))[:limit]]
    return count, ranked


def project_for_selection(scope: Scope, project_id: int) -> Project:
    """The high-end project the viewer may rank their teachers for (the access policy's
    `select_nominees`): NotVisible when they do not see it, Forbidden when it is not theirs to
    nominate for (a neighbour's, a school's, one organised below them)."""
    project = fetch(scope, Project, project_id)
    if not project.is_high_end:
        raise ValidationError({"project": "本项目不是高端培训项目，无需生成推荐名单"})
    if not can(scope, Action.SELECT_NOMINEES, project):
        raise Forbidden("本项目不面向本辖区，不能生成推荐名单")
    return project


def seats_for(scope: Scope, project: Project) -> seat_reads.SeatSource:
    """The seats the viewer's division may nominate for `project`, and where the number comes from."""
    return seat_reads.seats_allocated(scope, project, _division_of(scope))


def _seats(raw, source: seat_reads.SeatSource) -> int:
    """The list's seats: by default what is left of the division's allocated share, capped by the
    project's free seats (without an allocation: the free seats); never above the share."""
    remaining = source.remaining
    if raw in (None, ""):
        if source.default > 0:
            return source.default
        if remaining == 0:
            raise ValueError(f"{source.share_text}，{source.division_label}教师已在项目名单上 {source.used} 人，"
                             "名额已用完，不能生成推荐名单")
        raise ValueError("项目已无空余名额")
    seats = _int(raw, what="入选名额")
    if not 1 <= seats <= MAX_SEATS:
        raise ValueError(f"入选名额应为1–{MAX_SEATS}")
    if remaining is not None and seats > remaining:
        used = f"，{source.division_label}教师已在项目名单上 {source.used} 人" if source.used else ""
        raise ValueError(f"入选名额（{seats} 人）超过分配的名额：{source.share_text}{used}，"
                         f"最多还可推荐 {remaining} 人")
    return seats


def nomination_list_build(*, scope: Scope, actor, project_id: int, seats: int | None = None,
                          reserve: int | None = None, ip: str | None = None,
                          today: dt.date | None = None) -> NominationList:
    """Rank the division's eligible teachers for a high-end project and store the list: the top
    `seats` selected and `reserve` more (default: as many). `seats` defaults to what is left of
    the share allocated to the division for the project's level and year, capped by the project's
    free seats (`selection_selectors.seats_allocated`), and may not exceed that share; without an
    allocation it defaults to the free seats."""
    if not may_build(scope):
        raise Forbidden("只有县级及以上管理员可以生成推荐名单")
    today = today or timezone.localdate()
    project = project_for_selection(scope, project_id)
    if project.state not in (ProjectState.DRAFT, ProjectState.OPEN):
        raise ValidationError({"project": "项目已截止报名，不能生成推荐名单"})
    division = _division_of(scope)
    source = seat_reads.seats_allocated(scope, project, division)
    errors = {}
    try:
        seats = _seats(seats, source)
    except ValueError as error:
        errors["seats"] = str(error)
    try:
        reserve = (min(seats, MAX_SEATS) if isinstance(seats, int) and seats > 0 else 0) \
            if reserve in (None, "") else _int(reserve, what="候补人数")
        if not 0 <= reserve <= MAX_SEATS:
            raise ValueError(f"候补人数应为0–{MAX_SEATS}")
    except ValueError as error:
        errors["reserve"] = str(error)
    if errors:
        raise ValidationError(errors)
    assert isinstance(seats, int) and isinstance(reserve, int)
    with transaction.atomic():
        rule_set = rule_set_in_force(scope, project.division_path) or _province_default(project.division_path,
                                                                                          actor, ip)
        rules = list(rule_set.rules.all())
        seed = list_seed(project, division.path)
        count, ranked = ranking_compute(scope=scope, project=project, rules=rules, limit=seats + reserve,
                                        today=today, seed=seed)
        row = NominationList.objects.create(project=project, division=division, division_path=division.path,
                                            rule_set=rule_set, seats=seats, reserve=reserve, eligible_count=count,
                                            seed=seed, built_by=actor)
        NominationPick.objects.bulk_create([
            NominationPick(nomination_list=row, teacher_id=r.teacher_id, rank=n, points=r.points,
                           explanation=r.explanation, role=PickRole.SELECTED if n <= seats else PickRole.RESERVE)
            for n, r in enumerate(ranked, start=1)], batch_size=500)
        audit_record(action=Audit.SELECTION_LIST_BUILD, actor=actor, ip=ip, scope_path=division.path,
                     object_type="nomination_list", object_id=row.pk,
                     detail={"project": project.pk, "rule_set": rule_set.pk, "version": rule_set.version,
                             "eligible": count, "seats": seats, "reserve": reserve, "stored": len(ranked),
                             "allocation": source.allocation_id, "allocated": source.allocated,
                             "already_on_list": source.used, "free": source.free})
    return row


# --- finding a teacher to add ---------------------------------------------------------------

SEARCH_LIMIT = 20
MAX_QUERY = 30


@dataclass(frozen=True)
class Candidate:
    """A teacher a search found: eligible for the project, in the list owner's jurisdiction, with
    their points under the list's rules and their place on the list (if any). No ID number."""

    teacher_id: int
    name: str
    school: str
    points: int
    explanation: str
    role: str  # "" (not on the list), "selected", "reserve" or "dropped"
    rank: int | None


def nomination_candidates(*, scope: Scope, list_id: int, q: str,
                          today: dt.date | None = None) -> tuple[list[Candidate], bool]:
    """Teachers to add to a draft list, found by the start of their name or by their teacher
    number (教师编号; the registry keeps no separate staff number): the list owner's teachers whom
    the project's audience admits and who are not already on the project (`eligible_teachers`),
    best-ranked first, at most SEARCH_LIMIT (and whether there were more). Five queries whatever
    the county's size (the list, its rules, the 省直管县's paths, the ranked rows, their places). An ID number is refused: that search is the registry's counted, audited
    lookup (people.id_lookup), not this one."""
    row = fetch(scope, NominationList, list_id, Action.CHANGE, select_related=("project", "rule_set"))
    if row.state != ListState.DRAFT:
        raise ValidationError({"list": "名单已提交推荐，不能再增补"})
    text = (q or "").strip() if isinstance(q, str) else ""
    if not text:
        return [], False
    if len(text) > MAX_QUERY:
        raise ValidationError({"q": f"查询内容不能超过{MAX_QUERY}个字"})
    if id_search_number(text) is not None or (len(text) >= 15 and text[:-1].isdigit()):
        raise ValidationError({"q": "增补名单不支持按身份证号查找，请输入姓名或教师编号"})
    today = today or timezone.localdate()
    rules = list(row.rule_set.rules.all())
    rows = ranked_teachers(scope, row.project, rules, today=today, seed=row.seed)
    if text.isdigit():
        number = int(text)
        rows = rows.filter(pk=number) if 0 < number < 2**62 else rows.none()
    else:
        rows = rows.filter(name__startswith=text)
    found = list(rows.values(*_fields(rows))[:SEARCH_LIMIT + 1])
    more = len(found) > SEARCH_LIMIT
    found = found[:SEARCH_LIMIT]
    places = {teacher: (role, rank) for teacher, role, rank in row.picks.filter(
        teacher_id__in=[v["pk"] for v in found]).values_list("teacher_id", "role", "rank")}
    return [Candidate(teacher_id=v["pk"], name=v["name"], school=v["school__name"], points=v["total"],
                      explanation=_explain(v, rules, row.project, today),
                      role=places.get(v["pk"], ("", None))[0], rank=places.get(v["pk"], ("", None))[1])
            for v in found], more


# --- overrides and submission ---------------------------------------------------------------


def _reason(reason) -> str:
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationError({"reason": "请填写调整理由"})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": f"调整理由不能超过{MAX_REASON}字"})
    return reason


def _locked_draft(scope: Scope, list_id: int) -> NominationList:
    row = fetch(scope, NominationList, list_id, Action.CHANGE, lock=True)
    if row.state != ListState.DRAFT:
        raise ValidationError({"list": "名单已提交推荐，不能再调整"})
    return row


def nomination_pick_drop(*, scope: Scope, actor, list_id: int, pick_id: int, reason: str,
                         ip: str | None = None) -> NominationOverride:
    """Drop a selected teacher; the best-ranked reserve (if any) moves up."""
    with transaction.atomic():
        row = _locked_draft(scope, list_id)
        why = _reason(reason)
        pick = row.picks.filter(pk=pick_id).select_related("teacher").first() if isinstance(pick_id, int) else None
        if pick is None:
            raise NotVisible("名单中没有该教师")
        if pick.role != PickRole.SELECTED:
            raise ValidationError({"pick": "只能调出已入选的教师"})
        pick.role = PickRole.DROPPED
        pick.save(update_fields=["role"])
        moved = row.picks.filter(role=PickRole.RESERVE).order_by("rank").first()
        if moved is not None:
            moved.role = PickRole.SELECTED
            moved.save(update_fields=["role"])
        override = NominationOverride.objects.create(nomination_list=row, pick=pick, kind=OverrideKind.DROP,
                                                     reason=why, moved=moved, actor=actor)
        audit_record(action=Audit.SELECTION_OVERRIDE, actor=actor, ip=ip, scope_path=row.division_path,
                     object_type="nomination_list", object_id=row.pk,
                     detail={"kind": "drop", "teacher": pick.teacher_id, "reason": why,
                             "moved_up": moved.teacher_id if moved else None})
    return override


def nomination_pick_add(*, scope: Scope, actor, list_id: int, teacher_id: int, reason: str,
                        ip: str | None = None, today: dt.date | None = None) -> NominationOverride:
    """Add a teacher who is not selected (a reserve, a dropped pick, or an eligible teacher of the
    jurisdiction below the reserve); the lowest-ranked selected pick moves back to the reserve."""
    today = today or timezone.localdate()
    with transaction.atomic():
        row = _locked_draft(scope, list_id)
        why = _reason(reason)
        if not isinstance(teacher_id, int) or not visible(scope, Teacher, Action.NOMINATE).filter(
                pk=teacher_id).exists():
            raise NotVisible("教师不存在或不在本辖区")
        pick = row.picks.filter(teacher_id=teacher_id).first()
        if pick is not None and pick.role == PickRole.SELECTED:
            raise ValidationError({"teacher": "该教师已入选"})
        if pick is None:
            project = row.project
            rules = list(row.rule_set.rules.all())
            ranked = ranked_teachers(scope, project, rules, today=today, seed=row.seed).filter(pk=teacher_id)
            values = ranked.values(*_fields(ranked)).first()
            if values is None:
                raise ValidationError({"teacher": "该教师不符合本项目培训对象条件，或已在项目名单中"})
            pick = NominationPick.objects.create(nomination_list=row, teacher_id=teacher_id, rank=None,
                                                 points=values["total"], role=PickRole.SELECTED, added=True,
                                                 explanation=_explain(values, rules, project, today))
        else:
            pick.role, pick.added = PickRole.SELECTED, True
            pick.save(update_fields=["role", "added"])
        moved = None
        if row.picks.filter(role=PickRole.SELECTED).count() > row.seats:
            moved = (row.picks.filter(role=PickRole.SELECTED, added=False, rank__isnull=False)
                     .order_by("-rank").first())
            if moved is not None:
                moved.role = PickRole.RESERVE
                moved.save(update_fields=["role"])
        override = NominationOverride.objects.create(nomination_list=row, pick=pick, kind=OverrideKind.ADD,
                                                     reason=why, moved=moved, actor=actor)
        audit_record(action=Audit.SELECTION_OVERRIDE, actor=actor, ip=ip, scope_path=row.division_path,
                     object_type="nomination_list", object_id=row.pk,
                     detail={"kind": "add", "teacher": teacher_id, "reason": why,
                             "moved_back": moved.teacher_id if moved else None})
    return override


def nomination_list_submit(*, scope: Scope, actor, list_id: int, ip: str | None = None) -> NominationList:
    """Nominate the selected teachers through the nomination service; store each outcome."""
    with transaction.atomic():
        row = _locked_draft(scope, list_id)
        project = fetch(scope, Project, row.project_id)
        picks = list(row.picks.filter(role=PickRole.SELECTED).select_related("teacher__school")
                     .order_by(F("rank").asc(nulls_last=True), "id"))
        if not picks:
            raise ValidationError({"list": "名单中没有入选教师"})
        results = {r.teacher_id: r for r in project_nominate(scope=scope, actor=actor, project=project,
                                                              teachers=[p.teacher for p in picks], ip=ip)}
        now = timezone.now()
        for pick in picks:
            result = results[pick.teacher_id]
            pick.outcome = result.outcome
            pick.outcome_reasons = [result.label] if result.outcome == "already" else result.reasons
            pick.outcome_at = now
        NominationPick.objects.bulk_update(picks, ["outcome", "outcome_reasons", "outcome_at"])
        row.state, row.submitted_by, row.submitted_at = ListState.SUBMITTED, actor, now
        row.save(update_fields=["state", "submitted_by", "submitted_at"])
        tally: dict[str, int] = {}
        for pick in picks:
            tally[pick.outcome] = tally.get(pick.outcome, 0) + 1
        audit_record(action=Audit.SELECTION_SUBMIT, actor=actor, ip=ip, scope_path=row.division_path,
                     object_type="nomination_list", object_id=row.pk, detail={"project": project.pk, **tally})
    return row


OUTCOME_LABELS = {"enrolled": "已录取", "pending": "待主办单位审核", "waiting": "候补（名额已满）",
                  "refused": "未能推荐", "completed": "已结业", "already": "已在名单中"}
