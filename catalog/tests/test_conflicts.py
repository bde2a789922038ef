"""The overlap scorer: the date-ordered sweep finds exactly the pairs a naive all-pairs
loop finds, and the score's parts behave as documented."""

import datetime as dt
import itertools
import random

import numpy as np
import pytest

from catalog.conflicts import CATEGORY_WEIGHT, _candidates, _Features, audiences_meet, find_overlaps
from catalog.models import Project

WORDS = ["数学", "语文", "作业设计", "课堂教学", "骨干教师", "新教师", "心理健康", "大单元", "实验", "阅读"]


def _random_projects(rng: random.Random, n: int) -> list[Project]:
    projects = []
    for pk in range(1, n + 1):
        start = dt.date(2027, 1, 1) + dt.timedelta(days=rng.randrange(120))
        projects.append(Project(
            pk=pk, code=f"R{pk}", title="".join(rng.sample(WORDS, 3)) + "培训", outline="".join(rng.sample(WORDS, 2)),
            category=rng.choice(["backbone", "new_teacher", "topic"]), topics=rng.sample(["homework", "it", "classroom"], 1),
            organiser_id=rng.randint(1, 4), organiser_school_id=None, division_path="01.", level="county",
            starts_on=start, ends_on=start + dt.timedelta(days=rng.randrange(30)), audience={}))
    return projects


def _naive(projects: list[Project], threshold: float) -> set[tuple[int, int]]:
    features = _Features.of(projects)
    found = set()
    for a, b in itertools.combinations(range(len(projects)), 2):
        score, _, mask = features.block(np.array([a]), np.array([b]))
        if mask[0, 0] and score[0, 0] >= threshold:
            found.add((a, b))
    return found


@pytest.mark.parametrize("seed", range(4))
def test_the_sweep_finds_what_all_pairs_find(seed):
    projects = _random_projects(random.Random(seed), 60)
    swept = {tuple(sorted(pair[:2])) for pair in _candidates(projects, None, 0.45, chunk=7)}
    assert swept == _naive(projects, 0.45)
    assert swept  # the random world does have overlaps: the comparison means something


def test_checking_a_few_projects_finds_their_pairs_only(db):
    projects = _random_projects(random.Random(9), 60)
    everything = {tuple(sorted(pair[:2])) for pair in _candidates(projects, None, 0.45)}
    checked = {3, 17}
    pairs = {tuple(sorted(pair[:2])) for pair in _candidates(projects, checked, 0.45)}
    assert pairs == {pair for pair in everything if {projects[i].pk for i in pair} & checked}
    for overlap in find_overlaps(projects, checked=checked, threshold=0.45):
        assert overlap.project.pk in checked  # oriented: the checked project first


def test_same_organiser_and_apart_dates_never_pair():
    a, b = _random_projects(random.Random(1), 2)
    b.title, b.outline, b.category, b.topics = a.title, a.outline, a.category, a.topics
    b.starts_on, b.ends_on, b.organiser_id = a.starts_on, a.ends_on, a.organiser_id
    assert not _candidates([a, b], None, 0.1)
    b.organiser_id = a.organiser_id + 1
    (pair,) = _candidates([a, b], None, 0.1)
    assert pair[2] == pytest.approx(1.0) and pair[3] == pytest.approx(1.0)  # identical: full score
    b.starts_on = b.ends_on = a.ends_on + dt.timedelta(days=1)
    assert not _candidates([a, b], None, 0.1)


def test_a_shared_category_alone_is_not_an_overlap():
    a, b = _random_projects(random.Random(2), 2)
    a.title, a.outline, b.title, b.outline = "绘本阅读", "", "实验操作", ""
    a.category = b.category = "backbone"
    a.topics, b.topics = ["it"], ["homework"]
    b.starts_on, b.ends_on, b.organiser_id = a.starts_on, a.ends_on, a.organiser_id + 1
    (pair,) = _candidates([a, b], None, 0.0)
    assert pair[2] == pytest.approx(CATEGORY_WEIGHT)  # below the 0.5 default threshold


@pytest.mark.parametrize(("rule_a", "rule_b", "meets"), [
    ({}, {}, True),
    ({"stages": ["junior"]}, {}, True),
    ({"stages": ["junior"]}, {"stages": ["junior", "senior"]}, True),
    ({"stages": ["junior"]}, {"stages": ["senior"]}, False),
    ({"subjects": ["数学"]}, {"subjects": ["语文"], "stages": ["junior"]}, False),
])
def test_audiences_meet_when_every_restricted_dimension_shares_a_value(rule_a, rule_b, meets):
    a, b = _random_projects(random.Random(3), 2)
    a.audience, b.audience = rule_a, rule_b
    assert (audiences_meet(a, b, {}) is not None) is meets


def test_regions_nest_schools_do_not_cross():
    a, b = _random_projects(random.Random(4), 2)
    a.division_path, b.division_path = "41.4102.", "41.4102.410221."
    assert audiences_meet(a, b, {}) is not None  # a city project reaches the county's teachers
    b.division_path = "41.4103.410305."
    assert audiences_meet(a, b, {}) is None
    a.division_path = b.division_path
    a.organiser_school_id, b.organiser_school_id = 1, 2
    assert audiences_meet(a, b, {}) is None  # two schools' own research
    b.audience = {"divisions": ["410305"]}
    assert audiences_meet(a, b, {"410305": "41.4103.410305."}) is not None
