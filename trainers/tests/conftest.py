import datetime as dt
from dataclasses import dataclass, field

import pytest

from access.scope import scope_for_user
from accounts.models import Role
from catalog.models import Project, ProjectSession
from org.models import Institution
from people.models import TeacherHonour
from people.tests.factories import TeacherFactory
from trainers import services

TODAY = dt.date(2027, 3, 1)


@pytest.fixture(autouse=True)
def _today():
    import time_machine

    with time_machine.travel(dt.datetime(2027, 3, 1, 10, 0, tzinfo=dt.UTC), tick=False):
        yield


def scope_of(user):
    return scope_for_user(user)


def project(code, organiser, *, state="open", school=None, starts_on=dt.date(2027, 3, 1), ends_on=dt.date(2027, 3, 31),
            title=None, institution=None):
    return Project.objects.create(
        code=code, title=title or f"项目{code}", level="county" if organiser.level == "county" else organiser.level,
        category="backbone" if school is None else "school_based", mode="centralised", organiser=organiser,
        organiser_school=school, division_path=school.division_path if school else organiser.path, seats=20,
        hours=12, hour_category="centralised", starts_on=starts_on, ends_on=ends_on, state=state, institution=institution)


def session(project, number, day, title=None):
    return ProjectSession.objects.create(project=project, number=number, title=title or f"第{number}天",
                                         held_on=day, check_in_code="135790")


@dataclass
class Pool:
    users: dict
    trainers: dict = field(default_factory=dict)
    projects: dict = field(default_factory=dict)
    sessions: dict = field(default_factory=dict)


def add(user, **values):
    base = {"source": "research_staff", "stages": ["primary"], "subjects": ["chinese"], "topics": ["homework"]}
    return services.trainer_create(scope=scope_of(user), actor=user, **{**base, **values})


@pytest.fixture
def pool(province, users, make_user):
    """A trainer in each pool: 杞县 (a master teacher, 张三's colleague 孙名师, linked), 通许县, 兰考县
    (省直管县), 开封市, 洛阳市 and the province; a 杞县 project and a 开封市 project with sessions."""
    p = province
    master = TeacherFactory(school=p.school, name="孙名师", stage="junior", subjects=["math", "physics"])
    TeacherHonour.objects.create(teacher=master, title="master_teacher", level="county", awarded_on=dt.date(2020, 9, 1))
    people = {**users, "master_user": make_user("expert-qx", Role.EXPERT, teacher=master),
              "lankao_admin": users["direct_admin"],
              "staff": make_user("staff-qx", Role.INSTITUTION_STAFF, institution=Institution.objects.create(
                  code="410221-JSFZ", name="杞县教师发展中心", kind="county_centre", division=p.county))}
    made = Pool(users=people)
    made.trainers["qx_master"] = add(users["county_admin"], teacher_id=master.pk, source="master_teacher",
                                     stages=[], subjects=[], topics=["classroom", "homework"])
    made.trainers["qx"] = add(users["county_admin"], name="周教研", topics=["moral_in_subject"])
    made.trainers["tx"] = add(users["sibling_admin"], name="吴教研", subjects=["math"])
    made.trainers["lk"] = add(users["direct_admin"], name="郑教研")
    made.trainers["kf"] = add(users["city_admin"], name="冯专家", source="university", organisation="河南大学",
                              stages=["junior", "senior"], subjects=["physics"], topics=["experiment"])
    made.trainers["ly"] = add(users["other_city_admin"], name="陈专家", source="university")
    made.trainers["hn"] = add(users["province_admin"], name="褚首席", grade=4, topics=["family"])
    qx = project("QX-1", p.county, title="杞县初中数学骨干研修", institution=people["staff"].institution)
    kf = project("KF-1", p.city, title="开封市物理实验教学研修")
    made.projects = {"qx": qx, "kf": kf}
    made.sessions = {"qx1": session(qx, 1, dt.date(2027, 3, 5)), "qx2": session(qx, 2, dt.date(2027, 3, 6)),
                     "kf1": session(kf, 1, dt.date(2027, 3, 5)), "kf2": session(kf, 2, dt.date(2027, 3, 12))}
    return made
