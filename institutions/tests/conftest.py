import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Role
from org.models import Institution

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def pdf(name="资质证明.pdf", body=PDF):
    return SimpleUploadedFile(name, body, content_type="application/pdf")


@pytest.fixture
def criteria(db):
    from importlib import import_module

    from django.apps import apps

    import_module("institutions.migrations.0002_criteria_v1").load(apps, None)
    from institutions.models import CriteriaSet

    return CriteriaSet.objects.get(version=1)


@pytest.fixture
def accr(province, users, make_user, criteria):
    """杞县's county centre (a county institution), 开封市's city centre, 兰考县's (省直管县) centre and
    the province's institute, with a staff account each; a second 开封市 and 杞县 administrator."""
    p = province
    made = {}
    for key, code, name, kind, division in (
            ("qx", "410221-JSFZ", "杞县教师发展中心", "county_centre", p.county),
            ("kf", "410200-JSFZ", "开封市教师发展中心", "city_centre", p.city),
            ("lk", "410225-JSFZ", "兰考县教师发展中心", "county_centre", p.direct),
            ("hn", "410000-YXY", "河南省基础教育研修院", "provincial_institute", p.province)):
        made[key] = Institution.objects.create(code=code, name=name, kind=kind, division=division)
        made[f"{key}_staff"] = make_user(f"staff-{code}", Role.INSTITUTION_STAFF, institution=made[key])
    made["city_admin_2"] = make_user("admin-410200-b", Role.CITY_ADMIN, division=p.city)
    made["county_admin_2"] = make_user("admin-410221-b", Role.COUNTY_ADMIN, division=p.county)
    return {**users, **made}


SCORES = {"trainers": 25, "sites": 15, "performance": 25, "management": 15}
TERM = {"valid_from": dt.date(2026, 12, 1), "valid_until": dt.date(2029, 11, 30)}


@pytest.fixture(autouse=True)
def _today():
    import time_machine

    with time_machine.travel(dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC), tick=False):
        yield


def scope_of(user):
    from access.scope import scope_for_user

    return scope_for_user(user)
