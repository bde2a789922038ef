"""Fixtures of the supervision tests: 杞县's county project implemented by 杞县教师发展中心 (张三 of
杞县第一小学 and 钱七 of 杞县第二小学 enrolled), 通许县's (李四 enrolled), an expert of 杞县 and one of
通许县, the centre's staff, and the province's published rubrics of each kind. Today is
2026-11-28, inside both projects' dates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from access.scope import scope_for_user
from accounts.models import Role
from catalog.models import Enrolment, Project
from evaluation.models import Rubric
from institutions.tests.helpers import accredit
from org.models import Institution, School
from people.tests.factories import TeacherFactory

TODAY = dt.date(2026, 11, 28)
NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing


@pytest.fixture(autouse=True)
def _today():
    import time_machine

    with time_machine.travel(NOW, tick=False):
        yield


def make_project(code: str, organiser, *, institution=None, school=None, state="open",
                 starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2026, 12, 20)) -> Project:
    return Project.objects.create(
        code=code, title=f"项目{code}", level=organiser.level if school is None else "school",
        category="backbone" if school is None else "school_based", mode="centralised", organiser=organiser,
        organiser_school=school, division_path=school.division_path if school else organiser.path,
        institution=institution, seats=20, hours=12, hour_category="centralised", starts_on=starts_on,
        ends_on=ends_on, state=state)


@dataclass
class SupWorld:
    p: Any
    people: dict[str, Any] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    rubrics: dict[str, Rubric] = field(default_factory=dict)

    def scope(self, who: str):
        return scope_for_user(self.people[who])


def rubric(division, kind: str, code: str, *, state="published", criteria=None) -> Rubric:
    return Rubric.objects.create(code=code, kind=kind, title=f"{kind}量规", division=division, state=state,
                                 criteria=criteria or [{"code": "design", "label": "方案设计", "max": 10},
                                                       {"code": "delivery", "label": "实施过程", "max": 20}])


@pytest.fixture
def sw(province, users, make_user) -> SupWorld:
    p = province
    centre = Institution.objects.create(code="410221-JSFZ", name="杞县教师发展中心", kind="county_centre",
                                        division=p.county)
    tx_centre = Institution.objects.create(code="410222-JSFZ", name="通许县教师发展中心", kind="county_centre",
                                           division=p.sibling)
    accredit(centre)
    accredit(tx_centre)
    second_school = School.objects.create(code="4102210002", name="杞县第二小学", division=p.county)
    neighbour = TeacherFactory(school=second_school, name="钱七")
    tx_expert_teacher = TeacherFactory(school=p.sibling_school, name="吴专家")
    people = {
        **users,
        "expert": make_user("expert-1", Role.EXPERT, teacher=neighbour),
        "tx_expert": make_user("expert-2", Role.EXPERT, teacher=tx_expert_teacher),
        "staff": make_user("staff-410221", Role.INSTITUTION_STAFF, institution=centre),
        "tx_staff": make_user("staff-410222", Role.INSTITUTION_STAFF, institution=tx_centre),
        "school_admin_2": make_user("school-4102210002", Role.SCHOOL_ADMIN, school=second_school),
    }
    projects = {
        "qx": make_project("QX-O", p.county, institution=centre),
        "tx": make_project("TX-O", p.sibling, institution=tx_centre),
        "city": make_project("KF-O", p.city, institution=tx_centre),
        "qx_draft": make_project("QX-D", p.county, institution=centre, state="draft"),
        "qx_later": make_project("QX-L", p.county, institution=centre, starts_on=dt.date(2027, 3, 1),
                                 ends_on=dt.date(2027, 3, 5)),
    }
    for key, teacher, state in (("qx", p.teacher, "enrolled"), ("qx", neighbour, "completed"),
                                ("tx", p.sibling_teacher, "enrolled"), ("city", p.teacher, "enrolled"),
                                ("city", p.sibling_teacher, "pending"), ("qx_later", p.teacher, "enrolled")):
        Enrolment.objects.create(project=projects[key], teacher=teacher, state=state)
    rubrics = {kind: rubric(p.province, kind, f"HN-{kind}") for kind in ("visit", "outcome", "stakeholder")}
    rubrics["tx_visit"] = rubric(p.sibling, "visit", "TX-visit")
    rubrics["draft_visit"] = rubric(p.province, "visit", "HN-visit-draft", state="draft")
    return SupWorld(p=p, people=people, projects=projects, rubrics=rubrics)


SCORES = {"design": 8, "delivery": 15}  # 23 of 30: 76.7
