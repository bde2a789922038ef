"""Annual training plans (§二(五) 培训规划制度, 五级培训机制).

Each unit — the province, a city, a county, a school — keeps one plan a year
holding its projects. The unit's administrators draft it and submit it; the
level above approves it or returns it with an opinion (the province for a
省直管县, the county for a school, another province administrator for the
province's own plan). Submission checks the positioning rules of the five-level
mechanism; submission and approval both check for overlapping projects of
other organisers and keep what they found for the planner and the reviewer.
A project in a plan may be published only once its plan is approved.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from access.errors import Forbidden
from access.policy import Action as Can
from access.policy import can, fetch, visible
from access.scope import Scope
from audit.actions import Action
from audit.services import audit_record
from catalog.conflicts import find_overlaps, year_window
from catalog.constants import (
    PLAN_COMMITTED,
    PLAN_EDITABLE,
    Level,
    PlanState,
    ProjectCategory,
    ProjectState,
)
from catalog.models import AnnualPlan, PlanConflict, Project
from catalog.selectors import blocked_reasons
from catalog.services import LEVEL_OF_DIVISION
from notifications import events as notice_events
from org.models import Division, School

# What each level is for (§二(五)): the province trains provincial master teachers, principals
# and backbone teachers; cities city-level ones; counties new teachers, county backbone and the
# all-staff training; schools do school-based research. The required ethics content, topic and
# capability training may be run by any division.
POSITIONING: dict[str, set[str]] = {
    Level.PROVINCE: {ProjectCategory.MASTER_TEACHER, ProjectCategory.PRINCIPAL, ProjectCategory.BACKBONE,
                     ProjectCategory.RURAL_CHIEF},
    Level.CITY: {ProjectCategory.MASTER_TEACHER, ProjectCategory.BACKBONE},
    Level.COUNTY: {ProjectCategory.NEW_TEACHER, ProjectCategory.BACKBONE, ProjectCategory.ALL_STAFF,
                   ProjectCategory.RURAL_CHIEF},
    Level.SCHOOL: {ProjectCategory.SCHOOL_BASED},
}
CROSS_CUTTING = {ProjectCategory.ETHICS, ProjectCategory.TOPIC, ProjectCategory.CAPABILITY}
# High-end training each level must give, as a share of its full-time teachers (§二(五)).
HIGH_END_TARGET_PERCENT: dict[str, int] = {Level.PROVINCE: 4, Level.CITY: 7, Level.COUNTY: 20}


# --- who -------------------------------------------------------------------------------------


def plan_owner_of(scope: Scope) -> tuple[Division, School | None, str] | None:
    """The unit whose plan this administrator drafts: (division, school or None, level)."""
    if scope.school_id is not None and scope.role == "school_admin":
        school = visible(scope, School).select_related("division").filter(pk=scope.school_id).first()
        return (school.division, school, Level.SCHOOL) if school is not None else None
    if scope.is_division and scope.role in ("province_admin", "city_admin", "county_admin"):
        division = Division.objects.filter(path=scope.path).first()
        return (division, None, LEVEL_OF_DIVISION[division.level]) if division is not None else None
    return None


def review_path_of(*, division: Division, school: School | None, level: str) -> str:
    """Where a unit's plan is decided: the county for a school, the planning parent for a
    division (the province for 省直管县), the province itself for its own plan."""
    if school is not None:
        return school.division_path
    if level == Level.PROVINCE:
        return division.path
    if division.is_direct_county:
        return division.path.split(".")[0] + "."
    return division.path.rsplit(".", 2)[0] + "."


def may_plan(scope: Scope, plan: AnnualPlan) -> bool:
    """The owning unit's own administrators draft and submit its plan."""
    return can(scope, Can.CHANGE, plan)


def may_review(scope: Scope, plan: AnnualPlan) -> bool:
    """The level above; never the one who submitted it (access.policy)."""
    return can(scope, Can.DECIDE, plan)


# --- rules ------------------------------------------------------------------------------------


def positioning_problems(plan: AnnualPlan, projects: list[Project]) -> list[str]:
    """Why projects do not belong in this level's plan (blocking submission)."""
    allowed = POSITIONING[plan.level] | (CROSS_CUTTING if plan.level != Level.SCHOOL else set())
    problems = []
    for project in projects:
        if project.category not in allowed:
            names = "、".join(ProjectCategory(c).label for c in sorted(allowed))
            problems.append(f"{project.code}《{project.title}》：{ProjectCategory(project.category).label}"
                            f"不属于{Level(plan.level).label}培训定位（可列：{names}）")
        if project.is_high_end and plan.level == Level.SCHOOL:
            problems.append(f"{project.code}《{project.title}》：校本研修不计入高端培训")
    codes = {code for p in projects for code in (p.audience or {}).get("divisions") or []}
    paths = dict(Division.objects.filter(code__in=codes).values_list("code", "path")) if codes else {}
    for project in projects:
        outside = [code for code in (project.audience or {}).get("divisions") or []
                   if not paths.get(code, "").startswith(plan.division_path)]
        if outside:
            problems.append(f"{project.code}《{project.title}》：培训对象地区 {'、'.join(outside)} 不在本辖区")
    return problems + elimination_problems(plan, projects)


def elimination_problems(plan: AnnualPlan, projects: list[Project]) -> list[str]:
    """末位淘汰项目不得列入下年度计划: a project of this plan that carries on one eliminated (a
    confirmed elimination case) in the year before the plan's — same organiser and code, or same
    implementing institution, level, category and title. Blocks submission and approval."""
    if not projects:
        return []
    from evaluation.models import EliminationCase

    # Eliminations of every organiser bind every plan: the province's rule, not a viewer's read.
    eliminated = list(EliminationCase.objects.dangerously_unscoped()
                      .filter(state="confirmed", score__year=plan.year - 1)
                      .values_list("score__project__organiser_id", "score__project__organiser_school_id",
                                   "score__project__code", "score__project__institution_id",
                                   "score__project__level", "score__project__category", "score__project__title"))
    by_code = {(o, s, code) for o, s, code, *_ in eliminated}
    by_kind = {(i, level, category, title) for *_, i, level, category, title in eliminated if i is not None}
    return [f"{p.code}《{p.title}》：{plan.year - 1}年度绩效评价末位淘汰，末位淘汰项目不得列入下年度计划"
            for p in projects
            if (p.organiser_id, p.organiser_school_id, p.code) in by_code
            or (p.institution_id, p.level, p.category, p.title) in by_kind]


def high_end_share(scope: Scope, plan: AnnualPlan, projects: list[Project]) -> dict | None:
    """High-end seats planned against the level's target share of full-time teachers (the
    plan's unit's teachers: the viewer, its planner or reviewer, sees them all)."""
    target = HIGH_END_TARGET_PERCENT.get(plan.level)
    if target is None:
        return None
    from people.models import Teacher

    teachers = visible(scope, Teacher).filter(division_path__startswith=plan.division_path, status="active").count()
    seats = sum(p.seats for p in projects if p.is_high_end)
    needed = -(-teachers * target // 100)  # ceiling
    return {"target_percent": target, "teachers": teachers, "seats": seats, "needed": needed,
            "percent": round(100 * seats / teachers, 1) if teachers else 0.0, "met": seats >= needed}


def plan_warnings(scope: Scope, plan: AnnualPlan, projects: list[Project]) -> list[str]:
    """What the reviewer should know but does not block submission."""
    warnings = []
    share = high_end_share(scope, plan, projects)
    if share is not None and not share["met"]:
        warnings.append(f"高端培训名额 {share['seats']} 人，占专任教师 {share['percent']}%，"
                        f"低于{Level(plan.level).label}目标 {share['target_percent']}%（需 {share['needed']} 人）")
    # The 准入 gate: a plan may be approved before its implementers are accredited, but its
    # projects are published only once they are.
    blocked = blocked_reasons(projects)
    warnings += [f"{p.code}《{p.title}》：{blocked[p.pk]}（发布前须解决）" for p in projects if p.pk in blocked]
    return warnings


# --- writes -----------------------------------------------------------------------------------


def plan_create(*, scope: Scope, actor, year: int, note: str = "") -> AnnualPlan:
    """Open this unit's plan for a year; the unit's unplanned projects of that year join it."""
    owner = plan_owner_of(scope)
    if owner is None:
        raise Forbidden("只有省、市、县、校管理员可以编制培训计划")
    division, school, level = owner
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValidationError({"year": "年度应为 2000 到 2100 之间的整数"})
    path = school.division_path if school is not None else division.path
    try:
        with transaction.atomic():
            plan = AnnualPlan.objects.create(
                division=division, school=school, level=level, year=year, division_path=path,
                review_path=review_path_of(division=division, school=school, level=level),
                note=(note or "")[:5000], created_by=actor)
            _owned_unplanned(scope, plan).update(plan=plan)
    except IntegrityError:
        raise ValidationError({"year": f"本单位 {year} 年度培训计划已存在"}) from None
    return plan


def _owned_unplanned(scope: Scope, plan: AnnualPlan):
    return visible(scope, Project, Can.CHANGE).filter(organiser_id=plan.division_id, organiser_school_id=plan.school_id,
                                                       starts_on__year=plan.year, plan__isnull=True)


def _editable_plan(scope: Scope, plan_id: int) -> AnnualPlan:
    plan = fetch(scope, AnnualPlan, plan_id, Can.CHANGE, lock=True)
    if plan.state not in PLAN_EDITABLE:
        raise ValidationError({"state": f"计划{PlanState(plan.state).label}，不能修改"})
    return plan


def plan_projects_add(*, scope: Scope, plan_id: int, project_ids: list[int]) -> int:
    """Put the unit's own projects of the plan's year into the plan; refuses any other."""
    with transaction.atomic():
        plan = _editable_plan(scope, plan_id)
        wanted = set(project_ids)
        found = set(_owned_unplanned(scope, plan).filter(pk__in=wanted).values_list("pk", flat=True))
        if wanted - found:
            raise ValidationError({"projects": "以下项目不是本单位该年度的计划外项目："
                                   + "、".join(str(pk) for pk in sorted(wanted - found))})
        return visible(scope, Project, Can.CHANGE).filter(pk__in=found).update(plan=plan)


def plan_project_remove(*, scope: Scope, plan_id: int, project_id: int) -> None:
    with transaction.atomic():
        plan = _editable_plan(scope, plan_id)
        if not plan.projects.filter(pk=project_id).update(plan=None):
            raise ValidationError({"project": "该项目不在本计划中"})


def comparison_pool(year: int, *, plan: AnnualPlan | None = None) -> list[Project]:
    """The projects overlaps are looked for among: every published project and every project
    of a submitted or approved plan whose dates touch the year, plus the plan being checked.
    Other units' unsubmitted drafts are their scratch work and are left out."""
    first, last = year_window(year)
    committed = ~Q(state=ProjectState.DRAFT) | Q(plan__state__in=PLAN_COMMITTED)
    if plan is not None:
        committed |= Q(plan=plan)
    # Across every organiser on purpose: overlaps are between units. What a viewer is shown of
    # another unit's project is decided where the overlap is displayed.
    return list(Project.objects.dangerously_unscoped().filter(committed, starts_on__lte=last, ends_on__gte=first)
                .select_related("organiser", "organiser_school").order_by("pk"))


def plan_check(*, plan: AnnualPlan) -> list[PlanConflict]:
    """Find this plan's overlaps with other organisers' projects and keep them."""
    pool = comparison_pool(plan.year, plan=plan)
    own = {p.pk for p in pool if p.plan_id == plan.pk}
    overlaps = find_overlaps(pool, checked=own)
    with transaction.atomic():
        plan.conflicts.all().delete()
        conflicts = PlanConflict.objects.bulk_create([
            PlanConflict(plan=plan, project=o.project, other=o.other, score=o.score, text_similarity=o.text_similarity,
                         reasons=o.reasons) for o in overlaps])
        plan.checked_at = timezone.now()
        plan.save(update_fields=["checked_at"])
    return conflicts


def plan_check_by(*, scope: Scope, plan_id: int) -> list[PlanConflict]:
    plan = fetch(scope, AnnualPlan, plan_id)
    if not (may_plan(scope, plan) or may_review(scope, plan)):
        raise Forbidden("只有编制单位或审核单位可以检查重叠")
    return plan_check(plan=plan)


def plan_submit(*, scope: Scope, actor, plan_id: int, ip: str | None = None) -> AnnualPlan:
    """Submit to the level above: refused while a project breaks the positioning rules."""
    with transaction.atomic():
        plan = _editable_plan(scope, plan_id)
        projects = list(plan.projects.all())
        if not projects:
            raise ValidationError({"projects": "计划中还没有项目"})
        problems = positioning_problems(plan, projects)
        if problems:
            raise ValidationError({"positioning": problems})
        plan.state, plan.submitted_at, plan.submitted_by = PlanState.SUBMITTED, timezone.now(), actor
        plan.save(update_fields=["state", "submitted_at", "submitted_by"])
        conflicts = plan_check(plan=plan)
        audit_record(action=Action.PLAN_SUBMIT, actor=actor, scope_path=plan.division_path, object_type="catalog.plan",
                     object_id=plan.pk, ip=ip, detail={"projects": len(projects), "conflicts": len(conflicts)})
    return plan


def plan_decide(*, scope: Scope, actor, plan_id: int, approve: bool, note: str = "",
                acknowledge_conflicts: bool = False, ip: str | None = None) -> AnnualPlan:
    """Approve or return a submitted plan. Overlaps are checked again first; approving a plan
    with overlaps needs the reviewer to say they have been coordinated."""
    note = (note or "").strip()[:5000]
    with transaction.atomic():
        plan = fetch(scope, AnnualPlan, plan_id, Can.DECIDE, lock=True)
        if plan.state != PlanState.SUBMITTED:
            raise ValidationError({"state": "只有已报送的计划可以审核"})
        if not approve and not note:
            raise ValidationError({"note": "退回计划须填写审核意见"})
        if approve and (eliminated := elimination_problems(plan, list(plan.projects.all()))):
            raise ValidationError({"positioning": eliminated})
        conflicts = plan_check(plan=plan) if approve else []
        if conflicts and not acknowledge_conflicts:
            raise ValidationError({"conflicts": f"计划有 {len(conflicts)} 处疑似重复项目，请确认已与相关单位协调后再批准"})
        plan.state = PlanState.APPROVED if approve else PlanState.RETURNED
        plan.review_note, plan.decided_at, plan.decided_by = note, timezone.now(), actor
        plan.save(update_fields=["state", "review_note", "decided_at", "decided_by"])
        audit_record(action=Action.PLAN_DECIDE, actor=actor, scope_path=plan.division_path, object_type="catalog.plan",
                     object_id=plan.pk, ip=ip, detail={"approved": approve, "conflicts": len(conflicts)})
        notice_events.plan_decided(plan)
    return plan
