"""Common problems: a period's questions of a division grouped by theme; one turned into an offline
project draft of the division's library."""

import datetime as dt
import random

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from access.errors import Forbidden
from access.scope import scope_for_user
from catalog.models import Project
from guidance.clusters import cluster_to_project, clusters_refresh
from guidance.models import ProblemCluster, Question
from synth.questions import generate_questions


def _questions(teams, province, n=120, seed=1):
    now = timezone.now()
    rows = [Question(teacher=province.teacher, division_path=province.county.path, school=province.school,
                     stage="primary", subject="chinese", text=q.text, team=teams.team, created_at=now)
            for q in generate_questions(random.Random(seed), "primary", "chinese", n)]
    Question.objects.bulk_create(rows)
    return rows


def test_questions_group_into_common_problems_and_one_becomes_a_project_draft(teams, province, users):
    _questions(teams, province)
    today = timezone.localdate()
    found = clusters_refresh(scope=teams.county, division=province.county, stage="primary", subject="chinese",
                             start=today - dt.timedelta(days=30), end=today)
    assert len(found) >= 3 and sum(c.size for c in found) <= 120
    biggest = max(found, key=lambda c: c.size)
    assert biggest.keywords and len(biggest.examples) == 3
    project = cluster_to_project(scope=teams.county, actor=users["county_admin"], cluster_id=biggest.pk)
    assert project.state == "draft" and project.division_path == province.county.path
    assert project.audience == {"stages": ["primary"], "subjects": ["chinese"]}
    assert biggest.keywords[0] in project.title and biggest.examples[0]["text"][:20] in project.outline
    with pytest.raises(ValidationError, match="已转为"):
        cluster_to_project(scope=teams.county, actor=users["county_admin"], cluster_id=biggest.pk)
    # A refresh replaces the groups not yet turned into projects, and keeps that one.
    again = clusters_refresh(scope=teams.county, division=province.county, stage="primary", subject="chinese",
                             start=today - dt.timedelta(days=30), end=today)
    kept = ProblemCluster.objects.visible_to(teams.county)
    assert kept.count() == len(again) + 1 and kept.filter(project=project).exists()


def test_problems_are_the_divisions_own(teams, province, users):
    _questions(teams, province, n=30)
    today = timezone.localdate()
    with pytest.raises(Forbidden):
        clusters_refresh(scope=scope_for_user(users["sibling_admin"]), division=province.county, stage="primary",
                         subject="chinese", start=today, end=today)
    # 通许县 analyses its own teachers' questions: none of 杞县's.
    assert clusters_refresh(scope=scope_for_user(users["sibling_admin"]), division=province.sibling,
                            stage="primary", subject="chinese", start=today, end=today) == []
    with pytest.raises(ValidationError):
        clusters_refresh(scope=teams.county, division=province.county, stage="primary", subject="chinese",
                         start=today, end=today - dt.timedelta(days=1))
    with pytest.raises(ValidationError, match="学段和学科"):
        clusters_refresh(scope=teams.county, division=province.county, stage="nursery", subject="chinese",
                         start=today, end=today)
    assert Project.objects.dangerously_unscoped().count() == 0
