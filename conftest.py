"""Shared personas for the route × persona tests: one small province with two ordinary
counties and one 省直管县 in the same city, a school in each, a teacher in each,
and an account for every role. Tests use `province` and the user fixtures."""

from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.cache import cache

from accounts.models import Role, User
from org.models import Division, School
from people.tests.factories import TeacherFactory

# One precomputed hash: hashing with Argon2 per fixture user would dominate test time.
PASSWORD = "Lz7-quiet-harbour-48"  # noqa: S105 - test fixture


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    cache.clear()
    settings.VAR_DIR = settings.VAR_DIR  # keys stay in var/keys (outside the DB)
    settings.MEDIA_ROOT = tmp_path / "files"
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Every test with the database finds the reference data (divisions, cycles, rules,
    criteria, the high-end task's rates), even when a transactional test on the same worker flushed it just before:
    which test follows which depends on how the files are shared among workers."""
    transactional = "transactional_db" in request.fixturenames or "live_server" in request.fixturenames
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        transactional = True
        # A flush without it re-creates the content types under new ids, and the next test
        # that restores the serialized database on this worker collides with them.
        if not marker.kwargs.get("serialized_rollback"):
            pytest.fail("a transactional test needs serialized_rollback=True (django_db(transaction=True, ...))")
    if transactional or not ("db" in request.fixturenames or marker is not None):
        return  # a transactional test restores its own (serialized_rollback), others need none
    request.getfixturevalue("db")
    if not Division.objects.filter(code="410000").exists():
        _reference_data_back()


@dataclass
class Province:
    province: Division
    city: Division  # 开封市
    county: Division  # 杞县 (ordinary)
    sibling: Division  # 通许县 (ordinary, same city)
    direct: Division  # 兰考县 (省直管县)
    other_city: Division  # 洛阳市
    school: School
    sibling_school: School
    direct_school: School
    other_city_school: School
    teacher: object
    sibling_teacher: object
    direct_teacher: object
    other_city_teacher: object


def _school(code: str, division: Division, name: str) -> School:
    return School.objects.create(code=code, name=name, division=division, stages=["primary"], is_rural=True)


def _reference_data_back() -> None:
    """A transactional test (the browser tests, for live_server) ends by flushing every
    table, the rows of data migrations included; tests that run after it in the same
    worker get the divisions, cycles and rules back from those same migrations."""
    from importlib import import_module

    from django.apps import apps

    for module in ("org.migrations.0003_load_henan_divisions", "credits.migrations.0002_cycles_and_rules",
                   "credits.migrations.0009_seal_existing_ledger", "institutions.migrations.0002_criteria_v1",
                   "quotas.migrations.0002_seed_rates"):
        import_module(module).load(apps, None)


@pytest.fixture
def province(db) -> Province:
    if not Division.objects.filter(code="410000").exists():
        _reference_data_back()
    d = {code: Division.objects.get(code=code) for code in ("410000", "410200", "410221", "410222", "410225", "410300", "410305")}
    school = _school("4102210001", d["410221"], "杞县第一小学")
    sibling_school = _school("4102220001", d["410222"], "通许县第一小学")
    direct_school = _school("4102250001", d["410225"], "兰考县第一小学")
    other_school = _school("4103050001", d["410305"], "涧西区第一小学")
    return Province(
        province=d["410000"], city=d["410200"], county=d["410221"], sibling=d["410222"], direct=d["410225"],
        other_city=d["410300"], school=school, sibling_school=sibling_school, direct_school=direct_school,
        other_city_school=other_school,
        teacher=TeacherFactory(school=school, name="张三"),
        sibling_teacher=TeacherFactory(school=sibling_school, name="李四"),
        direct_teacher=TeacherFactory(school=direct_school, name="王五"),
        other_city_teacher=TeacherFactory(school=other_school, name="赵六"),
    )


@pytest.fixture(scope="session")
def password_hash(django_db_blocker):
    from django.contrib.auth.hashers import make_password

    return make_password(PASSWORD)


@pytest.fixture
def make_user(db, password_hash):
    def make(username: str, role: str, **bindings) -> User:
        user = User(username=username, role=role, **bindings)
        user.password = password_hash
        user.save()
        return user

    return make


@pytest.fixture
def users(province, make_user) -> dict[str, User]:
    p = province
    return {
        "province_admin": make_user("admin-410000", Role.PROVINCE_ADMIN, division=p.province),
        "city_admin": make_user("admin-410200", Role.CITY_ADMIN, division=p.city),
        "county_admin": make_user("admin-410221", Role.COUNTY_ADMIN, division=p.county),
        "sibling_admin": make_user("admin-410222", Role.COUNTY_ADMIN, division=p.sibling),
        "direct_admin": make_user("admin-410225", Role.COUNTY_ADMIN, division=p.direct),
        "other_city_admin": make_user("admin-410300", Role.CITY_ADMIN, division=p.other_city),
        "school_admin": make_user("school-4102210001", Role.SCHOOL_ADMIN, school=p.school),
        "teacher": make_user("teacher-1", Role.TEACHER, teacher=p.teacher),
        "sibling_teacher_user": make_user("teacher-2", Role.TEACHER, teacher=p.sibling_teacher),
    }


@pytest.fixture
def client_for(client):
    """A test client logged in as the given user (session login, no password check)."""

    def login(user):
        client.force_login(user)
        return client

    return login


def pytest_collection_modifyitems(config, items):
    vendor = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in vendor:
        skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
        for item in items:
            if "pg_only" in item.keywords:
                item.add_marker(skip)
