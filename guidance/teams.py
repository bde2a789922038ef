"""Writes to the expert teams: create and edit a team, its members and lead, and its pairing
with schools ("one-to-one" communities). Every write asks the access policy first and is
audited; refusals are Chinese messages and write nothing."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from access.errors import Forbidden
from access.policy import Action, can, fetch, visible
from access.scope import Scope
from audit.actions import Action as Audit
from audit.services import audit_record
from guidance.constants import MemberRole
from guidance.models import GuidanceTeam, TeamMember, TeamSchool
from org.constants import DivisionLevel, Stage
from org.models import Division, School
from people.constants import Subject
from people.models import Teacher


def _team_problems(name: str, stage: str, subject: str) -> dict[str, str]:
    problems = {}
    if not name or len(name) > 100:
        problems["name"] = "团队名称不能为空且不超过100字"
    if stage not in Stage.values:
        problems["stage"] = "请选择学段"
    if subject not in Subject.values:
        problems["subject"] = "请选择学科"
    return problems


def team_create(*, scope: Scope, actor, division: Division, name: str, stage: str, subject: str,
                ip: str | None = None) -> GuidanceTeam:
    name = (name or "").strip()
    problems = _team_problems(name, stage, subject)
    if division.level not in (DivisionLevel.CITY, DivisionLevel.COUNTY):
        problems["division"] = "专家指导团队由市、县（市、区）组建"
    team = GuidanceTeam(name=name, division=division, division_path=division.path, stage=stage, subject=subject)
    if not can(scope, Action.CHANGE, team):
        raise Forbidden("只能为本辖区组建专家指导团队")
    if problems:
        raise ValidationError(problems)
    try:
        with transaction.atomic():
            team.save(force_insert=True)
            audit_record(action=Audit.GUIDANCE_TEAM_SAVE, actor=actor, ip=ip, scope_path=team.division_path,
                         object_type="guidance_team", object_id=team.pk,
                         detail={"name": name, "stage": stage, "subject": subject, "created": True})
    except IntegrityError:
        raise ValidationError({"name": "本区划已有同名团队"}) from None
    return team


def team_update(*, scope: Scope, actor, team_id: int, name: str, is_active: bool, ip: str | None = None) -> GuidanceTeam:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": "团队名称不能为空且不超过100字"})
    try:
        with transaction.atomic():
            team = fetch(scope, GuidanceTeam, team_id, Action.CHANGE, lock=True)
            if not is_active and team.questions.filter(state__in=["waiting", "answered"]).exists():
                raise ValidationError({"is_active": "团队还有未解决的问题，请先改派后再停用"})
            team.name, team.is_active = name, is_active
            team.save(update_fields=["name", "is_active"])
            audit_record(action=Audit.GUIDANCE_TEAM_SAVE, actor=actor, ip=ip, scope_path=team.division_path,
                         object_type="guidance_team", object_id=team.pk, detail={"name": name, "is_active": is_active})
    except IntegrityError:
        raise ValidationError({"name": "本区划已有同名团队"}) from None
    return team


def member_save(*, scope: Scope, actor, team_id: int, teacher_id: int, role: str, is_lead: bool = False,
                is_available: bool = True, ip: str | None = None) -> TeamMember:
    """Add a teacher to a team, or change their role, lead or availability. The teacher must be
    one the administrator sees; naming a new lead takes the title from the old one."""
    if role not in MemberRole.values:
        raise ValidationError({"role": "请选择成员身份（教研员、一线名师或学科技术带头人）"})
    with transaction.atomic():
        team = fetch(scope, GuidanceTeam, team_id, Action.CHANGE, lock=True)
        teacher = fetch(scope, Teacher, teacher_id)
        if teacher.status != "active":
            raise ValidationError({"teacher": "只能选择在岗教师"})
        if is_lead:
            team.members.filter(is_lead=True).exclude(teacher_id=teacher.pk).update(is_lead=False)
        member, created = team.members.update_or_create(
            teacher=teacher, defaults={"role": role, "is_lead": is_lead, "is_available": is_available})
        audit_record(action=Audit.GUIDANCE_MEMBER_SAVE, actor=actor, ip=ip, scope_path=team.division_path,
                     object_type="guidance_team", object_id=team.pk,
                     detail={"teacher": teacher.pk, "role": role, "lead": is_lead, "available": is_available,
                             "created": created})
    return member


def member_remove(*, scope: Scope, actor, member_id: int, ip: str | None = None) -> None:
    with transaction.atomic():
        member = fetch(scope, TeamMember, member_id, Action.CHANGE, lock=True)
        if member.questions.filter(state__in=["waiting", "answered"]).exists():
            raise ValidationError({"member": "该成员还有未解决的问题，请先改派"})
        team_id, path, teacher_id = member.team_id, member.team.division_path, member.teacher_id
        member.delete()
        audit_record(action=Audit.GUIDANCE_MEMBER_SAVE, actor=actor, ip=ip, scope_path=path,
                     object_type="guidance_team", object_id=team_id, detail={"teacher": teacher_id, "removed": True})


def schools_pair(*, scope: Scope, actor, team_id: int, school_ids: list[int], replace: bool = False,
                 ip: str | None = None) -> int:
    """Pair a team with schools of its division for its stage and subject. A school already paired
    with another team for them is refused (by name), unless `replace` moves it. Returns how many
    pairings were made."""
    with transaction.atomic():
        team = fetch(scope, GuidanceTeam, team_id, Action.CHANGE, lock=True)
        schools = list(visible(scope, School).filter(pk__in=school_ids, division_path__startswith=team.division_path))
        if len(schools) != len(set(school_ids)):
            raise ValidationError({"schools": "只能结对本团队所在区划内、您管辖的学校"})
        taken = list(TeamSchool.objects.dangerously_unscoped()
                     .filter(school__in=schools, stage=team.stage, subject=team.subject).exclude(team=team)
                     .select_related("school", "team"))
        if taken and not replace:
            names = "、".join(f"{row.school.name}（{row.team.name}）" for row in taken[:5])
            raise ValidationError({"schools": f"以下学校该学段学科已有结对团队：{names}"})
        for row in taken:
            if not can(scope, Action.CHANGE, row.team):
                raise Forbidden("不能改动其他辖区团队的结对")
            row.delete()
        already = set(team.pairings.filter(school__in=schools).values_list("school_id", flat=True))
        made = TeamSchool.objects.bulk_create(
            [TeamSchool(team=team, school=school, stage=team.stage, subject=team.subject,
                        division_path=team.division_path) for school in schools if school.pk not in already])
        audit_record(action=Audit.GUIDANCE_PAIRING, actor=actor, ip=ip, scope_path=team.division_path,
                     object_type="guidance_team", object_id=team.pk,
                     detail={"schools": sorted(s.pk for s in schools), "moved": len(taken)})
    return len(made)


def school_unpair(*, scope: Scope, actor, team_id: int, school_id: int, ip: str | None = None) -> None:
    with transaction.atomic():
        team = fetch(scope, GuidanceTeam, team_id, Action.CHANGE)
        deleted, _ = team.pairings.filter(school_id=school_id).delete()
        if deleted:
            audit_record(action=Audit.GUIDANCE_PAIRING, actor=actor, ip=ip, scope_path=team.division_path,
                         object_type="guidance_team", object_id=team.pk, detail={"unpaired": school_id})
