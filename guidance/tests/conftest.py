"""A 杞县 primary-Chinese team with two experts (one the lead), paired with 杞县第一小学, where the
teacher 张三 (primary, Chinese) asks; 通许县 has a team of its own."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from access.scope import Scope, scope_for_user
from accounts.models import Role, User
from guidance import bank
from guidance.models import GuidanceTeam, TeamMember
from guidance.teams import member_save, schools_pair, team_create
from people.models import Teacher
from people.tests.factories import TeacherFactory


@dataclass
class Teams:
    team: GuidanceTeam
    lead: TeamMember
    expert: TeamMember
    lead_user: User
    expert_user: User
    sibling_team: GuidanceTeam
    sibling_expert_user: User
    county: Scope
    teacher: Scope
    teacher_user: User


@pytest.fixture(autouse=True)
def _fresh_bank(settings, tmp_path):
    # No fitted matcher unless a test fits one: a developer's var/ must not change results.
    settings.GUIDANCE_MATCHER_MODEL = tmp_path / "matcher.npz"
    bank.forget()
    yield
    bank.forget()


def _expert(school, name: str, make_user, username: str) -> tuple[Teacher, User]:
    teacher = TeacherFactory(school=school, name=name)
    return teacher, make_user(username, Role.EXPERT, teacher=teacher)


@pytest.fixture
def teams(province, users, make_user) -> Teams:
    county_admin, sibling_admin = users["county_admin"], users["sibling_admin"]
    county, sibling = scope_for_user(county_admin), scope_for_user(sibling_admin)
    team = team_create(scope=county, actor=county_admin, division=province.county, name="杞县小学语文指导团队",
                       stage="primary", subject="chinese")
    lead_teacher, lead_user = _expert(province.school, "孙组长", make_user, "expert-lead")
    expert_teacher, expert_user = _expert(province.school, "周专家", make_user, "expert-2")
    lead = member_save(scope=county, actor=county_admin, team_id=team.pk, teacher_id=lead_teacher.pk,
                       role="research_staff", is_lead=True)
    expert = member_save(scope=county, actor=county_admin, team_id=team.pk, teacher_id=expert_teacher.pk,
                         role="master_teacher")
    schools_pair(scope=county, actor=county_admin, team_id=team.pk, school_ids=[province.school.pk])
    sibling_team = team_create(scope=sibling, actor=sibling_admin, division=province.sibling,
                               name="通许县小学语文指导团队", stage="primary", subject="chinese")
    sibling_teacher, sibling_user = _expert(province.sibling_school, "吴专家", make_user, "expert-tx")
    member_save(scope=sibling, actor=sibling_admin, team_id=sibling_team.pk, teacher_id=sibling_teacher.pk,
                role="master_teacher", is_lead=True)
    return Teams(team=team, lead=lead, expert=expert, lead_user=lead_user, expert_user=expert_user,
                 sibling_team=sibling_team, sibling_expert_user=sibling_user, county=county,
                 teacher=scope_for_user(users["teacher"]), teacher_user=users["teacher"])
