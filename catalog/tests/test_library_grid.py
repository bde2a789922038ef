"""The level × category library grid: counts of what the viewer may see, one grouped query."""

import datetime as dt

from access.scope import scope_for_user
from catalog.services import project_create
from catalog.tests.helpers import publish
from institutions.tests.helpers import accredited_institution


def _project(users, who, organiser, code, category, *, published=True, year=2027):
    project = project_create(institution=accredited_institution(), scope=scope_for_user(users[who]), actor=users[who], code=code, title=code, level=organiser.level,
                             category=category, mode="online", organiser=organiser, starts_on=dt.date(year, 3, 1),
                             ends_on=dt.date(year, 3, 2), seats=10, hours=8, hour_category="online")
    return publish(project) if published else project


def test_the_grid_counts_levels_and_categories_and_links_to_the_list(province, users, client_for,
                                                                     django_assert_max_num_queries):
    _project(users, "province_admin", province.province, "P-1", "master_teacher")
    _project(users, "city_admin", province.city, "C-1", "backbone")
    _project(users, "county_admin", province.county, "K-1", "backbone")
    _project(users, "county_admin", province.county, "K-2", "backbone", year=2026)
    _project(users, "sibling_admin", province.sibling, "T-DRAFT", "new_teacher", published=False)
    client = client_for(users["county_admin"])
    client.get("/projects/library/")
    with django_assert_max_num_queries(8):
        page = client.get("/projects/library/?year=2027").content.decode()
    assert "?level=county&amp;category=backbone&amp;year=2027\">1</a>" in page
    assert "?level=province&amp;category=master_teacher&amp;year=2027\">1</a>" in page
    assert "category=new_teacher" not in page  # 通许县's draft is not 杞县's to count
    listing = client.get("/projects/?level=county&category=backbone&year=2027").content.decode()
    assert "K-1" in listing and "K-2" not in listing
    assert "category=new_teacher" in client_for(users["sibling_admin"]).get("/projects/library/").content.decode()


def test_the_project_list_pages_through_every_project_keeping_filters(province, users, client_for):
    for n in range(53):
        _project(users, "county_admin", province.county, f"K-{n:02d}", "backbone")
    client = client_for(users["teacher"])
    first = client.get("/projects/?category=backbone").content.decode()
    assert "共 53 个项目" in first and '<strong aria-current="page">1</strong>' in first
    assert "category=backbone&amp;page=2" in first
    second = client.get("/projects/?category=backbone&page=2").content.decode()
    assert second.count("<tr><td><a href=\"/projects/") == 3
