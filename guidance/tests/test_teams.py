"""Teams, members, pairing and the coverage check."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from access.errors import Forbidden, NotVisible
from access.scope import scope_for_user
from guidance.models import TeamSchool
from guidance.selectors import coverage
from guidance.teams import member_save, schools_pair, team_create
from people.tests.factories import TeacherFactory


def test_teams_are_built_by_cities_and_counties_in_their_own_jurisdiction(province, users):
    county = scope_for_user(users["county_admin"])
    with pytest.raises(Forbidden):
        team_create(scope=county, actor=users["county_admin"], division=province.sibling, name="越权团队",
                    stage="primary", subject="chinese")
    with pytest.raises(Forbidden):  # a city reads its 省直管县 but does not build its teams
        team_create(scope=scope_for_user(users["city_admin"]), actor=users["city_admin"], division=province.direct,
                    name="兰考团队", stage="primary", subject="chinese")
    with pytest.raises(ValidationError, match="市、县"):
        team_create(scope=scope_for_user(users["province_admin"]), actor=users["province_admin"],
                    division=province.province, name="省团队", stage="primary", subject="chinese")
    with pytest.raises(ValidationError):
        team_create(scope=county, actor=users["county_admin"], division=province.county, name="",
                    stage="nursery", subject="chinese")
    team = team_create(scope=county, actor=users["county_admin"], division=province.county, name="杞县初中数学",
                       stage="junior", subject="math")
    with pytest.raises(ValidationError, match="同名"):
        team_create(scope=county, actor=users["county_admin"], division=province.county, name="杞县初中数学",
                    stage="junior", subject="math")
    assert team.division_path == province.county.path


def test_members_come_from_the_jurisdiction_and_a_team_has_one_lead(teams, province, users):
    with pytest.raises(NotVisible):  # 通许县's teacher is not 杞县's to name
        member_save(scope=teams.county, actor=None, team_id=teams.team.pk, teacher_id=province.sibling_teacher.pk,
                    role="master_teacher")
    with pytest.raises(ValidationError):
        member_save(scope=teams.county, actor=None, team_id=teams.team.pk, teacher_id=province.teacher.pk,
                    role="principal")
    member_save(scope=teams.county, actor=None, team_id=teams.team.pk, teacher_id=teams.expert.teacher_id,
                role="master_teacher", is_lead=True)
    leads = list(teams.team.members.filter(is_lead=True).values_list("teacher_id", flat=True))
    assert leads == [teams.expert.teacher_id]  # the title moved from the old lead
    with pytest.raises(IntegrityError), transaction.atomic():
        teams.team.members.filter(pk=teams.lead.pk).update(is_lead=True)  # the database holds it too


def test_one_team_per_school_stage_and_subject(teams, province, users):
    county = teams.county
    second = team_create(scope=county, actor=None, division=province.county, name="杞县小学语文二组",
                         stage="primary", subject="chinese")
    with pytest.raises(ValidationError, match="杞县第一小学"):
        schools_pair(scope=county, actor=None, team_id=second.pk, school_ids=[province.school.pk])
    assert schools_pair(scope=county, actor=None, team_id=second.pk, school_ids=[province.school.pk], replace=True) == 1
    assert list(TeamSchool.objects.dangerously_unscoped().filter(school=province.school).values_list(
        "team_id", flat=True)) == [second.pk]
    with pytest.raises(ValidationError, match="管辖"):
        schools_pair(scope=county, actor=None, team_id=second.pk, school_ids=[province.sibling_school.pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        TeamSchool.objects.create(team=teams.team, school=province.school, stage="primary", subject="chinese",
                                  division_path=province.county.path)


def test_coverage_lists_the_gaps(teams, province, users):
    TeacherFactory(school=province.school, name="数学老师", subjects=["math"])
    TeacherFactory(school=province.school, name="语文数学老师", subjects=["chinese", "math"])
    found = coverage(teams.county)
    # 张三, 孙组长, 周专家, 语文数学老师 teach Chinese (covered); two teach maths (no team).
    assert (found.teachers, found.teachers_covered) == (6, 4)
    assert [(g.school_name, g.subject, g.teachers) for g in found.gaps] == [("杞县第一小学", "math", 2)]
    assert (found.schools, found.schools_covered) == (1, 0)
    team = team_create(scope=teams.county, actor=None, division=province.county, name="杞县小学数学",
                       stage="primary", subject="math")
    assert coverage(teams.county).gaps == []  # the county's single maths team covers the school
    assert team.pk
    # Two unpaired maths teams in one county: neither is the school's by default.
    team_create(scope=teams.county, actor=None, division=province.county, name="杞县小学数学二组",
                stage="primary", subject="math")
    assert [g.subject for g in coverage(teams.county).gaps] == ["math"]
    # The neighbouring county's coverage is its own.
    sibling = coverage(scope_for_user(users["sibling_admin"]))
    assert sibling.teachers == 2 and sibling.gaps == []
